import { randomUUID } from 'node:crypto';
import { sampleTransactionPosted } from '../../contracts/test-fixtures/sample-events';
import { createMessagingTestEnv, eventually, type MessagingTestEnv } from '../test/messaging-test-env';
import { enqueueEvent, enqueueEvents, type OutgoingEvent } from './outbox';
import { purgePublishedOutbox } from './housekeeping';
import { OutboxRelay } from './outbox-relay';
import { queryRows, type TransactionRunner } from './sql-executor';
import { ensureStreams, STREAMS, StreamConfigConflictError, streamDefinitionOf, streamNameFor } from './streams';

jest.setTimeout(60_000);

function transactionPosted(messageId = randomUUID()): OutgoingEvent {
  return { messageId, subject: 'ledger.transaction.posted', schemaVersion: 1, payload: sampleTransactionPosted({ transactionId: messageId }) };
}

async function enqueueMany(env: MessagingTestEnv, count: number, perTransaction = 100): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += perTransaction) {
    await env.transactions.transaction(async (executor) => {
      for (let index = start; index < Math.min(count, start + perTransaction); index += 1) {
        const event = transactionPosted();
        ids.push(event.messageId);
        await enqueueEvent(executor, event);
      }
    });
  }
  return ids;
}

async function unpublishedCount(env: MessagingTestEnv): Promise<number> {
  const rows = await queryRows<{ count: string }>(env.pool, 'SELECT count(*) AS count FROM outbox_messages WHERE published_at IS NULL');
  return Number(rows[0]?.count);
}

async function drain(relay: OutboxRelay): Promise<number> {
  let total = 0;
  for (;;) {
    const published = await relay.relayOnce();
    if (published === 0) return total;
    total += published;
  }
}

describe(OutboxRelay.name, () => {
  let env: MessagingTestEnv;

  beforeAll(async () => {
    env = await createMessagingTestEnv();
  });

  afterAll(async () => {
    await env?.close();
  });

  beforeEach(async () => {
    await env.pool.query('DELETE FROM outbox_messages');
    await env.jsm.streams.purge(streamNameFor(env.namespace, 'LEDGER'));
  });

  it('publishes nothing when the enqueuing transaction rolls back', async () => {
    const attempt = env.transactions.transaction(async (executor) => {
      await enqueueEvent(executor, transactionPosted());
      throw new Error('use case failed after enqueueing');
    });
    await expect(attempt).rejects.toThrow('use case failed');
    const sut = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace });
    expect(await sut.relayOnce()).toBe(0);
    expect(await env.streamMessageCount('LEDGER')).toBe(0);
  });

  it('publishes a committed event once, with Nats-Msg-Id, schema version and subject in the namespace', async () => {
    const event = transactionPosted();
    await env.transactions.transaction((executor) => enqueueEvent(executor, event));
    const sut = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace });
    expect(await sut.relayOnce()).toBe(1);
    expect(await sut.relayOnce()).toBe(0);
    expect(await env.streamMessageCount('LEDGER')).toBe(1);
    const stored = await env.jsm.streams.getMessage(streamNameFor(env.namespace, 'LEDGER'), { last_by_subj: `${env.namespace}.ledger.transaction.posted` });
    expect(stored?.subject).toBe(`${env.namespace}.ledger.transaction.posted`);
    expect(stored?.header.get('Nats-Msg-Id')).toBe(event.messageId);
    expect(stored?.header.get('Recon-Schema-Version')).toBe('1');
    expect(stored?.json()).toEqual(event.payload);
    const rows = await queryRows<{ published_at: Date | null; attempts: number }>(env.pool, 'SELECT published_at, attempts FROM outbox_messages');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.published_at).toBeInstanceOf(Date);
    expect(rows[0]?.attempts).toBe(0);
  });

  it('publishes events enqueued together in their order', async () => {
    const events = Array.from({ length: 5 }, () => transactionPosted());
    await env.transactions.transaction((executor) => enqueueEvents(executor, events));
    const sut = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace });
    expect(await sut.relayOnce()).toBe(5);
    const positions = await queryRows<{ message_id: string }>(env.pool, 'SELECT message_id::text AS message_id FROM outbox_messages ORDER BY position');
    expect(positions.map((row) => row.message_id)).toEqual(events.map((event) => event.messageId));
    const stream = streamNameFor(env.namespace, 'LEDGER');
    const firstSequence = (await env.jsm.streams.info(stream)).state.first_seq;
    const published: string[] = [];
    for (let offset = 0; offset < events.length; offset += 1) {
      published.push((await env.jsm.streams.getMessage(stream, { seq: firstSequence + offset }))!.header.get('Nats-Msg-Id'));
    }
    expect(published).toEqual(events.map((event) => event.messageId));
  });

  it('republishes after a crash between publish and commit, and the stream keeps each message once', async () => {
    await enqueueMany(env, 50);
    // The batch is claimed, published and marked; the process dies before COMMIT, so the marks roll back.
    const crashingTransactions: TransactionRunner = {
      transaction: (work) =>
        env.transactions.transaction(async (executor) => {
          await work(executor);
          throw new Error('process killed before commit');
        }),
    };
    const crashed = new OutboxRelay({ transactions: crashingTransactions, jetstream: env.js, namespace: env.namespace, batchSize: 100 });
    await expect(crashed.relayOnce()).rejects.toThrow('process killed');
    expect(await env.streamMessageCount('LEDGER')).toBe(50);
    expect(await unpublishedCount(env)).toBe(50);

    const sut = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace, batchSize: 100 });
    expect(await sut.relayOnce()).toBe(50);
    expect(sut.stats.duplicateCount).toBe(50);
    expect(await env.streamMessageCount('LEDGER')).toBe(50);
    expect(await unpublishedCount(env)).toBe(0);
  });

  it('never publishes a row twice when two relays run at once (SKIP LOCKED)', async () => {
    const ids = await enqueueMany(env, 2_000, 200);
    const first = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace, batchSize: 100 });
    const second = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace, batchSize: 100 });
    const [firstCount, secondCount] = await Promise.all([drain(first), drain(second)]);
    expect(firstCount + secondCount).toBe(ids.length);
    expect(firstCount).toBeGreaterThan(0);
    expect(secondCount).toBeGreaterThan(0);
    // Had both published a row, JetStream would have reported the second as a duplicate.
    expect(first.stats.duplicateCount + second.stats.duplicateCount).toBe(0);
    expect(await env.streamMessageCount('LEDGER')).toBe(ids.length);
    expect(await unpublishedCount(env)).toBe(0);
  });

  it('is woken by NOTIFY long before its poll interval', async () => {
    const sut = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace, pollIntervalMs: 60_000 });
    sut.start();
    try {
      // The first loop pass finds nothing and sleeps for a minute; only a notification can wake it in time.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await env.transactions.transaction((executor) => enqueueEvent(executor, transactionPosted()));
      expect(await eventually(async () => (await env.streamMessageCount('LEDGER')) === 1, 5_000)).toBe(true);
    } finally {
      await sut.stop();
    }
  });

  it('sends NOTIFY only while a relay is waiting for it, and disarms when stopped', async () => {
    const listener = await env.pool.connect();
    const notified: string[] = [];
    // Other suites (and services) share the channel; the payload tells our schema's notifications apart.
    listener.on('notification', (notification) => {
      if (notification.payload === env.schema) notified.push(notification.payload);
    });
    try {
      await listener.query('LISTEN recon_outbox');
      const waitingSince = async () =>
        (await queryRows<{ since: Date | null }>(env.pool, 'SELECT relay_waiting_since AS since FROM outbox_relay_wakeup'))[0]?.since;
      await env.transactions.transaction((executor) => enqueueEvent(executor, transactionPosted()));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(notified).toEqual([]);

      const sut = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace, pollIntervalMs: 60_000 });
      sut.start();
      expect(await eventually(async () => (await waitingSince()) instanceof Date)).toBe(true);
      await env.transactions.transaction((executor) => enqueueEvent(executor, transactionPosted()));
      expect(await eventually(async () => notified.length === 1, 5_000)).toBe(true);
      expect(notified).toEqual([env.schema]);
      expect(await eventually(async () => (await env.streamMessageCount('LEDGER')) === 2, 5_000)).toBe(true);
      await sut.stop();
      expect(await waitingSince()).toBeNull();
    } finally {
      listener.release(true);
    }
  });

  it('re-arms the wake-up when another relay cleared it', async () => {
    const waitingSince = async () =>
      (await queryRows<{ since: Date | null }>(env.pool, 'SELECT relay_waiting_since AS since FROM outbox_relay_wakeup'))[0]?.since;
    const sut = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace, pollIntervalMs: 200 });
    sut.start();
    try {
      expect(await eventually(async () => (await waitingSince()) instanceof Date)).toBe(true);
      await env.pool.query('UPDATE outbox_relay_wakeup SET relay_waiting_since = NULL'); // a busy or stopping relay elsewhere
      expect(await eventually(async () => (await waitingSince()) instanceof Date, 2_000)).toBe(true);
    } finally {
      await sut.stop();
    }
  });

  it('wakes through a LISTEN connection made from a connection string', async () => {
    const sut = new OutboxRelay({
      transactions: env.transactions,
      listenConnectionString: `${process.env.RECON_TEST_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/test'}`,
      jetstream: env.js,
      namespace: env.namespace,
      pollIntervalMs: 60_000,
    });
    sut.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      await env.transactions.transaction((executor) => enqueueEvent(executor, transactionPosted()));
      expect(await eventually(async () => (await env.streamMessageCount('LEDGER')) === 1, 5_000)).toBe(true);
    } finally {
      await sut.stop();
    }
  });

  it('finishes the batch in flight when stopped', async () => {
    await enqueueMany(env, 300);
    const sut = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace, batchSize: 300, pollIntervalMs: 60_000 });
    sut.start();
    // Stop as soon as the first publishes of the batch land, while its rows are still unmarked.
    await eventually(async () => (await env.streamMessageCount('LEDGER')) > 0, 5_000, 1);
    await sut.stop();
    expect(await unpublishedCount(env)).toBe(0);
    expect(await env.streamMessageCount('LEDGER')).toBe(300);
  });

  it('purges published rows before a given instant, never unpublished ones', async () => {
    await enqueueMany(env, 4);
    const sut = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace, batchSize: 3 });
    expect(await sut.relayOnce()).toBe(3);
    expect(await purgePublishedOutbox(env.pool, new Date(Date.now() - 60_000))).toBe(0);
    expect(await purgePublishedOutbox(env.pool, new Date(Date.now() + 60_000), 2)).toBe(2);
    expect(await purgePublishedOutbox(env.pool, new Date(Date.now() + 60_000))).toBe(1);
    expect(await unpublishedCount(env)).toBe(1);
    expect(await purgePublishedOutbox(env.pool, new Date(Date.now() + 60_000))).toBe(0);
  });

  it('records attempts and the error when publishing fails, and backs the row off', async () => {
    await enqueueMany(env, 3);
    const withoutStreams = env.extraNamespace(); // nothing listens on this namespace's subjects
    const sut = new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: withoutStreams, publishTimeoutMs: 1_000, retryBaseMs: 60_000 });
    expect(await sut.relayOnce()).toBe(0);
    expect(sut.stats.failedCount).toBe(3);
    const rows = await queryRows<{ attempts: number; last_error: string | null; backed_off: boolean }>(
      env.pool,
      "SELECT attempts, last_error, available_at > now() + interval '30 seconds' AS backed_off FROM outbox_messages WHERE published_at IS NULL",
    );
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row.attempts).toBe(1);
      expect(row.last_error).not.toBeNull();
      expect(row.backed_off).toBe(true);
    }
    // Backed-off rows are not picked up again before their time.
    expect(await new OutboxRelay({ pool: env.pool, jetstream: env.js, namespace: env.namespace }).relayOnce()).toBe(0);
  });
});

describe(ensureStreams.name, () => {
  let env: MessagingTestEnv;

  beforeAll(async () => {
    env = await createMessagingTestEnv();
  });

  afterAll(async () => {
    await env?.close();
  });

  it('is idempotent: a second run changes nothing', async () => {
    const results = await ensureStreams(env.jsm, env.namespace);
    expect(results.map((result) => result.outcome)).toEqual(STREAMS.map(() => 'unchanged'));
  });

  it('creates missing streams and restores a drifted configuration without losing messages', async () => {
    const namespace = env.extraNamespace();
    expect((await ensureStreams(env.jsm, namespace)).map((result) => result.outcome)).toEqual(STREAMS.map(() => 'created'));
    const ledger = streamNameFor(namespace, 'LEDGER');
    await env.js.publish(`${namespace}.ledger.transaction.posted`, '{}', { msgID: randomUUID() });
    const drifted = (await env.jsm.streams.info(ledger)).config;
    await env.jsm.streams.update(ledger, { ...drifted, max_age: 3_600 * 1e9 });
    const results = await ensureStreams(env.jsm, namespace);
    expect(results.find((result) => result.name === ledger)?.outcome).toBe('updated');
    expect((await env.jsm.streams.info(ledger)).config.max_age).toBe(streamDefinitionOf('LEDGER').maxAgeMs * 1e6);
    expect(await env.streamMessageCount('LEDGER', namespace)).toBe(1);
  });

  it('refuses to change a retention policy in place', async () => {
    const namespace = env.extraNamespace();
    await env.jsm.streams.add({ name: streamNameFor(namespace, 'AUDIT'), subjects: [`${namespace}.audit.>`] });
    await expect(ensureStreams(env.jsm, namespace, [streamDefinitionOf('AUDIT')])).rejects.toThrow(StreamConfigConflictError);
  });
});
