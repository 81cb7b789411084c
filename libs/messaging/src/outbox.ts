import { contractFor, type EventContract, isLogicalSubject, validateAgainstContract } from '@recon/contracts';
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

/** Events written by one enqueueEvents call: a use case posting a batch of transactions stays well below. */
export const OUTBOX_ENQUEUE_EVENTS_MAX = 10_000;

// One statement for any number of events: arrays unnested in order, so `position` follows the caller's order. Payloads
// and headers travel as one JSON array each, their rendered JSON joined as it is: as text[] elements every quote and
// backslash of every payload was escaped again by the driver (12 us an event, more than building the event).
const INSERT_OUTBOX_SQL = `INSERT INTO outbox_messages (message_id, subject, schema_version, payload, headers)
SELECT event.message_id, event.subject, event.schema_version, payload.value, headers.value
FROM unnest($1::uuid[], $2::text[], $3::integer[]) WITH ORDINALITY AS event(message_id, subject, schema_version, ordinal)
JOIN json_array_elements($4::json) WITH ORDINALITY AS payload(value, ordinal) ON payload.ordinal = event.ordinal
JOIN json_array_elements($5::json) WITH ORDINALITY AS headers(value, ordinal) ON headers.ordinal = event.ordinal
ORDER BY event.ordinal`;

interface OutboxRow {
  readonly messageId: string;
  readonly subject: string;
  readonly schemaVersion: number;
  readonly payloadJson: string;
  readonly headersJson: string;
}

/** Subject and version pairs remembered as checked, with their contract; a service writes a few dozen kinds of event. */
const CHECKED_SUBJECTS_MAX = 1_024;
const checkedContracts = new Map<string, EventContract>();

/**
 * The contract of a subject and version, once the subject is checked to be logical and to belong to a declared
 * stream. The streams and contracts are fixed when the process starts, so a pair that passed once is looked up
 * (a run writing 30,000 events searched both lists for each); a pair that fails is checked again every time.
 */
function checkedContractOf(subject: string, schemaVersion: number): EventContract {
  const key = `${schemaVersion} ${subject}`;
  const known = checkedContracts.get(key);
  if (known !== undefined) return known;
  if (!isLogicalSubject(subject)) {
    throw new Error(`event subject '${subject}' must be a logical subject (dotted lower-case words, no namespace)`);
  }
  if (streamDefinitionForSubject(subject) === undefined) {
    throw new Error(`event subject '${subject}' belongs to no declared stream`);
  }
  const contract = contractFor(subject, schemaVersion);
  if (checkedContracts.size < CHECKED_SUBJECTS_MAX) checkedContracts.set(key, contract);
  return contract;
}

/** Validates one event against its contract and renders its row; throws naming subject, version and field. */
function outboxRowOf(event: OutgoingEvent): OutboxRow {
  if (!UUID_PATTERN.test(event.messageId)) throw new Error(`event ${event.subject}: messageId '${event.messageId}' must be a UUID`);
  const contract = checkedContractOf(event.subject, event.schemaVersion);
  const payload = validateAgainstContract(contract, event.subject, event.payload);
  const userHeaders = event.headers ?? {};
  checkEventHeaders(event.subject, userHeaders);
  const headers: Record<string, string> = { ...userHeaders, [MessageHeaders.schemaVersion]: String(event.schemaVersion) };
  injectTraceContext(headers);
  return {
    messageId: event.messageId.toLowerCase(),
    subject: event.subject,
    schemaVersion: event.schemaVersion,
    payloadJson: JSON.stringify(payload),
    headersJson: JSON.stringify(headers),
  };
}

/**
 * Writes an event to the outbox with the executor of the caller's own transaction: it is published if and only
 * if that transaction commits. The payload is validated against its contract first (ContractViolationError names
 * the subject, version and fields); the active W3C trace context is captured into the headers so the consumer's
 * work joins the producer's trace.
 */
export async function enqueueEvent(executor: SqlExecutor, event: OutgoingEvent): Promise<void> {
  await enqueueEvents(executor, [event]);
}

/**
 * enqueueEvent for many events in one INSERT (one round trip for a batch of postings). All are validated before
 * anything is written: one invalid event and none is enqueued. Published in the given order, best effort.
 */
export async function enqueueEvents(executor: SqlExecutor, events: readonly OutgoingEvent[]): Promise<void> {
  if (events.length === 0) return;
  if (events.length > OUTBOX_ENQUEUE_EVENTS_MAX) throw new Error(`cannot enqueue ${events.length} events at once (at most ${OUTBOX_ENQUEUE_EVENTS_MAX})`);
  const rows = events.map(outboxRowOf);
  const messageIds = new Set(rows.map((row) => row.messageId));
  if (messageIds.size !== rows.length) throw new Error('events enqueued together must have distinct messageIds');
  await executor.query(INSERT_OUTBOX_SQL, [
    rows.map((row) => row.messageId),
    rows.map((row) => row.subject),
    rows.map((row) => row.schemaVersion),
    `[${rows.map((row) => row.payloadJson).join(',')}]`,
    `[${rows.map((row) => row.headersJson).join(',')}]`,
  ]);
}
