import { ContractViolationError, UnknownContractError } from '@recon/contracts';
import { sampleTransactionPosted } from '../../contracts/test-fixtures/sample-events';
import { enqueueEvent, enqueueEvents } from './outbox';
import type { SqlExecutor } from './sql-executor';

function recordingExecutor(): SqlExecutor & { calls: { sql: string; params: unknown[] }[] } {
  const calls: { sql: string; params: unknown[] }[] = [];
  return { calls, query: async (sql, params = []) => void calls.push({ sql, params }) };
}

const MESSAGE_ID = '0190c1f2-8f7e-7abc-8def-0123456789ab';

describe(enqueueEvent.name, () => {
  it('inserts the validated payload and the schema version header', async () => {
    const sut = recordingExecutor();
    await enqueueEvent(sut, {
      messageId: MESSAGE_ID,
      subject: 'ledger.transaction.posted',
      schemaVersion: 1,
      payload: sampleTransactionPosted(),
      headers: { 'Idempotency-Key': 'idem-0001' },
    });
    expect(sut.calls).toHaveLength(1);
    const [messageIds, subjects, versions, payloads, headers] = sut.calls[0]!.params as [string[], string[], number[], string, string];
    expect([messageIds, subjects, versions]).toEqual([[MESSAGE_ID], ['ledger.transaction.posted'], [1]]);
    // Payloads and headers: one JSON array each, an element per event.
    expect(JSON.parse(payloads)).toEqual([sampleTransactionPosted()]);
    expect(JSON.parse(headers)).toEqual([{ 'Idempotency-Key': 'idem-0001', 'Recon-Schema-Version': '1' }]);
  });

  it('writes nothing when the payload breaks its contract, naming subject and field', async () => {
    const sut = recordingExecutor();
    const payload = { ...sampleTransactionPosted(), valueDate: '02.01.2025' };
    const attempt = enqueueEvent(sut, { messageId: MESSAGE_ID, subject: 'ledger.transaction.posted', schemaVersion: 1, payload });
    await expect(attempt).rejects.toThrow(ContractViolationError);
    await expect(attempt).rejects.toThrow('payload of ledger.transaction.posted v1 is invalid: valueDate: must be a calendar date YYYY-MM-DD');
    expect(sut.calls).toHaveLength(0);
  });

  it.each([
    [{ messageId: 'tx-1' }, "messageId 'tx-1' must be a UUID"],
    [{ subject: 'dev.ledger.transaction.posted' }, 'belongs to no declared stream'],
    [{ subject: 'ledger.transaction.posted.v1' }, "no event contract for subject 'ledger.transaction.posted.v1'"],
    [{ schemaVersion: 3 }, 'version 3 (known versions: 1)'],
    [{ headers: { 'Nats-Msg-Id': 'x' } }, 'is set by the messaging library'],
  ])('refuses %p', async (override, message) => {
    const sut = recordingExecutor();
    const event = { messageId: MESSAGE_ID, subject: 'ledger.transaction.posted', schemaVersion: 1, payload: sampleTransactionPosted(), ...override };
    await expect(enqueueEvent(sut, event)).rejects.toThrow(message);
    expect(sut.calls).toHaveLength(0);
  });

  it('checks every event of a subject it has seen before: another version, a bad subject again, the payload each time', async () => {
    const sut = recordingExecutor();
    const event = { messageId: MESSAGE_ID, subject: 'ledger.transaction.posted', schemaVersion: 1, payload: sampleTransactionPosted() };
    await enqueueEvent(sut, event);
    await expect(enqueueEvent(sut, { ...event, schemaVersion: 3 })).rejects.toThrow('version 3 (known versions: 1)');
    await expect(enqueueEvent(sut, { ...event, payload: { ...sampleTransactionPosted(), postedAt: 'yesterday' } })).rejects.toThrow('postedAt');
    for (let round = 0; round < 2; round += 1) {
      await expect(enqueueEvent(sut, { ...event, subject: 'dev.ledger.transaction.posted' })).rejects.toThrow('belongs to no declared stream');
    }
    expect(sut.calls).toHaveLength(1);
  });

  it('enqueues many events in one statement, or none when any is invalid', async () => {
    const sut = recordingExecutor();
    const ids = ['0190c1f2-8f7e-7abc-8def-000000000001', '0190c1f2-8f7e-7abc-8def-000000000002'];
    await enqueueEvents(
      sut,
      ids.map((messageId) => ({ messageId, subject: 'ledger.transaction.posted', schemaVersion: 1, payload: sampleTransactionPosted() })),
    );
    expect(sut.calls).toHaveLength(1);
    expect(sut.calls[0]!.params[0]).toEqual(ids);

    const invalidSecond = [
      { messageId: ids[0]!, subject: 'ledger.transaction.posted', schemaVersion: 1, payload: sampleTransactionPosted() },
      { messageId: ids[1]!, subject: 'ledger.transaction.posted', schemaVersion: 1, payload: { ...sampleTransactionPosted(), postedAt: 'yesterday' } },
    ];
    await expect(enqueueEvents(sut, invalidSecond)).rejects.toThrow('postedAt');
    await expect(enqueueEvents(sut, [invalidSecond[0]!, invalidSecond[0]!])).rejects.toThrow('distinct messageIds');
    expect(sut.calls).toHaveLength(1);
    await enqueueEvents(sut, []);
    expect(sut.calls).toHaveLength(1);
  });

  it('reports an unknown version as UnknownContractError', async () => {
    await expect(
      enqueueEvent(recordingExecutor(), { messageId: MESSAGE_ID, subject: 'ledger.transaction.posted', schemaVersion: 2, payload: {} }),
    ).rejects.toThrow(UnknownContractError);
  });
});
