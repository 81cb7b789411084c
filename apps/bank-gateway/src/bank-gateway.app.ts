import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { PlatformConfig } from '@recon/config';
import type { Telemetry } from '@recon/observability';
import { createHttpApp, prepareDatabase, serviceMigrations } from '@recon/platform';
import { type AdapterRegistry, loadAdapterModules } from './adapters/adapter-modules';
import { type GatewaySettings, loadGatewaySettings } from './bank-gateway.config';
import { BankGatewayModule } from './bank-gateway.module';
import { uploadBodyMiddleware } from './ingestion/interface/upload-body.middleware';

export const BANK_GATEWAY_MIGRATIONS_DIRECTORY = path.join(__dirname, 'database', 'migrations');

export function bankGatewayMigrations() {
  return serviceMigrations(BANK_GATEWAY_MIGRATIONS_DIRECTORY);
}

export async function migrateBankGateway(config: PlatformConfig): Promise<string[]> {
  return prepareDatabase(config, bankGatewayMigrations());
}

export interface BankGatewayAppOptions {
  readonly runOutboxRelay?: boolean;
  /** The GATEWAY_* settings; without them, the defaults. */
  readonly settings?: GatewaySettings;
  /** Where `env:NAME` secret references resolve (main passes the process environment); empty by default. */
  readonly secretEnvironment?: Readonly<Record<string, string | undefined>>;
  /** Third-party adapters; by default loaded from the settings' GATEWAY_ADAPTER_MODULES (an AdapterModuleError stops the boot). */
  readonly adapters?: AdapterRegistry;
}

export async function createBankGatewayApp(config: PlatformConfig, telemetry: Telemetry, options: BankGatewayAppOptions = {}): Promise<NestExpressApplication> {
  const settings = options.settings ?? loadGatewaySettings({});
  const adapters = options.adapters ?? loadAdapterModules(settings.adapterModules);
  const platform = { config, telemetry, usesRedis: true, ...(options.runOutboxRelay === undefined ? {} : { runOutboxRelay: options.runOutboxRelay }) };
  return createHttpApp(BankGatewayModule.register(platform, { settings, secretEnvironment: options.secretEnvironment ?? {}, adapters }) as never, config, {
    title: 'Bank gateway',
    description:
      'Bank files in: upload (POST /v1/statements) or scheduled pull from the bank (HTTPS, SFTP) per connection. Every raw file stored whole with its ' +
      'SHA-256, parsed into statement lines (bank.line.received), unreadable lines quarantined, conflicting re-deliveries raised as findings.',
    // The upload route reads its own body (raw bytes or multipart) before the JSON parser could refuse it.
    configure: (app) => app.use('/v1/statements', uploadBodyMiddleware(settings.uploadBytesMax)),
  });
}
