import { BANK_LINE_REJECTED_V1, BANK_LINE_REJECTION_RESOLVED_V1, BANK_LINE_RETRACTED_V1, RETRACTED_LINES_PER_EVENT_MAX } from './bank.events';
import { ContractViolationError } from './event-contract';
import { contractFor, validateEventPayload } from './registry';

const retracted = {
  findingId: '0190a0a0-0000-7000-8000-000000000001',
  fileId: '0190a0a0-0000-7000-8000-000000000002',
  account: 'DE89370400440532013000',
  statementId: 'STMT-1',
  sequence: '1',
  lineIds: ['0190a0a0-0000-7000-8000-000000000003'],
  part: 1,
  parts: 1,
  replacedByFileId: '0190a0a0-0000-7000-8000-000000000004',
  reason: 'the bank corrected the statement',
  retractedBy: 'dev-approver',
  retractedAt: '2025-01-02T09:30:00.000Z',
};

describe('bank correction contracts', () => {
  it('are registered under their subjects, version 1', () => {
    expect(contractFor('bank.line.retracted', 1)).toBe(BANK_LINE_RETRACTED_V1);
    expect(contractFor('bank.line.rejected', 1)).toBe(BANK_LINE_REJECTED_V1);
    expect(contractFor('bank.line.rejection-resolved', 1)).toBe(BANK_LINE_REJECTION_RESOLVED_V1);
  });

  it('bank.line.retracted: accepts a part of a retraction and names what is wrong', () => {
    expect(validateEventPayload('bank.line.retracted', 1, retracted)).toEqual(retracted);
    expect(validateEventPayload('bank.line.retracted', 1, { ...retracted, lineIds: [] })).toMatchObject({ lineIds: [] });
    expect(() => validateEventPayload('bank.line.retracted', 1, { ...retracted, part: 2 })).toThrow('part: part 2 is beyond parts 1');
    expect(() => validateEventPayload('bank.line.retracted', 1, { ...retracted, lineIds: [retracted.lineIds[0], retracted.lineIds[0]] })).toThrow(
      'lineIds: line ids must be distinct',
    );
    const tooMany = Array.from({ length: RETRACTED_LINES_PER_EVENT_MAX + 1 }, (_, index) => `line-${index}`);
    expect(() => validateEventPayload('bank.line.retracted', 1, { ...retracted, lineIds: tooMany })).toThrow(ContractViolationError);
    expect(() => validateEventPayload('bank.line.retracted', 1, { ...retracted, reason: '' })).toThrow(/reason/);
    expect(() => validateEventPayload('bank.line.retracted', 1, { ...retracted, retractedAt: '2025-01-02' })).toThrow(/retractedAt/);
  });

  it('bank.line.rejected: account and currency are optional, a currency must be ISO 4217', () => {
    const rejected = {
      quarantineId: 'q-1',
      fileId: 'f-1',
      parseId: 'p-1',
      lineNo: 0,
      reason: 'statement header refused',
      raw: ':61:broken',
      rejectedAt: '2025-01-02T09:30:00.000Z',
    };
    expect(validateEventPayload('bank.line.rejected', 1, rejected)).toEqual(rejected);
    expect(validateEventPayload('bank.line.rejected', 1, { ...rejected, account: 'NL91ABNA0417164300', currency: 'EUR' })).toMatchObject({ currency: 'EUR' });
    expect(() => validateEventPayload('bank.line.rejected', 1, { ...rejected, currency: 'XXY' })).toThrow(/currency/);
    expect(() => validateEventPayload('bank.line.rejected', 1, { ...rejected, raw: 'x'.repeat(1_001) })).toThrow(/raw/);
    expect(() => validateEventPayload('bank.line.rejected', 1, { ...rejected, lineNo: -1 })).toThrow(/lineNo/);
  });

  it('bank.line.rejection-resolved names the quarantine row and the reprocess', () => {
    const resolved = { quarantineId: 'q-1', fileId: 'f-1', lineNo: 3, resolvedByParseId: 'p-2', resolvedAt: '2025-01-02T09:30:00.000Z' };
    expect(validateEventPayload('bank.line.rejection-resolved', 1, resolved)).toEqual(resolved);
    expect(() => validateEventPayload('bank.line.rejection-resolved', 1, { ...resolved, resolvedByParseId: undefined })).toThrow(/resolvedByParseId/);
  });
});
