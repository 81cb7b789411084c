import { z } from 'zod';
import { AuditLogError, AuditLogErrorCode } from './audit-log.errors';
import { canonicalJsonBytes, canonicalizeJson } from './canonical-json';
import { hashLeaf, hashToHex, sha256 } from './hash';

/**
 * One audit event: who did what, to which entity, when, and from where. The log stores it as the RFC 8785
 * canonical JSON of this object, and its leaf hash is SHA-256(0x00 || those bytes).
 */
export const AUDIT_EVENT_BYTES_MAX = 64 * 1024;
export const AUDIT_EVENT_ID_LENGTH_MAX = 128;
export const AUDIT_EVENT_TYPE_LENGTH_MAX = 128;
export const AUDIT_ACTOR_ID_LENGTH_MAX = 256;
export const AUDIT_ENTITY_ID_LENGTH_MAX = 256;
export const AUDIT_NAME_LENGTH_MAX = 64;
export const AUDIT_REQUEST_ID_LENGTH_MAX = 128;

const identifier = (lengthMax: number) =>
  z
    .string()
    .min(1)
    .max(lengthMax)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');
const lowerName = z
  .string()
  .min(1)
  .max(AUDIT_NAME_LENGTH_MAX)
  .regex(/^[a-z][a-z0-9_-]*$/, 'lower-case letters, digits, - and _');
const hexSha256 = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits (SHA-256)');

/** `audit.<service>.<entity>.<verb>` and deeper, e.g. `audit.ledger.transaction.posted`. */
export const AUDIT_EVENT_TYPE_PATTERN = /^audit(\.[a-z0-9]+(?:[-_][a-z0-9]+)*){2,}$/;

export const auditEventSchema = z.strictObject({
  eventId: identifier(AUDIT_EVENT_ID_LENGTH_MAX),
  type: z.string().max(AUDIT_EVENT_TYPE_LENGTH_MAX).regex(AUDIT_EVENT_TYPE_PATTERN, 'audit.<service>.<entity>.<verb>'),
  service: lowerName,
  /** When it happened: a UTC instant, `2025-01-02T10:00:00.000Z`. */
  occurredAt: z.iso.datetime({ offset: false }),
  actor: z.strictObject({ id: identifier(AUDIT_ACTOR_ID_LENGTH_MAX), role: lowerName }),
  action: lowerName,
  entity: z.strictObject({ type: lowerName, id: identifier(AUDIT_ENTITY_ID_LENGTH_MAX) }),
  /** hashEntityState() of the entity before and after; absent when there was no before (creation) or after. */
  beforeHash: hexSha256.optional(),
  afterHash: hexSha256.optional(),
  requestId: identifier(AUDIT_REQUEST_ID_LENGTH_MAX).optional(),
  /** W3C trace-context trace id. */
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, '32 lower-case hex digits (W3C trace id)')
    .optional(),
  /** Free-form facts (amounts as decimal strings, never JSON numbers). */
  details: z.record(z.string().max(AUDIT_NAME_LENGTH_MAX), z.json()).optional(),
});

export type AuditEvent = z.infer<typeof auditEventSchema>;

/** Validates an event and its size; throws AuditLogError naming the first bad field. */
export function parseAuditEvent(input: unknown): AuditEvent {
  return validateAuditEvent(input).event;
}

/** Validates an event and returns it with its canonical bytes, encoded once for the size check and the hash. */
export function validateAuditEvent(input: unknown): { readonly event: AuditEvent; readonly canonicalBytes: Uint8Array } {
  const result = auditEventSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'event' : issue.path.join('.');
    throw new AuditLogError(AuditLogErrorCode.EventInvalid, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  const canonicalBytes = canonicalJsonBytes(result.data);
  if (canonicalBytes.length > AUDIT_EVENT_BYTES_MAX) {
    throw new AuditLogError(AuditLogErrorCode.EventInvalid, `event is ${canonicalBytes.length} bytes, more than ${AUDIT_EVENT_BYTES_MAX}`);
  }
  return { event: result.data, canonicalBytes };
}

/** The bytes the log commits to: RFC 8785 canonical JSON, UTF-8. */
export function encodeAuditEvent(event: AuditEvent): Uint8Array {
  return canonicalJsonBytes(event);
}

/** SHA-256(0x00 || canonical bytes): the RFC 9162 leaf hash of an event (or of any JSON value). */
export function auditEventLeafHash(event: unknown): Uint8Array {
  return hashLeaf(canonicalJsonBytes(event));
}

/** Hex SHA-256 of the canonical JSON of an entity's state, for `beforeHash` / `afterHash`. */
export function hashEntityState(state: unknown): string {
  return hashToHex(sha256(Buffer.from(canonicalizeJson(state), 'utf8')));
}
