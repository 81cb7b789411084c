import { randomUUID } from 'node:crypto';
import { RetentionPolicy, DiscardPolicy } from '@nats-io/jetstream';
import { createMessagingTestEnv, type MessagingTestEnv } from '../test/messaging-test-env';
import { JetStreamPublisher } from './jetstream-publisher';
import { streamNameFor, subjectFor } from './streams';

describe('JetStreamPublisher (real NATS JetStream)', () => {
  let env: MessagingTestEnv;
  let publisher: JetStreamPublisher;

  beforeAll(async () => {
    env = await createMessagingTestEnv();
  });
  afterEach(() => publisher?.close());
  afterAll(async () => {
    await env.close();
  });

  const request = (messageId = randomUUID(), subject = subjectFor(env.namespace, 'ledger.transaction.posted')) => ({
    subject,
    payload: '{"x":1}',
    messageId,
    headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  });

  it('settles each message with its stream sequence, and a repeated message id as a duplicate', async () => {
    publisher = new JetStreamPublisher(env.nats, 5_000);
    const id = randomUUID();
    const results = await publisher.publishAll([request(id), request(), request(id)]);
    const acks = results.map((result) => (result.status === 'fulfilled' ? result.value : result.reason));
    expect(acks.map((ack) => ack.duplicate)).toEqual([false, false, true]);
    expect(acks[0].stream).toBe(streamNameFor(env.namespace, 'LEDGER'));
    expect(acks[2].sequence).toBe(acks[0].sequence);
    expect(await env.streamMessageCount('LEDGER')).toBe(2);
    const stored = await env.jsm.streams.getMessage(streamNameFor(env.namespace, 'LEDGER'), { seq: acks[0].sequence });
    expect(stored?.header.get('Nats-Msg-Id')).toBe(id);
    expect(stored?.header.get('traceparent')).toContain('0af7651916cd43dd8448eb211c80319c');
  });

  it('rejects a message no stream captures (no responders) without failing the others', async () => {
    publisher = new JetStreamPublisher(env.nats, 5_000);
    const results = await publisher.publishAll([request(), request(randomUUID(), `${env.namespace}-nostream.ledger.x`)]);
    expect(results[0]?.status).toBe('fulfilled');
    expect(results[1]).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/no responders/) }) });
  });

  it('rejects a message nobody acknowledges once the timeout passes', async () => {
    publisher = new JetStreamPublisher(env.nats, 300);
    const silent = `${env.namespace}.silent.${randomUUID()}`;
    const listener = env.nats.subscribe(silent, { callback: () => undefined }); // a responder that never answers
    try {
      const started = Date.now();
      const [result] = await publisher.publishAll([request(randomUUID(), silent)]);
      expect(result).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: 'no JetStream ack within 300 ms' }) });
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    } finally {
      listener.unsubscribe();
    }
  });

  it('rejects a message JetStream refuses, with its reason', async () => {
    publisher = new JetStreamPublisher(env.nats, 5_000);
    const name = `${env.namespace}_FULL`;
    const subject = `${env.namespace}.full.x`;
    await env.jsm.streams.add({ name, subjects: [subject], retention: RetentionPolicy.Limits, max_msgs: 1, discard: DiscardPolicy.New });
    try {
      const results = await publisher.publishAll([request(randomUUID(), subject), request(randomUUID(), subject)]);
      expect(results[0]?.status).toBe('fulfilled');
      expect(results[1]).toMatchObject({
        status: 'rejected',
        reason: expect.objectContaining({ message: expect.stringMatching(/JetStream refused the message: .*maximum messages/i) }),
      });
    } finally {
      await env.jsm.streams.delete(name);
    }
  });

  it('rejects what still awaits an ack when closed', async () => {
    publisher = new JetStreamPublisher(env.nats, 60_000);
    const silent = `${env.namespace}.silent2.${randomUUID()}`;
    const listener = env.nats.subscribe(silent, { callback: () => undefined });
    try {
      const settled = publisher.publishAll([request(randomUUID(), silent)]);
      await env.nats.flush();
      publisher.close();
      const [result] = await settled;
      expect(result).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: expect.stringMatching(/closed/) }) });
    } finally {
      listener.unsubscribe();
    }
  });
});
