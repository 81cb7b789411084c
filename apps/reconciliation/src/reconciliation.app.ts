import * as path from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { PlatformConfig } from '@recon/config';
import { defaultRuleSet, type RuleSet } from '@recon/matching';
import type { Telemetry } from '@recon/observability';
import { createHttpApp, prepareDatabase, serviceMigrations } from '@recon/platform';
import { loadReconciliationSettings, type ReconciliationSettings } from './reconciliation.config';
import { ReconciliationModule } from './reconciliation.module';
import { RULE_SET_BODY_PATH, ruleSetBodyParser } from './rules/interface/rule-set-body.middleware';

export const RECONCILIATION_MIGRATIONS_DIRECTORY = path.join(__dirname, 'database', 'migrations');

export interface ReconciliationAppOptions {
  readonly runOutboxRelay?: boolean;
  /** The RECON_* settings (main loads them from the environment); defaults when absent. */
  readonly settings?: ReconciliationSettings;
  /** The matching rules; the documented defaults when absent. */
  readonly ruleSet?: RuleSet;
}

export async function migrateReconciliation(config: PlatformConfig): Promise<string[]> {
  return prepareDatabase(config, serviceMigrations(RECONCILIATION_MIGRATIONS_DIRECTORY));
}

export async function createReconciliationApp(
  config: PlatformConfig,
  telemetry: Telemetry,
  options: ReconciliationAppOptions = {},
): Promise<NestExpressApplication> {
  const settings = options.settings ?? loadReconciliationSettings({});
  const platform = { config, telemetry, usesRedis: true, ...(options.runOutboxRelay === undefined ? {} : { runOutboxRelay: options.runOutboxRelay }) };
  return createHttpApp(ReconciliationModule.register(platform, settings, options.ruleSet ?? defaultRuleSet()) as never, config, {
    title: 'Reconciliation',
    configure: (app) => app.use(RULE_SET_BODY_PATH, ruleSetBodyParser()),
    description:
      'Continuous and nightly reconciliation of the ledger against the custody bank: runs, breaks and their review workflow (assign, comment, resolve, four-eyes adjustments), versioned matching rule sets (preview, four-eyes activation).',
  });
}
