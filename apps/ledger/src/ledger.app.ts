import * as path from 'node:path';
import type { PlatformConfig } from '@recon/config';
import type { Telemetry } from '@recon/observability';
import { createHttpApp, prepareDatabase, serviceMigrations } from '@recon/platform';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { LedgerModule } from './ledger.module';

export const LEDGER_MIGRATIONS_DIRECTORY = path.join(__dirname, 'database', 'migrations');

export function ledgerMigrations() {
  return serviceMigrations(LEDGER_MIGRATIONS_DIRECTORY);
}

export async function migrateLedger(config: PlatformConfig): Promise<string[]> {
  return prepareDatabase(config, ledgerMigrations());
}

export async function createLedgerApp(
  config: PlatformConfig,
  telemetry: Telemetry,
  options: { runOutboxRelay?: boolean } = {},
): Promise<NestExpressApplication> {
  return createHttpApp(LedgerModule.register({ config, telemetry, usesRedis: false, ...options }) as never, config, {
    title: 'Ledger',
    rpc: true,
    description: 'Custody accounts, customer sub-accounts and balanced double-entry transactions; balances as of any date; exports for reconciliation.',
  });
}
