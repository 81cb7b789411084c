import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JetStreamClient, JetStreamApiError, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { type Context, context, type Link, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { type EventContract, type EventPayloadOf, findContract, validateAgainstContract } from '@recon/contracts';
import { MessageHeaders } from './message-headers';
import { errorMessageOf, type MessagingLogger, SILENT_LOGGER } from './messaging-logger';
import { DEAD_LETTER_REASON_LENGTH_MAX } from './messaging.migrations';
import { queryRows, type SqlExecutor, type TransactionRunner, type TransactionSource, toTransactionRunner } from './sql-executor';
import { logicalSubjectOf, type StreamKey, streamDefinitionOf, streamNameFor, subjectFor } from './streams';
import { extractTraceContext, recordOfMsgHdrs } from './trace-context';

export const INBOX_MAX_DELIVER_DEFAULT = 10;
export const INBOX_MAX_DELIVER_MAX = 1_000;
export const INBOX_ACK_WAIT_MS_DEFAULT = 30_000;
export const INBOX_FETCH_BATCH_SIZE_DEFAULT = 100;
export const INBOX_FETCH_BATCH_SIZE_MAX = 1_000;
/** JetStream's floor for a pull request's expiry. */
export const INBOX_FETCH_EXPIRES_MS_DEFAULT = 1_000;
/**
 * Batch mode's pull expiry. The client ends a pull after two missed idle heartbeats (expiry / 2 each), and an event
 * loop busy for that long (a large batch on a loaded machine) looks the same to it: the messages the server then
 * sends to the dead pull wait a whole ack wait. Batch mode hands messages over as they arrive, so a long pull costs
 * no latency, and stop() ends it at once.
 */
export const INBOX_BATCH_FETCH_EXPIRES_MS_DEFAULT = 10_000;
export const INBOX_CONCURRENCY_MAX = 64;
export const INBOX_RETRY_BASE_MS_DEFAULT = 1_000;
export const INBOX_RETRY_DELAY_MS_MAX = 5 * 60_000;
/** Messages a handler may take in flight before JetStream stops delivering more to this durable. */
export const INBOX_MAX_ACK_PENDING = 1_000;
/** How long a handler is kept from redelivery by `working()`; a handler stuck beyond it lets the message go elsewhere. */
export const INBOX_HANDLER_TIMEOUT_MS_DEFAULT = 10 * 60_000;
export const MESSAGE_ID_LENGTH_MAX = 200;

const DURABLE_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
const tracer = trace.getTracer('@recon/messaging');

export interface IncomingEvent<TPayload = unknown> {
  readonly messageId: string;
  /** Logical, without the namespace: `ledger.transaction.posted`. */
  readonly subject: string;
  readonly schemaVersion: number;
  /** Validated against the contract (unknown keys stripped). */
  readonly payload: TPayload;
  readonly headers: Readonly<Record<string, string>>;
  readonly streamSequence: number;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
}

/**
 * Narrows an incoming event to one contract, e.g. `if (isEventOf(event, LEDGER_TRANSACTION_POSTED_V1)) …`,
 * after which `event.payload` has that contract's type (the consumer already validated it against it).
 */
export function isEventOf<TContract extends EventContract>(event: IncomingEvent, contract: TContract): event is IncomingEvent<EventPayloadOf<TContract>> {
  return findContract(event.subject, event.schemaVersion) === contract;
}

/** Runs inside the inbox transaction: write with `executor` only, and the write commits with the inbox row. */
export type InboxHandler = (event: IncomingEvent, executor: SqlExecutor) => Promise<void>;

/**
 * Batch mode: runs inside ONE transaction for a whole pull, with the events of that pull not processed before
 * (each validated against its contract), in stream order; write with `executor` only: the writes commit with
 * the pull's inbox rows, and the messages are acknowledged after that commit. Throwing rolls the batch back, and
 * the consumer then handles the pull's messages one by one (this handler with a single event, one transaction
 * each), so a message that keeps failing goes through the retry and dead-letter path alone.
 */
export type InboxBatchHandler = (events: readonly IncomingEvent[], executor: SqlExecutor) => Promise<void>;

/** One consumer's batch handed to a shared transaction: its distinct events (each message id once) and its handler. */
export interface InboxBatchPart {
  readonly consumer: string;
  readonly events: readonly IncomingEvent[];
  readonly handler: InboxBatchHandler;
  /** Whether the consumer has read more messages since: asked once the batch committed. */
  readonly hasMore?: () => boolean;
  /** The trace context the handler runs in (the consumer's batch span), whichever consumer's call runs the transaction. */
  readonly context?: Context;
}

/**
 * Commits a consumer's batch, inbox rows and handler, possibly in one transaction with other consumers' batches
 * (`InboxBatchGroup`); resolves, once committed, with the message ids that were new to the inbox.
 */
export interface InboxBatchCommitter {
  commit(part: InboxBatchPart): Promise<ReadonlySet<string>>;
}

export interface InboxConsumerOptions {
  readonly jetstream: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly namespace: string;
  readonly stream: StreamKey;
  /** Shared by every instance of the service: JetStream spreads the messages among them (the queue group). */
  readonly durableName: string;
  /** Logical, e.g. `ledger.>` or `ledger.transaction.posted`; defaults to the whole stream. */
  readonly filterSubject?: string;
  /** How to run one database transaction: a TransactionRunner, a TypeORM DataSource or a pg.Pool. */
  readonly transaction: TransactionSource;
  /** One message per transaction. Exactly one of `handler` and `batchHandler` is given. */
  readonly handler?: InboxHandler;
  /**
   * Batch mode: the messages at hand (up to `batchSize`) are handled in one transaction, one batch at a time, in
   * stream order (`concurrency` does not apply; the one-by-one fallback after a failed batch is sequential too).
   * A pull's messages are handed over as they arrive: a quiet stream makes batches of one, a busy one fills them
   * while the previous batch commits.
   */
  readonly batchHandler?: InboxBatchHandler;
  /**
   * Batch mode: commit each batch through this (an `InboxBatchGroup` shared with other consumers of the process)
   * instead of a transaction of the consumer's own.
   */
  readonly batchGroup?: InboxBatchCommitter;
  /** Deliveries before a failing message is dead-lettered. */
  readonly maxDeliver?: number;
  readonly ackWaitMs?: number;
  readonly batchSize?: number;
  /** Messages handled at once by this instance; 1 (the default) keeps stream order within the instance. */
  readonly concurrency?: number;
  readonly retryBaseMs?: number;
  readonly fetchExpiresMs?: number;
  readonly handlerTimeoutMs?: number;
  readonly logger?: MessagingLogger;
}

export interface InboxConsumerStats {
  readonly processedCount: number;
  readonly duplicateCount: number;
  readonly failedCount: number;
  readonly deadLetterCount: number;
  /** Batch mode: batches of messages handled in one transaction (committed). */
  readonly batchCount: number;
  /** Batch mode: batches that failed and whose messages were then handled one by one. */
  readonly batchFallbackCount: number;
}

type ParsedMessage =
  { readonly valid: true; readonly event: IncomingEvent } | { readonly valid: false; readonly messageId: string | undefined; readonly reason: string };

const INSERT_INBOX_SQL = `INSERT INTO inbox_messages (consumer, message_id, subject, stream_sequence)
VALUES ($1, $2, $3, $4)
ON CONFLICT (consumer, message_id) DO NOTHING
RETURNING message_id`;

const INSERT_DEAD_LETTER_SQL = `INSERT INTO dead_letters
  (consumer, stream, stream_sequence, subject, message_id, delivery_count, headers, payload, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9)
ON CONFLICT (consumer, stream, stream_sequence) DO NOTHING`;

// Sorted, so that two instances inserting overlapping redeliveries take the index entries in the same order.
const INSERT_INBOX_BATCH_SQL = `INSERT INTO inbox_messages (consumer, message_id, subject, stream_sequence)
SELECT $1, m.message_id, m.subject, m.stream_sequence FROM unnest($2::text[], $3::text[], $4::bigint[]) AS m (message_id, subject, stream_sequence)
ORDER BY m.message_id
ON CONFLICT (consumer, message_id) DO NOTHING
RETURNING message_id`;

const SELECT_INBOX_SQL = 'SELECT 1 AS found FROM inbox_messages WHERE consumer = $1 AND message_id = $2';

const NANOS_PER_MS = 1_000_000;

/**
 * A durable JetStream pull consumer whose effects happen exactly once: each message's inbox row and the
 * handler's writes commit in one transaction, so a redelivery (lost ack, crash, ack-wait expiry, a duplicate
 * published beyond the duplicate window) finds the inbox row and is acknowledged without running the handler.
 * Invalid messages and messages that keep failing go to `dead_letters`, never silently away.
 */
export class InboxConsumer {
  private readonly transactions: TransactionRunner;
  private readonly logger: MessagingLogger;
  private readonly streamName: string;
  private readonly natsFilterSubject: string;
  private readonly maxDeliver: number;
  private readonly ackWaitMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly retryBaseMs: number;
  private readonly fetchExpiresMs: number;
  private openFetch: { stop(): void } | undefined;
  private readonly handlerTimeoutMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeSleeper: (() => void) | undefined;
  private counters = { processedCount: 0, duplicateCount: 0, failedCount: 0, deadLetterCount: 0, batchCount: 0, batchFallbackCount: 0 };
  private readonly messageHandler: InboxHandler;
  /** Batch mode: messages read and not yet taken into a batch, and the signals between reader and handler. */
  private readonly buffer: JsMsg[] = [];
  private readonly bufferFilled = new Signal();
  private readonly bufferDrained = new Signal();
  private readerFinished = false;

  constructor(private readonly options: InboxConsumerOptions) {
    if (!DURABLE_NAME_PATTERN.test(options.durableName)) {
      throw new Error(`durable name '${options.durableName}' must be 1-64 of [A-Za-z0-9_-]`);
    }
    const { handler, batchHandler } = options;
    if ((handler === undefined) === (batchHandler === undefined)) throw new Error('InboxConsumer needs exactly one of handler and batchHandler');
    if (options.batchGroup !== undefined && batchHandler === undefined) throw new Error('InboxConsumer: a batchGroup needs a batchHandler');
    this.messageHandler = handler ?? ((event, executor) => batchHandler!([event], executor));
    this.transactions = toTransactionRunner(options.transaction);
    this.logger = options.logger ?? SILENT_LOGGER;
    this.streamName = streamNameFor(options.namespace, options.stream);
    const definition = streamDefinitionOf(options.stream);
    const filterSubject = options.filterSubject ?? `${definition.subjectPrefix}.>`;
    if (filterSubject.split('.')[0] !== definition.subjectPrefix) {
      throw new Error(`filter subject '${filterSubject}' is not in stream ${options.stream} (${definition.subjectPrefix}.>)`);
    }
    this.natsFilterSubject = subjectFor(options.namespace, filterSubject);
    this.maxDeliver = boundedInteger('maxDeliver', options.maxDeliver ?? INBOX_MAX_DELIVER_DEFAULT, 1, INBOX_MAX_DELIVER_MAX);
    this.ackWaitMs = boundedInteger('ackWaitMs', options.ackWaitMs ?? INBOX_ACK_WAIT_MS_DEFAULT, 1_000, 60 * 60_000);
    this.batchSize = boundedInteger('batchSize', options.batchSize ?? INBOX_FETCH_BATCH_SIZE_DEFAULT, 1, INBOX_FETCH_BATCH_SIZE_MAX);
    this.concurrency = boundedInteger('concurrency', options.concurrency ?? 1, 1, INBOX_CONCURRENCY_MAX);
    this.retryBaseMs = boundedInteger('retryBaseMs', options.retryBaseMs ?? INBOX_RETRY_BASE_MS_DEFAULT, 1, INBOX_RETRY_DELAY_MS_MAX);
    const fetchExpiresDefault = batchHandler === undefined ? INBOX_FETCH_EXPIRES_MS_DEFAULT : INBOX_BATCH_FETCH_EXPIRES_MS_DEFAULT;
    this.fetchExpiresMs = boundedInteger('fetchExpiresMs', options.fetchExpiresMs ?? fetchExpiresDefault, 1_000, 60_000);
    this.handlerTimeoutMs = boundedInteger('handlerTimeoutMs', options.handlerTimeoutMs ?? INBOX_HANDLER_TIMEOUT_MS_DEFAULT, 1_000, 24 * 60 * 60_000);
  }

  get stats(): InboxConsumerStats {
    return { ...this.counters };
  }

  /** Creates or updates the durable consumer, then starts fetching in the background. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.ensureConsumer();
    this.running = true;
    this.loop = this.options.batchHandler === undefined ? this.run() : this.runBatches();
  }

  /** Stops fetching; messages already fetched are handled and acknowledged before this resolves. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wakeSleeper?.();
    this.bufferDrained.notify();
    // End a pull that is waiting for messages now rather than when it expires.
    this.openFetch?.stop();
    await this.loop;
    this.loop = undefined;
  }

  /** The consumer configuration this instance wants; the server allows one more delivery than maxDeliver (see handle()). */
  consumerConfig(): Partial<ConsumerConfig> {
    return {
      durable_name: this.options.durableName,
      description: `inbox consumer ${this.options.durableName}`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: this.natsFilterSubject,
      max_deliver: this.maxDeliver + 1,
      ack_wait: this.ackWaitMs * NANOS_PER_MS,
      max_ack_pending: INBOX_MAX_ACK_PENDING,
    };
  }

  private async ensureConsumer(): Promise<void> {
    const wanted = this.consumerConfig();
    const { durable_name: _durable, ack_policy: _ack, deliver_policy: _deliver, ...updatable } = wanted;
    try {
      const current = (await this.options.jsm.consumers.info(this.streamName, this.options.durableName)).config;
      const differs = (Object.keys(updatable) as (keyof typeof updatable)[]).some((key) => current[key] !== updatable[key]);
      if (differs) await this.options.jsm.consumers.update(this.streamName, this.options.durableName, updatable);
      return;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === 10014)) throw error; // 10014: consumer not found
    }
    try {
      await this.options.jsm.consumers.add(this.streamName, wanted);
    } catch (error) {
      // Another instance created it between our info and our add.
      this.logger.debug({ error: errorMessageOf(error) }, 'inbox consumer: add raced; updating instead');
      await this.options.jsm.consumers.update(this.streamName, this.options.durableName, updatable);
    }
  }

  private async run(): Promise<void> {
    let failureStreak = 0;
    while (this.running) {
      try {
        const consumer = await this.options.jetstream.consumers.get(this.streamName, this.options.durableName);
        while (this.running) {
          const messages = await consumer.fetch({ max_messages: this.batchSize, expires: this.fetchExpiresMs });
          this.openFetch = messages;
          // Read the whole batch before handling any of it: a pull whose iterator is not read misses its idle
          // heartbeats, the client ends it, and the rest of the batch waits a full ack-wait for redelivery.
          const batch: JsMsg[] = [];
          for await (const message of messages) batch.push(message);
          this.openFetch = undefined;
          const inFlight = new Set<Promise<void>>();
          for (const message of batch) {
            const handled = this.handle(message).finally(() => inFlight.delete(handled));
            inFlight.add(handled);
            if (inFlight.size >= this.concurrency) await Promise.race(inFlight);
          }
          await Promise.all(inFlight);
          failureStreak = 0;
        }
      } catch (error) {
        failureStreak += 1;
        const delayMs = Math.min(INBOX_RETRY_DELAY_MS_MAX, this.retryBaseMs * 2 ** Math.min(failureStreak, 20));
        this.logger.error({ error: errorMessageOf(error), consumer: this.options.durableName, retryInMs: delayMs }, 'inbox consumer: fetch failed');
        await this.sleep(delayMs);
      }
    }
  }

  private sleep(delayMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delayMs);
      this.wakeSleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /**
   * Batch mode: a reader keeps pulling (so the pull's heartbeats are read) into a bounded buffer while the
   * handler takes whatever has arrived, up to batchSize, into one transaction. Stopping ends the pull; what was
   * read is still handled and acknowledged.
   */
  private async runBatches(): Promise<void> {
    this.readerFinished = false;
    const reader = this.readIntoBuffer().finally(() => {
      this.readerFinished = true;
      this.bufferFilled.notify();
    });
    for (;;) {
      if (this.buffer.length === 0) {
        if (this.readerFinished) break;
        await this.bufferFilled.wait();
        continue;
      }
      // One turn of the event loop first: the rest of what the socket delivered with the first message joins it.
      if (this.buffer.length < this.batchSize) await new Promise((resolve) => setImmediate(resolve));
      const batch = this.buffer.splice(0, this.batchSize);
      this.bufferDrained.notify();
      await this.handleBatch(batch);
    }
    await reader;
  }

  private async readIntoBuffer(): Promise<void> {
    let failureStreak = 0;
    while (this.running) {
      try {
        const consumer = await this.options.jetstream.consumers.get(this.streamName, this.options.durableName);
        while (this.running) {
          // At most about two batches wait in the buffer: beyond that, messages would only age towards their ack wait.
          if (this.buffer.length >= 2 * this.batchSize) {
            await this.bufferDrained.wait();
            continue;
          }
          const messages = await consumer.fetch({ max_messages: this.batchSize, expires: this.fetchExpiresMs });
          this.openFetch = messages;
          for await (const message of messages) {
            this.buffer.push(message);
            this.bufferFilled.notify();
          }
          this.openFetch = undefined;
          failureStreak = 0;
        }
      } catch (error) {
        failureStreak += 1;
        const delayMs = Math.min(INBOX_RETRY_DELAY_MS_MAX, this.retryBaseMs * 2 ** Math.min(failureStreak, 20));
        this.logger.error({ error: errorMessageOf(error), consumer: this.options.durableName, retryInMs: delayMs }, 'inbox consumer: fetch failed');
        await this.sleep(delayMs);
      }
    }
  }

  /**
   * One transaction for the batch: the inbox rows of all its messages in one statement (those already there are
   * redeliveries, and so are repeats of a message id within the batch), the batch handler with the new events,
   * commit, then every message acknowledged. Invalid messages and messages past maxDeliver take the one-by-one
   * path; a failed batch is handled again one by one. Never throws.
   */
  private async handleBatch(messages: readonly JsMsg[]): Promise<void> {
    const valid: { readonly message: JsMsg; readonly event: IncomingEvent }[] = [];
    for (const message of messages) {
      const parsed = this.parse(message);
      if (parsed.valid && parsed.event.deliveryCount <= this.maxDeliver) valid.push({ message, event: parsed.event });
      else await this.handle(message);
    }
    if (valid.length === 0) return;
    const firstOfId = new Map<string, IncomingEvent>();
    for (const { event } of valid) if (!firstOfId.has(event.messageId)) firstOfId.set(event.messageId, event);
    const distinct = [...firstOfId.values()];
    const producerContexts = valid.map(({ message }) => extractTraceContext(message.headers, ROOT_CONTEXT));
    const links: Link[] = producerContexts.flatMap((producer) => {
      const spanContext = trace.getSpanContext(producer);
      return spanContext === undefined ? [] : [{ context: spanContext }];
    });
    // A batch of one continues its producer's trace as the one-by-one path does; a larger one links every producer.
    const parent = valid.length === 1 ? producerContexts[0]! : context.active();
    const startTime = Date.now();
    const batchSpan = tracer.startSpan(
      `process batch ${this.options.durableName}`,
      {
        kind: SpanKind.CONSUMER,
        links,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'process',
          'messaging.consumer.group.name': this.options.durableName,
          'messaging.batch.message_count': valid.length,
        },
      },
      parent,
    );
    const keepAliveUntil = Date.now() + this.handlerTimeoutMs;
    const keepAlive = setInterval(
      () => {
        if (Date.now() < keepAliveUntil) for (const { message } of valid) message.working();
      },
      Math.max(1_000, Math.floor(this.ackWaitMs / 2)),
    );
    let processed: ReadonlySet<string>;
    try {
      const group = this.options.batchGroup;
      processed = await context.with(trace.setSpan(parent, batchSpan), () =>
        group !== undefined
          ? group.commit({
              consumer: this.options.durableName,
              events: distinct,
              handler: this.options.batchHandler!,
              hasMore: () => this.buffer.length > 0,
              context: context.active(),
            })
          : this.transactions.transaction(async (executor) => {
              const inserted = await queryRows<{ message_id: string }>(executor, INSERT_INBOX_BATCH_SQL, [
                this.options.durableName,
                distinct.map((event) => event.messageId),
                distinct.map((event) => event.subject),
                distinct.map((event) => event.streamSequence),
              ]);
              const fresh = new Set(inserted.map((row) => row.message_id));
              const events = distinct.filter((event) => fresh.has(event.messageId));
              if (events.length > 0) await this.options.batchHandler!(events, executor);
              return fresh;
            }),
      );
    } catch (error) {
      clearInterval(keepAlive);
      this.counters.batchFallbackCount += 1;
      batchSpan.setStatus({ code: SpanStatusCode.ERROR, message: errorMessageOf(error) });
      batchSpan.end();
      this.logger.warn(
        { consumer: this.options.durableName, messages: valid.length, error: errorMessageOf(error) },
        'inbox consumer: batch failed; handling its messages one by one',
      );
      // Nothing of the batch committed (or, if the commit's answer was lost, the inbox rows now say so): each
      // message gets its own transaction, and only a failing one is retried or dead-lettered.
      for (const { message } of valid) await this.handle(message);
      return;
    }
    clearInterval(keepAlive);
    for (const { message } of valid) message.ack();
    this.counters.batchCount += 1;
    this.counters.processedCount += processed.size;
    this.counters.duplicateCount += valid.length - processed.size;
    if (valid.length > processed.size) {
      this.logger.debug(
        { consumer: this.options.durableName, duplicates: valid.length - processed.size },
        'inbox consumer: duplicates acknowledged without handling',
      );
    }
    batchSpan.end();
    valid.forEach(({ message, event }, index) => this.recordMessageSpan(message, event, producerContexts[index]!, batchSpan, startTime, processed));
  }

  /** Batch mode: each message still gets its span in its producer's trace, linked to the batch's span. */
  private recordMessageSpan(message: JsMsg, event: IncomingEvent, producer: Context, batchSpan: Span, startTime: number, processed: ReadonlySet<string>): void {
    tracer
      .startSpan(
        `process ${event.subject}`,
        {
          kind: SpanKind.CONSUMER,
          startTime,
          links: [{ context: batchSpan.spanContext() }],
          attributes: {
            'messaging.system': 'nats',
            'messaging.operation.type': 'process',
            'messaging.destination.name': message.subject,
            'messaging.consumer.group.name': this.options.durableName,
            'messaging.message.id': event.messageId,
            'messaging.message.delivery_count': event.deliveryCount,
            'messaging.inbox.duplicate': !processed.has(event.messageId),
          },
        },
        producer,
      )
      .end();
  }

  /** Never throws: every path ends in ack, nak or term (or, if even that fails, an ack-wait redelivery). */
  private async handle(message: JsMsg): Promise<void> {
    const parsed = this.parse(message);
    if (!parsed.valid) {
      this.logger.error(
        { consumer: this.options.durableName, subject: message.subject, streamSequence: message.info.streamSequence, reason: parsed.reason },
        'inbox consumer: invalid message dead-lettered',
      );
      await this.deadLetterAndTerminate(message, parsed.messageId, `invalid message: ${parsed.reason}`);
      return;
    }
    const { event } = parsed;
    const parentContext = extractTraceContext(message.headers, context.active());
    await tracer.startActiveSpan(
      `process ${event.subject}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'process',
          'messaging.destination.name': message.subject,
          'messaging.consumer.group.name': this.options.durableName,
          'messaging.message.id': event.messageId,
          'messaging.message.delivery_count': event.deliveryCount,
        },
      },
      parentContext,
      async (span) => {
        try {
          await this.handleValid(message, event);
        } catch (error) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessageOf(error) });
        } finally {
          span.end();
        }
      },
    );
  }

  private async handleValid(message: JsMsg, event: IncomingEvent): Promise<void> {
    if (event.deliveryCount > this.maxDeliver) {
      // The previous deliveries ended without ack or nak (a crash, or the ack wait ran out): do not run the
      // handler an extra time, but make sure a message that did commit is acknowledged rather than dead-lettered.
      const seen = await this.transactions.transaction((executor) => queryRows(executor, SELECT_INBOX_SQL, [this.options.durableName, event.messageId]));
      if (seen.length > 0) {
        message.ack();
        return;
      }
      await this.deadLetterAndTerminate(message, event.messageId, `not processed after ${this.maxDeliver} deliveries (the last ones did not complete)`);
      return;
    }
    // Keeps JetStream from redelivering to another instance while a slow handler is still working, up to a limit.
    const keepAliveUntil = Date.now() + this.handlerTimeoutMs;
    const keepAlive = setInterval(
      () => {
        if (Date.now() < keepAliveUntil) message.working();
      },
      Math.max(1_000, Math.floor(this.ackWaitMs / 2)),
    );
    try {
      const outcome = await this.transactions.transaction(async (executor) => {
        const inserted = await queryRows(executor, INSERT_INBOX_SQL, [this.options.durableName, event.messageId, event.subject, event.streamSequence]);
        if (inserted.length === 0) return 'duplicate' as const;
        await this.messageHandler(event, executor);
        return 'processed' as const;
      });
      message.ack();
      if (outcome === 'duplicate') {
        this.counters.duplicateCount += 1;
        this.logger.debug({ consumer: this.options.durableName, messageId: event.messageId }, 'inbox consumer: duplicate acknowledged without handling');
      } else {
        this.counters.processedCount += 1;
      }
    } catch (error) {
      this.counters.failedCount += 1;
      const reason = errorMessageOf(error);
      if (event.deliveryCount >= this.maxDeliver) {
        this.logger.error(
          { consumer: this.options.durableName, messageId: event.messageId, deliveryCount: event.deliveryCount, error: reason },
          'inbox consumer: handler kept failing; dead-lettered',
        );
        await this.deadLetterAndTerminate(message, event.messageId, `handler failed on delivery ${event.deliveryCount} of ${this.maxDeliver}: ${reason}`);
      } else {
        const delayMs = Math.min(INBOX_RETRY_DELAY_MS_MAX, this.retryBaseMs * 2 ** (event.deliveryCount - 1));
        this.logger.warn(
          { consumer: this.options.durableName, messageId: event.messageId, deliveryCount: event.deliveryCount, retryInMs: delayMs, error: reason },
          'inbox consumer: handler failed; will retry',
        );
        message.nak(delayMs);
      }
      throw error;
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async deadLetterAndTerminate(message: JsMsg, messageId: string | undefined, reason: string): Promise<void> {
    const boundedReason = reason.slice(0, DEAD_LETTER_REASON_LENGTH_MAX);
    try {
      await this.transactions.transaction((executor) =>
        executor.query(INSERT_DEAD_LETTER_SQL, [
          this.options.durableName,
          this.streamName,
          message.info.streamSequence,
          message.subject,
          messageId ?? null,
          message.info.deliveryCount,
          JSON.stringify(recordOfMsgHdrs(message.headers)),
          Buffer.from(message.data),
          boundedReason,
        ]),
      );
    } catch (error) {
      // Without its dead-letter row the message must not be terminated: let JetStream deliver it again.
      this.logger.error(
        { consumer: this.options.durableName, streamSequence: message.info.streamSequence, error: errorMessageOf(error) },
        'inbox consumer: dead-lettering failed; will retry',
      );
      message.nak(this.retryBaseMs);
      return;
    }
    this.counters.deadLetterCount += 1;
    message.term(boundedReason.slice(0, 200));
  }

  private parse(message: JsMsg): ParsedMessage {
    const headers = recordOfMsgHdrs(message.headers);
    const messageId = headers[MessageHeaders.messageId];
    const invalid = (reason: string): ParsedMessage => ({ valid: false, messageId, reason });
    if (messageId === undefined || messageId === '' || messageId.length > MESSAGE_ID_LENGTH_MAX)
      return invalid(`header ${MessageHeaders.messageId} is missing or longer than ${MESSAGE_ID_LENGTH_MAX}`);
    const versionText = headers[MessageHeaders.schemaVersion];
    if (versionText === undefined || !/^[1-9]\d{0,3}$/.test(versionText))
      return invalid(`header ${MessageHeaders.schemaVersion} is missing or not a positive integer`);
    const schemaVersion = Number.parseInt(versionText, 10);
    const subject = logicalSubjectOf(this.options.namespace, message.subject);
    if (subject === undefined) return invalid(`subject ${message.subject} is outside namespace '${this.options.namespace}'`);
    const contract = findContract(subject, schemaVersion);
    if (contract === undefined) return invalid(`no contract for ${subject} v${schemaVersion}`);
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(message.data));
    } catch (error) {
      return invalid(`body is not UTF-8 JSON: ${errorMessageOf(error)}`);
    }
    let payload: unknown;
    try {
      payload = validateAgainstContract(contract, subject, body);
    } catch (error) {
      return invalid(errorMessageOf(error));
    }
    return {
      valid: true,
      event: {
        messageId,
        subject,
        schemaVersion,
        payload,
        headers,
        streamSequence: message.info.streamSequence,
        deliveryCount: message.info.deliveryCount,
      },
    };
  }
}

/** A wake-up that cannot be missed: `wait()` resolves at the next `notify()` after it was called. */
class Signal {
  private waiting: { promise: Promise<void>; resolve: () => void } | undefined;

  wait(): Promise<void> {
    if (this.waiting === undefined) {
      let resolve!: () => void;
      const promise = new Promise<void>((done) => (resolve = done));
      this.waiting = { promise, resolve };
    }
    return this.waiting.promise;
  }

  notify(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve();
  }
}

function boundedInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new Error(`InboxConsumer ${name} must be an integer in ${min}..${max}, got ${value}`);
  return value;
}
