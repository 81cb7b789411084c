import { z } from 'zod';

/**
 * Configuration is read from the environment once, at boot, validated into a typed object, and passed down.
 * Nothing else in the code base reads process.env (R13). A bad value stops the process with a message
 * naming every offending variable.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const ROLES = ['ops', 'approver', 'integrator', 'auditor', 'admin', 'service'] as const;
export type Role = (typeof ROLES)[number];

const portSchema = z.coerce.number().int().min(1).max(65_535);

/** `key=identity:role|role,key2=identity2:role` — keys of at least 16 characters. */
const apiKeysSchema = z.string().transform((text, ctx) => {
  const keys: { key: string; identity: string; roles: Role[] }[] = [];
  for (const item of text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0)) {
    const match = /^([^=]{16,256})=([A-Za-z0-9._@-]{1,128}):([a-z|]+)$/.exec(item);
    const roles = match?.[3]?.split('|') ?? [];
    const unknown = roles.filter((role) => !(ROLES as readonly string[]).includes(role));
    if (match === null || unknown.length > 0 || roles.length === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `entry '${item.slice(0, 24)}…' must be key=identity:role[|role] with a key of 16+ characters and roles from ${ROLES.join(', ')}`,
      });
      return z.NEVER;
    }
    keys.push({ key: match[1] ?? '', identity: match[2] ?? '', roles: roles as Role[] });
  }
  return keys;
});

export type ApiKeyEntry = z.output<typeof apiKeysSchema>[number];

/** Keys that work out of the box on a developer's machine; refused when NODE_ENV=production. */
export const DEVELOPMENT_API_KEYS =
  'dev-ops-key-0000000001=dev-ops:ops,' +
  'dev-ops-key-0000000002=dev-ops-2:ops,' +
  'dev-approver-key-00001=dev-approver:approver,' +
  'dev-integrator-key-001=dev-integrator:integrator,' +
  'dev-auditor-key-000001=dev-auditor:auditor,' +
  'dev-admin-key-00000001=dev-admin:admin,' +
  'dev-service-key-000001=dev-service:service';

export const platformConfigShape = {
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_BODY_BYTES_MAX: z.coerce
    .number()
    .int()
    .min(1_024)
    .max(512 * 1024 * 1024)
    .default(1024 * 1024),
  DATABASE_URL: z.string().url(),
  DATABASE_ADMIN_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/recon'),
  DATABASE_POOL_SIZE_MAX: z.coerce.number().int().min(1).max(200).default(10),
  MIGRATE_ON_START: z
    .enum(['true', 'false'])
    .optional()
    .transform((value) => (value === undefined ? undefined : value === 'true')),
  NATS_SERVERS: z
    .string()
    .default('nats://127.0.0.1:4222')
    .transform((value) => value.split(',').map((server) => server.trim())),
  NATS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{0,32}$/, 'letters, digits, _ and - only, at most 32')
    .default(''),
  NATS_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(30_000).default(5_000),
  REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  REDIS_KEY_PREFIX: z.string().max(64).default('recon:'),
  API_KEYS: z.string().default(DEVELOPMENT_API_KEYS).pipe(apiKeysSchema),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  OUTBOX_POLL_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(1_000),
  // Rows the relay locks, publishes and marks per round: a busy service's event loop gives the relay few turns, so
  // each turn must carry many events (500 fell behind a ledger posting 5,000 transactions/s; 2,000 keeps up).
  OUTBOX_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(2_000),
} as const;

export interface ServiceConfigDefaults {
  readonly serviceName: string;
  readonly httpPort: number;
  readonly databaseSchema: string;
}

export function platformConfigSchema(defaults: ServiceConfigDefaults) {
  return z
    .object({
      ...platformConfigShape,
      HTTP_PORT: portSchema.default(defaults.httpPort),
      DATABASE_URL: z.string().url().default(`postgres://${defaults.databaseSchema}_svc@127.0.0.1:5432/recon`),
      DATABASE_SCHEMA: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier')
        .default(defaults.databaseSchema),
    })
    .transform((value) => ({
      ...value,
      serviceName: defaults.serviceName,
      migrateOnStart: value.MIGRATE_ON_START ?? value.NODE_ENV !== 'production',
    }))
    .superRefine((value, ctx) => {
      if (value.NODE_ENV === 'production' && value.API_KEYS.some((entry) => entry.key.startsWith('dev-'))) {
        ctx.addIssue({ code: 'custom', path: ['API_KEYS'], message: 'development keys are refused in production' });
      }
    });
}

export type PlatformConfig = z.output<ReturnType<typeof platformConfigSchema>>;

/** Parses `env` with `schema`; throws ConfigError listing every bad variable by name. */
export function loadConfig<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
  throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
}
