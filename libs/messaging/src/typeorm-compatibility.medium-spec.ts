import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { sampleTransactionPosted } from '../../contracts/test-fixtures/sample-events';
import { createMessagingTestEnv, eventually, type MessagingTestEnv, TEST_DATABASE_URL } from '../test/messaging-test-env';
import { InboxConsumer } from './inbox-consumer';
import { enqueueEvent } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { queryRows } from './sql-executor';

jest.setTimeout(60_000);

/** The services use TypeORM: its EntityManager returns rows (or [rows, count]) where pg returns { rows }. */
describe('messaging over a TypeORM DataSource', () => {
  let env: MessagingTestEnv;
  let dataSource: DataSource;

  beforeAll(async () => {
    env = await createMessagingTestEnv('CREATE TABLE handled_events (message_id text NOT NULL)');
    dataSource = await new DataSource({
      type: 'postgres',
      url: TEST_DATABASE_URL,
      entities: [],
      synchronize: false,
      extra: { max: 4, options: `-c search_path=${env.schema}` },
    }).initialize();
  });

  afterAll(async () => {
    if (dataSource?.isInitialized) await dataSource.destroy();
    await env?.close();
  });

  it('enqueues in an EntityManager transaction, relays, and consumes exactly once', async () => {
    const relay = new OutboxRelay({
      transactions: dataSource,
      listenConnectionString: TEST_DATABASE_URL,
      jetstream: env.js,
      namespace: env.namespace,
      pollIntervalMs: 60_000,
    });
    const consumer = new InboxConsumer({
      jetstream: env.js,
      jsm: env.jsm,
      namespace: env.namespace,
      stream: 'LEDGER',
      durableName: 'reconciliation-ledger',
      transaction: dataSource,
      handler: async (event, executor) => void (await executor.query('INSERT INTO handled_events (message_id) VALUES ($1)', [event.messageId])),
    });
    relay.start();
    await consumer.start();
    try {
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      await dataSource.transaction(async (manager) => {
        for (const messageId of ids) {
          await enqueueEvent(manager, {
            messageId,
            subject: 'ledger.transaction.posted',
            schemaVersion: 1,
            payload: sampleTransactionPosted({ transactionId: messageId }),
          });
        }
      });
      expect(await eventually(async () => (await queryRows(env.pool, 'SELECT 1 FROM handled_events')).length === ids.length)).toBe(true);
      const published = await queryRows<{ message_id: string }>(
        env.pool,
        'SELECT message_id::text AS message_id FROM outbox_messages WHERE published_at IS NOT NULL ORDER BY position',
      );
      expect(published.map((row) => row.message_id)).toEqual(ids);
      expect(consumer.stats).toMatchObject({ processedCount: 3, duplicateCount: 0, deadLetterCount: 0 });
    } finally {
      await consumer.stop();
      await relay.stop();
    }
  });
});
