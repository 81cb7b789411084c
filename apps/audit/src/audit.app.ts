import * as path from 'node:path';
import { type DynamicModule, Module } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { PlatformConfig } from '@recon/config';
import type { Telemetry } from '@recon/observability';
import { createHttpApp, PlatformModule, type PlatformOptions, prepareDatabase, serviceMigrations } from '@recon/platform';

export const AUDIT_MIGRATIONS_DIRECTORY = path.join(__dirname, 'database', 'migrations');

@Module({})
export class AuditModule {
  static register(platform: PlatformOptions): DynamicModule {
    return { module: AuditModule, imports: [PlatformModule.forService(platform)] };
  }
}

export async function migrateAudit(config: PlatformConfig): Promise<string[]> {
  return prepareDatabase(config, serviceMigrations(AUDIT_MIGRATIONS_DIRECTORY));
}

export async function createAuditApp(config: PlatformConfig, telemetry: Telemetry, options: { runOutboxRelay?: boolean } = {}): Promise<NestExpressApplication> {
  return createHttpApp(AuditModule.register({ config, telemetry, usesRedis: false, ...options }) as never, config, {
    title: 'Audit',
    description: 'See docs/ and the README: this service grows in its own issue.',
  });
}
