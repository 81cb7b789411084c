import fc from 'fast-check';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { csvRows, splitRows } from './csv-rows';
import { InputFileError } from './input-error';
import { readLedgerColumns, readLedgerFile } from './ledger-file.reader';

async function* chunksOf(text: string, size = 7): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text, 'utf8');
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
}

const HEADER = 'entry_id,account,amount,currency,value_date,reference,sub_account,booking_date,description,kind,batch_reference\n';

describe(readLedgerColumns.name, () => {
  it('reads the same entries as readLedgerFile, column-wise, and refuses a repeated entry_id the same way', async () => {
    const csv = `${HEADER}L2,DE89,-22.30,EUR,2025-01-02,PLAT-W-000123,C1,,"payout, ""express""",withdrawal,\nL1,DE89,1000,JPY,2025-01-03,,,2025-01-02,,,BATCH-1\n`;

    const columns = await readLedgerColumns(chunksOf(csv), 'csv');

    expect([0, 1].map((index) => columns.item(index))).toEqual(await readLedgerFile(chunksOf(csv), 'csv'));
    expect(columns.amountMinor.toArray()).toEqual([-2230n, 1000n]);
    const lean = await readLedgerColumns(chunksOf(csv), 'csv', 'ledger', { keepDescriptive: false });
    expect([lean.subAccount, lean.description, lean.kind]).toEqual([
      [undefined, undefined],
      [undefined, undefined],
      [undefined, undefined],
    ]);
    expect(lean.reference).toEqual(columns.reference);
    await expect(readLedgerColumns(chunksOf(`${HEADER}L1,DE89,1,EUR,2025-01-02,,,,,,\nL1,DE89,2,EUR,2025-01-02,,,,,,\n`), 'csv')).rejects.toThrow(
      "ledger line 3, column entry_id: 'L1' is already used on line 2",
    );
  });
});

describe(`${readLedgerColumns.name} with skip`, () => {
  const csv = `${HEADER}L1,DE89,1.00,EUR,2025-01-02,R1,,,,,\nL2,DE89,2.00,EUR,2025-01-02,R2,,,,,\nL3,DE89,3.00,EUR,2025-01-02,R3,,,,,\n`;

  it('leaves out the entries skip names and reads the rest as without it, from bytes, text and JSON lines', async () => {
    const full = await readLedgerColumns(chunksOf(csv), 'csv');
    for (const chunks of [
      () => chunksOf(csv),
      () => chunksOf(csv, 1),
      async function* () {
        yield csv;
      },
    ]) {
      const kept = await readLedgerColumns(chunks(), 'csv', 'ledger', { skip: (id) => id !== 'L2' });
      expect(kept.length).toBe(1);
      expect(kept.item(0)).toEqual(full.item(1));
    }
    const jsonl =
      '{"entryId":"L1","account":"DE89","amount":"1.00","currency":"EUR","valueDate":"2025-01-02"}\n{"entryId":"L2","account":"DE89","amount":"2.00","currency":"EUR","valueDate":"2025-01-02"}\n';
    expect((await readLedgerColumns(chunksOf(jsonl), 'jsonl', 'ledger', { skip: (id) => id === 'L1' })).entryId).toEqual(['L2']);
  });

  it('reads and checks a skipped row only as far as its entry id', async () => {
    const broken = `${HEADER}L1,DE89,not money,EUR,2025-01-02,,,,,,\nL2,DE89,2.00,EUR,2025-01-02,,,,,,\nL1,DE89,9.99,EUR,not a date,,,,,,\n`;
    const kept = await readLedgerColumns(chunksOf(broken), 'csv', 'ledger', { skip: (id) => id === 'L1' });
    expect(kept.entryId).toEqual(['L2']);
    await expect(readLedgerColumns(chunksOf(broken), 'csv', 'ledger', { skip: () => false })).rejects.toThrow(InputFileError);
    await expect(readLedgerColumns(chunksOf(`${HEADER},DE89,1.00,EUR,2025-01-02,,,,,,\n`), 'csv', 'ledger', { skip: () => true })).rejects.toThrow('entry_id');
  });
});

describe(readLedgerFile.name, () => {
  it('reads CSV in small chunks, quoted fields included, into ledger items with bigint minor units', async () => {
    const csv = `\uFEFF${HEADER}L1,DE89 3704,-22.30,EUR,2025-01-02,PLAT-W-000123,C1,,"payout, ""express""",withdrawal,\r\nL2,DE89 3704,1000,JPY,2025-01-02,,,,,,BATCH-1\n`;

    const items = await readLedgerFile(chunksOf(csv), 'csv');

    expect(items).toEqual([
      {
        entryId: 'L1',
        account: 'DE89 3704',
        amountMinor: -2230n,
        currency: 'EUR',
        valueDate: '2025-01-02',
        reference: 'PLAT-W-000123',
        subAccount: 'C1',
        description: 'payout, "express"',
        kind: 'withdrawal',
      },
      { entryId: 'L2', account: 'DE89 3704', amountMinor: 1000n, currency: 'JPY', valueDate: '2025-01-02', batchReference: 'BATCH-1' },
    ]);
  });

  it('reads JSONL with the same keys in camelCase', async () => {
    const jsonl = '{"entryId":"L1","account":"A","amount":"12.30","currency":"EUR","valueDate":"2025-01-02","reference":"R1"}\n\n';

    expect(await readLedgerFile(chunksOf(jsonl), 'jsonl')).toEqual([
      { entryId: 'L1', account: 'A', amountMinor: 1230n, currency: 'EUR', valueDate: '2025-01-02', reference: 'R1' },
    ]);
  });

  it.each([
    [`${HEADER}L1,A,12.345,EUR,2025-01-02,,,,,,\n`, "ledger line 2, column amount: amount '12.345' has more than 2 decimal places for EUR"],
    [`${HEADER}L1,A,12.30,EUX,2025-01-02,,,,,,\n`, "ledger line 2, column currency: 'EUX' is not an ISO 4217 currency code"],
    [`${HEADER}L1,A,12.30,EUR,2025-02-30,,,,,,\n`, "ledger line 2, column value_date: '2025-02-30' is not a YYYY-MM-DD date"],
    [`${HEADER},A,12.30,EUR,2025-01-02,,,,,,\n`, 'ledger line 2, column entry_id: is empty'],
    [`${HEADER}L1,A,1.00,EUR,2025-01-02,,,,,,\nL1,A,2.00,EUR,2025-01-02,,,,,,\n`, "ledger line 3, column entry_id: 'L1' is already used on line 2"],
    [`${HEADER}L1,A,1.00,EUR\n`, 'ledger line 2: 4 fields, but the header row has 11'],
    ['entry_id,account,amount,currency\nL1,A,1,EUR\n', "ledger: header row lacks column 'value_date'"],
    [`${HEADER}L1,A,"1.00,EUR,2025-01-02,,,,,,\n`, 'ledger line 2: a quoted field is never closed'],
  ])('refuses bad CSV naming the line and column (%#)', async (csv, message) => {
    await expect(readLedgerFile(chunksOf(csv), 'csv')).rejects.toThrow(InputFileError);
    await expect(readLedgerFile(chunksOf(csv), 'csv')).rejects.toThrow(message);
  });

  it('refuses a JSON number as an amount', async () => {
    const jsonl = '{"entryId":"L1","account":"A","amount":12.3,"currency":"EUR","valueDate":"2025-01-02"}\n';

    await expect(readLedgerFile(chunksOf(jsonl), 'jsonl')).rejects.toThrow(
      'ledger line 1, column amount: must be a string, got number (amounts are decimal strings, never JSON numbers)',
    );
  });
});

describe(splitRows.name, () => {
  it('splits exactly as csv-parse does, for any fields and any chunking', async () => {
    const field = fc.stringMatching(/^[a-z0-9 ,"\n-]{0,8}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(field, { minLength: 2, maxLength: 2 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 9 }),
        fc.constantFrom('\n', '\r\n'),
        async (rows, chunkSize, rowEnd) => {
          const quote = (value: string): string => (/[",\n]/.test(value) || value === '' ? `"${value.replace(/"/g, '""')}"` : value);
          const text = rows.map((row) => row.map(quote).join(',') + rowEnd).join('');
          const expected = parseCsvSync(text, { relax_column_count: true }) as string[][];
          const actual: string[][] = [];
          for await (const batch of csvRows(chunksOf(text, chunkSize), 1_000, 'test')) for (const row of batch) actual.push(row.fields);
          expect(actual).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
