import { defaultRuleSet } from '@recon/matching';
import { bankItemOfLine, bankReferenceKeys, ignoredReferencesOf, ledgerItemsOfTransaction, ledgerLookupKeys, UnknownCustodyAccountError } from './recon-items';

const ruleSet = defaultRuleSet();
const ignored = ignoredReferencesOf(ruleSet);
const custody = (accountId: string) => (accountId === 'custody-eur' ? { bankAccount: 'DE89370400440532013000', currency: 'EUR' } : undefined);

describe(ledgerItemsOfTransaction.name, () => {
  const transaction = {
    transactionId: 'tx-1',
    idempotencyKey: 'k-1',
    postedAt: '2025-01-02T10:00:00.000Z',
    valueDate: '2025-01-02',
    reference: 'PLAT-W-000123',
    lines: [
      { accountId: 'customer-1', accountKind: 'customer' as const, amount: '12.30', currency: 'EUR', side: 'debit' as const },
      { accountId: 'custody-eur', accountKind: 'custody' as const, amount: '12.30', currency: 'EUR', side: 'credit' as const },
    ],
  };

  it('keeps only custody lines, signed from the custody side, with the export entry id <transactionId>:<lineNo>', () => {
    const sut = ledgerItemsOfTransaction(transaction, custody, ignored);
    expect(sut).toEqual([
      expect.objectContaining({
        entryId: 'tx-1:2',
        bankAccount: 'DE89370400440532013000',
        amountMinor: -1230n,
        currency: 'EUR',
        refKey: 'PLATW000123',
        valueDate: '2025-01-02',
      }),
    ]);
  });

  it('signs a custody debit (money in) positive and treats an empty reference as none', () => {
    const deposit = {
      ...transaction,
      reference: ' ',
      lines: [
        { ...transaction.lines[1]!, side: 'debit' as const },
        { ...transaction.lines[0]!, side: 'credit' as const },
      ],
    };
    const [sut] = ledgerItemsOfTransaction(deposit, custody, ignored);
    expect(sut).toMatchObject({ entryId: 'tx-1:1', amountMinor: 1230n, reference: undefined, refKey: undefined });
  });

  it('refuses a custody account it has not seen opened, so the consumer retries later', () => {
    const unknown = { ...transaction, lines: [transaction.lines[0]!, { ...transaction.lines[1]!, accountId: 'custody-usd' }] };
    expect(() => ledgerItemsOfTransaction(unknown, custody, ignored)).toThrow(UnknownCustodyAccountError);
  });
});

describe(bankReferenceKeys.name, () => {
  it('indexes references and reference-like words of the text, never placeholders', () => {
    const sut = bankReferenceKeys({ endToEndId: 'NOTPROVIDED', customerRef: 'PLAT-D-1', remittance: 'payout plat w 000123' }, ignored);
    expect(sut).toEqual(expect.arrayContaining(['PLATD1', 'PLATW000123', 'PAYOUTPLATW000123']));
    expect(sut).not.toContain('NOTPROVIDED');
  });
});

describe(ledgerLookupKeys.name, () => {
  it('looks up by reference, its truncated prefixes and the batch reference', () => {
    const reference = 'PLATW0001234567890123';
    const sut = ledgerLookupKeys({ refKey: reference, batchRefKey: 'BATCH7' }, ruleSet);
    expect(sut).toEqual([reference, reference.slice(0, 16), 'BATCH7']);
  });
});

describe(bankItemOfLine.name, () => {
  it('counts the grace window from the value date, else the booking date, else the day the line arrived', () => {
    const base = {
      fileId: 'f',
      lineId: 'l',
      account: 'A',
      receivedAt: '2025-01-05T08:00:00.000Z',
      statementId: 'S',
      lineNo: 1,
      amount: '-1.00',
      currency: 'EUR',
      reversal: false,
    };
    expect(bankItemOfLine({ ...base, valueDate: '2025-01-02', bookingDate: '2025-01-03' }, ignored).effectiveDate).toBe('2025-01-02');
    expect(bankItemOfLine({ ...base, bookingDate: '2025-01-03' }, ignored).effectiveDate).toBe('2025-01-03');
    expect(bankItemOfLine(base, ignored)).toMatchObject({ effectiveDate: '2025-01-05', amountMinor: -100n });
  });
});
