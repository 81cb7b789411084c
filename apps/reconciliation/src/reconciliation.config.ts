import { loadConfig, platformConfigSchema, type PlatformConfig } from '@recon/config';
import { z } from 'zod';
import { isPreviousDayCutOff, PREVIOUS_DAY_CUT_OFF_BEFORE } from './runs/domain/business-day';

export const RECONCILIATION_DEFAULTS = { serviceName: 'reconciliation', httpPort: 3003, databaseSchema: 'reconciliation' } as const;

export const GRACE_DAYS_MAX = 31;
export const GRACE_DAYS_DEFAULT = 2;
export const CONSUMER_CONCURRENCY_MAX = 64;
export const CONSUMER_CONCURRENCY_DEFAULT = 16;
export const PENDING_SWEEP_INTERVAL_MS_MIN = 1_000;
export const HTTP_TIMEOUT_MS_MAX = 120_000;
export const RULES_RECHECK_INTERVAL_MS_DEFAULT = 5_000;
export const RULES_RECHECK_INTERVAL_MS_MAX = 60_000;

const cutOffSchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day HH:MM');
const timeZoneSchema = z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Berlin');

/** The RECON_* variables; the platform's own are loaded by loadReconciliationConfig (runServiceMain does the same). */
export const reconciliationSettingsSchema = z
  .object({
    /** The ledger's HTTP API: CSV export for the nightly completeness check, transactions for approved adjustments. */
    RECON_LEDGER_URL: z.string().url().default('http://127.0.0.1:3001'),
    /** The bank gateway's HTTP API (its per-day line listing is not there yet; see docs/audit-events.md). */
    RECON_GATEWAY_URL: z.string().url().default('http://127.0.0.1:3002'),
    /** This service's own credential at the ledger (role `service`). */
    RECON_SERVICE_API_KEY: z.string().min(16).max(256).default('dev-service-key-000001'),
    RECON_HTTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(HTTP_TIMEOUT_MS_MAX).default(10_000),
    /** Defaults for custody accounts without a row in reconciliation_accounts. */
    RECON_GRACE_DAYS_DEFAULT: z.coerce.number().int().min(0).max(GRACE_DAYS_MAX).default(GRACE_DAYS_DEFAULT),
    RECON_CUTOFF_DEFAULT: cutOffSchema.default('18:00'),
    RECON_TIME_ZONE_DEFAULT: timeZoneSchema.default('UTC'),
    /** Whether the default cut-off is after midnight and closes the previous calendar day (then before 12:00). */
    RECON_CUTOFF_CLOSES_PREVIOUS_DAY_DEFAULT: z
      .enum(['true', 'false'])
      .default('false')
      .transform((value) => value === 'true'),
    RECON_CONSUMERS_ENABLED: z
      .enum(['true', 'false'])
      .default('true')
      .transform((value) => value === 'true'),
    RECON_SCHEDULER_ENABLED: z
      .enum(['true', 'false'])
      .default('true')
      .transform((value) => value === 'true'),
    RECON_CONSUMER_CONCURRENCY: z.coerce.number().int().min(1).max(CONSUMER_CONCURRENCY_MAX).default(CONSUMER_CONCURRENCY_DEFAULT),
    /** How often pending items whose grace window closed are turned into breaks between nightly runs. */
    RECON_PENDING_SWEEP_INTERVAL_MS: z.coerce
      .number()
      .int()
      .min(PENDING_SWEEP_INTERVAL_MS_MIN)
      .max(24 * 3_600_000)
      .default(15 * 60_000),
    /** How often retractions that overtook their lines (tombstones) are applied to the lines that have arrived since. */
    RECON_RETRACTION_SWEEP_INTERVAL_MS: z.coerce
      .number()
      .int()
      .min(PENDING_SWEEP_INTERVAL_MS_MIN)
      .max(24 * 3_600_000)
      .default(60_000),
    /** Retries of an approved adjustment the ledger did not accept yet (BullMQ, exponential back-off). */
    RECON_ADJUSTMENT_POST_ATTEMPTS_MAX: z.coerce.number().int().min(1).max(1_000).default(50),
    RECON_ADJUSTMENT_RETRY_BASE_MS: z.coerce.number().int().min(10).max(3_600_000).default(5_000),
    /** How long an instance matches continuously with the rule set it last read before re-reading the active version. */
    RECON_RULES_RECHECK_INTERVAL_MS: z.coerce.number().int().min(0).max(RULES_RECHECK_INTERVAL_MS_MAX).default(RULES_RECHECK_INTERVAL_MS_DEFAULT),
  })
  .refine((value) => !value.RECON_CUTOFF_CLOSES_PREVIOUS_DAY_DEFAULT || isPreviousDayCutOff(value.RECON_CUTOFF_DEFAULT), {
    message: `a cut-off that closes the previous day is after midnight and before ${PREVIOUS_DAY_CUT_OFF_BEFORE}`,
    path: ['RECON_CUTOFF_DEFAULT'],
  })
  .transform((value) => ({
    ledgerUrl: value.RECON_LEDGER_URL.replace(/\/+$/, ''),
    gatewayUrl: value.RECON_GATEWAY_URL.replace(/\/+$/, ''),
    serviceApiKey: value.RECON_SERVICE_API_KEY,
    httpTimeoutMs: value.RECON_HTTP_TIMEOUT_MS,
    graceDaysDefault: value.RECON_GRACE_DAYS_DEFAULT,
    cutOffDefault: value.RECON_CUTOFF_DEFAULT,
    timeZoneDefault: value.RECON_TIME_ZONE_DEFAULT,
    cutOffClosesPreviousDayDefault: value.RECON_CUTOFF_CLOSES_PREVIOUS_DAY_DEFAULT,
    consumersEnabled: value.RECON_CONSUMERS_ENABLED,
    schedulerEnabled: value.RECON_SCHEDULER_ENABLED,
    consumerConcurrency: value.RECON_CONSUMER_CONCURRENCY,
    pendingSweepIntervalMs: value.RECON_PENDING_SWEEP_INTERVAL_MS,
    retractionSweepIntervalMs: value.RECON_RETRACTION_SWEEP_INTERVAL_MS,
    adjustmentPostAttemptsMax: value.RECON_ADJUSTMENT_POST_ATTEMPTS_MAX,
    adjustmentRetryBaseMs: value.RECON_ADJUSTMENT_RETRY_BASE_MS,
    rulesRecheckIntervalMs: value.RECON_RULES_RECHECK_INTERVAL_MS,
  }));

export type ReconciliationSettings = z.output<typeof reconciliationSettingsSchema>;

export function loadReconciliationConfig(env: Record<string, string | undefined>): PlatformConfig {
  return loadConfig(platformConfigSchema(RECONCILIATION_DEFAULTS), env);
}

export function loadReconciliationSettings(env: Record<string, string | undefined>): ReconciliationSettings {
  return loadConfig(reconciliationSettingsSchema, env);
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return name.length > 0 && name.length <= 64;
  } catch {
    return false;
  }
}
