import { isEncodingOption, isFormatOption } from '@recon/statement-formats';
import { z } from 'zod';

/** Connections are configuration: a deployment has a handful per bank, never thousands. */
export const CONNECTIONS_MAX = 1_000;
export const SECRET_REF_PATTERN = /^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:\/.{1,1000})$/;
const CRON_PATTERN = /^\s*(\S+\s+){4,5}\S+\s*$/;
const CRON_FIELD_PATTERN = /^[0-9*,/?LW#A-Za-z-]{1,40}$/;
const HOST_PATTERN = /^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]{2,45}\]$/;

/**
 * Key names that carry a credential. A connection names its secret by reference (secretRef: env:NAME or
 * file:/path) so that no secret is stored in the database, shown by GET, or written to the audit trail.
 */
const INLINE_SECRET_KEY = /pass(word|phrase)?|pwd|secret|private.?key|token|api.?key|credential|auth/i;
const REFERENCE_KEYS = new Set(['secretRef', 'caCertificateRef', 'hostKeySha256']);

const secretRefSchema = z
  .string()
  .max(1_010)
  .regex(SECRET_REF_PATTERN, "a reference to a secret: 'env:NAME' or 'file:/absolute/path', never the secret itself");

const httpsTransportSchema = z
  .object({
    kind: z.literal('https'),
    /** `file`: the URL is one statement file (re-fetched when its ETag/Last-Modified changes). `listing`: the URL
     *  answers JSON `{ "files": [{ "name", "url"?, "size"?, "modified"? }] }` and each new file is downloaded. */
    mode: z.enum(['file', 'listing']).default('file'),
    url: z
      .string()
      .max(2_000)
      .url()
      .refine((text) => text.startsWith('https://'), 'must be an https:// URL')
      .refine((text) => new URL(text).username === '' && new URL(text).password === '', 'must not carry credentials (use secretRef)'),
  })
  .strict();

const sftpTransportSchema = z
  .object({
    kind: z.literal('sftp'),
    host: z.string().regex(HOST_PATTERN, 'a host name or [IPv6] address'),
    port: z.number().int().min(1).max(65_535).default(22),
    /** Directory whose files are the bank's statements. */
    path: z.string().min(1).max(1_000).startsWith('/'),
    username: z.string().min(1).max(100),
    /** SHA-256 of the server's host key (hex or base64): when set, any other host key is refused. */
    hostKeySha256: z
      .string()
      .regex(/^[A-Za-z0-9+/=:]{32,100}$/)
      .optional(),
    /** Only names matching this (a JavaScript regular expression) are taken. */
    namePattern: z.string().min(1).max(200).optional(),
  })
  .strict();

const uploadTransportSchema = z.object({ kind: z.literal('upload') }).strict();

/** A third-party adapter loaded from GATEWAY_ADAPTER_MODULES, by its capabilities().name, with its own settings. */
const adapterTransportSchema = z
  .object({
    kind: z.literal('adapter'),
    adapter: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "the adapter's capabilities().name"),
    /** Plain settings the adapter reads from `connection.transport.options` (no credentials: those go by secretRef). */
    options: z
      .record(z.string().min(1).max(64), z.union([z.string().max(2_000), z.number(), z.boolean()]))
      .refine((options) => Object.keys(options).length <= 50, 'at most 50 options')
      .optional(),
  })
  .strict();

export const transportSchema = z.discriminatedUnion('kind', [uploadTransportSchema, httpsTransportSchema, sftpTransportSchema, adapterTransportSchema]);
export type Transport = z.output<typeof transportSchema>;

export const connectionInputSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'letters, digits and . _ : - only, at most 100'),
    bankId: z.string().min(1).max(64),
    /** The custody account as the bank's statements name it (IBAN or account number). */
    custodyAccount: z.string().min(1).max(64),
    format: z.string().max(64).refine(isFormatOption, 'auto, mt940, mt942, camt.052, camt.053, camt.054, bai2 or csv:<profile>').default('auto'),
    encoding: z.string().max(16).refine(isEncodingOption, 'auto, utf8, latin1, gb18030, cp1252, cp852 or utf16le').default('auto'),
    /** Shorthand for format `csv:<profile>`. */
    csvProfile: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)
      .optional(),
    schedule: z
      .object({
        cron: z
          .string()
          .max(100)
          .refine(
            (text) =>
              CRON_PATTERN.test(text) &&
              text
                .trim()
                .split(/\s+/)
                .every((field) => CRON_FIELD_PATTERN.test(field)),
            'a cron expression of 5 or 6 fields',
          ),
        timeZone: z.string().max(64).refine(isTimeZone, 'an IANA time zone such as Europe/Berlin').default('UTC'),
      })
      .strict()
      .optional(),
    transport: transportSchema,
    secretRef: secretRefSchema.optional(),
    caCertificateRef: secretRefSchema.optional(),
  })
  .strict()
  .superRefine((input, context) => {
    if (input.csvProfile !== undefined && input.format !== 'auto' && input.format !== `csv:${input.csvProfile}`) {
      context.addIssue({ code: 'custom', path: ['csvProfile'], message: `contradicts format '${input.format}'` });
    }
    if (input.schedule !== undefined && input.transport.kind === 'upload') {
      context.addIssue({ code: 'custom', path: ['schedule'], message: 'an upload connection has nothing to pull; give an https, sftp or adapter transport' });
    }
  })
  .transform(({ csvProfile, ...input }) => ({ ...input, format: csvProfile === undefined ? input.format : `csv:${csvProfile}` }));

export type ConnectionInput = z.output<typeof connectionInputSchema>;

export interface ConnectionView {
  readonly connectionId: string;
  readonly name: string;
  readonly bankId: string;
  readonly custodyAccount: string;
  readonly format: string;
  readonly encoding: string;
  readonly schedule?: { readonly cron: string; readonly timeZone: string };
  readonly transport: Transport;
  readonly secretRef?: string;
  readonly caCertificateRef?: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** Paths (dotted) of keys in a request body that look like an inline credential. */
export function inlineSecretPaths(value: unknown, path: string[] = []): string[] {
  if (value === null || typeof value !== 'object') return [];
  const found: string[] = [];
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (!REFERENCE_KEYS.has(key) && INLINE_SECRET_KEY.test(key)) found.push([...path, key].join('.'));
    found.push(...inlineSecretPaths(item, [...path, key]));
  }
  return found;
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
