import { loadConfig, platformConfigSchema, type PlatformConfig } from '@recon/config';
import { z } from 'zod';

export const BANK_GATEWAY_DEFAULTS = { serviceName: 'bank-gateway', httpPort: 3002, databaseSchema: 'bank_gateway' } as const;

export const UPLOAD_BYTES_MAX_DEFAULT = 50 * 1024 * 1024;
/** Raw files live in a bytea column: Postgres caps one value at 1 GiB, and a file is held in memory while parsed. */
export const UPLOAD_BYTES_MAX_LIMIT = 512 * 1024 * 1024;
export const PULL_ATTEMPTS_MAX_LIMIT = 20;
export const PULL_FILES_PER_RUN_MAX_LIMIT = 10_000;

const booleanText = z.enum(['true', 'false']).transform((text) => text === 'true');

export const gatewaySettingsSchema = z
  .object({
    /** Largest raw statement accepted by upload or pull; larger is 413 (upload) or skipped with a log (pull). */
    GATEWAY_UPLOAD_BYTES_MAX: z.coerce.number().int().min(1_024).max(UPLOAD_BYTES_MAX_LIMIT).default(UPLOAD_BYTES_MAX_DEFAULT),
    /** Run the BullMQ pull scheduler and worker in this process. */
    GATEWAY_PULL_ENABLED: booleanText.default(true),
    /** Attempts of one scheduled pull before BullMQ gives up on that run (exponential back-off between). */
    GATEWAY_PULL_ATTEMPTS_MAX: z.coerce.number().int().min(1).max(PULL_ATTEMPTS_MAX_LIMIT).default(5),
    GATEWAY_PULL_BACKOFF_MS: z.coerce.number().int().min(10).max(3_600_000).default(5_000),
    /** Connect + transfer timeout of one HTTPS request or SFTP operation. */
    GATEWAY_FETCH_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
    /** Statement timeout of one ingest or reprocess transaction (the COPY of a whole file is one statement). */
    GATEWAY_INGEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(900_000),
    /** New files taken from one connection per run; the rest wait for the next run. */
    GATEWAY_PULL_FILES_PER_RUN_MAX: z.coerce.number().int().min(1).max(PULL_FILES_PER_RUN_MAX_LIMIT).default(100),
    /** Third-party BankAdapter modules (compiled JavaScript), comma-separated paths, loaded and checked at boot. */
    GATEWAY_ADAPTER_MODULES: z
      .string()
      .max(10_000)
      .default('')
      .transform((text) =>
        text
          .split(',')
          .map((item) => item.trim())
          .filter((item) => item.length > 0),
      ),
  })
  .transform((value) => ({
    uploadBytesMax: value.GATEWAY_UPLOAD_BYTES_MAX,
    pullEnabled: value.GATEWAY_PULL_ENABLED,
    pullAttemptsMax: value.GATEWAY_PULL_ATTEMPTS_MAX,
    pullBackoffMs: value.GATEWAY_PULL_BACKOFF_MS,
    fetchTimeoutMs: value.GATEWAY_FETCH_TIMEOUT_MS,
    ingestTimeoutMs: value.GATEWAY_INGEST_TIMEOUT_MS,
    pullFilesPerRunMax: value.GATEWAY_PULL_FILES_PER_RUN_MAX,
    adapterModules: value.GATEWAY_ADAPTER_MODULES as readonly string[],
  }));

export type GatewaySettings = z.output<typeof gatewaySettingsSchema>;

export function loadBankGatewayConfig(env: Record<string, string | undefined>): PlatformConfig {
  return loadConfig(platformConfigSchema(BANK_GATEWAY_DEFAULTS), env);
}

/** The GATEWAY_* variables; the platform's own are loaded by loadBankGatewayConfig. */
export function loadGatewaySettings(env: Record<string, string | undefined>): GatewaySettings {
  return loadConfig(gatewaySettingsSchema, env);
}
