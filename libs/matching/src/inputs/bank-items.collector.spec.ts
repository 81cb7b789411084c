import type { EntryRecord, StatementRecord } from '@recon/statement-formats';
import { BankItemCollector } from './bank-items.collector';
import { readBalancesCsv } from './balances-file.reader';
import { readCanonicalJsonl } from './canonical-jsonl.reader';

const STATEMENT: StatementRecord = {
  kind: 'statement',
  format: 'camt.053',
  statementId: 'STMT-1',
  account: 'DE89370400440532013000',
  currency: 'EUR',
  closingBalance: { amount: '977.70', date: '2025-01-02' },
};

function entry(lineNo: number, fields: Partial<EntryRecord> = {}): EntryRecord {
  return { kind: 'entry', statementId: 'STMT-1', lineNo, amount: '-22.30', currency: 'EUR', valueDate: '2025-01-02', reversal: false, ...fields };
}

describe(BankItemCollector.name, () => {
  it('takes the account from the statement and names lines by bankRef, or statementId:lineNo when it repeats or is missing', () => {
    const sut = new BankItemCollector();
    for (const record of [STATEMENT, entry(1, { bankRef: 'R1' }), entry(2, { bankRef: 'R2' }), entry(3, { bankRef: 'R2' }), entry(4)])
      sut.add(record, 'day.xml');
    sut.add({ kind: 'rejected', lineNo: 5, reason: 'bad amount', raw: '<Ntry/>' }, 'day.xml');

    const collected = sut.finish();

    expect(collected.bank.map((item) => item.id)).toEqual(['R1', 'STMT-1:2', 'STMT-1:3', 'STMT-1:4']);
    expect(collected.bank[0]).toMatchObject({ account: 'DE89370400440532013000', amountMinor: -2230n, currency: 'EUR', bankRef: 'R1' });
    expect(collected.statements).toEqual([
      { statementId: 'STMT-1', account: 'DE89370400440532013000', currency: 'EUR', closingBalance: { amountMinor: 97_770n, date: '2025-01-02' } },
    ]);
    expect(collected.rejected).toEqual([{ source: 'day.xml', lineNo: 5, reason: 'bad amount', raw: '<Ntry/>', currency: 'EUR', statementId: 'STMT-1' }]);
  });

  it('gives the same lines column-wise (finishColumns) as objects (finish)', () => {
    const sut = new BankItemCollector();
    for (const record of [STATEMENT, entry(1, { bankRef: 'R1', endToEndId: 'E1', remittance: 'text' }), entry(2, { bankRef: 'STMT-1:3' }), entry(3)])
      sut.add(record, 'day.xml');

    const columns = sut.finishColumns().bank;

    expect(columns.id).toEqual(['R1', 'STMT-1:3', 'STMT-1:3#2']);
    expect([0, 1, 2].map((index) => columns.item(index))).toEqual(sut.finish().bank);
  });

  it('drops counterparty names when told to (matching never reads them)', () => {
    const sut = new BankItemCollector({ keepCounterpartyName: false });
    for (const record of [STATEMENT, entry(1, { bankRef: 'R1', counterpartyName: 'Customer 1' })]) sut.add(record, 'day.xml');

    expect(sut.finishColumns().bank.item(0)).not.toHaveProperty('counterpartyName');
  });

  it('keeps ids unique when the same file is given twice', () => {
    const sut = new BankItemCollector();
    for (const source of ['a.xml', 'b.xml']) for (const record of [STATEMENT, entry(1)]) sut.add(record, source);

    expect(sut.finish().bank.map((item) => item.id)).toEqual(['STMT-1:1', 'STMT-1:1#2']);
  });

  it('refuses an entry before any statement and a bad amount, naming the entry', () => {
    expect(() => new BankItemCollector().add(entry(1), 'x.jsonl')).toThrow("x.jsonl entry STMT-1:1: entry outside its statement 'STMT-1'");
    const sut = new BankItemCollector();
    sut.add(STATEMENT, 'x.jsonl');
    expect(() => sut.add(entry(2, { amount: '1,5' }), 'x.jsonl')).toThrow("x.jsonl entry STMT-1:2: amount '1,5' is not a decimal number");
  });
});

describe(readCanonicalJsonl.name, () => {
  async function* text(value: string): AsyncGenerator<string> {
    yield value;
  }

  it('reads what recon parse writes and refuses a line that is not a canonical record', async () => {
    const good = `${JSON.stringify(STATEMENT)}\n${JSON.stringify(entry(1))}\n`;
    const records = [];
    for await (const record of readCanonicalJsonl(text(good), 'b.jsonl')) records.push(record);
    expect(records.map((record) => record.kind)).toEqual(['statement', 'entry']);

    const bad = `${JSON.stringify(STATEMENT)}\n${JSON.stringify({ ...entry(1), amount: 12.3 })}\n`;
    await expect(async () => {
      for await (const record of readCanonicalJsonl(text(bad), 'b.jsonl')) void record;
    }).rejects.toThrow('b.jsonl line 2, field amount');
  });
});

describe(readBalancesCsv.name, () => {
  it('reads account,currency,as_of,balance and names the bad cell', () => {
    expect(readBalancesCsv('account,currency,as_of,balance\nDE89,EUR,2025-01-02,1000.00\n')).toEqual([
      { account: 'DE89', currency: 'EUR', asOf: '2025-01-02', balanceMinor: 100_000n },
    ]);
    expect(() => readBalancesCsv('account,currency,as_of,balance\nDE89,EUR,2025-01-02,ten\n')).toThrow(
      "balances line 2, column balance: amount 'ten' is not a decimal number",
    );
    expect(() => readBalancesCsv('account,currency,balance\n')).toThrow("balances: header row lacks column 'as_of'");
  });
});
