import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Client, type Notification } from 'pg';
import { errorMessageOf, type MessagingLogger, SILENT_LOGGER } from './messaging-logger';
import { OUTBOX_LAST_ERROR_LENGTH_MAX, OUTBOX_NOTIFY_CHANNEL } from './messaging.migrations';
import { isPgPool, type PgPoolLike, queryRows, type SqlExecutor, type TransactionRunner, type TransactionSource, toTransactionRunner } from './sql-executor';
import { subjectFor } from './streams';
import { JetStreamPublisher, type PublishRequest } from './jetstream-publisher';

export const OUTBOX_BATCH_SIZE_DEFAULT = 2_000;
export const OUTBOX_BATCH_SIZE_MAX = 5_000;
export const OUTBOX_POLL_INTERVAL_MS_DEFAULT = 1_000;
export const OUTBOX_PUBLISH_TIMEOUT_MS_DEFAULT = 5_000;
/** A failing row waits retryBaseMs·2^attempts before its next try, at most this long. */
export const OUTBOX_RETRY_DELAY_MS_MAX = 60_000;
export const OUTBOX_RETRY_BASE_MS_DEFAULT = 500;
export const OUTBOX_LISTEN_RECONNECT_MS = 5_000;

/** A connection for LISTEN: a pg Client or PoolClient. */
export interface ListenConnection {
  query(sql: string): Promise<unknown>;
  on(event: 'notification', listener: (notification: Notification) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  removeAllListeners(): unknown;
}

export interface OutboxRelayOptions {
  /** How to run one short transaction: a TransactionRunner, a TypeORM DataSource or a pg.Pool. */
  readonly transactions?: TransactionSource;
  /** The brief's name for `transactions`; give one of the two. */
  readonly pool?: TransactionSource;
  /** LISTEN for outbox inserts on a dedicated connection to this URL. Without it (and without a pg.Pool) the relay only polls. */
  readonly listenConnectionString?: string;
  /** Or: a factory for the dedicated LISTEN connection, closed with `close` on stop. */
  readonly listenConnection?: () => Promise<{ connection: ListenConnection; close: () => Promise<void> }>;
  /** The NATS connection to publish on (the relay reads JetStream's acks itself: see JetStreamPublisher). */
  readonly nats?: NatsConnection;
  /** Or a JetStream client, whose connection is then used. */
  readonly jetstream?: JetStreamClient;
  readonly namespace: string;
  readonly batchSize?: number;
  readonly pollIntervalMs?: number;
  readonly publishTimeoutMs?: number;
  readonly retryBaseMs?: number;
  readonly logger?: MessagingLogger;
}

export interface OutboxRelayStats {
  readonly batchCount: number;
  readonly publishedCount: number;
  /** Messages JetStream reported as duplicates: republished after a crash between publish and mark. */
  readonly duplicateCount: number;
  readonly failedCount: number;
}

interface OutboxRow {
  readonly message_id: string;
  /** bigint as text: FIFO order, which UPDATE … RETURNING does not keep. */
  readonly position: string;
  readonly subject: string;
  readonly headers: Record<string, string> | string;
  readonly payload_text: string;
}

interface BatchOutcome {
  readonly selectedCount: number;
  readonly publishedCount: number;
  readonly failedCount: number;
  readonly duplicateCount: number;
}

// Claims a batch and marks it published in one statement, in the transaction that stays open while the batch is
// published and commits only after the acks: a crash before the commit rolls the marks back, and the rows are
// published again (JetStream drops the copies). One statement instead of a locking SELECT, a read of the payloads
// and an UPDATE by 2,000 ids: each row is locked and rewritten once. The ids are picked and locked first (a
// narrow sort even when the planner, with stale statistics after a burst, scans all unpublished rows).
const CLAIM_BATCH_SQL = `WITH next AS (
  SELECT message_id FROM outbox_messages
  WHERE published_at IS NULL AND available_at <= now()
  ORDER BY position
  LIMIT $1
  FOR UPDATE SKIP LOCKED
)
UPDATE outbox_messages AS o SET published_at = now(), last_error = NULL
FROM next WHERE o.message_id = next.message_id
RETURNING o.message_id::text AS message_id, o.position::text AS position, o.subject, o.headers, o.payload::text AS payload_text`;

// The rows of a batch whose publish failed are un-marked in the same transaction, with the error and a back-off.
const MARK_FAILED_SQL = `UPDATE outbox_messages AS o
SET published_at = NULL,
    attempts = o.attempts + 1,
    last_error = f.last_error,
    available_at = now() + least($3::float8, $4::float8 * power(2::float8, least(o.attempts, 20))) * interval '1 millisecond'
FROM unnest($1::uuid[], $2::text[]) AS f(message_id, last_error)
WHERE o.message_id = f.message_id`;

/**
 * Publishes outbox rows to JetStream: a batch is locked (FOR UPDATE SKIP LOCKED, so any number of relays can
 * run side by side without publishing a row twice), published concurrently with Nats-Msg-Id = message_id,
 * and marked published in one UPDATE only after every PubAck. A crash between publish and mark leaves the rows
 * unpublished: the next relay publishes them again and JetStream drops them as duplicates within the stream's
 * duplicate window (beyond it, consumers' inboxes drop them). An idle relay arms outbox_relay_wakeup and sleeps
 * until an insert NOTIFYs it (a busy relay disarms it, sparing writers the cost of NOTIFY); polling is the fallback.
 */
export class OutboxRelay {
  private readonly transactions: TransactionRunner;
  private readonly logger: MessagingLogger;
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly publishTimeoutMs: number;
  private readonly retryBaseMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeRequested = false;
  /** A LISTEN connection is up. */
  private listening = false;
  private wakeSleeper: (() => void) | undefined;
  private schema: string | undefined;
  private listener: { connection: ListenConnection; close: () => Promise<void> } | undefined;
  private listenRetryTimer: NodeJS.Timeout | undefined;
  private counters = { batchCount: 0, publishedCount: 0, duplicateCount: 0, failedCount: 0 };
  private readonly publisher: JetStreamPublisher;

  constructor(private readonly options: OutboxRelayOptions) {
    const source = options.transactions ?? options.pool;
    if (source === undefined) throw new Error('OutboxRelay needs `transactions` (or `pool`)');
    this.transactions = toTransactionRunner(source);
    this.logger = options.logger ?? SILENT_LOGGER;
    this.batchSize = options.batchSize ?? OUTBOX_BATCH_SIZE_DEFAULT;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1 || this.batchSize > OUTBOX_BATCH_SIZE_MAX) {
      throw new Error(`OutboxRelay batchSize must be an integer in 1..${OUTBOX_BATCH_SIZE_MAX}`);
    }
    this.pollIntervalMs = boundedMs('pollIntervalMs', options.pollIntervalMs ?? OUTBOX_POLL_INTERVAL_MS_DEFAULT, 10, 10 * 60_000);
    this.publishTimeoutMs = boundedMs('publishTimeoutMs', options.publishTimeoutMs ?? OUTBOX_PUBLISH_TIMEOUT_MS_DEFAULT, 100, 60_000);
    this.retryBaseMs = boundedMs('retryBaseMs', options.retryBaseMs ?? OUTBOX_RETRY_BASE_MS_DEFAULT, 1, OUTBOX_RETRY_DELAY_MS_MAX);
    subjectFor(options.namespace, 'ledger.>'); // validates the namespace now rather than at the first publish
    this.publisher = new JetStreamPublisher(connectionOf(options), this.publishTimeoutMs);
  }

  get stats(): OutboxRelayStats {
    return { ...this.counters };
  }

  /** Starts the background loop; returns at once. Errors are logged and retried, never thrown. */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.startListener();
    this.loop = this.run();
  }

  /** Stops waking, finishes the batch in flight (its rows are then marked), closes the LISTEN connection. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake();
    if (this.listenRetryTimer !== undefined) clearTimeout(this.listenRetryTimer);
    await this.loop;
    this.loop = undefined;
    this.publisher.close();
    await this.closeListener();
  }

  /** Publishes one batch; returns how many rows it marked published. */
  async relayOnce(): Promise<number> {
    return (await this.relayBatch()).publishedCount;
  }

  private async relayBatch(): Promise<BatchOutcome> {
    const outcome = await this.transactions.transaction(async (executor) => {
      // Losing this transaction's marks in a database crash only means republishing rows that JetStream or the
      // inboxes then drop, so it need not wait for its WAL flush.
      await executor.query('SET LOCAL synchronous_commit = off');
      const rows = (await queryRows<OutboxRow>(executor, CLAIM_BATCH_SQL, [this.batchSize])).sort(byPosition);
      if (rows.length === 0) return { selectedCount: 0, publishedCount: 0, failedCount: 0, duplicateCount: 0 };
      // All publishes in flight at once: one round trip per batch instead of one per message.
      const results = await this.publisher.publishAll(rows.map((row) => this.publishRequestOf(row)));
      const publishedIds: string[] = [];
      const failedIds: string[] = [];
      const failedErrors: string[] = [];
      let duplicateCount = 0;
      results.forEach((result, index) => {
        const row = rows[index]!;
        if (result.status === 'fulfilled') {
          publishedIds.push(row.message_id);
          if (result.value.duplicate) duplicateCount += 1;
        } else {
          failedIds.push(row.message_id);
          failedErrors.push(errorMessageOf(result.reason).slice(0, OUTBOX_LAST_ERROR_LENGTH_MAX));
        }
      });
      if (failedIds.length > 0) await this.markFailed(executor, failedIds, failedErrors);
      return { selectedCount: rows.length, publishedCount: publishedIds.length, failedCount: failedIds.length, duplicateCount };
    });
    // Counted once committed, so the numbers describe what the outbox says.
    if (outcome.selectedCount > 0) this.counters.batchCount += 1;
    this.counters.publishedCount += outcome.publishedCount;
    this.counters.duplicateCount += outcome.duplicateCount;
    this.counters.failedCount += outcome.failedCount;
    if (outcome.duplicateCount > 0) {
      this.logger.info({ duplicateCount: outcome.duplicateCount }, 'outbox relay: JetStream dropped duplicates (republished after an interrupted batch)');
    }
    return outcome;
  }

  private async markFailed(executor: SqlExecutor, messageIds: string[], errors: string[]): Promise<void> {
    await executor.query(MARK_FAILED_SQL, [messageIds, errors, OUTBOX_RETRY_DELAY_MS_MAX, this.retryBaseMs]);
    this.logger.error(
      { failedCount: messageIds.length, firstError: errors[0], firstMessageId: messageIds[0] },
      'outbox relay: publish failed; rows will be retried',
    );
  }

  private publishRequestOf(row: OutboxRow): PublishRequest {
    return {
      subject: subjectFor(this.options.namespace, row.subject),
      payload: row.payload_text,
      messageId: row.message_id,
      headers: typeof row.headers === 'string' ? (JSON.parse(row.headers) as Record<string, string>) : row.headers,
    };
  }

  private async run(): Promise<void> {
    let failureStreak = 0;
    while (this.running) {
      let outcome: BatchOutcome | undefined;
      try {
        outcome = await this.relayBatch();
        failureStreak = outcome.failedCount > 0 && outcome.publishedCount === 0 ? failureStreak + 1 : 0;
        if (outcome.selectedCount > 0) {
          await this.setWaiting(false);
        } else if (this.listening && (await this.setWaiting(true))) {
          // Just armed: look once more, because an insert that read the flag before it was set sent no NOTIFY.
          continue;
        }
      } catch (error) {
        failureStreak += 1;
        this.logger.error({ error: errorMessageOf(error), failureStreak }, 'outbox relay: batch failed');
      }
      if (!this.running) break;
      if (failureStreak > 0) {
        // NATS or the database is down: do not spin; the rows wait safely in the outbox.
        await this.sleep(Math.min(OUTBOX_RETRY_DELAY_MS_MAX, this.retryBaseMs * 2 ** Math.min(failureStreak, 20)), false);
      } else if (outcome?.selectedCount === 0) {
        await this.sleep(this.pollIntervalMs, true);
      }
    }
    await this.setWaiting(false).catch(() => undefined);
  }

  /**
   * Arms (or disarms) the outbox trigger's NOTIFY: only a sleeping relay needs waking. Conditional, so that
   * it writes only on a change (relays share the flag; any of them may have set or cleared it), and
   * returns whether this call changed it.
   */
  private async setWaiting(waiting: boolean): Promise<boolean> {
    const changed = await this.transactions.transaction((executor) =>
      queryRows(
        executor,
        waiting
          ? 'UPDATE outbox_relay_wakeup SET relay_waiting_since = now() WHERE relay_waiting_since IS NULL RETURNING 1 AS changed'
          : 'UPDATE outbox_relay_wakeup SET relay_waiting_since = NULL WHERE relay_waiting_since IS NOT NULL RETURNING 1 AS changed',
      ),
    );
    return changed.length > 0;
  }

  private wake(): void {
    this.wakeRequested = true;
    this.wakeSleeper?.();
  }

  /** Waits `delayMs`, or less when stopped, or (if `wakeable`) when an insert was notified meanwhile. */
  private sleep(delayMs: number, wakeable: boolean): Promise<void> {
    if (!this.running) return Promise.resolve();
    if (wakeable && this.wakeRequested) {
      this.wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, delayMs);
      const sleeper = (): void => {
        if (wakeable || !this.running) done();
      };
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeSleeper = sleeper;
    }).then(() => {
      this.wakeSleeper = undefined;
      if (wakeable) this.wakeRequested = false;
    });
  }

  private listenFactory(): (() => Promise<{ connection: ListenConnection; close: () => Promise<void> }>) | undefined {
    if (this.options.listenConnection !== undefined) return this.options.listenConnection;
    const connectionString = this.options.listenConnectionString;
    if (connectionString !== undefined) {
      return async () => {
        const client = new Client({ connectionString, application_name: 'outbox-relay-listen' });
        await client.connect();
        return { connection: client, close: () => client.end() };
      };
    }
    const source = this.options.transactions ?? this.options.pool;
    if (source !== undefined && isPgPool(source)) {
      const pool: PgPoolLike = source;
      return async () => {
        const client = await pool.connect();
        // Destroyed rather than returned: a pooled connection must not keep our LISTEN for its next user.
        return { connection: client, close: async () => client.release(true) };
      };
    }
    return undefined;
  }

  private async startListener(): Promise<void> {
    const factory = this.listenFactory();
    if (factory === undefined || !this.running) return;
    try {
      if (this.schema === undefined) {
        const rows = await this.transactions.transaction((executor) => queryRows<{ schema: string }>(executor, 'SELECT current_schema() AS schema'));
        this.schema = rows[0]?.schema;
      }
      const listener = await factory();
      this.listener = listener;
      listener.connection.on('notification', (notification) => {
        if (notification.channel === OUTBOX_NOTIFY_CHANNEL && (this.schema === undefined || notification.payload === this.schema)) this.wake();
      });
      listener.connection.on('error', (error) => this.onListenerLost(errorMessageOf(error)));
      listener.connection.on('end', () => this.onListenerLost('connection ended'));
      await listener.connection.query(`LISTEN ${OUTBOX_NOTIFY_CHANNEL}`);
      this.listening = true;
      if (!this.running) await this.closeListener();
      this.wake(); // rows inserted while we were not listening
    } catch (error) {
      this.onListenerLost(errorMessageOf(error));
    }
  }

  private onListenerLost(reason: string): void {
    this.listening = false;
    const lost = this.listener;
    this.listener = undefined;
    if (lost !== undefined) {
      lost.connection.removeAllListeners();
      lost.connection.on('error', () => undefined); // an unhandled 'error' event would crash the process
      void lost.close().catch(() => undefined);
    }
    if (!this.running || this.listenRetryTimer !== undefined) return;
    this.logger.warn({ reason, retryInMs: OUTBOX_LISTEN_RECONNECT_MS }, 'outbox relay: LISTEN connection lost; polling until it is back');
    this.listenRetryTimer = setTimeout(() => {
      this.listenRetryTimer = undefined;
      void this.startListener();
    }, OUTBOX_LISTEN_RECONNECT_MS);
  }

  private async closeListener(): Promise<void> {
    this.listening = false;
    const listener = this.listener;
    this.listener = undefined;
    if (listener === undefined) return;
    listener.connection.removeAllListeners();
    listener.connection.on('error', () => undefined);
    await listener.close().catch((error: unknown) => this.logger.warn({ error: errorMessageOf(error) }, 'outbox relay: closing LISTEN connection failed'));
  }
}

function byPosition(left: OutboxRow, right: OutboxRow): number {
  return left.position.length - right.position.length || (left.position < right.position ? -1 : left.position > right.position ? 1 : 0);
}

function connectionOf(options: OutboxRelayOptions): NatsConnection {
  if (options.nats !== undefined) return options.nats;
  // The JetStream client keeps its connection in `nc` (a public field of its implementation, not of the interface).
  const connection = (options.jetstream as { nc?: NatsConnection } | undefined)?.nc;
  if (connection === undefined) throw new Error('OutboxRelay needs `nats` (a NatsConnection) or `jetstream` (a client made by jetstream(nc))');
  return connection;
}

function boundedMs(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`OutboxRelay ${name} must be an integer in ${min}..${max}, got ${value}`);
  return value;
}
