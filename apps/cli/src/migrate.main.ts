/**
 * `npm run migrate`: the explicit deploy step. Creates the database when missing, then each service's role
 * and schema, and applies pending migrations. Each service's variables come from the environment with the
 * service's prefix (e.g. LEDGER_DATABASE_URL) or the shared name (DATABASE_ADMIN_URL).
 */
import { loadConfig, platformConfigSchema } from '@recon/config';
import { migrateAudit } from '../../audit/src/audit.app';
import { AUDIT_DEFAULTS } from '../../audit/src/audit.config';
import { migrateBankGateway } from '../../bank-gateway/src/bank-gateway.app';
import { BANK_GATEWAY_DEFAULTS } from '../../bank-gateway/src/bank-gateway.config';
import { migrateLedger } from '../../ledger/src/ledger.app';
import { LEDGER_DEFAULTS } from '../../ledger/src/ledger.config';
import { migrateReconciliation } from '../../reconciliation/src/reconciliation.app';
import { RECONCILIATION_DEFAULTS } from '../../reconciliation/src/reconciliation.config';

const SERVICES = [
  { defaults: LEDGER_DEFAULTS, migrate: migrateLedger },
  { defaults: BANK_GATEWAY_DEFAULTS, migrate: migrateBankGateway },
  { defaults: RECONCILIATION_DEFAULTS, migrate: migrateReconciliation },
  { defaults: AUDIT_DEFAULTS, migrate: migrateAudit },
];

async function main(): Promise<void> {
  for (const service of SERVICES) {
    const prefix = `${service.defaults.serviceName.toUpperCase().replaceAll('-', '_')}_`;
    const env: Record<string, string | undefined> = { ...process.env };
    for (const [name, value] of Object.entries(process.env)) if (name.startsWith(prefix)) env[name.slice(prefix.length)] = value;
    const config = loadConfig(platformConfigSchema(service.defaults), env);
    const applied = await service.migrate(config);
    process.stdout.write(`${service.defaults.serviceName}: ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}\n`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`migrate failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
