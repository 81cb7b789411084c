import { auditEventLeafHash, encodeAuditEvent, hashEntityState, parseAuditEvent } from './audit-event';
import { AuditLogErrorCode } from './audit-log.errors';
import { hashToHex, sha256 } from './hash';

const EVENT = {
  eventId: '0192f1c4-6b1e-7c6a-9d3f-3f0e8a1b2c4d',
  type: 'audit.ledger.transaction.posted',
  service: 'ledger',
  occurredAt: '2025-01-02T10:15:30.123Z',
  actor: { id: 'user-17', role: 'finance_ops' },
  action: 'post',
  entity: { type: 'transaction', id: 'TX-2025-000123' },
  afterHash: 'a'.repeat(64),
  requestId: 'req-81f2',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  details: { amount: '12.30', currency: 'EUR' },
};

describe(parseAuditEvent.name, () => {
  it('accepts a complete event and encodes it as RFC 8785 canonical JSON', () => {
    const sut = parseAuditEvent(EVENT);
    expect(Buffer.from(encodeAuditEvent(sut)).toString('utf8')).toBe(
      '{"action":"post","actor":{"id":"user-17","role":"finance_ops"},"afterHash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","details":{"amount":"12.30","currency":"EUR"},"entity":{"id":"TX-2025-000123","type":"transaction"},"eventId":"0192f1c4-6b1e-7c6a-9d3f-3f0e8a1b2c4d","occurredAt":"2025-01-02T10:15:30.123Z","requestId":"req-81f2","service":"ledger","traceId":"4bf92f3577b34da6a3ce929d0e0e4736","type":"audit.ledger.transaction.posted"}',
    );
  });

  it('hashes the leaf as SHA-256(0x00 || canonical bytes), whatever the member order of the input', () => {
    const reordered = Object.fromEntries(Object.entries(EVENT).reverse());
    const expected = hashToHex(sha256(Uint8Array.of(0), encodeAuditEvent(parseAuditEvent(EVENT))));
    expect(hashToHex(auditEventLeafHash(EVENT))).toBe(expected);
    expect(hashToHex(auditEventLeafHash(reordered))).toBe(expected);
  });

  it.each([
    ['an unknown field', { ...EVENT, extra: 1 }, 'event: Unrecognized key'],
    ['a local time', { ...EVENT, occurredAt: '2025-01-02T10:15:30+01:00' }, 'occurredAt'],
    ['a type outside audit.*', { ...EVENT, type: 'ledger.transaction.posted' }, 'type'],
    ['no actor role', { ...EVENT, actor: { id: 'user-17' } }, 'actor.role'],
    ['an upper-case hash', { ...EVENT, beforeHash: 'A'.repeat(64) }, 'beforeHash'],
    ['a short trace id', { ...EVENT, traceId: 'abc' }, 'traceId'],
    ['too many bytes', { ...EVENT, details: { blob: 'x'.repeat(70_000) } }, 'more than 65536'],
  ])('refuses %s, naming the field', (_, input, message) => {
    expect(() => parseAuditEvent(input)).toThrow(
      expect.objectContaining({ code: AuditLogErrorCode.EventInvalid, message: expect.stringContaining(message) as unknown }),
    );
  });
});

describe(hashEntityState.name, () => {
  it('hashes the canonical form, so member order does not matter but values do', () => {
    expect(hashEntityState({ a: 1, b: '2' })).toBe(hashEntityState({ b: '2', a: 1 }));
    expect(hashEntityState({ a: 1, b: '2' })).not.toBe(hashEntityState({ a: 1, b: '3' }));
    expect(hashEntityState({ a: 1 })).toBe(hashToHex(sha256(Buffer.from('{"a":1}'))));
  });
});
