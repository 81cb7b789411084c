import { Inject, Injectable } from '@nestjs/common';
import { hashEntityState } from '@recon/audit-log';
import type { Actor } from '@recon/auth';
import type { Role } from '@recon/config';
import { enqueueEvent, type OutgoingEvent } from '@recon/messaging';
import { activeTraceId } from '@recon/observability';
import type { SqlExecutor } from '@recon/persistence';
import { CLOCK, type Clock, ID_GENERATOR, type IdGenerator } from './clock';
import { currentRequestContext } from './request-context';
import { PLATFORM_CONFIG } from './tokens';
import type { PlatformConfig } from '@recon/config';

export interface AuditEntry {
  readonly actor: Actor;
  readonly role: Role | undefined;
  /** `<entity>.<verb>`, e.g. `transaction.post`; the subject becomes `audit.<service>.<action>`. */
  readonly action: string;
  readonly entity: { readonly type: string; readonly id: string };
  readonly before?: unknown;
  readonly after?: unknown;
  readonly details?: Record<string, unknown>;
}

/**
 * Writes an audit event into the outbox of the same database transaction as the state change it
 * describes, so the audit trail can never miss a committed change nor record one that rolled back.
 */
@Injectable()
export class AuditRecorder {
  constructor(
    @Inject(PLATFORM_CONFIG) private readonly config: PlatformConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
  ) {}

  async record(executor: SqlExecutor, entry: AuditEntry): Promise<void> {
    await enqueueEvent(executor, this.eventOf(entry));
  }

  /**
   * The outbox event of one audit entry, for a caller that writes many events in one statement (`enqueueEvents`;
   * validated against its contract there): the nightly run opening thousands of breaks.
   */
  eventOf(entry: AuditEntry): OutgoingEvent {
    const eventId = this.ids.uuid();
    const requestId = currentRequestContext()?.requestId;
    const traceId = activeTraceId();
    return {
      messageId: eventId,
      subject: `audit.${this.config.serviceName}.${entry.action}`,
      schemaVersion: 1,
      payload: {
        eventId,
        occurredAt: this.clock.now().toISOString(),
        service: this.config.serviceName,
        actor: { id: entry.actor.id, role: entry.role ?? entry.actor.roles[0] ?? 'service' },
        action: `${this.config.serviceName}.${entry.action}`,
        entity: entry.entity,
        ...(entry.before === undefined ? {} : { beforeHash: hashOf(entry.before) }),
        ...(entry.after === undefined ? {} : { afterHash: hashOf(entry.after) }),
        ...(requestId === undefined ? {} : { requestId }),
        ...(traceId === undefined ? {} : { traceId }),
        ...(entry.details === undefined ? {} : { details: entry.details }),
      },
    };
  }
}

/**
 * SHA-256 of the state's RFC 8785 canonical JSON (the audit log's own encoding), after the JSON rendering a
 * reader of the state would see: dates as ISO strings, bigints as decimal strings, absent members dropped.
 */
export function hashOf(value: unknown): string {
  // Plain JSON data (plain objects, arrays, strings, finite numbers, booleans, null; absent members) canonicalises as it
  // is, to what the JSON round trip below would give back: a run opening 14,000 breaks hashed each one twice over.
  // Whatever JSON would rewrite (a date, a bigint, undefined in an array, a class instance) is refused by the
  // canonical encoding and takes the round trip.
  try {
    return hashEntityState(value);
  } catch {
    const json = JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? item.toString() : item));
    return hashEntityState(json === undefined ? null : JSON.parse(json));
  }
}
