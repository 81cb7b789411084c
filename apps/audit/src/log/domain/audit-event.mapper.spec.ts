import { createHash } from 'node:crypto';
import { auditEventLeafHash, hashLeaf } from '@recon/audit-log';
import { auditEventRecordedV1Schema, type AuditEventRecordedV1 } from '@recon/contracts';
import { auditEventFromContract } from './audit-event.mapper';

const hex = createHash('sha256').update('state').digest('hex');

function payload(overrides: Partial<AuditEventRecordedV1> = {}): AuditEventRecordedV1 {
  return auditEventRecordedV1Schema.parse({
    eventId: '0192f1c4-6b1e-7c6a-9d3f-3f0e8a1b2c4d',
    occurredAt: '2025-01-02T10:15:30.123Z',
    service: 'ledger',
    actor: { id: 'svc-platform', role: 'service' },
    action: 'ledger.transaction.post',
    entity: { type: 'transaction', id: 'TX-2025-000123' },
    afterHash: hex,
    requestId: 'req-81f2',
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    details: { amount: '12.30', currency: 'EUR' },
    ...overrides,
  });
}

describe(auditEventFromContract.name, () => {
  it('maps the wire event to the log event: type from the subject, action without the service word', () => {
    const sut = auditEventFromContract('audit.ledger.transaction.post', payload());
    expect(sut.ok).toBe(true);
    if (!sut.ok) return;
    expect(sut.event).toEqual({
      eventId: '0192f1c4-6b1e-7c6a-9d3f-3f0e8a1b2c4d',
      type: 'audit.ledger.transaction.post',
      service: 'ledger',
      occurredAt: '2025-01-02T10:15:30.123Z',
      actor: { id: 'svc-platform', role: 'service' },
      action: 'transaction_post',
      entity: { type: 'transaction', id: 'TX-2025-000123' },
      afterHash: hex,
      requestId: 'req-81f2',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      details: { amount: '12.30', currency: 'EUR' },
    });
    expect(hashLeaf(sut.canonicalBytes)).toEqual(auditEventLeafHash(sut.event));
  });

  it('writes a base64 or upper-case hex SHA-256 as lower-case hex', () => {
    const base64 = Buffer.from(hex, 'hex').toString('base64');
    const sut = auditEventFromContract('audit.ledger.transaction.post', payload({ beforeHash: base64, afterHash: hex.toUpperCase() }));
    expect(sut).toMatchObject({ ok: true, event: { beforeHash: hex, afterHash: hex } });
  });

  it('refuses, naming the field, what the log schema cannot hold', () => {
    expect(auditEventFromContract('audit.ledger.transaction.post', payload({ entity: { type: 'Transaction', id: 'T1' } }))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/entity\.type/),
    });
    expect(auditEventFromContract('audit.ledger.transaction.post', payload({ actor: { id: 'jane doe', role: 'ops' } }))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/actor\.id/),
    });
    expect(auditEventFromContract('audit.ledger.transaction.post', payload({ afterHash: 'abcdef0123456789abcdef' }))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/afterHash/),
    });
  });
});
