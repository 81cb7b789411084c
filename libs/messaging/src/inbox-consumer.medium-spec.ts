import { randomUUID } from 'node:crypto';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { sampleAuditEvent, sampleTransactionPosted } from '../../contracts/test-fixtures/sample-events';
import { createMessagingTestEnv, eventually, type MessagingTestEnv } from '../test/messaging-test-env';
import { DeadLetterReplayError, listDeadLetters, replayDeadLetter } from './dead-letters';
import { purgeInbox } from './housekeeping';
import { InboxBatchGroup } from './inbox-batch-group';
import { type IncomingEvent, InboxConsumer, type InboxConsumerOptions } from './inbox-consumer';
import { enqueueEvent } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { queryRows, type SqlExecutor, type TransactionRunner } from './sql-executor';
import { streamNameFor, subjectFor } from './streams';
import { msgHdrsOf } from './trace-context';

jest.setTimeout(60_000);

const HANDLED_EVENTS_SQL = 'CREATE TABLE handled_events (message_id text NOT NULL, delivery_count integer NOT NULL)';
const spans = new InMemorySpanExporter();

describe(InboxConsumer.name, () => {
  let env: MessagingTestEnv;
  let relay: OutboxRelay;
  const running: InboxConsumer[] = [];

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }));
    env = await createMessagingTestEnv(HANDLED_EVENTS_SQL);
    relay = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace });
  });

  afterAll(async () => {
    await env?.close();
    trace.disable();
    propagation.disable();
    context.disable();
  });

  beforeEach(async () => {
    await env.pool.query('TRUNCATE outbox_messages, inbox_messages, dead_letters, handled_events');
    await env.jsm.streams.purge(streamNameFor(env.namespace, 'LEDGER'));
    spans.reset();
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((consumer) => consumer.stop()));
  });

  async function startConsumer(overrides: Partial<InboxConsumerOptions> = {}): Promise<InboxConsumer> {
    const consumer = new InboxConsumer({
      jetstream: env.js,
      jsm: env.jsm,
      namespace: env.namespace,
      stream: 'LEDGER',
      durableName: `reconciliation-ledger-${randomUUID().slice(0, 8)}`,
      filterSubject: 'ledger.>',
      transaction: env.pool,
      handler: recordHandled,
      retryBaseMs: 20,
      ...overrides,
    });
    running.push(consumer);
    await consumer.start();
    return consumer;
  }

  async function recordHandled(event: IncomingEvent, executor: { query(sql: string, params?: unknown[]): Promise<unknown> }): Promise<void> {
    await executor.query('INSERT INTO handled_events (message_id, delivery_count) VALUES ($1, $2)', [event.messageId, event.deliveryCount]);
  }

  async function publishThroughOutbox(count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, () => randomUUID());
    await env.transactions.transaction(async (executor) => {
      for (const messageId of ids) {
        await enqueueEvent(executor, {
          messageId,
          subject: 'ledger.transaction.posted',
          schemaVersion: 1,
          payload: sampleTransactionPosted({ transactionId: messageId }),
        });
      }
    });
    while ((await relay.relayOnce()) > 0);
    return ids;
  }

  async function countOf(sql: string): Promise<number> {
    return Number((await queryRows<{ count: string }>(env.pool, sql))[0]?.count);
  }

  const handledCount = () => countOf('SELECT count(*) AS count FROM handled_events');
  const deadLetterCount = () => countOf('SELECT count(*) AS count FROM dead_letters');

  it('hands a validated event to the handler inside the inbox transaction, then acknowledges it', async () => {
    const seen: IncomingEvent[] = [];
    const sut = await startConsumer({
      handler: async (event, executor) => {
        seen.push(event);
        await recordHandled(event, executor);
      },
    });
    const [messageId] = await publishThroughOutbox(1);
    expect(await eventually(async () => (await handledCount()) === 1)).toBe(true);
    expect(seen[0]).toMatchObject({ messageId, subject: 'ledger.transaction.posted', schemaVersion: 1, deliveryCount: 1 });
    expect(seen[0]?.streamSequence).toBeGreaterThan(0);
    expect(seen[0]?.headers['Nats-Msg-Id']).toBe(messageId);
    expect(seen[0]?.payload).toEqual(sampleTransactionPosted({ transactionId: messageId }));
    expect(await countOf('SELECT count(*) AS count FROM inbox_messages')).toBe(1);
    expect(
      await eventually(
        async () => (await env.jsm.consumers.info(streamNameFor(env.namespace, 'LEDGER'), sut.consumerConfig().durable_name!)).num_ack_pending === 0,
      ),
    ).toBe(true);
    expect(await purgeInbox(env.pool, 'another-consumer', new Date(Date.now() + 60_000))).toBe(0);
    expect(await purgeInbox(env.pool, sut.consumerConfig().durable_name!, new Date(Date.now() - 60_000))).toBe(0);
    expect(await purgeInbox(env.pool, sut.consumerConfig().durable_name!, new Date(Date.now() + 60_000))).toBe(1);
  });

  it('runs the handler once when the stream holds the same message twice (published again after the duplicate window)', async () => {
    const stream = streamNameFor(env.namespace, 'LEDGER');
    const config = (await env.jsm.streams.info(stream)).config;
    await env.jsm.streams.update(stream, { ...config, duplicate_window: 200 * 1e6 });
    try {
      const messageId = randomUUID();
      const headers = { 'Nats-Msg-Id': messageId, 'Recon-Schema-Version': '1' };
      const body = JSON.stringify(sampleTransactionPosted());
      await env.js.publish(subjectFor(env.namespace, 'ledger.transaction.posted'), body, { headers: msgHdrsOf(headers) });
      await new Promise((resolve) => setTimeout(resolve, 400));
      await env.js.publish(subjectFor(env.namespace, 'ledger.transaction.posted'), body, { headers: msgHdrsOf(headers) });
      expect(await env.streamMessageCount('LEDGER')).toBe(2);
      const sut = await startConsumer();
      expect(await eventually(async () => sut.stats.processedCount + sut.stats.duplicateCount === 2)).toBe(true);
      expect(sut.stats.duplicateCount).toBe(1);
      expect(await handledCount()).toBe(1);
    } finally {
      await env.jsm.streams.update(stream, config);
    }
  });

  it('does not run the handler again when a committed message is redelivered (acknowledgement lost)', async () => {
    let crashAfterCommit = true;
    const committingThenCrashing: TransactionRunner = {
      async transaction(work) {
        const result = await env.transactions.transaction(work);
        if (crashAfterCommit) {
          crashAfterCommit = false;
          throw new Error('connection lost after COMMIT, before the ack');
        }
        return result;
      },
    };
    const sut = await startConsumer({ transaction: committingThenCrashing });
    await publishThroughOutbox(1);
    expect(await eventually(async () => sut.stats.duplicateCount === 1)).toBe(true);
    expect(await handledCount()).toBe(1);
    expect(await deadLetterCount()).toBe(0);
  });

  it('rolls back a failing handler, redelivers with back-off and eventually processes the message once', async () => {
    let calls = 0;
    const sut = await startConsumer({
      handler: async (event, executor) => {
        calls += 1;
        await recordHandled(event, executor);
        if (calls < 3) throw new Error(`transient failure ${calls}`);
      },
    });
    const [messageId] = await publishThroughOutbox(1);
    expect(await eventually(async () => sut.stats.processedCount === 1)).toBe(true);
    expect(calls).toBe(3);
    expect(await queryRows(env.pool, 'SELECT message_id, delivery_count FROM handled_events')).toEqual([{ message_id: messageId, delivery_count: 3 }]);
    expect(sut.stats.failedCount).toBe(2);
  });

  it('dead-letters a message whose handler keeps failing after maxDeliver deliveries', async () => {
    let calls = 0;
    const sut = await startConsumer({
      maxDeliver: 3,
      handler: async () => {
        calls += 1;
        throw new Error('account unknown to reconciliation');
      },
    });
    const [messageId] = await publishThroughOutbox(1);
    expect(await eventually(async () => (await deadLetterCount()) === 1)).toBe(true);
    const [deadLetter] = await queryRows<{ message_id: string; delivery_count: number; reason: string; payload: Buffer }>(
      env.pool,
      'SELECT message_id, delivery_count, reason, payload FROM dead_letters',
    );
    expect(deadLetter?.message_id).toBe(messageId);
    expect(deadLetter?.delivery_count).toBe(3);
    expect(deadLetter?.reason).toBe('handler failed on delivery 3 of 3: account unknown to reconciliation');
    expect(JSON.parse(deadLetter!.payload.toString('utf8'))).toEqual(sampleTransactionPosted({ transactionId: messageId }));
    expect(calls).toBe(3);
    expect(sut.stats.deadLetterCount).toBe(1);
    expect(await countOf('SELECT count(*) AS count FROM inbox_messages')).toBe(0);
  });

  it('replays a dead letter once its cause is fixed, and refuses a replay inside the duplicate window', async () => {
    let broken = true;
    const sut = await startConsumer({
      maxDeliver: 1,
      handler: async (event, executor) => {
        if (broken) throw new Error('reference data missing');
        await recordHandled(event, executor);
      },
    });
    const [messageId] = await publishThroughOutbox(1);
    expect(await eventually(async () => (await deadLetterCount()) === 1)).toBe(true);
    const [deadLetter] = await listDeadLetters(env.pool);
    expect(deadLetter).toMatchObject({ messageId, deliveryCount: 1, reason: 'handler failed on delivery 1 of 1: reference data missing' });
    broken = false;
    await expect(replayDeadLetter({ transactions: env.pool, jetstream: env.js, deadLetterId: deadLetter!.deadLetterId })).rejects.toThrow(
      DeadLetterReplayError,
    );

    const stream = streamNameFor(env.namespace, 'LEDGER');
    const config = (await env.jsm.streams.info(stream)).config;
    await env.jsm.streams.update(stream, { ...config, duplicate_window: 200 * 1e6 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await replayDeadLetter({ transactions: env.pool, jetstream: env.js, deadLetterId: deadLetter!.deadLetterId });
      expect(await eventually(async () => (await handledCount()) === 1)).toBe(true);
      expect(await listDeadLetters(env.pool)).toEqual([]);
      expect(sut.stats.processedCount).toBe(1);
    } finally {
      await env.jsm.streams.update(stream, config);
    }
  });

  describe('when earlier deliveries never completed (a crashed instance)', () => {
    async function leaveUnacknowledged(durableName: string, markCommitted: boolean): Promise<string> {
      const probe = await startConsumer({ durableName });
      await probe.stop();
      const [messageId] = await publishThroughOutbox(1);
      if (markCommitted) {
        await env.pool.query("INSERT INTO inbox_messages (consumer, message_id, subject, stream_sequence) VALUES ($1, $2, 'ledger.transaction.posted', 0)", [
          durableName,
          messageId,
        ]);
      }
      const raw = await env.js.consumers.get(streamNameFor(env.namespace, 'LEDGER'), durableName);
      const taken = await raw.next({ expires: 5_000 });
      expect(taken?.headers?.get('Nats-Msg-Id')).toBe(messageId); // taken, never acknowledged: the instance "crashed"
      return messageId!;
    }

    it('dead-letters the message after maxDeliver deliveries without running the handler an extra time', async () => {
      const durableName = `crash-${randomUUID().slice(0, 8)}`;
      const messageId = await leaveUnacknowledged(durableName, false);
      let calls = 0;
      const sut = await startConsumer({ durableName, maxDeliver: 1, ackWaitMs: 1_000, handler: async () => void (calls += 1) });
      expect(await eventually(async () => (await deadLetterCount()) === 1)).toBe(true);
      const [deadLetter] = await listDeadLetters(env.pool);
      expect(deadLetter).toMatchObject({ messageId, deliveryCount: 2, reason: 'not processed after 1 deliveries (the last ones did not complete)' });
      expect(calls).toBe(0);
      expect(sut.stats.deadLetterCount).toBe(1);
    });

    it('acknowledges it instead when its inbox row shows it committed', async () => {
      const durableName = `crash-${randomUUID().slice(0, 8)}`;
      await leaveUnacknowledged(durableName, true);
      const sut = await startConsumer({ durableName, maxDeliver: 1, ackWaitMs: 1_000 });
      expect(
        await eventually(
          async () =>
            (await env.jsm.consumers.info(streamNameFor(env.namespace, 'LEDGER'), durableName)).num_ack_pending === 0 &&
            (await env.jsm.consumers.info(streamNameFor(env.namespace, 'LEDGER'), durableName)).num_pending === 0,
        ),
      ).toBe(true);
      expect(await deadLetterCount()).toBe(0);
      expect(await handledCount()).toBe(0);
      expect(sut.stats.deadLetterCount).toBe(0);
    });
  });

  it('dead-letters invalid messages without calling the handler', async () => {
    let calls = 0;
    await startConsumer({ handler: async () => void (calls += 1) });
    const subject = subjectFor(env.namespace, 'ledger.transaction.posted');
    const badAmount = { ...sampleTransactionPosted(), lines: sampleTransactionPosted().lines.map((line) => ({ ...line, amount: 22.3 })) };
    await env.js.publish(subject, JSON.stringify(badAmount), { headers: msgHdrsOf({ 'Nats-Msg-Id': randomUUID(), 'Recon-Schema-Version': '1' }) });
    await env.js.publish(subject, '{"truncated', { headers: msgHdrsOf({ 'Nats-Msg-Id': randomUUID(), 'Recon-Schema-Version': '1' }) });
    await env.js.publish(subject, JSON.stringify(sampleTransactionPosted()), { msgID: randomUUID() });
    await env.js.publish(subject, JSON.stringify(sampleTransactionPosted()), {
      headers: msgHdrsOf({ 'Nats-Msg-Id': randomUUID(), 'Recon-Schema-Version': '9' }),
    });
    expect(await eventually(async () => (await deadLetterCount()) === 4)).toBe(true);
    const reasons = (await queryRows<{ reason: string }>(env.pool, 'SELECT reason FROM dead_letters ORDER BY stream_sequence')).map((row) => row.reason);
    expect(reasons[0]).toContain('invalid message: payload of ledger.transaction.posted v1 is invalid: lines.0.amount');
    expect(reasons[1]).toContain('invalid message: body is not UTF-8 JSON');
    expect(reasons[2]).toContain('header Recon-Schema-Version is missing');
    expect(reasons[3]).toContain('no contract for ledger.transaction.posted v9');
    expect(calls).toBe(0);
  });

  it('continues the producer trace: traceparent travels in the headers and the handler runs in a child span', async () => {
    let handlerTraceId: string | undefined;
    await startConsumer({
      handler: async (event, executor) => {
        handlerTraceId = trace.getActiveSpan()?.spanContext().traceId;
        await recordHandled(event, executor);
      },
    });
    const producer = trace.getTracer('test-producer').startSpan('post transaction');
    const messageId = randomUUID();
    await context.with(trace.setSpan(context.active(), producer), () =>
      env.transactions.transaction((executor) =>
        enqueueEvent(executor, { messageId, subject: 'ledger.transaction.posted', schemaVersion: 1, payload: sampleTransactionPosted() }),
      ),
    );
    producer.end();
    while ((await relay.relayOnce()) > 0);
    const stored = await env.jsm.streams.getMessage(streamNameFor(env.namespace, 'LEDGER'), {
      last_by_subj: subjectFor(env.namespace, 'ledger.transaction.posted'),
    });
    expect(stored?.header.get('traceparent')).toBe(`00-${producer.spanContext().traceId}-${producer.spanContext().spanId}-01`);
    expect(await eventually(async () => (await handledCount()) === 1)).toBe(true);
    expect(handlerTraceId).toBe(producer.spanContext().traceId);
    const consumerSpan = spans.getFinishedSpans().find((span) => span.name === 'process ledger.transaction.posted');
    expect(consumerSpan?.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
    expect(consumerSpan?.attributes['messaging.message.id']).toBe(messageId);
  });

  it('spreads messages over instances sharing the durable, each message handled once', async () => {
    const durableName = `reconciliation-ledger-${randomUUID().slice(0, 8)}`;
    const first = await startConsumer({ durableName, batchSize: 20 });
    const second = await startConsumer({ durableName, batchSize: 20, concurrency: 4 });
    const ids = await publishThroughOutbox(300);
    expect(await eventually(async () => (await handledCount()) === ids.length, 20_000)).toBe(true);
    expect(await countOf('SELECT count(DISTINCT message_id) AS count FROM handled_events')).toBe(ids.length);
    expect(first.stats.processedCount + second.stats.processedCount).toBe(ids.length);
  });

  it('removes audit events from their work-queue stream once consumed', async () => {
    await env.jsm.streams.purge(streamNameFor(env.namespace, 'AUDIT'));
    await startConsumer({ stream: 'AUDIT', filterSubject: 'audit.>', durableName: 'audit-trail' });
    const eventId = randomUUID();
    await env.transactions.transaction((executor) =>
      enqueueEvent(executor, { messageId: eventId, subject: 'audit.ledger.transaction.post', schemaVersion: 1, payload: sampleAuditEvent(eventId) }),
    );
    while ((await relay.relayOnce()) > 0);
    expect(await eventually(async () => (await handledCount()) === 1)).toBe(true);
    expect(await eventually(async () => (await env.streamMessageCount('AUDIT')) === 0)).toBe(true);
  });

  describe('in batch mode (one transaction per batch)', () => {
    /** Holds the first batch until released, so that what is published meanwhile arrives as one batch. */
    function gatedBatchHandler(onBatch: (events: readonly IncomingEvent[], executor: SqlExecutor) => Promise<void>) {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const batches: string[][] = [];
      const handler = async (events: readonly IncomingEvent[], executor: SqlExecutor) => {
        batches.push(events.map((event) => event.messageId));
        if (batches.length === 1) await gate;
        await onBatch(events, executor);
      };
      return { handler, batches, release };
    }

    const recordAll = async (events: readonly IncomingEvent[], executor: SqlExecutor) => {
      await executor.query('INSERT INTO handled_events (message_id, delivery_count) SELECT * FROM unnest($1::text[], $2::int[])', [
        events.map((event) => event.messageId),
        events.map((event) => event.deliveryCount),
      ]);
    };

    async function waitForFirstBatch(batches: string[][]): Promise<void> {
      expect(await eventually(async () => batches.length === 1)).toBe(true);
    }

    async function publishRaw(messageId: string, payload: unknown = sampleTransactionPosted({ transactionId: messageId })): Promise<void> {
      await env.js.publish(subjectFor(env.namespace, 'ledger.transaction.posted'), JSON.stringify(payload), {
        headers: msgHdrsOf({ 'Nats-Msg-Id': messageId, 'Recon-Schema-Version': '1' }),
      });
    }

    it('hands a batch of new, validated events to one call inside one transaction, then acknowledges them all', async () => {
      const { handler, batches, release } = gatedBatchHandler(recordAll);
      const seen: IncomingEvent[] = [];
      const sut = await startConsumer({
        handler: undefined,
        batchHandler: async (events, executor) => {
          seen.push(...events);
          await handler(events, executor);
        },
        batchSize: 100,
      });
      const [first] = await publishThroughOutbox(1);
      await waitForFirstBatch(batches);
      const rest = await publishThroughOutbox(40);
      release();
      expect(await eventually(async () => (await handledCount()) === 41)).toBe(true);
      expect(batches[0]).toEqual([first]);
      expect(batches.length).toBeLessThan(41);
      expect(batches.slice(1).flat()).toEqual(rest); // stream order within and across batches
      expect(seen.find((event) => event.messageId === rest[0])).toMatchObject({
        subject: 'ledger.transaction.posted',
        schemaVersion: 1,
        deliveryCount: 1,
        payload: sampleTransactionPosted({ transactionId: rest[0] }),
      });
      expect(await countOf('SELECT count(*) AS count FROM inbox_messages')).toBe(41);
      expect(
        await eventually(
          async () => (await env.jsm.consumers.info(streamNameFor(env.namespace, 'LEDGER'), sut.consumerConfig().durable_name!)).num_ack_pending === 0,
        ),
      ).toBe(true);
      expect(sut.stats).toMatchObject({ processedCount: 41, duplicateCount: 0, failedCount: 0, batchCount: batches.length, batchFallbackCount: 0 });
    });

    it('hands a message id repeated within one batch to the handler once, and acknowledges both copies', async () => {
      const stream = streamNameFor(env.namespace, 'LEDGER');
      const config = (await env.jsm.streams.info(stream)).config;
      await env.jsm.streams.update(stream, { ...config, duplicate_window: 200 * 1e6 });
      try {
        const { handler, batches, release } = gatedBatchHandler(recordAll);
        const sut = await startConsumer({ handler: undefined, batchHandler: handler });
        await publishThroughOutbox(1);
        await waitForFirstBatch(batches);
        const repeated = randomUUID();
        await publishRaw(repeated);
        const others = await publishThroughOutbox(3);
        await new Promise((resolve) => setTimeout(resolve, 400));
        await publishRaw(repeated); // past the duplicate window: the stream holds it twice
        release();
        expect(await eventually(async () => sut.stats.processedCount + sut.stats.duplicateCount === 6)).toBe(true);
        expect(batches[1]).toEqual([repeated, ...others]); // the second copy was in this batch too, and is not handed over
        expect(sut.stats).toMatchObject({ processedCount: 5, duplicateCount: 1, batchFallbackCount: 0 });
        expect(await countOf(`SELECT count(*) AS count FROM handled_events WHERE message_id = '${repeated}'`)).toBe(1);
        expect(await eventually(async () => (await env.jsm.consumers.info(stream, sut.consumerConfig().durable_name!)).num_ack_pending === 0)).toBe(true);
      } finally {
        await env.jsm.streams.update(stream, config);
      }
    });

    it('skips messages whose inbox rows exist (redelivered after their commit), handling only the new ones', async () => {
      const durableName = `batch-${randomUUID().slice(0, 8)}`;
      const probe = await startConsumer({ durableName });
      await probe.stop();
      const ids = await publishThroughOutbox(4);
      for (const messageId of ids.slice(0, 2)) {
        await env.pool.query("INSERT INTO inbox_messages (consumer, message_id, subject, stream_sequence) VALUES ($1, $2, 'ledger.transaction.posted', 0)", [
          durableName,
          messageId,
        ]);
      }
      const handed: string[] = [];
      const sut = await startConsumer({
        durableName,
        handler: undefined,
        batchHandler: async (events, executor) => {
          handed.push(...events.map((event) => event.messageId));
          await recordAll(events, executor);
        },
      });
      expect(await eventually(async () => sut.stats.processedCount + sut.stats.duplicateCount === 4)).toBe(true);
      expect(handed).toEqual(ids.slice(2));
      expect(sut.stats).toMatchObject({ processedCount: 2, duplicateCount: 2 });
    });

    it('a crash between commit and acknowledgement: JetStream redelivers the batch, which is acknowledged and not handled again', async () => {
      const durableName = `batch-crash-${randomUUID().slice(0, 8)}`;
      const probe = await startConsumer({ durableName });
      await probe.stop();
      const ids = await publishThroughOutbox(3);
      let commits = 0;
      let revive!: () => void;
      const gone = new Promise<void>((resolve) => (revive = resolve));
      // The first instance commits its first batch, then "dies" before acknowledging: it never answers again (no ack,
      // no working()) until revived at the end of the test, when the commit's answer is lost (it throws).
      await startConsumer({
        durableName,
        ackWaitMs: 1_000,
        handlerTimeoutMs: 1_000,
        handler: undefined,
        batchHandler: recordAll,
        transaction: {
          async transaction(work) {
            const result = await env.transactions.transaction(work);
            commits += 1;
            if (commits === 1) {
              await gone;
              throw new Error('connection lost after COMMIT, before the ack');
            }
            return result;
          },
        },
      });
      expect(await eventually(async () => commits === 1)).toBe(true);
      const committedBeforeCrash = await handledCount();
      expect(committedBeforeCrash).toBeGreaterThanOrEqual(1);
      const survivor = await startConsumer({ durableName, ackWaitMs: 1_000, handler: undefined, batchHandler: recordAll });
      expect(await eventually(async () => (await handledCount()) === 3 && survivor.stats.duplicateCount >= committedBeforeCrash, 30_000)).toBe(true);
      revive();
      const stream = streamNameFor(env.namespace, 'LEDGER');
      expect(
        await eventually(async () => {
          const info = await env.jsm.consumers.info(stream, durableName);
          return info.num_ack_pending === 0 && info.num_pending === 0;
        }, 30_000),
      ).toBe(true);
      expect(await handledCount()).toBe(3);
      expect(await countOf('SELECT count(DISTINCT message_id) AS count FROM handled_events')).toBe(ids.length);
      expect(await deadLetterCount()).toBe(0);
    });

    it('a poison message fails its batch alone: the batch is handled again one by one, the others once, the poison dead-lettered', async () => {
      const poison = randomUUID();
      const { handler, batches, release } = gatedBatchHandler(async (events, executor) => {
        if (events.some((event) => event.messageId === poison)) throw new Error('poison: account unknown to reconciliation');
        await recordAll(events, executor);
      });
      const sut = await startConsumer({ handler: undefined, batchHandler: handler, maxDeliver: 3 });
      await publishThroughOutbox(1);
      await waitForFirstBatch(batches);
      const before = await publishThroughOutbox(3);
      await publishRaw(poison);
      await publishRaw(randomUUID(), { not: 'a transaction' }); // invalid: dead-lettered without reaching the handler
      const after = await publishThroughOutbox(3);
      release();
      expect(await eventually(async () => (await deadLetterCount()) === 2, 20_000)).toBe(true);
      expect(await eventually(async () => (await handledCount()) === 7)).toBe(true);
      expect(await countOf('SELECT count(DISTINCT message_id) AS count FROM handled_events')).toBe(7);
      expect(batches[1]).toEqual([...before, poison, ...after]);
      const reasons = (
        await queryRows<{ message_id: string; reason: string }>(env.pool, 'SELECT message_id, reason FROM dead_letters ORDER BY stream_sequence')
      ).map((row) => row.reason);
      expect(reasons[0]).toBe('handler failed on delivery 3 of 3: poison: account unknown to reconciliation');
      expect(reasons[1]).toContain('invalid message: payload of ledger.transaction.posted v1 is invalid');
      expect(sut.stats).toMatchObject({ processedCount: 7, deadLetterCount: 2, failedCount: 3 });
      expect(sut.stats.batchFallbackCount).toBeGreaterThanOrEqual(1);
      expect(await countOf(`SELECT count(*) AS count FROM inbox_messages WHERE message_id = '${poison}'`)).toBe(0);
    });

    it('continues every producer trace: each message gets its span in its producer trace, linked to the batch span the handler runs in', async () => {
      const handlerTraces: (string | undefined)[] = [];
      const { handler, batches, release } = gatedBatchHandler(async (events, executor) => {
        handlerTraces.push(trace.getActiveSpan()?.spanContext().traceId);
        await recordAll(events, executor);
      });
      await startConsumer({ handler: undefined, batchHandler: handler });
      await publishThroughOutbox(1);
      await waitForFirstBatch(batches);
      const producers = [trace.getTracer('test-producer').startSpan('post a'), trace.getTracer('test-producer').startSpan('post b')];
      const ids = producers.map(() => randomUUID());
      for (const [index, producer] of producers.entries()) {
        await context.with(trace.setSpan(context.active(), producer), () =>
          env.transactions.transaction((executor) =>
            enqueueEvent(executor, { messageId: ids[index]!, subject: 'ledger.transaction.posted', schemaVersion: 1, payload: sampleTransactionPosted() }),
          ),
        );
        producer.end();
      }
      while ((await relay.relayOnce()) > 0);
      release();
      expect(await eventually(async () => (await handledCount()) === 3)).toBe(true);
      expect(batches[1]).toEqual(ids);
      const finished = spans.getFinishedSpans();
      for (const [index, producer] of producers.entries()) {
        const messageSpan = finished.find((span) => span.attributes['messaging.message.id'] === ids[index]);
        expect(messageSpan?.name).toBe('process ledger.transaction.posted');
        expect(messageSpan?.parentSpanContext?.spanId).toBe(producer.spanContext().spanId);
        expect(messageSpan?.spanContext().traceId).toBe(producer.spanContext().traceId);
      }
      const batchSpan = finished.find((span) => span.name.startsWith('process batch') && span.attributes['messaging.batch.message_count'] === 2);
      expect(batchSpan?.links.map((link) => link.context.spanId).sort()).toEqual(producers.map((producer) => producer.spanContext().spanId).sort());
      expect(handlerTraces[1]).toBe(batchSpan?.spanContext().traceId);
    });

    it('finishes what it has read when stopped', async () => {
      const { handler, batches, release } = gatedBatchHandler(recordAll);
      const sut = await startConsumer({ handler: undefined, batchHandler: handler });
      await publishThroughOutbox(1);
      await waitForFirstBatch(batches);
      await publishThroughOutbox(5);
      expect(
        await eventually(
          async () => (await env.jsm.consumers.info(streamNameFor(env.namespace, 'LEDGER'), sut.consumerConfig().durable_name!)).num_pending === 0,
        ),
      ).toBe(true);
      const stopped = sut.stop();
      release();
      await stopped;
      expect(await handledCount()).toBe(6);
      expect(sut.stats.processedCount).toBe(6);
    });

    describe('with a batch group (consumers sharing transactions)', () => {
      beforeAll(async () => {
        await env.pool.query('CREATE TABLE grouped_events (consumer text NOT NULL, message_id text NOT NULL, txid bigint NOT NULL)');
      });

      beforeEach(async () => {
        await env.pool.query('TRUNCATE grouped_events');
      });

      /** Two durables on the same stream (each gets every message), sharing one group; the first batch waits for `release`. */
      async function startGroupedPair(fail: (consumer: string, events: readonly IncomingEvent[]) => boolean = () => false) {
        const group = new InboxBatchGroup(env.pool);
        const names = [`grouped-a-${randomUUID().slice(0, 8)}`, `grouped-b-${randomUUID().slice(0, 8)}`];
        let calls = 0;
        const spanNames: { durableName: string; span: string | undefined }[] = [];
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        const consumers = await Promise.all(
          names.map((durableName) =>
            startConsumer({
              durableName,
              handler: undefined,
              maxDeliver: 3,
              batchGroup: group,
              batchHandler: async (events, executor) => {
                calls += 1;
                spanNames.push({ durableName, span: (trace.getActiveSpan() as unknown as { name?: string } | undefined)?.name });
                if (calls === 1) await gate;
                if (fail(durableName, events)) throw new Error(`poison in ${durableName}'s batch`);
                await executor.query('INSERT INTO grouped_events (consumer, message_id, txid) SELECT $1, unnest($2::text[]), txid_current()', [
                  durableName,
                  events.map((event) => event.messageId),
                ]);
              },
            }),
          ),
        );
        return { consumers, names, release, calls: () => calls, spanNames };
      }

      const groupedCount = () => countOf('SELECT count(*) AS count FROM grouped_events');

      it("commits both consumers' batches in one transaction, each message once per consumer, and acknowledges them", async () => {
        const { consumers, names, release, calls, spanNames } = await startGroupedPair();
        await publishThroughOutbox(1);
        expect(await eventually(async () => calls() >= 1)).toBe(true);
        await publishThroughOutbox(20);
        release();
        expect(await eventually(async () => (await groupedCount()) === 42)).toBe(true);
        expect(await countOf('SELECT count(*) AS count FROM (SELECT DISTINCT consumer, message_id FROM grouped_events) AS d')).toBe(42);
        const shared = await countOf('SELECT count(*) AS count FROM (SELECT txid FROM grouped_events GROUP BY txid HAVING count(DISTINCT consumer) = 2) AS t');
        expect(shared).toBeGreaterThanOrEqual(1);
        // Each handler runs in its own consumer's batch span, whichever consumer's call runs the shared transaction.
        for (const { durableName, span } of spanNames) expect(span).toBe(`process batch ${durableName}`);
        for (const [index, consumer] of consumers.entries()) {
          expect(consumer.stats).toMatchObject({ processedCount: 21, duplicateCount: 0, failedCount: 0, batchFallbackCount: 0 });
          expect(await countOf(`SELECT count(*) AS count FROM inbox_messages WHERE consumer = '${names[index]}'`)).toBe(21);
          const durable = consumer.consumerConfig().durable_name!;
          expect(await eventually(async () => (await env.jsm.consumers.info(streamNameFor(env.namespace, 'LEDGER'), durable)).num_ack_pending === 0)).toBe(
            true,
          );
        }
      });

      it("a poison message in one consumer's batch fails the shared transaction: both handle their messages one by one, nothing lost or doubled", async () => {
        const poison = randomUUID();
        let poisonOwner = '';
        const { consumers, names, release, calls } = await startGroupedPair((consumer, events) => {
          if (poisonOwner === '') poisonOwner = consumer;
          return consumer === poisonOwner && events.some((event) => event.messageId === poison);
        });
        await publishThroughOutbox(1);
        expect(await eventually(async () => calls() >= 1)).toBe(true);
        const ids = await publishThroughOutbox(4);
        await env.js.publish(subjectFor(env.namespace, 'ledger.transaction.posted'), JSON.stringify(sampleTransactionPosted({ transactionId: poison })), {
          headers: msgHdrsOf({ 'Nats-Msg-Id': poison, 'Recon-Schema-Version': '1' }),
        });
        release();
        // Every message for both consumers, except the poison for its owner, which is dead-lettered after 3 deliveries.
        expect(await eventually(async () => (await groupedCount()) === 2 * 6 - 1 && (await deadLetterCount()) === 1, 20_000)).toBe(true);
        expect(await countOf('SELECT count(*) AS count FROM (SELECT DISTINCT consumer, message_id FROM grouped_events) AS d')).toBe(11);
        expect(await countOf(`SELECT count(*) AS count FROM grouped_events WHERE message_id IN ('${ids.join("','")}')`)).toBe(8);
        const owner = names.indexOf(poisonOwner);
        expect(consumers[owner]!.stats).toMatchObject({ processedCount: 5, deadLetterCount: 1 });
        expect(consumers[1 - owner]!.stats).toMatchObject({ processedCount: 6, deadLetterCount: 0 });
        expect(consumers[0]!.stats.batchFallbackCount + consumers[1]!.stats.batchFallbackCount).toBeGreaterThanOrEqual(2);
      });
    });
  });

  it('finishes the message in hand when stopped', async () => {
    let started = false;
    const sut = await startConsumer({
      handler: async (event, executor) => {
        started = true;
        await new Promise((resolve) => setTimeout(resolve, 300));
        await recordHandled(event, executor);
      },
    });
    await publishThroughOutbox(1);
    expect(await eventually(async () => started)).toBe(true);
    await sut.stop();
    expect(await handledCount()).toBe(1);
    expect(sut.stats.processedCount).toBe(1);
  });
});
