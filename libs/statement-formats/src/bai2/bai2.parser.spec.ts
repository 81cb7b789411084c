import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnreadableStatementError, type CanonicalRecord, type EntryRecord } from '../canonical';
import { collect, linesOf } from '../parser.port';
import type { LineDisposition } from '../mt940/line-accounting';
import { Bai2Reader, bai2Parser, parseBai2, type Bai2ParseOptions } from './bai2.parser';

const fixture = (name: string): string => readFileSync(join(__dirname, 'test-fixtures', name), 'utf8');

async function parse(text: string, options: Bai2ParseOptions = {}) {
  const accounted = new Map<number, LineDisposition[]>();
  const records = await collect(
    parseBai2(linesOf(text), { ...options, onLineAccounted: (lineNo, disposition) => accounted.set(lineNo, [...(accounted.get(lineNo) ?? []), disposition]) }),
  );
  return { records, accounted };
}

const entries = (records: CanonicalRecord[]) => records.filter((record): record is EntryRecord => record.kind === 'entry');
const rejectedReasons = (records: CanonicalRecord[]) => records.flatMap((record) => (record.kind === 'rejected' ? [`${record.lineNo}:${record.reason}`] : []));

describe(Bai2Reader.name, () => {
  it('reads accounts as statements with 010/015 balances, details signed by type code, trailers all matching', async () => {
    const text = fixture('two-accounts.bai2');
    const { records, accounted } = await parse(text);

    expect(rejectedReasons(records)).toEqual([]);
    expect(records.map((record) => record.kind)).toEqual(['statement', 'entry', 'entry', 'entry', 'statement', 'entry']);
    expect(records[0]).toEqual({
      kind: 'statement',
      format: 'bai2',
      statementId: 'SENDER1-FILE42-1234567890',
      account: '1234567890',
      currency: 'USD',
      from: '2026-01-14',
      to: '2026-01-14',
      openingBalance: { amount: '1000.00', date: '2026-01-14' },
      closingBalance: { amount: '1250.00', date: '2026-01-14' },
    });
    expect(records[1]).toEqual({
      kind: 'entry',
      statementId: 'SENDER1-FILE42-1234567890',
      lineNo: 4,
      amount: '200.00',
      currency: 'USD',
      bookingDate: '2026-01-14',
      valueDate: '2026-01-14',
      bankRef: 'BR0001',
      customerRef: 'PLAT-D-1',
      bankTxCode: '142',
      remittance: 'ACH deposit, from: Jane/Doe, ref 1/2',
      reversal: false,
    });
    for (let lineNo = 1; lineNo <= 11; lineNo += 1) expect([lineNo, accounted.has(lineNo)]).toEqual([lineNo, true]);
  });

  it('consumes the right number of fields per funds type (V value date, S three amounts, D distribution pairs)', async () => {
    const { records } = await parse(fixture('two-accounts.bai2'));
    const [, wire, debit, yen] = entries(records);

    expect(wire).toMatchObject({
      amount: '100.00',
      valueDate: '2026-01-13',
      bookingDate: '2026-01-14',
      bankRef: 'BR0002',
      customerRef: 'PLAT-D-2',
      remittance: 'Incoming wire second line of text',
    });
    expect(debit).toMatchObject({ amount: '-50.00', bankRef: 'BR0003', remittance: 'ACH debit', bankTxCode: '451' });
    expect(debit).not.toHaveProperty('customerRef');
    expect(yen).toMatchObject({ amount: '500', currency: 'JPY', bankRef: 'BR0004', remittance: 'Yen credit', lineNo: 9 });
  });

  it('reads several records on one physical line and the currency of the 03 record over the group default', async () => {
    const { records } = await parse(fixture('two-accounts.bai2'));

    expect(records[4]).toMatchObject({
      statementId: 'SENDER1-FILE42-9876543210',
      currency: 'JPY',
      openingBalance: { amount: '5000' },
      closingBalance: { amount: '5500' },
    });
  });

  it('reads GS-style files: no "/" terminator, 88 text continuations, text wrapped onto a line without a record code', async () => {
    const text = fixture('gs-newline.bai2');
    const { records, accounted } = await parse(text);

    expect(rejectedReasons(records)).toEqual([]);
    expect(entries(records).map((entry) => [entry.lineNo, entry.amount, entry.remittance])).toEqual([
      [4, '-600.00', 'ACH Credit Payment,Entry Description: EXP; -, SEC: CCD EREF: 1111'],
      [6, '19.12', 'Incoming Wire from ACME Corp, second physical line'],
    ]);
    expect(accounted.get(7)).toEqual(['entry']);
  });

  it('rejects what it cannot read, and trailer totals that do not match, naming expected and found', async () => {
    const { records } = await parse(fixture('bad-trailers.bai2'));

    expect(rejectedReasons(records)).toEqual([
      '4:type code 999 has no standard direction (credits are 100–399, debits 400–699); configure it as a bank-specific code',
      "5:amount '12a' is not an unsigned integer in minor units (the type code gives the direction)",
      "6:amount '-100' is not an unsigned integer in minor units (the type code gives the direction)",
      "7:funds type 'X' is not Z, 0, 1, 2, S, V or D",
      "9:49 account trailer of 'DE0001': control total 9999 does not match the sum of the account's amounts 2100",
      '10:file has no 99 file trailer (file truncated?)',
    ]);
    expect(entries(records)).toEqual([expect.objectContaining({ lineNo: 8, amount: '-1.00', currency: 'EUR' })]);
  });

  it('reads bank-specific type codes when their direction is configured', async () => {
    const { records } = await parse(fixture('bad-trailers.bai2'), { typeCodeDirections: new Map([['999', 'credit']]) });

    expect(entries(records)[0]).toMatchObject({ lineNo: 4, amount: '1.00', bankTxCode: '999' });
  });

  it('reports record-count mismatches in 49, 98 and 99', async () => {
    const text = ['01,S,R,260115,0800,F1,,,2/', '02,R,B,1,260114,,USD,2/', '03,A1,,010,0,,,/', '16,142,1,Z,,,x/', '49,1,9/', '98,1,1,4/', '99,1,1,7/'].join(
      '\n',
    );
    const { records } = await parse(text);

    expect(rejectedReasons(records)).toEqual([
      "5:49 account trailer of 'A1': record count 9 does not match the 3 found in the account",
      '6:98 group trailer: record count 4 does not match the 5 found in the group',
    ]);
  });

  it('rejects a line over the length limit', async () => {
    const text = fixture('two-accounts.bai2').replace('ACH debit/', `${'x'.repeat(300)}/`);
    const records = await collect(parseBai2(linesOf(text), { lineLengthMax: 200 }));

    const longLine = text.split('\n')[6] ?? '';

    expect(longLine.length).toBeGreaterThan(200);
    expect(rejectedReasons(records)[0]).toBe(`7:line is ${longLine.length} characters long, over the limit of 200`);
  });

  it('accepts BTRS version 3 and refuses other versions and files that do not start with 01', async () => {
    await expect(collect(bai2Parser.parse(linesOf('01,S,R,260115,0800,F1,,,3/\n02,R,B,1,260114,,USD,2/\n98,0,0,2/\n99,0,1,4/\n')))).resolves.toEqual([]);
    await expect(collect(bai2Parser.parse(linesOf('01,S,R,260115,0800,F1,,,1/\n')))).rejects.toThrow("BAI file version '1' is not supported");
    await expect(collect(bai2Parser.parse(linesOf('00,0004,1/2/345,06/0321,0829,001,80,1,2/\n')))).rejects.toThrow(UnreadableStatementError);
    await expect(collect(bai2Parser.parse(linesOf('')))).rejects.toThrow('BAI2 file is empty');
  });
});
