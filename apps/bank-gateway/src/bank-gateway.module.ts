import { type DynamicModule, Module } from '@nestjs/common';
import { PlatformModule, type PlatformOptions } from '@recon/platform';
import type { GatewaySettings } from './bank-gateway.config';
import type { AdapterRegistry } from './adapters/adapter-modules';
import { ADAPTER_REGISTRY, GATEWAY_SETTINGS, SECRET_ENVIRONMENT } from './bank-gateway.tokens';
import { CONNECTION_SAVED_LISTENER, SaveConnectionUseCase } from './connections/application/save-connection.use-case';
import { ConnectionsHttpController } from './connections/interface/connections.http.controller';
import { IngestFileUseCase } from './ingestion/application/ingest-file.use-case';
import { IngestionQueries } from './ingestion/application/ingestion.queries';
import { PublishedLinesQuery } from './ingestion/application/published-lines.query';
import { ReprocessFileUseCase } from './ingestion/application/reprocess-file.use-case';
import { ResolveFindingUseCase } from './ingestion/application/resolve-finding.use-case';
import { StatementsHttpController } from './ingestion/interface/statements.http.controller';
import { PullConnectionUseCase } from './pull/application/pull-connection.use-case';
import { PullScheduler } from './pull/application/pull.scheduler';

export interface BankGatewayModuleOptions {
  readonly settings: GatewaySettings;
  /** Where `env:NAME` secret references resolve. */
  readonly secretEnvironment: Readonly<Record<string, string | undefined>>;
  readonly adapters: AdapterRegistry;
}

@Module({})
export class BankGatewayModule {
  static register(platform: PlatformOptions, options: BankGatewayModuleOptions): DynamicModule {
    return {
      module: BankGatewayModule,
      imports: [PlatformModule.forService(platform)],
      controllers: [StatementsHttpController, ConnectionsHttpController],
      providers: [
        { provide: GATEWAY_SETTINGS, useValue: options.settings },
        { provide: SECRET_ENVIRONMENT, useValue: options.secretEnvironment },
        { provide: ADAPTER_REGISTRY, useValue: options.adapters },
        IngestFileUseCase,
        ReprocessFileUseCase,
        ResolveFindingUseCase,
        IngestionQueries,
        PublishedLinesQuery,
        SaveConnectionUseCase,
        PullConnectionUseCase,
        PullScheduler,
        { provide: CONNECTION_SAVED_LISTENER, useExisting: PullScheduler },
      ],
    };
  }
}
