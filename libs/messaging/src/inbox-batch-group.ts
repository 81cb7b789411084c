import { context } from '@opentelemetry/api';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import type { IncomingEvent, InboxBatchCommitter, InboxBatchPart } from './inbox-consumer';
import { toTransactionRunner, type TransactionSource } from './sql-executor';

const INSERT_INBOX_GROUP_SQL = `INSERT INTO inbox_messages (consumer, message_id, subject, stream_sequence)
SELECT m.consumer, m.message_id, m.subject, m.stream_sequence
  FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS m (consumer, message_id, subject, stream_sequence)
ORDER BY m.consumer, m.message_id
ON CONFLICT (consumer, message_id) DO NOTHING
RETURNING consumer, message_id`;

/** How long a shared transaction waits at most for the next batch of a consumer that had more messages read. */
export const INBOX_BATCH_GROUP_COALESCE_WAIT_MS_DEFAULT = 50;

interface Waiting extends InboxBatchPart {
  resolve(fresh: ReadonlySet<string>): void;
  reject(error: unknown): void;
}

/**
 * Lets the batch-mode consumers of one process share their transactions: the batches they hand over while a
 * transaction runs are committed together in the next one (the inbox rows of all of them in one statement, then
 * each consumer's batch handler in the order they arrived, then one commit). Consumers whose handlers would
 * otherwise wait for each other (the reconciliation's ledger and bank consumers lock the same match keys) then
 * neither wait nor pay for a transaction each.
 *
 * Exactly-once is the consumer's as before: a batch's inbox rows commit with its handler's writes, and a consumer
 * acknowledges its messages only after that commit. If the shared transaction fails, every batch in it fails
 * with the same error and each consumer handles its own messages one by one, as after a failed batch of its own.
 * A consumer hands over one batch at a time, so a transaction holds at most one batch per consumer.
 */
export class InboxBatchGroup implements InboxBatchCommitter {
  private readonly transactions: TransactionRunner;
  private waiting: Waiting[] = [];
  private draining = false;
  /** Consumers of the last transaction that had more messages read: their next batch is on its way. */
  private expected = new Set<string>();
  private arrived: (() => void) | undefined;

  /** `coalesceWaitMs`: how long a transaction waits at most for the next batch of a consumer that had more read. */
  constructor(
    transaction: TransactionSource,
    private readonly coalesceWaitMs = INBOX_BATCH_GROUP_COALESCE_WAIT_MS_DEFAULT,
  ) {
    this.transactions = toTransactionRunner(transaction);
  }

  commit(part: InboxBatchPart): Promise<ReadonlySet<string>> {
    return new Promise<ReadonlySet<string>>((resolve, reject) => {
      this.waiting.push({ ...part, resolve, reject });
      this.arrived?.();
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.waiting.length > 0) {
        // One turn of the event loop, so that a batch handed over at the same moment joins this transaction; and
        // a consumer of the last transaction with more messages read is preparing its next batch (its handing
        // over follows its acknowledgements and parsing, not a wait): without waiting for it, two consumers would
        // alternate, each alone in its transaction, forever.
        await new Promise((resolve) => setImmediate(resolve));
        await this.nextBatchesOfExpected();
        const parts = this.takeOnePerConsumer();
        try {
          const fresh = await this.transactions.transaction(async (executor) => {
            const events = parts.flatMap((part) => part.events.map((event) => ({ consumer: part.consumer, event })));
            const inserted = await queryRows<{ consumer: string; message_id: string }>(executor, INSERT_INBOX_GROUP_SQL, [
              events.map(({ consumer }) => consumer),
              events.map(({ event }) => event.messageId),
              events.map(({ event }) => event.subject),
              events.map(({ event }) => event.streamSequence),
            ]);
            const freshOf = new Map<string, Set<string>>(parts.map((part) => [part.consumer, new Set<string>()]));
            for (const row of inserted) freshOf.get(row.consumer)!.add(row.message_id);
            for (const part of parts) {
              const fresh = freshOf.get(part.consumer)!;
              const events: IncomingEvent[] = part.events.filter((event) => fresh.has(event.messageId));
              if (events.length > 0) await context.with(part.context ?? context.active(), () => part.handler(events, executor));
            }
            return freshOf;
          });
          this.expected = new Set(parts.filter((part) => part.hasMore?.() === true).map((part) => part.consumer));
          for (const part of parts) part.resolve(fresh.get(part.consumer)!);
        } catch (error) {
          this.expected = new Set();
          for (const part of parts) part.reject(error);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /** Waits, at most coalesceWaitMs, until every expected consumer has handed over its next batch. */
  private async nextBatchesOfExpected(): Promise<void> {
    const deadline = Date.now() + this.coalesceWaitMs;
    const missing = () => [...this.expected].some((consumer) => !this.waiting.some((part) => part.consumer === consumer));
    while (missing() && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.arrived = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.arrived = undefined;
    }
    this.expected = new Set();
  }

  /** The oldest waiting batch of each consumer; a consumer's later one (never expected) waits for the next transaction. */
  private takeOnePerConsumer(): Waiting[] {
    const taken: Waiting[] = [];
    const rest: Waiting[] = [];
    const consumers = new Set<string>();
    for (const part of this.waiting) {
      if (consumers.has(part.consumer)) rest.push(part);
      else {
        consumers.add(part.consumer);
        taken.push(part);
      }
    }
    this.waiting = rest;
    return taken;
  }
}
