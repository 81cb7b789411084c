import type { CanonicalRecord, EntryRecord, StatementRecord } from '../canonical';
import { StatementChecker } from './statement-checker';

function statement(statementId: string, fields: Partial<StatementRecord> = {}): StatementRecord {
  return { kind: 'statement', format: 'mt940', statementId, account: 'DE89370400440532013000', currency: 'EUR', ...fields };
}

function entry(statementId: string, amount: string, lineNo = 1, currency = 'EUR'): EntryRecord {
  return { kind: 'entry', statementId, lineNo, amount, currency, reversal: false };
}

function check(records: readonly CanonicalRecord[]): StatementChecker {
  const sut = new StatementChecker();
  for (const record of records) sut.accept(record);
  return sut;
}

describe(StatementChecker.name, () => {
  it('finds nothing when entries add up and statements follow each other', () => {
    const sut = check([
      statement('S1', { sequence: '1', openingBalance: { amount: '100.00', date: '2025-01-01' }, closingBalance: { amount: '77.70', date: '2025-01-02' } }),
      entry('S1', '-22.30'),
      statement('S2', { sequence: '2', openingBalance: { amount: '77.70', date: '2025-01-02' }, closingBalance: { amount: '177.70', date: '2025-01-03' } }),
      entry('S2', '100.00'),
    ]);

    expect(sut.findings()).toEqual([]);
  });

  it('reports entries that do not add up to closing minus opening, with the absolute difference', () => {
    const sut = check([
      statement('S1', { openingBalance: { amount: '100.00', date: '2025-01-01' }, closingBalance: { amount: '80.00', date: '2025-01-02' } }),
      entry('S1', '-22.30'),
    ]);

    expect(sut.findings()).toEqual([
      {
        kind: 'balance_does_not_add_up',
        statementId: 'S1',
        account: 'DE89370400440532013000',
        currency: 'EUR',
        amount: '2.30',
        message: expect.stringContaining('off by 2.30'),
      },
    ]);
  });

  it('does not check the sum when a balance is missing', () => {
    expect(check([statement('S1', { openingBalance: { amount: '1.00', date: '2025-01-01' } }), entry('S1', '5.00')]).findings()).toEqual([]);
  });

  it('reports an opening balance that differs from the previous closing balance', () => {
    const sut = check([
      statement('S1', { sequence: '1', closingBalance: { amount: '50.00', date: '2025-01-01' } }),
      statement('S2', { sequence: '2', openingBalance: { amount: '45.00', date: '2025-01-01' } }),
    ]);

    expect(sut.findings()).toEqual([expect.objectContaining({ kind: 'opening_differs_from_previous_closing', statementId: 'S2', amount: '5.00' })]);
  });

  it('reports a gap in sequence numbers, in sequence order whatever the file order', () => {
    const sut = check([statement('S4', { sequence: '4' }), statement('S1', { sequence: '1' }), statement('S2', { sequence: '2' })]);

    expect(sut.findings()).toEqual([
      expect.objectContaining({
        kind: 'sequence_gap',
        statementId: 'S4',
        message: 'statement S4 of account DE89370400440532013000 has sequence 4 after 2: 1 statement(s) missing',
      }),
    ]);
  });

  it('reports a repeated sequence number', () => {
    expect(check([statement('A', { sequence: '7' }), statement('B', { sequence: '7' })]).findings()).toEqual([
      expect.objectContaining({ kind: 'sequence_gap', statementId: 'B', message: expect.stringContaining('appears twice') }),
    ]);
  });

  it('follows MT940 statement/page numbers', () => {
    const continuous = check([statement('A', { sequence: '00004/001' }), statement('B', { sequence: '4/2' }), statement('C', { sequence: '5/1' })]);
    const missingPage = check([statement('A', { sequence: '4/1' }), statement('C', { sequence: '5/2' })]);

    expect(continuous.findings()).toEqual([]);
    expect(missingPage.findings()).toEqual([expect.objectContaining({ kind: 'sequence_gap', message: expect.stringContaining('page 2 without page 1') })]);
  });

  it('orders statements without sequence numbers by date', () => {
    const sut = check([
      statement('LATER', { from: '2025-01-03', openingBalance: { amount: '20.00', date: '2025-01-02' } }),
      statement('EARLIER', { from: '2025-01-02', closingBalance: { amount: '20.00', date: '2025-01-02' } }),
    ]);

    expect(sut.findings()).toEqual([]);
  });

  it('checks continuity per account and currency', () => {
    const sut = check([
      statement('A1', { sequence: '1', closingBalance: { amount: '10.00', date: '2025-01-01' } }),
      statement('B1', { sequence: '9', account: 'OTHER', openingBalance: { amount: '99.00', date: '2025-01-01' } }),
      statement('A2', { sequence: '2', openingBalance: { amount: '10.00', date: '2025-01-02' } }),
      statement('U1', { sequence: '1', currency: 'USD', openingBalance: { amount: '5.00', date: '2025-01-02' } }),
    ]);

    expect(sut.findings()).toEqual([]);
  });

  it('does not check the sum of a statement holding entries in another currency', () => {
    const sut = check([
      statement('S1', { openingBalance: { amount: '0.00', date: '2025-01-01' }, closingBalance: { amount: '1.00', date: '2025-01-01' } }),
      entry('S1', '5', 1, 'JPY'),
    ]);

    expect(sut.findings()).toEqual([]);
  });

  it('ignores rejected records and never throws on odd amounts', () => {
    const sut = check([
      statement('S1', { openingBalance: { amount: 'oops', date: '2025-01-01' }, closingBalance: { amount: '1.00', date: '2025-01-01' } }),
      { kind: 'rejected', lineNo: 2, reason: 'bad', raw: 'x' },
      entry('S1', '1.00'),
    ]);

    expect(sut.findings()).toEqual([]);
  });
});
