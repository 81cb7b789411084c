import { z } from 'zod';
import { defineContract } from './event-contract';
import {
  ACTION_LENGTH_MAX,
  AUDIT_DETAILS_BYTES_MAX,
  AUDIT_DETAILS_KEYS_MAX,
  CODE_LENGTH_MAX,
  HASH_LENGTH_MAX,
  HASH_LENGTH_MIN,
  ID_LENGTH_MAX,
  SERVICE_NAME_LENGTH_MAX,
} from './limits';
import { idSchema, instantSchema, uuidSchema } from './primitives';

export const AUDIT_SUBJECT_PREFIX = 'audit';
export const AUDIT_DETAILS_DEPTH_MAX = 8;

const SERVICE_NAME_PATTERN = /^[a-z][a-z0-9-]*$/;
/** Dotted lower-case words: `ledger.transaction.post`, `break.resolve`. Each word is one NATS subject token. */
const ACTION_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;

/**
 * The subject of an audit event: `audit.<service>.<action>`. Actions are usually written with the service as
 * their first word (`ledger.transaction.post` from `ledger`); that word is not repeated, so the subject is
 * `audit.ledger.transaction.post`, not `audit.ledger.ledger.transaction.post`.
 */
export function auditSubjectFor(service: string, action: string): string {
  if (!SERVICE_NAME_PATTERN.test(service)) throw new Error(`audit service name '${service}' must match ${SERVICE_NAME_PATTERN}`);
  if (!ACTION_PATTERN.test(action)) throw new Error(`audit action '${action}' must match ${ACTION_PATTERN}`);
  const actionWithoutService = action.startsWith(`${service}.`) ? action.slice(service.length + 1) : action;
  return `${AUDIT_SUBJECT_PREFIX}.${service}.${actionWithoutService}`;
}

function jsonDepthOf(value: unknown, depthSoFar: number): number {
  if (value === null || typeof value !== 'object' || depthSoFar > AUDIT_DETAILS_DEPTH_MAX) return depthSoFar;
  let deepest = depthSoFar + 1;
  for (const child of Object.values(value)) deepest = Math.max(deepest, jsonDepthOf(child, depthSoFar + 1));
  return deepest;
}

/** Free-form context for auditors, bounded in size, depth and keys: an audit trail is not a blob store. */
const auditDetailsRecordSchema = z.record(z.string().min(1).max(CODE_LENGTH_MAX), z.json()).superRefine((details, context) => {
  if (Object.keys(details).length > AUDIT_DETAILS_KEYS_MAX) {
    context.addIssue({ code: 'custom', message: `has more than ${AUDIT_DETAILS_KEYS_MAX} keys` });
  }
  if (jsonDepthOf(details, 0) > AUDIT_DETAILS_DEPTH_MAX) {
    context.addIssue({ code: 'custom', message: `is nested deeper than ${AUDIT_DETAILS_DEPTH_MAX} levels` });
    return;
  }
  const bytes = new TextEncoder().encode(JSON.stringify(details)).length;
  if (bytes > AUDIT_DETAILS_BYTES_MAX) {
    context.addIssue({ code: 'custom', message: `is ${bytes} bytes of JSON, more than ${AUDIT_DETAILS_BYTES_MAX}` });
  }
});

/**
 * Details go through JSON first, as they will on the wire: a Date becomes its ISO string and an undefined
 * field disappears instead of failing validation; what JSON cannot carry (a bigint, a cycle) is refused.
 */
export const auditDetailsSchema = z.preprocess((value, context) => {
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch (error) {
    context.addIssue({ code: 'custom', message: `is not JSON: ${error instanceof Error ? error.message : String(error)}` });
    return z.NEVER;
  }
}, auditDetailsRecordSchema);

const hashSchema = z
  .string()
  .min(HASH_LENGTH_MIN)
  .max(HASH_LENGTH_MAX)
  .regex(/^[A-Za-z0-9:+/=_-]+$/, { message: 'must be a hex or base64 digest' });

export const auditEventRecordedV1Schema = z.object({
  eventId: uuidSchema,
  occurredAt: instantSchema,
  service: z.string().max(SERVICE_NAME_LENGTH_MAX).regex(SERVICE_NAME_PATTERN, { message: 'must be a service name like ledger' }),
  actor: z.object({
    id: idSchema,
    /** e.g. `system`, `finance-ops`, `approver`, `auditor`. */
    role: z.string().min(1).max(CODE_LENGTH_MAX),
  }),
  action: z.string().max(ACTION_LENGTH_MAX).regex(ACTION_PATTERN, { message: 'must be dotted lower-case words like ledger.transaction.post' }),
  entity: z.object({
    type: z.string().min(1).max(CODE_LENGTH_MAX),
    id: idSchema,
  }),
  beforeHash: hashSchema.optional(),
  afterHash: hashSchema.optional(),
  requestId: z.string().min(1).max(ID_LENGTH_MAX).optional(),
  traceId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, { message: 'must be a W3C trace id (32 lower-case hex digits)' })
    .optional(),
  details: auditDetailsSchema.optional(),
});

export type AuditEventRecordedV1 = z.output<typeof auditEventRecordedV1Schema>;

export const AUDIT_EVENT_RECORDED_V1 = defineContract({
  subject: `${AUDIT_SUBJECT_PREFIX}.>`,
  schemaVersion: 1,
  schema: auditEventRecordedV1Schema,
  description: 'An action or event for the tamper-evident audit trail, on audit.<service>.<action>.',
  checkSubject: (subject, event) => {
    const expected = auditSubjectFor(event.service, event.action);
    return subject === expected ? undefined : `subject '${subject}' does not match service and action (expected '${expected}')`;
  },
});
