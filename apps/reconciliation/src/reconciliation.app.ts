import * as path from 'node:path';
import { type DynamicModule, Module } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { PlatformConfig } from '@recon/config';
import type { Telemetry } from '@recon/observability';
import { createHttpApp, PlatformModule, type PlatformOptions, prepareDatabase, serviceMigrations } from '@recon/platform';

export const RECONCILIATION_MIGRATIONS_DIRECTORY = path.join(__dirname, 'database', 'migrations');

@Module({})
export class ReconciliationModule {
  static register(platform: PlatformOptions): DynamicModule {
    return { module: ReconciliationModule, imports: [PlatformModule.forService(platform)] };
  }
}

export async function migrateReconciliation(config: PlatformConfig): Promise<string[]> {
  return prepareDatabase(config, serviceMigrations(RECONCILIATION_MIGRATIONS_DIRECTORY));
}

export async function createReconciliationApp(config: PlatformConfig, telemetry: Telemetry, options: { runOutboxRelay?: boolean } = {}): Promise<NestExpressApplication> {
  return createHttpApp(ReconciliationModule.register({ config, telemetry, usesRedis: true, ...options }) as never, config, {
    title: 'Reconciliation',
    description: 'See docs/ and the README: this service grows in its own issue.',
  });
}
