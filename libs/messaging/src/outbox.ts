import { contractFor, isLogicalSubject, validateAgainstContract } from '@recon/contracts';
import { checkEventHeaders, MessageHeaders } from './message-headers';
import type { SqlExecutor } from './sql-executor';
import { streamDefinitionForSubject } from './streams';
import { injectTraceContext } from './trace-context';

export interface OutgoingEvent {
  /** A UUID; also the Nats-Msg-Id JetStream de-duplicates on and consumers' inbox key. */
  readonly messageId: string;
  /** Logical, unprefixed: `ledger.transaction.posted`. */
  readonly subject: string;
  readonly schemaVersion: number;
  readonly payload: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const INSERT_OUTBOX_SQL = `INSERT INTO outbox_messages (message_id, subject, schema_version, payload, headers)
VALUES ($1, $2, $3, $4::jsonb, $5::jsonb)`;

/**
 * Writes an event to the outbox with the executor of the caller's own transaction: it is published if and only
 * if that transaction commits. The payload is validated against its contract first (ContractViolationError names
 * the subject, version and fields); the active W3C trace context is captured into the headers so the consumer's
 * work joins the producer's trace.
 */
export async function enqueueEvent(executor: SqlExecutor, event: OutgoingEvent): Promise<void> {
  if (!UUID_PATTERN.test(event.messageId)) throw new Error(`event ${event.subject}: messageId '${event.messageId}' must be a UUID`);
  if (!isLogicalSubject(event.subject)) {
    throw new Error(`event subject '${event.subject}' must be a logical subject (dotted lower-case words, no namespace)`);
  }
  if (streamDefinitionForSubject(event.subject) === undefined) {
    throw new Error(`event subject '${event.subject}' belongs to no declared stream`);
  }
  const contract = contractFor(event.subject, event.schemaVersion);
  const payload = validateAgainstContract(contract, event.subject, event.payload);
  const userHeaders = event.headers ?? {};
  checkEventHeaders(event.subject, userHeaders);
  const headers: Record<string, string> = { ...userHeaders, [MessageHeaders.schemaVersion]: String(event.schemaVersion) };
  injectTraceContext(headers);
  await executor.query(INSERT_OUTBOX_SQL, [
    event.messageId.toLowerCase(),
    event.subject,
    event.schemaVersion,
    JSON.stringify(payload),
    JSON.stringify(headers),
  ]);
}

export const OUTBOX_ROWS_PER_INSERT_MAX = 5_000;

/**
 * Writes many events in one statement: the same checks as enqueueEvent for each, one round trip for all.
 * Bulk postings (thousands of transactions per request) would otherwise spend their time on round trips.
 */
export async function enqueueEvents(executor: SqlExecutor, events: readonly OutgoingEvent[]): Promise<void> {
  if (events.length === 0) return;
  if (events.length > OUTBOX_ROWS_PER_INSERT_MAX) throw new RangeError(`at most ${OUTBOX_ROWS_PER_INSERT_MAX} events per enqueueEvents call`);
  const ids: string[] = [];
  const subjects: string[] = [];
  const versions: number[] = [];
  const payloads: string[] = [];
  const headerSets: string[] = [];
  for (const event of events) {
    const row = { ids, subjects, versions, payloads, headerSets };
    const recorder: SqlExecutor = {
      query: async (_sql, params) => {
        const [id, subject, version, payload, headers] = params as [string, string, number, string, string];
        row.ids.push(id);
        row.subjects.push(subject);
        row.versions.push(version);
        row.payloads.push(payload);
        row.headerSets.push(headers);
        return [];
      },
    };
    // The single-event path validates and renders the row; here it renders into arrays instead of SQL.
    await enqueueEvent(recorder, event);
  }
  await executor.query(
    `INSERT INTO outbox_messages (message_id, subject, schema_version, payload, headers)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::integer[], $4::jsonb[], $5::jsonb[])`,
    [ids, subjects, versions, payloads, headerSets],
  );
}
