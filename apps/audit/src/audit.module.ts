import { type DynamicModule, Module } from '@nestjs/common';
import { PlatformModule, type PlatformOptions } from '@recon/platform';
import type { AuditSettings } from './audit.config';
import { AUDIT_SETTINGS } from './audit.tokens';
import { AppendAuditEventUseCase } from './log/application/append-audit-event.use-case';
import { CheckpointSigner } from './log/application/checkpoint-signer';
import { VerifyLogHeadUseCase } from './log/application/verify-log-head.use-case';
import { AuditLogPgRepository } from './log/infrastructure/audit-log.pg.repository';
import { AUDIT_CONSUMER_OPTIONS, type AuditConsumerOptions, AuditEventsConsumer } from './log/interface/audit-events.consumer';
import { AuditProofsQuery } from './trail/application/audit-proofs.query';
import { ExportAuditLogQuery } from './trail/application/export-audit-log.query';
import { SearchAuditEventsQuery } from './trail/application/search-audit-events.query';
import { AuditTrailHttpController } from './trail/interface/audit-trail.http.controller';

@Module({})
export class AuditModule {
  static register(platform: PlatformOptions, settings: AuditSettings, consumer: AuditConsumerOptions = {}): DynamicModule {
    return {
      module: AuditModule,
      imports: [PlatformModule.forService(platform)],
      controllers: [AuditTrailHttpController],
      providers: [
        { provide: AUDIT_SETTINGS, useValue: settings },
        { provide: AUDIT_CONSUMER_OPTIONS, useValue: consumer },
        AuditLogPgRepository,
        CheckpointSigner,
        AppendAuditEventUseCase,
        VerifyLogHeadUseCase,
        AuditEventsConsumer,
        SearchAuditEventsQuery,
        ExportAuditLogQuery,
        AuditProofsQuery,
      ],
    };
  }
}
