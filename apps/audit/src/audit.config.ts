import { createHash } from 'node:crypto';
import { generateSigningKey, type NoteSigner, type NoteVerifierKey, parseSignerKey, parseVerifierKey } from '@recon/audit-log';
import { loadConfig, platformConfigSchema, type PlatformConfig } from '@recon/config';
import { z } from 'zod';

export const AUDIT_DEFAULTS = { serviceName: 'audit', httpPort: 3004, databaseSchema: 'audit' } as const;

export const CHECKPOINT_EVERY_EVENTS_DEFAULT = 1_000;
export const CHECKPOINT_EVERY_EVENTS_MAX = 1_000_000;
export const CHECKPOINT_EVERY_MS_DEFAULT = 60_000;
export const CHECKPOINT_EVERY_MS_MIN = 100;
export const CHECKPOINT_EVERY_MS_MAX = 24 * 60 * 60_000;
/** Signing keys at once: the current one, plus the next one while a rotation overlaps. */
export const SIGNING_KEYS_MAX = 4;
export const PREVIOUS_PUBLIC_KEYS_MAX = 100;

/**
 * The development signing key: derived from a fixed, published seed, so it is NOT secret. It exists so that a
 * developer's machine and the test suites sign checkpoints without any set-up; its name says what it is, and it is
 * refused when NODE_ENV=production (there AUDIT_SIGNING_KEY is required).
 */
export const DEVELOPMENT_KEY_NAME = 'recon.dev-insecure/audit';
export const DEVELOPMENT_KEY_SEED_TEXT = 'recon audit development signing key: INSECURE, published in apps/audit/README.md';
export const DEVELOPMENT_SIGNING_KEY = generateSigningKey(DEVELOPMENT_KEY_NAME, {
  seed: new Uint8Array(createHash('sha256').update(DEVELOPMENT_KEY_SEED_TEXT, 'utf8').digest()),
});

const commaList = z
  .string()
  .optional()
  .transform((text) =>
    (text ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );

export const auditSettingsSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    /** Signer keys (`PRIVATE+KEY+<name>+<id>+<base64>`), comma-separated: the first is current; two during a rotation's overlap. */
    AUDIT_SIGNING_KEY: commaList,
    /** Verifier keys of retired signing keys, comma-separated: listed by GET /v1/keys so old checkpoints stay verifiable. */
    AUDIT_PREVIOUS_PUBLIC_KEYS: commaList,
    /** The log's identity, the first line of every checkpoint; defaults to the current signing key's name. */
    AUDIT_LOG_ORIGIN: z
      .string()
      .regex(/^\S{1,200}$/, 'one word of at most 200 characters')
      .optional(),
    AUDIT_CHECKPOINT_EVERY_EVENTS: z.coerce.number().int().min(1).max(CHECKPOINT_EVERY_EVENTS_MAX).default(CHECKPOINT_EVERY_EVENTS_DEFAULT),
    AUDIT_CHECKPOINT_EVERY_MS: z.coerce.number().int().min(CHECKPOINT_EVERY_MS_MIN).max(CHECKPOINT_EVERY_MS_MAX).default(CHECKPOINT_EVERY_MS_DEFAULT),
  })
  .transform((value, context) => {
    const signerTexts =
      value.AUDIT_SIGNING_KEY.length > 0 ? value.AUDIT_SIGNING_KEY : value.NODE_ENV === 'production' ? [] : [DEVELOPMENT_SIGNING_KEY.signerKey];
    if (signerTexts.length === 0) {
      context.addIssue({ code: 'custom', path: ['AUDIT_SIGNING_KEY'], message: 'is required in production (make one with `recon audit keygen`)' });
      return z.NEVER;
    }
    if (signerTexts.length > SIGNING_KEYS_MAX) {
      context.addIssue({ code: 'custom', path: ['AUDIT_SIGNING_KEY'], message: `holds at most ${SIGNING_KEYS_MAX} keys` });
      return z.NEVER;
    }
    const signers: NoteSigner[] = [];
    const signerVerifierKeys: string[] = [];
    for (const [index, text] of signerTexts.entries()) {
      try {
        signers.push(parseSignerKey(text));
        signerVerifierKeys.push(verifierKeyOfSigner(text));
      } catch (error) {
        context.addIssue({ code: 'custom', path: ['AUDIT_SIGNING_KEY', index], message: `is not a signer key: ${messageOf(error)}` });
        return z.NEVER;
      }
    }
    if (value.NODE_ENV === 'production' && signerVerifierKeys.includes(DEVELOPMENT_SIGNING_KEY.verifierKey)) {
      context.addIssue({ code: 'custom', path: ['AUDIT_SIGNING_KEY'], message: 'the development key (its seed is public) is refused in production' });
      return z.NEVER;
    }
    if (value.AUDIT_PREVIOUS_PUBLIC_KEYS.length > PREVIOUS_PUBLIC_KEYS_MAX) {
      context.addIssue({ code: 'custom', path: ['AUDIT_PREVIOUS_PUBLIC_KEYS'], message: `holds at most ${PREVIOUS_PUBLIC_KEYS_MAX} keys` });
      return z.NEVER;
    }
    const previousVerifierKeys: NoteVerifierKey[] = [];
    for (const [index, text] of value.AUDIT_PREVIOUS_PUBLIC_KEYS.entries()) {
      try {
        previousVerifierKeys.push(parseVerifierKey(text));
      } catch (error) {
        context.addIssue({ code: 'custom', path: ['AUDIT_PREVIOUS_PUBLIC_KEYS', index], message: `is not a verifier key: ${messageOf(error)}` });
        return z.NEVER;
      }
    }
    const currentSigner = signers[0]!;
    return {
      nodeEnv: value.NODE_ENV,
      origin: value.AUDIT_LOG_ORIGIN ?? currentSigner.name,
      signers,
      /** Verifier keys of the current signers, in AUDIT_SIGNING_KEY order. */
      signingVerifierKeys: signerVerifierKeys,
      previousVerifierKeys: previousVerifierKeys.map((key) => key.text!),
      usesDevelopmentKey: signerVerifierKeys.includes(DEVELOPMENT_SIGNING_KEY.verifierKey),
      checkpointEveryEvents: value.AUDIT_CHECKPOINT_EVERY_EVENTS,
      checkpointEveryMs: value.AUDIT_CHECKPOINT_EVERY_MS,
    };
  });

export type AuditSettings = z.output<typeof auditSettingsSchema>;

export function loadAuditConfig(env: Record<string, string | undefined>): PlatformConfig {
  return loadConfig(platformConfigSchema(AUDIT_DEFAULTS), env);
}

/** The AUDIT_* variables; the platform's own are loaded by loadAuditConfig. */
export function loadAuditSettings(env: Record<string, string | undefined>): AuditSettings {
  return loadConfig(auditSettingsSchema, env);
}

/** The public half of a signer key, as a verifier key string (the name and key id are the signer's own). */
export function verifierKeyOfSigner(signerKeyText: string): string {
  const signer = parseSignerKey(signerKeyText);
  const seedBase64 = signerKeyText.trim().split('+').slice(4).join('+');
  const seed = Buffer.from(seedBase64, 'base64').subarray(1);
  const generated = generateSigningKey(signer.name, { seed: new Uint8Array(seed) });
  return generated.verifierKey;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
