import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { BankColumns, LedgerColumns } from '../model/columns';
import type { BankItem, BankTransactionPart, LedgerItem } from '../model/items';
import { generateScenario } from '../testing/scenario.generator';
import { hashBank, hashLedger, InputHashes } from './input-hash';

/**
 * The input hashes as first written: one item object per row (`item(index)`), one template line per item with
 * JSON.stringify on every free-text field, the text of all lines hashed in one go. Whatever the production code
 * does to be fast, it must hash exactly these bytes: the hashes are recorded with every run and a replay compares them.
 */
function quotedReference(text: string | undefined): string {
  return text === undefined ? '-' : JSON.stringify(text);
}

function hashLedgerReference(ledger: LedgerColumns): string {
  let text = '';
  for (let index = 0; index < ledger.length; index += 1) {
    const item = ledger.item(index);
    text += `${quotedReference(item.entryId)}\t${quotedReference(item.account)}\t${item.amountMinor}\t${item.currency}\t${item.valueDate}\t${quotedReference(item.reference)}\t${quotedReference(item.subAccount)}\t${item.bookingDate ?? '-'}\t${quotedReference(item.description)}\t${quotedReference(item.kind)}\t${quotedReference(item.batchReference)}\n`;
  }
  return createHash('sha256').update(text).digest('hex');
}

function hashBankReference(bank: BankColumns): string {
  let text = '';
  for (let index = 0; index < bank.length; index += 1) {
    const item = bank.item(index);
    text +=
      `${quotedReference(item.id)}\t${quotedReference(item.statementId)}\t${item.lineNo}\t${quotedReference(item.account)}\t${item.amountMinor}\t${item.currency}\t${item.valueDate ?? '-'}\t${item.bookingDate ?? '-'}\t` +
      `${quotedReference(item.bankRef)}\t${quotedReference(item.endToEndId)}\t${quotedReference(item.customerRef)}\t${quotedReference(item.remittance)}\t${quotedReference(item.counterpartyName)}\t${quotedReference(item.bankTxCode)}\t${item.reversal}\t` +
      `${(item.transactions ?? []).map((part) => `${part.amountMinor}/${quotedReference(part.endToEndId)}/${quotedReference(part.remittance)}`).join(';')}\n`;
  }
  return createHash('sha256').update(text).digest('hex');
}

/** Code units that JSON.stringify escapes or that sit next to such cases, plus whole emoji (surrogate pairs). */
const TRICKY_UNITS = [
  '"',
  '\\',
  '\t',
  '\n',
  '\r',
  '\u0000',
  '\u0008',
  '\u001f',
  ' ',
  '\u007f',
  '\u0080',
  'é',
  '\u2028',
  '\u2029',
  '€',
  '😀',
  '\ud83d',
  '\ude00',
  '\ud800',
  '\udfff',
  '\ufeff',
  '/',
  '-',
  'a',
  'Z',
  '0',
];

const textArbitrary = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...TRICKY_UNITS) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) },
    { weight: 3, arbitrary: fc.constantFrom('a', 'b', 'X', '1', ' ', '-') },
  ),
  maxLength: 12,
});
const optionalText = fc.option(textArbitrary, { nil: undefined });
/** Amounts beyond 64 bits switch the amount column to plain bigints: both storages are covered. */
const amountArbitrary = fc.oneof(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }));
/** Currencies and dates are hashed unquoted: any text there must be encoded as the string was (a lone surrogate too). */
const dateArbitrary = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('2025-01-02', '2025-01-03', '2024-12-31') }, { weight: 1, arbitrary: textArbitrary });
const currencyArbitrary = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('EUR', 'USD', 'JPY') }, { weight: 1, arbitrary: textArbitrary });

const ledgerItemArbitrary: fc.Arbitrary<LedgerItem> = fc.record(
  {
    entryId: textArbitrary,
    account: textArbitrary,
    amountMinor: amountArbitrary,
    currency: currencyArbitrary,
    valueDate: dateArbitrary,
    reference: textArbitrary,
    subAccount: textArbitrary,
    bookingDate: dateArbitrary,
    description: textArbitrary,
    kind: textArbitrary,
    batchReference: textArbitrary,
  },
  { requiredKeys: ['entryId', 'account', 'amountMinor', 'currency', 'valueDate'] },
) as fc.Arbitrary<LedgerItem>;

const partArbitrary: fc.Arbitrary<BankTransactionPart> = fc.record(
  { amountMinor: amountArbitrary, endToEndId: optionalText, remittance: optionalText },
  { requiredKeys: ['amountMinor'] },
);

const bankItemArbitrary: fc.Arbitrary<BankItem> = fc.record(
  {
    id: textArbitrary,
    statementId: textArbitrary,
    lineNo: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.integer(), fc.double()),
    account: textArbitrary,
    amountMinor: amountArbitrary,
    currency: currencyArbitrary,
    valueDate: dateArbitrary,
    bookingDate: dateArbitrary,
    bankRef: textArbitrary,
    endToEndId: textArbitrary,
    customerRef: textArbitrary,
    remittance: textArbitrary,
    counterpartyName: textArbitrary,
    bankTxCode: textArbitrary,
    reversal: fc.boolean(),
    transactions: fc.array(partArbitrary, { maxLength: 3 }),
  },
  { requiredKeys: ['id', 'statementId', 'lineNo', 'account', 'amountMinor', 'currency', 'reversal'] },
) as fc.Arbitrary<BankItem>;

/** Ledger columns as a reader that skips the descriptive fields leaves them: those columns shorter than the rest. */
function ledgerColumnsWithoutDescriptive(items: readonly LedgerItem[]): LedgerColumns {
  const columns = new LedgerColumns();
  for (const item of items) columns.push(item, false);
  return columns;
}

describe('input hashes', () => {
  it('hash the ledger exactly as one item object and one JSON-quoted line per entry did', () => {
    fc.assert(
      fc.property(fc.array(ledgerItemArbitrary, { maxLength: 20 }), (items) => {
        const columns = LedgerColumns.of(items);
        expect(hashLedger(columns)).toBe(hashLedgerReference(columns));
        const partial = ledgerColumnsWithoutDescriptive(items);
        expect(hashLedger(partial)).toBe(hashLedgerReference(partial));
      }),
      { numRuns: 500 },
    );
  });

  it('hash the bank lines exactly as one item object and one JSON-quoted line per line did', () => {
    fc.assert(
      fc.property(fc.array(bankItemArbitrary, { maxLength: 20 }), (items) => {
        const columns = BankColumns.of(items);
        expect(hashBank(columns)).toBe(hashBankReference(columns));
      }),
      { numRuns: 500 },
    );
  });

  it('made a slice at a time (InputHashes), are the same digests whatever the slices', () => {
    fc.assert(
      fc.property(
        fc.array(ledgerItemArbitrary, { maxLength: 12 }),
        fc.array(bankItemArbitrary, { maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 30 }),
        (ledgerItems, bankItems, slices) => {
          const ledger = LedgerColumns.of(ledgerItems);
          const bank = BankColumns.of(bankItems);
          const sut = new InputHashes(ledger, bank);
          let hashed = 0;
          for (const items of slices) {
            const done = sut.step(items);
            hashed = Math.min(ledger.length + bank.length, hashed + items);
            expect(done).toBe(hashed === ledger.length + bank.length);
          }
          expect(sut.result()).toEqual({ ledger: hashLedger(ledger), bank: hashBank(bank) });
          // Asked again: the same digests, nothing hashed twice.
          expect(sut.result()).toEqual({ ledger: hashLedger(ledger), bank: hashBank(bank) });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('hash every escape JSON.stringify makes, one tricky string per field', () => {
    const tricky = ['', '"', '\\', 'a\tb', 'a\nb', '\u0000\u001f', '\u007f', 'é€', '\u2028', '😀', 'x\ud83d', '\ude00y', '\udfff\ud800', 'plain', '"quoted"\\'];
    const ledger = LedgerColumns.of(
      tricky.map((text, index) => ({
        entryId: `L${index}${text}`,
        account: text,
        amountMinor: BigInt(index) - 7n,
        currency: 'EUR',
        valueDate: '2025-01-02',
        reference: text,
        description: text,
        ...(index % 2 === 0 ? { subAccount: text, kind: text, batchReference: text, bookingDate: '2025-01-03' } : {}),
      })),
    );
    const bank = BankColumns.of(
      tricky.map((text, index) => ({
        id: `B${index}${text}`,
        statementId: text,
        lineNo: index + 1,
        account: text,
        amountMinor: -BigInt(index),
        currency: 'EUR',
        reversal: index % 3 === 0,
        remittance: text,
        ...(index % 2 === 0
          ? { valueDate: '2025-01-02', bankRef: text, endToEndId: text, customerRef: text, counterpartyName: text, bankTxCode: text }
          : { transactions: [{ amountMinor: 1n, endToEndId: text }, { amountMinor: -2n, remittance: text }, { amountMinor: 3n }] }),
      })),
    );

    expect(hashLedger(ledger)).toBe(hashLedgerReference(ledger));
    expect(hashBank(bank)).toBe(hashBankReference(bank));
  });

  it('hash texts longer than a block, escaped or not, ASCII or not', () => {
    const long = ['a'.repeat(70_000), 'é'.repeat(30_000), `${'x'.repeat(40_000)}"\t${'\ud800'.repeat(5)}😀`, 'b'.repeat(21_845), 'c'.repeat(65_534)];
    const ledger = LedgerColumns.of(
      long.map((text, index) => ({
        entryId: `L${index}`,
        account: 'A',
        amountMinor: 1n,
        currency: text,
        valueDate: '2025-01-02',
        description: text,
        reference: text.slice(0, 30_000),
      })),
    );
    const bank = BankColumns.of(
      long.map((text, index) => ({
        id: `B${index}`,
        statementId: 'S',
        lineNo: index,
        account: 'A',
        amountMinor: 1n,
        currency: 'EUR',
        reversal: false,
        valueDate: text,
        remittance: text,
      })),
    );

    expect(hashLedger(ledger)).toBe(hashLedgerReference(ledger));
    expect(hashBank(bank)).toBe(hashBankReference(bank));
  });

  it('keep the hashes of a generated business day (pinned digests)', () => {
    const scenario = generateScenario({ seed: 20250102, movements: 3_000, faultRate: 0.05 });
    const ledger = LedgerColumns.of(scenario.ledger);
    const bank = BankColumns.of(scenario.bank);

    expect(hashLedger(ledger)).toBe(hashLedgerReference(ledger));
    expect(hashBank(bank)).toBe(hashBankReference(bank));
    expect([hashLedger(ledger), hashBank(bank)]).toEqual([
      '7384eb9e183a20c5ab58787f56d2138ad2e393c54cb741f49ee48efc670de986',
      '628f3dc88f83240a1d839db62c5879fc00a0224976ad89297ea1d1f0b002fd97',
    ]);
  });
});
