import type { JetStreamClient } from '@nats-io/jetstream';
import { queryRows, type TransactionSource, toTransactionRunner } from './sql-executor';
import { msgHdrsOf } from './trace-context';

export interface DeadLetter {
  readonly deadLetterId: string;
  readonly consumer: string;
  readonly stream: string;
  readonly streamSequence: string;
  /** The NATS subject, namespace included. */
  readonly subject: string;
  readonly messageId: string | null;
  readonly deliveryCount: number;
  readonly reason: string;
  readonly deadAt: Date;
}

export const DEAD_LETTERS_PAGE_SIZE_MAX = 1_000;

interface DeadLetterRow {
  readonly dead_letter_id: string;
  readonly consumer: string;
  readonly stream: string;
  readonly stream_sequence: string;
  readonly subject: string;
  readonly message_id: string | null;
  readonly delivery_count: number;
  readonly reason: string;
  readonly dead_at: Date;
}

/** Unresolved dead letters, oldest first: what an operator (or an alert) looks at. */
export async function listDeadLetters(transactions: TransactionSource, limit = 100): Promise<DeadLetter[]> {
  if (!Number.isInteger(limit) || limit < 1 || limit > DEAD_LETTERS_PAGE_SIZE_MAX)
    throw new Error(`limit must be an integer in 1..${DEAD_LETTERS_PAGE_SIZE_MAX}`);
  const rows = await toTransactionRunner(transactions).transaction((executor) =>
    queryRows<DeadLetterRow>(
      executor,
      `SELECT dead_letter_id::text AS dead_letter_id, consumer, stream, stream_sequence::text AS stream_sequence, subject, message_id,
              delivery_count, reason, dead_at
       FROM dead_letters WHERE resolved_at IS NULL ORDER BY dead_at, dead_letter_id LIMIT $1`,
      [limit],
    ),
  );
  return rows.map((row) => ({
    deadLetterId: row.dead_letter_id,
    consumer: row.consumer,
    stream: row.stream,
    streamSequence: row.stream_sequence,
    subject: row.subject,
    messageId: row.message_id,
    deliveryCount: row.delivery_count,
    reason: row.reason,
    deadAt: row.dead_at,
  }));
}

export class DeadLetterReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeadLetterReplayError';
  }
}

/**
 * Publishes a dead letter again, byte for byte with its original headers (Nats-Msg-Id included, so the
 * consumers' inboxes still recognise it), once its cause is fixed; marks it resolved in the same transaction.
 * Every durable on the stream receives the copy; those that processed the original skip it via their inbox.
 * Within the stream's duplicate window JetStream would drop the copy: that is reported, not marked resolved.
 */
export async function replayDeadLetter(options: {
  readonly transactions: TransactionSource;
  readonly jetstream: JetStreamClient;
  readonly deadLetterId: string;
}): Promise<void> {
  await toTransactionRunner(options.transactions).transaction(async (executor) => {
    const [row] = await queryRows<{ subject: string; headers: Record<string, string>; payload: Buffer }>(
      executor,
      'SELECT subject, headers, payload FROM dead_letters WHERE dead_letter_id = $1 AND resolved_at IS NULL FOR UPDATE',
      [options.deadLetterId],
    );
    if (row === undefined) throw new DeadLetterReplayError(`dead letter ${options.deadLetterId} does not exist or is already resolved`);
    const ack = await options.jetstream.publish(row.subject, new Uint8Array(row.payload), { headers: msgHdrsOf(row.headers) });
    if (ack.duplicate) {
      throw new DeadLetterReplayError(
        `dead letter ${options.deadLetterId} is still inside the stream's duplicate window; replay it after the window has passed`,
      );
    }
    await executor.query('UPDATE dead_letters SET resolved_at = now() WHERE dead_letter_id = $1', [options.deadLetterId]);
  });
}
