import { statementFindings, type StoredStatement } from './statement-continuity';

const statement = (overrides: Partial<StoredStatement>): StoredStatement => ({
  statementId: 'S2',
  bankAccount: 'A',
  currency: 'EUR',
  sequence: '2',
  toDate: '2025-01-02',
  openingAmount: '100.00',
  closingAmount: '150.00',
  entryCount: 2,
  receivedLineCount: 2,
  receivedSumMinor: 5_000n,
  ...overrides,
});

describe(statementFindings.name, () => {
  const previous = statement({ statementId: 'S1', sequence: '1', toDate: '2025-01-01', openingAmount: '0.00', closingAmount: '100.00' });

  it('finds nothing in a continuous statement whose lines all arrived', () => {
    expect(statementFindings(statement({}), previous)).toEqual([]);
  });

  it('reports a sequence gap, an opening that differs from the previous closing, and lines that do not add up', () => {
    const sut = statementFindings(
      statement({ sequence: '4', openingAmount: '90.00', closingAmount: '150.00', receivedLineCount: 1, receivedSumMinor: 4_000n }),
      previous,
    );
    expect(sut.map((finding) => [finding.kind, finding.amount])).toEqual([
      ['sequence_gap', undefined],
      ['opening_differs_from_previous_closing', '10.00'],
      ['balance_does_not_add_up', '20.00'],
    ]);
    expect(sut[0]!.message).toContain('2 missing');
    expect(sut[2]!.message).toContain('1 of 2 lines');
  });
});
