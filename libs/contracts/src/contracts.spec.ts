import {
  sampleAccountOpened,
  sampleAlertRaised,
  sampleAuditEvent,
  sampleBreakOpened,
  sampleLineReceived,
  sampleStatementReceived,
  sampleTransactionPosted,
} from '../test-fixtures/sample-events';
import { AUDIT_DETAILS_BYTES_MAX, auditSubjectFor } from './index';
import { ContractViolationError, UnknownContractError, validateAgainstContract } from './event-contract';
import { LEDGER_TRANSACTION_POSTED_V1 } from './ledger.events';
import { TRANSACTION_LINES_MAX } from './limits';
import { contractFor, EVENT_CONTRACTS, findContract, isLogicalSubject, validateEventPayload } from './registry';

function violationOf(action: () => unknown): ContractViolationError {
  try {
    action();
  } catch (error) {
    if (error instanceof ContractViolationError) return error;
    throw error;
  }
  throw new Error('expected a ContractViolationError');
}

describe('event contracts', () => {
  it.each([
    ['ledger.transaction.posted', sampleTransactionPosted()],
    ['ledger.account.opened', sampleAccountOpened()],
    ['bank.line.received', sampleLineReceived()],
    ['bank.statement.received', sampleStatementReceived()],
    ['recon.break.opened', sampleBreakOpened()],
    ['recon.alert.raised', sampleAlertRaised()],
    ['audit.ledger.transaction.post', sampleAuditEvent()],
  ])('accepts a valid %s v1 payload unchanged', (subject, payload) => {
    expect(validateEventPayload(subject, 1, payload)).toEqual(payload);
  });

  it('declares each subject and version once', () => {
    const keys = EVENT_CONTRACTS.map((contract) => `${contract.subject} v${contract.schemaVersion}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  describe(contractFor.name, () => {
    it('finds exact subjects and subject families', () => {
      expect(contractFor('ledger.transaction.posted', 1)).toBe(LEDGER_TRANSACTION_POSTED_V1);
      expect(contractFor('audit.reconciliation.break.resolve', 1).subject).toBe('audit.>');
    });

    it('names the subject and the known versions when the version is unknown', () => {
      expect(() => contractFor('ledger.transaction.posted', 2)).toThrow(UnknownContractError);
      expect(() => contractFor('ledger.transaction.posted', 2)).toThrow(
        "no event contract for subject 'ledger.transaction.posted' version 2 (known versions: 1)",
      );
    });

    it('refuses unknown and malformed subjects', () => {
      expect(() => contractFor('ledger.transaction.deleted', 1)).toThrow("no event contract for subject 'ledger.transaction.deleted'");
      expect(findContract('audit', 1)).toBeUndefined();
      expect(findContract('ns.ledger.transaction.posted', 1)).toBeUndefined();
      expect(isLogicalSubject('ledger.*')).toBe(false);
      expect(isLogicalSubject('Ledger.transaction')).toBe(false);
    });
  });

  describe('ledger.transaction.posted v1', () => {
    it('names the subject, version and field of a malformed amount', () => {
      const payload = sampleTransactionPosted();
      const bad = { ...payload, lines: [{ ...payload.lines[0]!, amount: '22.3' }, payload.lines[1]!] };
      const error = violationOf(() => validateEventPayload('ledger.transaction.posted', 1, bad));
      expect(error.message).toContain('payload of ledger.transaction.posted v1 is invalid');
      expect(error.message).toContain("lines.0.amount: amount '22.3' must be written '22.30'");
      expect(error.issues.map((issue) => issue.path)).toContain('lines.0.amount');
    });

    it.each([
      [22.3, 'lines.0.amount'],
      ['1e3', 'lines.0.amount'],
      ['-22.30', 'lines.0.amount'],
      ['0.00', 'lines.0.amount'],
    ])('refuses amount %p (money is a positive decimal string)', (amount, path) => {
      const payload = sampleTransactionPosted();
      const bad = { ...payload, lines: [{ ...payload.lines[0]!, amount }, payload.lines[1]!] };
      expect(violationOf(() => validateEventPayload('ledger.transaction.posted', 1, bad)).issues.map((issue) => issue.path)).toContain(path);
    });

    it('refuses an unbalanced transaction', () => {
      const payload = sampleTransactionPosted();
      const bad = { ...payload, lines: [payload.lines[0]!, { ...payload.lines[1]!, amount: '22.31' }] };
      expect(violationOf(() => validateEventPayload('ledger.transaction.posted', 1, bad)).message).toContain('lines: debits and credits in EUR do not balance');
    });

    it('refuses a local-time instant, a bad date, an unknown currency and too many lines', () => {
      expect(
        violationOf(() => validateEventPayload('ledger.transaction.posted', 1, sampleTransactionPosted({ postedAt: '2025-01-02T09:30:00+01:00' }))).issues[0]
          ?.path,
      ).toBe('postedAt');
      expect(
        violationOf(() => validateEventPayload('ledger.transaction.posted', 1, sampleTransactionPosted({ valueDate: '2025-02-30' }))).issues[0]?.path,
      ).toBe('valueDate');
      const payload = sampleTransactionPosted();
      const euxLines = payload.lines.map((line) => ({ ...line, currency: 'EUX' }));
      expect(violationOf(() => validateEventPayload('ledger.transaction.posted', 1, { ...payload, lines: euxLines })).message).toContain(
        'lines.0.currency: must be an ISO 4217 currency code',
      );
      const tooMany = Array.from({ length: TRANSACTION_LINES_MAX + 1 }, (_, index) => ({ ...payload.lines[index % 2]! }));
      expect(violationOf(() => validateEventPayload('ledger.transaction.posted', 1, { ...payload, lines: tooMany })).issues[0]?.path).toBe('lines');
    });

    it('keeps zero-digit and three-digit currencies exact', () => {
      const lines = (amount: string, currency: string) => [
        { accountId: 'a', accountKind: 'customer' as const, amount, currency, side: 'debit' as const },
        { accountId: 'b', accountKind: 'custody' as const, amount, currency, side: 'credit' as const },
      ];
      expect(() => validateEventPayload('ledger.transaction.posted', 1, sampleTransactionPosted({ lines: lines('1000', 'JPY') }))).not.toThrow();
      expect(() => validateEventPayload('ledger.transaction.posted', 1, sampleTransactionPosted({ lines: lines('1000.00', 'JPY') }))).toThrow(
        ContractViolationError,
      );
      expect(() => validateEventPayload('ledger.transaction.posted', 1, sampleTransactionPosted({ lines: lines('1.234', 'KWD') }))).not.toThrow();
    });

    it('strips unknown fields rather than passing them on', () => {
      const result = validateAgainstContract(LEDGER_TRANSACTION_POSTED_V1, 'ledger.transaction.posted', {
        ...sampleTransactionPosted(),
        internalRowVersion: 7,
      });
      expect(result).not.toHaveProperty('internalRowVersion');
    });
  });

  describe('bank events', () => {
    it('checks batch part amounts against the entry currency', () => {
      const bad = { ...sampleLineReceived(), transactions: [{ amount: '-10.1' }] };
      expect(violationOf(() => validateEventPayload('bank.line.received', 1, bad)).issues[0]?.path).toBe('transactions.0.amount');
    });

    it('refuses an unknown statement format and a period that ends before it starts', () => {
      expect(violationOf(() => validateEventPayload('bank.statement.received', 1, { ...sampleStatementReceived(), format: 'mt941' })).issues[0]?.path).toBe(
        'format',
      );
      expect(violationOf(() => validateEventPayload('bank.statement.received', 1, { ...sampleStatementReceived(), from: '2025-01-03' })).issues[0]?.path).toBe(
        'to',
      );
      expect(() => validateEventPayload('bank.statement.received', 1, { ...sampleStatementReceived(), format: 'csv:acme-bank' })).not.toThrow();
    });
  });

  describe('recon events', () => {
    it('ties each break type to its category', () => {
      const error = violationOf(() => validateEventPayload('recon.break.opened', 1, { ...sampleBreakOpened(), type: 'unauthorized_debit' }));
      expect(error.message).toContain('category: a unauthorized_debit break has category misappropriation, not data_sync');
    });

    it('refuses a negative amount at stake and an alert amount without a currency', () => {
      expect(violationOf(() => validateEventPayload('recon.break.opened', 1, { ...sampleBreakOpened(), amount: '-0.10' })).issues[0]?.path).toBe('amount');
      const { currency: _currency, ...alert } = sampleAlertRaised();
      expect(violationOf(() => validateEventPayload('recon.alert.raised', 1, alert)).issues[0]?.path).toBe('currency');
    });
  });

  describe('audit.event.recorded v1', () => {
    it('builds audit.<service>.<action> without repeating the service', () => {
      expect(auditSubjectFor('ledger', 'ledger.transaction.post')).toBe('audit.ledger.transaction.post');
      expect(auditSubjectFor('reconciliation', 'break.resolve')).toBe('audit.reconciliation.break.resolve');
      expect(() => auditSubjectFor('ledger', 'Transaction Post')).toThrow("audit action 'Transaction Post'");
    });

    it('refuses a subject that does not match the payload', () => {
      expect(violationOf(() => validateEventPayload('audit.bank-gateway.file.upload', 1, sampleAuditEvent())).message).toContain(
        "subject 'audit.bank-gateway.file.upload' does not match service and action (expected 'audit.ledger.transaction.post')",
      );
    });

    it('bounds details in bytes and depth', () => {
      const big = { ...sampleAuditEvent(), details: { blob: 'x'.repeat(AUDIT_DETAILS_BYTES_MAX) } };
      expect(violationOf(() => validateEventPayload('audit.ledger.transaction.post', 1, big)).message).toContain('details: is');
      let nested: Record<string, unknown> = { leaf: true };
      for (let level = 0; level < 10; level += 1) nested = { inner: nested };
      expect(violationOf(() => validateEventPayload('audit.ledger.transaction.post', 1, { ...sampleAuditEvent(), details: nested })).message).toContain(
        'nested deeper',
      );
    });

    it('passes details through JSON as the wire will: dates become strings, undefined fields vanish', () => {
      const details = { at: new Date('2025-01-02T09:30:00.000Z'), note: undefined, lines: 2 };
      const result = validateEventPayload('audit.ledger.transaction.post', 1, { ...sampleAuditEvent(), details }) as { details: unknown };
      expect(result.details).toEqual({ at: '2025-01-02T09:30:00.000Z', lines: 2 });
      expect(() => validateEventPayload('audit.ledger.transaction.post', 1, { ...sampleAuditEvent(), details: { amount: 10n } })).toThrow(
        'details: is not JSON',
      );
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      expect(() => validateEventPayload('audit.ledger.transaction.post', 1, { ...sampleAuditEvent(), details: cyclic })).toThrow('details: is not JSON');
    });

    it('requires a UUID event id and a W3C trace id', () => {
      expect(violationOf(() => validateEventPayload('audit.ledger.transaction.post', 1, sampleAuditEvent('not-a-uuid'))).issues[0]?.path).toBe('eventId');
      expect(violationOf(() => validateEventPayload('audit.ledger.transaction.post', 1, { ...sampleAuditEvent(), traceId: 'XYZ' })).issues[0]?.path).toBe(
        'traceId',
      );
    });
  });
});
