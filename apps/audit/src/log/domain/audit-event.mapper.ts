import { type AuditEvent, AuditLogError, validateAuditEvent } from '@recon/audit-log';
import type { AuditEventRecordedV1 } from '@recon/contracts';

/**
 * From the wire contract (`audit.event.recorded` v1, libs/contracts) to the log's AuditEvent (libs/audit-log).
 *
 * - `type` is the subject, `audit.<service>.<action without the service word>` (auditSubjectFor).
 * - `action` is the contract's dotted action without the service word, dots written as `_`
 *   (`ledger.transaction.post` → `transaction_post`): the log wants one lower-case name, and `type` keeps the
 *   exact dotted form for searches.
 * - A hash the producer wrote in upper-case hex or as base64 of 32 bytes is written as lower-case hex.
 * - Everything else is copied as it is.
 */
export type MappedAuditEvent =
  { readonly ok: true; readonly event: AuditEvent; readonly canonicalBytes: Uint8Array } | { readonly ok: false; readonly reason: string };

const SHA256_BYTES = 32;

export function auditEventFromContract(subject: string, payload: AuditEventRecordedV1): MappedAuditEvent {
  const serviceWord = `${payload.service}.`;
  const action = (payload.action.startsWith(serviceWord) ? payload.action.slice(serviceWord.length) : payload.action).replaceAll('.', '_');
  const beforeHash = payload.beforeHash === undefined ? undefined : hexSha256Of(payload.beforeHash);
  const afterHash = payload.afterHash === undefined ? undefined : hexSha256Of(payload.afterHash);
  if (beforeHash === null) return { ok: false, reason: 'beforeHash is neither hex nor base64 of a 32-byte SHA-256' };
  if (afterHash === null) return { ok: false, reason: 'afterHash is neither hex nor base64 of a 32-byte SHA-256' };
  const candidate = {
    eventId: payload.eventId,
    type: subject,
    service: payload.service,
    occurredAt: payload.occurredAt,
    actor: { id: payload.actor.id, role: payload.actor.role },
    action,
    entity: { type: payload.entity.type, id: payload.entity.id },
    ...(beforeHash === undefined ? {} : { beforeHash }),
    ...(afterHash === undefined ? {} : { afterHash }),
    ...(payload.requestId === undefined ? {} : { requestId: payload.requestId }),
    ...(payload.traceId === undefined ? {} : { traceId: payload.traceId }),
    ...(payload.details === undefined ? {} : { details: payload.details }),
  };
  try {
    const { event, canonicalBytes } = validateAuditEvent(candidate);
    return { ok: true, event, canonicalBytes };
  } catch (error) {
    if (error instanceof AuditLogError) return { ok: false, reason: error.message };
    throw error;
  }
}

/** Lower-case hex of a SHA-256 given as hex (any case) or base64; null when it is neither. */
function hexSha256Of(text: string): string | null {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return text.toLowerCase();
  const base64 = text.replaceAll('-', '+').replaceAll('_', '/');
  if (/^[A-Za-z0-9+/]{43}=?$/.test(base64)) {
    const bytes = Buffer.from(base64, 'base64');
    if (bytes.length === SHA256_BYTES) return bytes.toString('hex');
  }
  return null;
}
