import { loadConfig, platformConfigSchema, type PlatformConfig } from '@recon/config';

export const LEDGER_DEFAULTS = { serviceName: 'ledger', httpPort: 3001, databaseSchema: 'ledger' } as const;

export function loadLedgerConfig(env: Record<string, string | undefined>): PlatformConfig {
  return loadConfig(platformConfigSchema(LEDGER_DEFAULTS), env);
}
