import { AUDIT_EVENT_RECORDED_V1, LEDGER_ACCOUNT_OPENED_V1, LEDGER_TRANSACTION_POSTED_V1 } from '@recon/contracts';
import { sampleTransactionPosted } from '../../contracts/test-fixtures/sample-events';
import { type IncomingEvent, InboxConsumer, isEventOf } from './inbox-consumer';

function incoming(subject: string, schemaVersion: number): IncomingEvent {
  return { messageId: 'm-1', subject, schemaVersion, payload: sampleTransactionPosted(), headers: {}, streamSequence: 1, deliveryCount: 1 };
}

describe(isEventOf.name, () => {
  it('matches the contract of the subject and version, families included', () => {
    const event = incoming('ledger.transaction.posted', 1);
    expect(isEventOf(event, LEDGER_TRANSACTION_POSTED_V1)).toBe(true);
    expect(isEventOf(event, LEDGER_ACCOUNT_OPENED_V1)).toBe(false);
    expect(isEventOf(incoming('ledger.transaction.posted', 2), LEDGER_TRANSACTION_POSTED_V1)).toBe(false);
    expect(isEventOf(incoming('audit.ledger.transaction.post', 1), AUDIT_EVENT_RECORDED_V1)).toBe(true);
    if (isEventOf(event, LEDGER_TRANSACTION_POSTED_V1)) expect(event.payload.lines).toHaveLength(2);
  });
});

describe(InboxConsumer.name, () => {
  const base = {
    jetstream: {} as never,
    jsm: {} as never,
    namespace: 'ns',
    stream: 'LEDGER' as const,
    durableName: 'reconciliation-ledger',
    transaction: { transaction: async () => undefined } as never,
    handler: async () => undefined,
  };

  it('asks the server for one delivery more than maxDeliver, with explicit acks, on the namespaced filter', () => {
    const sut = new InboxConsumer({ ...base, maxDeliver: 5, ackWaitMs: 10_000, filterSubject: 'ledger.transaction.posted' });
    expect(sut.consumerConfig()).toMatchObject({
      durable_name: 'reconciliation-ledger',
      ack_policy: 'explicit',
      filter_subject: 'ns.ledger.transaction.posted',
      max_deliver: 6,
      ack_wait: 10_000_000_000,
    });
  });

  it.each([
    [{ durableName: 'recon.ledger' }, "durable name 'recon.ledger'"],
    [{ filterSubject: 'bank.>' }, "filter subject 'bank.>' is not in stream LEDGER"],
    [{ maxDeliver: 0 }, 'maxDeliver must be an integer in 1..1000'],
    [{ ackWaitMs: 10 }, 'ackWaitMs must be an integer'],
    [{ concurrency: 1_000 }, 'concurrency must be an integer in 1..64'],
    [{ batchHandler: async () => undefined }, 'exactly one of handler and batchHandler'],
    [{ handler: undefined }, 'exactly one of handler and batchHandler'],
  ])('refuses %p', (override, message) => {
    expect(() => new InboxConsumer({ ...base, ...override })).toThrow(message);
  });
});
