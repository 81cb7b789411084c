import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as iconv from 'iconv-lite';
import { UnreadableStatementError, type CanonicalRecord, type EntryRecord, type StatementRecord } from '../canonical';
import { collect, linesOf } from '../parser.port';
import { CSV_PROFILES, createCsvLineReader, loadCsvProfile, parseCsv, type CsvProfile } from './csv.parser';

const CORPORA_DIR = process.env.RECON_CORPORA_DIR ?? resolve(__dirname, '../../../../../shared/corpora');
const GB18030_SAMPLE = join(CORPORA_DIR, 'csv/actualbudget-actual/data_gb18030.csv');

const parse = async (profile: CsvProfile, text: string) => collect(parseCsv(profile, linesOf(text)));
const statements = (records: CanonicalRecord[]) => records.filter((record): record is StatementRecord => record.kind === 'statement');
const entries = (records: CanonicalRecord[]) => records.filter((record): record is EntryRecord => record.kind === 'entry');
const minor = (amount: string) => BigInt(amount.replace('.', ''));

const WITH_BALANCE = `
name: with-balance
headerRequired: [Date, Amount, Balance]
columns: { date: Date, amount: Amount, balance: Balance, account: Account }
dateFormats: [yyyy-MM-dd]
thousandsSeparator: ','
currency: EUR
`;

describe('CSV profiles: balances and currencies', () => {
  describe('a running balance column', () => {
    it('gives the opening (first balance − its amount) and closing balance, dated by the first and last booking dates', async () => {
      const records = await parse(
        loadCsvProfile(WITH_BALANCE),
        ['Date,Amount,Balance,Account', '2025-01-02,100.00,"1,100.00",DE02', '2025-01-03,-30.50,"1,069.50",DE02', '2025-01-03,5.00,"1,074.50",DE02'].join('\n'),
      );
      expect(records.map((record) => record.kind)).toEqual(['statement', 'entry', 'entry', 'entry']);
      const [statement] = statements(records);
      expect(statement).toMatchObject({
        from: '2025-01-02',
        to: '2025-01-03',
        openingBalance: { amount: '1000.00', date: '2025-01-02' },
        closingBalance: { amount: '1074.50', date: '2025-01-03' },
      });
      // The balance invariant holds: closing − opening = the entries.
      const sum = entries(records).reduce((total, entry) => total + minor(entry.amount), 0n);
      expect(minor(statement!.closingBalance!.amount) - minor(statement!.openingBalance!.amount)).toBe(sum);
    });

    it('recognises an export listed newest first', async () => {
      const newestFirst = ['Date,Amount,Balance,Account', '2025-01-03,-30.50,1069.50,DE02', '2025-01-02,100.00,1100.00,DE02'].join('\n');
      expect(statements(await parse(loadCsvProfile(WITH_BALANCE), newestFirst))[0]).toMatchObject({
        openingBalance: { amount: '1000.00', date: '2025-01-02' },
        closingBalance: { amount: '1069.50', date: '2025-01-03' },
      });
      // Same day: the balance arithmetic of the first two rows tells the order.
      const sameDay = ['Date,Amount,Balance,Account', '2025-01-03,-30.50,1069.50,DE02', '2025-01-03,100.00,1100.00,DE02'].join('\n');
      expect(statements(await parse(loadCsvProfile(WITH_BALANCE), sameDay))[0]).toMatchObject({
        openingBalance: { amount: '1000.00' },
        closingBalance: { amount: '1069.50' },
      });
    });

    it('gives no derived balance when a row is rejected or a balance cell is unreadable, and keeps the entries', async () => {
      const rejectedRow = ['Date,Amount,Balance,Account', '2025-01-02,100.00,1100.00,DE02', '2025-01-03,12x,1112.00,DE02'].join('\n');
      const first = await parse(loadCsvProfile(WITH_BALANCE), rejectedRow);
      expect(statements(first)[0]).toEqual({
        kind: 'statement',
        format: 'csv:with-balance',
        statementId: expect.any(String),
        account: 'DE02',
        currency: 'EUR',
      });
      expect(first.filter((record) => record.kind === 'rejected')).toHaveLength(1);

      const badBalance = ['Date,Amount,Balance,Account', '2025-01-02,100.00,1100.00,DE02', '2025-01-03,12.00,n/a,DE02'].join('\n');
      const second = await parse(loadCsvProfile(WITH_BALANCE), badBalance);
      expect(statements(second)[0]?.closingBalance).toBeUndefined();
      expect(entries(second).map((entry) => entry.amount)).toEqual(['100.00', '12.00']);
    });

    it('keeps one statement per account, each with its own balances', async () => {
      const records = await parse(
        loadCsvProfile(WITH_BALANCE),
        ['Date,Amount,Balance,Account', '2025-01-02,100.00,100.00,A1', '2025-01-02,7.00,57.00,B2', '2025-01-03,-40.00,60.00,A1'].join('\n'),
      );
      expect(statements(records).map((statement) => [statement.account, statement.openingBalance?.amount, statement.closingBalance?.amount])).toEqual([
        ['A1', '0.00', '60.00'],
        ['B2', '50.00', '57.00'],
      ]);
    });
  });

  it('reads balances the export states on lines of their own, before the header and in a footer', async () => {
    const profile = loadCsvProfile(`
name: stated-balances
headerRequired: [Buchungstag, Betrag]
delimiter: ';'
columns: { date: Buchungstag, amount: Betrag }
decimalSeparator: ','
thousandsSeparator: '.'
dateFormats: [dd.MM.yyyy]
currency: EUR
account: DE89370400440532013000
balances: { openingPattern: 'Anfangssaldo;([-0-9.,]+)', closingPattern: 'Endsaldo;([-0-9.,]+)' }
footerPrefixes: [Endsaldo]
`);
    const records = await parse(
      profile,
      ['Anfangssaldo;1.000,00', 'Buchungstag;Betrag', '02.01.2025;-22,30', '02.01.2025;100,00', 'Endsaldo;1.077,70'].join('\n'),
    );
    expect(statements(records)[0]).toMatchObject({
      openingBalance: { amount: '1000.00', date: '2025-01-02' },
      closingBalance: { amount: '1077.70', date: '2025-01-02' },
    });
    // The synchronous line reader gives the same records.
    const reader = createCsvLineReader(profile);
    const synchronous: CanonicalRecord[] = [];
    ['Anfangssaldo;1.000,00', 'Buchungstag;Betrag', '02.01.2025;-22,30', '02.01.2025;100,00', 'Endsaldo;1.077,70'].forEach((text, index) =>
      synchronous.push(...reader.push({ lineNo: index + 1, text })),
    );
    synchronous.push(...reader.finish());
    expect(synchronous).toEqual(records);
  });

  it('the ICBC-style built-in profile reads the 余额 column', async () => {
    const text = [
      '卡号: 6222 0000 1234 5678',
      '交易日期,摘要,交易金额(收入),交易金额(支出),交易币种,余额',
      '2026-01-05,转账,"1,234.56",-,人民币,"11,234.56"',
      '2026-01-06,消费,-,24.00,人民币,"11,210.56"',
    ].join('\n');
    expect(statements(await parse(CSV_PROFILES.get('cn-gbk-bank')!, text))[0]).toMatchObject({
      account: '6222 0000 1234 5678',
      openingBalance: { amount: '10000.00', date: '2026-01-05' },
      closingBalance: { amount: '11210.56', date: '2026-01-06' },
    });
  });

  describe('the currency of a row that names none', () => {
    const base = `
name: by-account
headerRequired: [Date, Amount]
columns: { date: Date, amount: Amount, account: Account }
dateFormats: [yyyy-MM-dd]
`;
    it('comes from the account: accountCurrencies (spaces and case ignored), else accountCurrencyPattern, else the fixed currency', async () => {
      const profile = loadCsvProfile(`${base}
accountCurrencies: { 'de89 3704 0044 0532 0130 00': EUR }
accountCurrencyPattern: '-([A-Za-z]{3})$'
currencyAliases: { RMB: CNY }
currency: USD
`);
      const records = await parse(
        profile,
        ['Date,Amount,Account', '2025-01-02,1.00,DE89370400440532013000', '2025-01-02,2.00,6222-RMB', '2025-01-02,3,HKACC-jpy', '2025-01-02,4.00,OTHER'].join(
          '\n',
        ),
      );
      expect(entries(records).map((entry) => [entry.amount, entry.currency])).toEqual([
        ['1.00', 'EUR'],
        ['2.00', 'CNY'],
        ['3', 'JPY'],
        ['4.00', 'USD'],
      ]);
    });

    it('is refused with the way out named when nothing gives it', async () => {
      const records = await parse(loadCsvProfile(base), 'Date,Amount,Account\n2025-01-02,1.00,ACC-1\n');
      expect(records.find((record) => record.kind === 'rejected')).toMatchObject({
        reason:
          "no currency: the row leaves it blank, account 'ACC-1' gives none and CSV profile 'by-account' sets none (give the profile currency, accountCurrencies or accountCurrencyPattern)",
      });
    });
  });

  it('refuses patterns that are not regular expressions or capture nothing, naming the field', () => {
    const base = 'name: x\nheaderRequired: [a]\ncolumns: {date: a, amount: b}\ndateFormats: [yyyy-MM-dd]\n';
    expect(() => loadCsvProfile(`${base}accountCurrencyPattern: '[A-Z]{3}$'`)).toThrow('accountCurrencyPattern: needs one capture group (the value to read)');
    expect(() => loadCsvProfile(`${base}balances: { openingPattern: '(unclosed' }`)).toThrow('balances.openingPattern: is not a valid regular expression');
    expect(() => loadCsvProfile(`${base}accountCurrencies: { A1: eur }`)).toThrow(UnreadableStatementError);
  });

  // The GB18030 sample of ../shared/corpora (as the conformance suites find it): no currency and no account columns.
  it('parses the corpora GB18030 sample with the currency derived from the account the profile gives', async () => {
    if (!existsSync(GB18030_SAMPLE)) {
      console.warn(`CSV balances: corpora sample ${GB18030_SAMPLE} not found; not checked (set RECON_CORPORA_DIR)`);
      return;
    }
    const text = iconv.decode(readFileSync(GB18030_SAMPLE), 'gb18030');
    const withoutCurrency = await parse(CSV_PROFILES.get('generic')!, text);
    expect(withoutCurrency.filter((record) => record.kind === 'rejected').map((record) => record.kind === 'rejected' && record.reason)).toEqual([
      expect.stringMatching(/^no currency/),
      expect.stringMatching(/^no currency/),
      expect.stringMatching(/^no currency/),
    ]);
    const profile = loadCsvProfile(`
name: actualbudget-gb18030
defaultEncoding: gb18030
headerRequired: [Date, Payee, Amount]
columns: { date: Date, amount: Amount, counterpartyName: Payee }
dateFormats: [yyyy-MM-dd]
account: 6222-0000-CNY
accountCurrencyPattern: '-([A-Z]{3})$'
`);
    const records = await parse(profile, text);
    expect(records.filter((record) => record.kind === 'rejected')).toEqual([]);
    expect(statements(records)).toEqual([expect.objectContaining({ account: '6222-0000-CNY', currency: 'CNY' })]);
    expect(entries(records).map((entry) => [entry.valueDate, entry.amount, entry.counterpartyName])).toEqual([
      ['2024-05-01', '-35.00', '北京餐厅'],
      ['2024-05-02', '55.50', '上海超市'],
      ['2024-05-03', '95.75', '张伟'],
    ]);
  });
});
