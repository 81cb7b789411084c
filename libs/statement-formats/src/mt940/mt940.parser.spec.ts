import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnreadableStatementError, type CanonicalRecord, type EntryRecord, type StatementRecord } from '../canonical';
import { collect, linesOf } from '../parser.port';
import type { LineDisposition } from './line-accounting';
import fc from 'fast-check';
import { formatMinorToDecimal } from '@recon/money';
import { Mt9xxReader, mt940Parser, mt942Parser, parseMt9xx, parseSwiftAmount, swiftAmountToDecimal } from './mt940.parser';

const fixture = (name: string): string => readFileSync(join(__dirname, 'test-fixtures', name), 'utf8');

async function parse(text: string, format: 'mt940' | 'mt942' = 'mt940', entriesBufferedMax?: number) {
  const dispositions = new Map<number, LineDisposition[]>();
  const records = await collect(
    parseMt9xx(format, linesOf(text), {
      ...(entriesBufferedMax !== undefined ? { entriesBufferedMax } : {}),
      onLineAccounted: (lineNo, disposition) => dispositions.set(lineNo, [...(dispositions.get(lineNo) ?? []), disposition]),
    }),
  );
  return { records, dispositions };
}

const statements = (records: CanonicalRecord[]) => records.filter((record): record is StatementRecord => record.kind === 'statement');
const entries = (records: CanonicalRecord[]) => records.filter((record): record is EntryRecord => record.kind === 'entry');

function minor(amount: string): bigint {
  return BigInt(amount.replace('.', ''));
}

/** opening + Σ entries = closing, per statement (the MT940 balance invariant). */
function expectBalanced(records: CanonicalRecord[]): void {
  let current: StatementRecord | undefined;
  let sum = 0n;
  const check = (): void => {
    if (current?.openingBalance === undefined || current.closingBalance === undefined) return;
    expect(`${current.statementId}: ${minor(current.openingBalance.amount) + sum}`).toBe(`${current.statementId}: ${minor(current.closingBalance.amount)}`);
  };
  for (const record of records) {
    if (record.kind === 'statement') {
      check();
      current = record;
      sum = 0n;
    } else if (record.kind === 'entry') sum += minor(record.amount);
  }
  check();
}

function expectEveryLineAccountedOnce(text: string, dispositions: Map<number, LineDisposition[]>): void {
  const lineCount = text.split(/\r\n|\r|\n/).length - (text.endsWith('\n') ? 1 : 0);
  for (let lineNo = 1; lineNo <= lineCount; lineNo += 1) expect([lineNo, dispositions.get(lineNo)?.length]).toEqual([lineNo, 1]);
  expect(Math.max(...dispositions.keys())).toBe(lineCount);
}

describe(Mt9xxReader.name, () => {
  describe('German GVC statements in SWIFT FIN envelopes', () => {
    it('reads the statement header, then its entries, with the statement record before them', async () => {
      const text = fixture('german-gvc-fin.sta');
      const { records, dispositions } = await parse(text);

      expect(records.map((record) => record.kind)).toEqual(['statement', 'entry', 'entry', 'entry', 'entry', 'statement', 'entry']);
      expect(records[0]).toEqual({
        kind: 'statement',
        format: 'mt940',
        statementId: 'STARTUMS',
        account: '50070010/0123456789',
        currency: 'EUR',
        sequence: '00012/001',
        from: '2025-12-30',
        to: '2025-12-31',
        openingBalance: { amount: '1000.00', date: '2025-12-30' },
        closingBalance: { amount: '1134.75', date: '2025-12-31' },
      });
      expect(records[1]).toEqual({
        kind: 'entry',
        statementId: 'STARTUMS',
        lineNo: 6,
        amount: '250.00',
        currency: 'EUR',
        bookingDate: '2025-12-30',
        valueDate: '2025-12-30',
        bankRef: 'BANKREF0001',
        endToEndId: 'PLAT-D-000001',
        bankTxCode: 'NTRF+166',
        counterpartyName: 'Max Mustermann GmbH',
        counterpartyAccount: 'DE89370400440532013000',
        remittance: 'Einzahlung Kunde 4711',
        reversal: false,
      });
      expectEveryLineAccountedOnce(text, dispositions);
      expect(dispositions.get(1)).toEqual(['noise']);
      expect(dispositions.get(6)).toEqual(['entry']);
      expect(dispositions.get(7)).toEqual(['entry']);
    });

    it('joins GVC sub-fields wrapped across lines and inside a ?NN marker before splitting SEPA keywords', async () => {
      const { records } = await parse(fixture('german-gvc-fin.sta'));
      const second = entries(records)[1];

      expect(second).toMatchObject({
        lineNo: 8,
        endToEndId: 'PLAT-W-000002',
        remittance: 'Auszahlung Kunde 4712',
        counterpartyName: 'Shop AG',
        bankTxCode: 'NMSC+106',
      });
    });

    it('infers the entry date across the year boundary (31 December value, 2 January booking)', async () => {
      const { records } = await parse(fixture('german-gvc-fin.sta'));

      expect(entries(records)[1]).toMatchObject({ valueDate: '2025-12-31', bookingDate: '2026-01-02' });
    });

    it('signs reversals by the money: RC (reversal of a credit) leaves, RD (reversal of a debit) arrives', async () => {
      const { records } = await parse(fixture('german-gvc-fin.sta'));
      const [, , rc, rd] = entries(records);

      expect(rc).toMatchObject({ amount: '-20.00', reversal: true, bankRef: 'BANKREF0003' });
      expect(rd).toMatchObject({ amount: '5.25', reversal: true, bankRef: 'BANKREF0004' });
      expectBalanced(records);
    });

    it('reads CR/DR as credit/debit plus funds code R, never as a reversal', async () => {
      const { records } = await parse(fixture('german-gvc-fin.sta'));

      expect(entries(records)[0]).toMatchObject({ amount: '250.00', reversal: false });
      expect(entries(records)[1]).toMatchObject({ amount: '-100.50', reversal: false });
    });

    it('keeps statement ids unique when a bank reuses one :20: reference, and drops EREF NOTPROVIDED', async () => {
      const { records } = await parse(fixture('german-gvc-fin.sta'));

      expect(statements(records).map((statement) => statement.statementId)).toEqual(['STARTUMS', 'STARTUMS/00013/001']);
      const last = entries(records)[4];
      expect(last?.statementId).toBe('STARTUMS/00013/001');
      expect(last).not.toHaveProperty('endToEndId');
      expect(last).toMatchObject({ remittance: 'Miete', counterpartyName: 'Vermieter', amount: '-34.75' });
    });
  });

  describe('Dutch structured :86: and old Rabobank files', () => {
    it('splits /KEY/value pairs rejoined across 65-character wraps, including ING CNTP and REMI/USTD', async () => {
      const text = fixture('dutch-structured.sta');
      const { records, dispositions } = await parse(text);
      const [credit, debit] = entries(records);

      expect(credit).toMatchObject({
        lineNo: 6,
        amount: '100.00',
        bankTxCode: 'N541',
        counterpartyName: 'Jansen Beheer B.V.',
        counterpartyAccount: 'NL55RABO0444444444',
        remittance: 'Deposit for account 8812',
        endToEndId: 'PLAT-D-000777',
      });
      expect(credit).not.toHaveProperty('customerRef');
      expect(debit).toMatchObject({
        amount: '-40.00',
        endToEndId: 'PLAT-W-000778',
        counterpartyName: 'J. de Vries',
        counterpartyAccount: 'NL20INGB0001234567',
      });
      expect(debit?.remittance).toMatch(/^withdrawal 2026\/01 part 2/);
      expect(entries(records)[2]).not.toHaveProperty('counterpartyAccount');
      expectEveryLineAccountedOnce(text, dispositions);
      expect(dispositions.get(13)).toEqual(['entry']); // the Rabobank lone '-' continues :86:, it ends nothing
      expectBalanced(records);
    });

    it('takes the counterparty IBAN from the :61: supplementary line when :86: names none', async () => {
      const text = ':20:R\n:25:NL91ABNA0417164300\n:60F:C260104EUR0,00\n:61:260105C1,00N541NONREF\nNL55RABO0444444444\n:86:free text\n:62F:C260105EUR1,00\n';
      const { records } = await parse(text);

      expect(entries(records)[0]).toMatchObject({ counterpartyAccount: 'NL55RABO0444444444', remittance: 'free text' });
    });

    it('reads old Rabobank amounts with a decimal point and the :28: tag', async () => {
      const { records } = await parse(fixture('dutch-structured.sta'));
      const rabo = statements(records)[1];

      expect(rabo).toMatchObject({
        statementId: '940A030107',
        sequence: '00000/00',
        openingBalance: { amount: '1000.00', date: '2003-01-06' },
        closingBalance: { amount: '749.50' },
      });
      expect(entries(records)[2]).toMatchObject({ amount: '-250.50', valueDate: '2003-01-07' });
      expectBalanced(records);
    });
  });

  describe('pre-headers, debit balances and funds codes of other currencies', () => {
    it('treats bank pre-headers and -XXX trailers as noise and reads debit balances as negative', async () => {
      const text = fixture('preheader-debit-balance.sta');
      const { records, dispositions } = await parse(text);

      expect(statements(records)).toHaveLength(3);
      expect(statements(records)[0]).toMatchObject({ account: '0878787878', openingBalance: { amount: '-5053.33' }, closingBalance: { amount: '-2336.57' } });
      expect(entries(records)[0]).toMatchObject({ amount: '2716.76', customerRef: 'EREF', remittance: 'free text line one line two' });
      expectEveryLineAccountedOnce(text, dispositions);
      expect([1, 2, 3, 13, 14, 15].map((lineNo) => dispositions.get(lineNo))).toEqual(Array(6).fill(['noise']));
      expectBalanced(records);
    });

    it('reads DD (HKD) and CN (NGN) as D/C plus a funds code, a missing type code, and a name after padding', async () => {
      const { records } = await parse(fixture('preheader-debit-balance.sta'));
      const [, hkd, ngn] = entries(records);

      expect(hkd).toMatchObject({ amount: '-20000.00', currency: 'HKD', customerRef: '1004688128', bankRef: '6128522200250001', bankTxCode: 'NTRF' });
      expect(ngn).toMatchObject({ amount: '220000.00', currency: 'NGN', bankRef: '19239782213' });
      expect(ngn).not.toHaveProperty('bankTxCode');
      expect(statements(records)[2]).toMatchObject({ sequence: '/1' });
    });
  });

  describe('lines that cannot be understood', () => {
    it('rejects each bad statement line with an actionable reason and keeps the good ones', async () => {
      const text = fixture('broken-lines.sta');
      const { records, dispositions } = await parse(text);

      expect(records.map((record) => (record.kind === 'rejected' ? `${record.lineNo}:${record.reason}` : record.kind))).toEqual([
        'statement',
        'entry',
        "7:amount '12,3,0' is not a decimal number",
        "8:value date '161301' is not a YYMMDD date",
        "9:debit/credit mark missing at column 7 of '160228X1,00NTRFNONREF' (expected C, D, RC or RD)",
        '10:unknown field tag :99:',
        "14:field :61: after its message ended ('-' line) and before the next :20:",
      ]);
      expectEveryLineAccountedOnce(text, dispositions);
      expect(dispositions.get(13)).toEqual(['noise']);
      expect(dispositions.get(7)).toEqual(['rejected']);
    });

    it('clamps 30 February (German 30/360 closing postings) to the last day of February', async () => {
      const { records } = await parse(fixture('broken-lines.sta'));

      expect(entries(records)[0]).toMatchObject({
        valueDate: '2016-02-29',
        bookingDate: '2016-03-01',
        amount: '-6.00',
        bankTxCode: 'N024+805',
        remittance: 'Zinsen',
      });
      expectBalanced(records);
    });

    it('rejects a statement without :25: and every entry of it, naming the missing field', async () => {
      const { records } = await parse(':20:NOACCOUNT\n:60F:C250101EUR1,00\n:61:250101C1,00NTRFNONREF\n:62F:C250101EUR2,00\n');

      expect(records).toEqual([
        { kind: 'rejected', lineNo: 1, reason: "statement 'NOACCOUNT' has no :25: account identification", raw: ':20:NOACCOUNT' },
        {
          kind: 'rejected',
          lineNo: 3,
          reason: "entry of a statement that could not be read: statement 'NOACCOUNT' has no :25: account identification",
          raw: ':61:250101C1,00NTRFNONREF',
        },
      ]);
    });

    it('rejects a line over the length limit and goes on with the next field', async () => {
      const text = `:20:LONG\n:25:ACC\n:60F:C250101EUR0,00\n:86:${'x'.repeat(200)}\n:61:250101C1,00NTRFREF1\n:62F:C250101EUR1,00\n`;
      const records = await collect(parseMt9xx('mt940', linesOf(text), { lineLengthMax: 100 }));

      expect(records.map((record) => (record.kind === 'rejected' ? `${record.lineNo}:${record.reason}` : record.kind))).toEqual([
        'statement',
        '4:line is 204 characters long, over the limit of 100',
        'entry',
      ]);
    });

    it('ends the open entry at a rejected line, so a later :86: does not attach to it across the gap', async () => {
      const text = [
        ':20:GAP',
        ':25:ACC',
        ':60F:C250101EUR0,00',
        ':61:250101C1,00NTRFREF1',
        `:86:${'x'.repeat(200)}`,
        ':86:second details',
        ':62F:C250101EUR1,00',
      ].join('\n');
      const records = await collect(parseMt9xx('mt940', linesOf(text), { lineLengthMax: 100 }));

      expect(
        records.map((record) =>
          record.kind === 'rejected' ? `${record.lineNo}:rejected` : `${record.kind}:${record.kind === 'entry' ? (record.remittance ?? '-') : ''}`,
        ),
      ).toEqual(['statement:', 'entry:-', '5:rejected']);
    });

    it('throws UnreadableStatementError for a file that is not MT940 at all, and for an empty one', async () => {
      await expect(collect(mt940Parser.parse(linesOf('date,amount\n2025-01-01,12.00\n')))).rejects.toThrow(UnreadableStatementError);
      await expect(collect(mt940Parser.parse(linesOf('')))).rejects.toThrow('MT940 file is empty');
    });

    it('gives up early on a long file with no :20: rather than reading it to the end', async () => {
      const lines = Array.from({ length: 5_000 }, (_, index) => `noise ${index}`).join('\n');

      await expect(collect(mt940Parser.parse(linesOf(lines)))).rejects.toThrow("no ':20:' statement start in the first 1000 lines");
    });
  });

  describe('MT942 interim reports', () => {
    it('takes the currency from :34F:, the date from :13D:, and reads :90D:/:90C: without emitting them', async () => {
      const text = fixture('interim-mt942.sta');
      const dispositions = new Map<number, LineDisposition>();
      const records = await collect(parseMt9xx('mt942', linesOf(text), { onLineAccounted: (lineNo, disposition) => dispositions.set(lineNo, disposition) }));

      expect(records[0]).toEqual({
        kind: 'statement',
        format: 'mt942',
        statementId: 'MT942-0001',
        account: 'DE89370400440532013000',
        currency: 'EUR',
        sequence: '00001/001',
        from: '2026-01-15',
        to: '2026-01-15',
      });
      expect(entries(records).map((entry) => [entry.amount, entry.customerRef, entry.endToEndId])).toEqual([
        ['500.00', 'PLAT-D-9', 'PLAT-D-9'],
        ['-20.00', undefined, undefined],
      ]);
      expect(dispositions.get(10)).toBe('statement');
      expect(mt942Parser.format).toBe('mt942');
    });

    it('rejects a :90D:/:90C: that is not count, currency and sum', async () => {
      const text = fixture('interim-mt942.sta').replace(':90C:1EUR500,00', ':90C:EUR500,00');
      const records = await collect(mt942Parser.parse(linesOf(text)));

      expect(records.filter((record) => record.kind === 'rejected')).toEqual([
        { kind: 'rejected', lineNo: 11, reason: ":90C: 'EUR500,00' is not <count><currency><amount> (like 2EUR123,45)", raw: ':90C:EUR500,00' },
      ]);
    });
  });

  describe('bounded memory', () => {
    it('emits the statement record without its closing balance once the buffer limit is reached, then streams', async () => {
      const lines = [':20:BIG', ':25:ACC', ':60F:C250101EUR0,00'];
      for (let index = 0; index < 10; index += 1) lines.push(`:61:250101C1,00NTRFREF${index}`);
      lines.push(':62F:C250101EUR10,00');
      const { records } = await parse(lines.join('\n'), 'mt940', 4);

      expect(records[0]).toEqual({
        kind: 'statement',
        format: 'mt940',
        statementId: 'BIG',
        account: 'ACC',
        currency: 'EUR',
        from: '2025-01-01',
        openingBalance: { amount: '0.00', date: '2025-01-01' },
      });
      expect(entries(records)).toHaveLength(10);
      expect(entries(records).map((entry) => entry.customerRef)).toEqual(Array.from({ length: 10 }, (_, index) => `REF${index}`));
    });

    it('yields entries before the input ends once the statement is closed (streaming, not collect-then-emit)', async () => {
      const text = fixture('german-gvc-fin.sta');
      const all = text.split('\n');
      let fed = 0;
      async function* slowLines() {
        for (const line of all) {
          fed += 1;
          yield { lineNo: fed, text: line };
        }
      }
      const iterator = mt940Parser.parse(slowLines())[Symbol.asyncIterator]();
      const first = await iterator.next();

      expect(first.value).toMatchObject({ kind: 'statement', statementId: 'STARTUMS' });
      expect(fed).toBeLessThan(all.length);
    });
  });
});

describe(swiftAmountToDecimal.name, () => {
  it('agrees with parseSwiftAmount + formatMinorToDecimal on any digit string with one separator', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{0,15}[,.][0-9]{0,4}$/), fc.constantFrom(0, 2, 3), (text, digits) => {
        const currency = digits === 0 ? 'JPY' : digits === 2 ? 'EUR' : 'KWD';
        const exact = parseSwiftAmount(text, currency);
        const fast = swiftAmountToDecimal(text, digits);
        if (typeof exact === 'string') expect(fast).toBeUndefined();
        else expect(fast).toBe(formatMinorToDecimal(exact, digits));
      }),
      { numRuns: 2_000 },
    );
  });
});

describe(parseSwiftAmount.name, () => {
  it.each([
    ['1234,56', 'EUR', 123456n],
    ['0,', 'EUR', 0n],
    ['000000010000,50', 'EUR', 1000050n],
    ['1000.00', 'EUR', 100000n],
    ['1000,', 'JPY', 1000n],
    ['12,300', 'EUR', 1230n],
  ])('reads %s %s', (text, currency, expected) => {
    expect(parseSwiftAmount(text, currency)).toBe(expected);
  });

  it.each([
    ['12,3,0', "amount '12,3,0' is not a decimal number"],
    ['12a', "amount '12a' is not a decimal number"],
    ['', 'amount is missing'],
    ['500', "amount '500' has no decimal comma (SWIFT writes 500 as '500,')"],
    ['1,234', "amount '1,234': amount '1.234' has more than 2 decimal places"],
  ])('rejects %s', (text, reason) => {
    expect(parseSwiftAmount(text, 'EUR')).toBe(reason);
  });
});
