import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { PlatformConfig } from '@recon/config';
import type { Telemetry } from '@recon/observability';
import { createHttpApp, prepareDatabase, serviceMigrations } from '@recon/platform';
import { type AuditSettings, loadAuditSettings } from './audit.config';
import { AuditModule } from './audit.module';

export const AUDIT_MIGRATIONS_DIRECTORY = path.join(__dirname, 'database', 'migrations');

export function auditMigrations() {
  return serviceMigrations(AUDIT_MIGRATIONS_DIRECTORY);
}

export async function migrateAudit(config: PlatformConfig): Promise<string[]> {
  return prepareDatabase(config, auditMigrations());
}

export interface AuditAppOptions {
  readonly runOutboxRelay?: boolean;
  /** Set false in tests that append by hand. */
  readonly runConsumer?: boolean;
  /** The AUDIT_* settings; without them, the defaults of a development machine (the insecure development key). */
  readonly settings?: AuditSettings;
}

export async function createAuditApp(config: PlatformConfig, telemetry: Telemetry, options: AuditAppOptions = {}): Promise<NestExpressApplication> {
  const settings = options.settings ?? loadAuditSettings({ NODE_ENV: config.NODE_ENV });
  const platform = { config, telemetry, usesRedis: false, ...(options.runOutboxRelay === undefined ? {} : { runOutboxRelay: options.runOutboxRelay }) };
  const consumer = options.runConsumer === undefined ? {} : { runConsumer: options.runConsumer };
  return createHttpApp(AuditModule.register(platform, settings, consumer) as never, config, {
    title: 'Audit',
    description:
      'The tamper-evident audit trail: every audit.* event appended once to a Merkle-tree log with signed checkpoints; ' +
      'search, verifiable exports (recon audit verify), inclusion and consistency proofs, keys.',
  });
}
