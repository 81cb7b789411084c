import { UnreadableStatementError, type CanonicalRecord, type EntryRecord } from '../canonical';
import { collect, linesOf } from '../parser.port';
import type { LineDisposition } from '../mt940/line-accounting';
import { CSV_PROFILES, CsvReader, csvParserFor, csvParserForProfile, loadCsvProfile, parseCsv, type CsvProfile } from './csv.parser';

async function parse(profile: CsvProfile, text: string) {
  const accounted = new Map<number, LineDisposition[]>();
  const records = await collect(
    parseCsv(profile, linesOf(text), { onLineAccounted: (lineNo, disposition) => accounted.set(lineNo, [...(accounted.get(lineNo) ?? []), disposition]) }),
  );
  return { records, accounted };
}

const profile = (name: string): CsvProfile => {
  const found = CSV_PROFILES.get(name);
  if (found === undefined) throw new Error(`no profile ${name}`);
  return found;
};
const entries = (records: CanonicalRecord[]) => records.filter((record): record is EntryRecord => record.kind === 'entry');
const rejectedReasons = (records: CanonicalRecord[]) => records.flatMap((record) => (record.kind === 'rejected' ? [`${record.lineNo}:${record.reason}`] : []));

/** What an ICBC 明细 export looks like once decoded from GB18030: preamble, padded cells with TABs inside quotes, footer. */
const ICBC_EXPORT = [
  '明细查询文件下载',
  '',
  '卡号: 6222 0000 1234 5678,"卡别名: 托管账户"',
  '',
  '子账户序号: 00000,子账户类别: 活期,"子账户别名: "',
  '',
  '交易日期,摘要,交易场所,交易国家或地区简称,钞/汇,交易金额(收入),交易金额(支出),交易币种,记账金额(收入),记账金额(支出),记账币种,余额,对方户名',
  '2026-01-05     \t,"转账                \t","手机银行            \t","CHN                 \t",钞        \t,"1,234.56            \t","-                   \t",人民币         \t,"                    \t","                    \t",人民币         \t,"11,234.56           \t","上海某某投资有限公司                    \t",',
  '2026-01-06     \t,"消费                \t","财付通-群收款       \t","CHN                 \t",钞        \t,"-                   \t","-                   \t",-              \t,"                    \t","24.00               \t",人民币         \t,"11,210.56           \t","深圳市财付通支付科技有限公司        \t",',
  '2026-01-07     \t,"退款                \t","                    \t","CHN                 \t",钞        \t,"12,3,0              \t","-                   \t",人民币         \t,"                    \t","                    \t",人民币         \t,"11,222.86           \t","张三                \t",',
  ' ',
  '人民币合计,,,,,"1,234.56          \t","24.00             \t",',
].join('\n');

describe(CsvReader.name, () => {
  describe('cn-gbk-bank (GB18030 text, decoded by the caller)', () => {
    it('skips the preamble, finds the account in 卡号, strips padding and TABs, pairs 收入/支出 columns, maps 人民币 to CNY', async () => {
      const { records, accounted } = await parse(profile('cn-gbk-bank'), ICBC_EXPORT);

      expect(records[0]).toEqual({
        kind: 'statement',
        format: 'csv:cn-gbk-bank',
        statementId: 'csv:cn-gbk-bank:6222 0000 1234 5678:CNY:2026-01-05',
        account: '6222 0000 1234 5678',
        currency: 'CNY',
      });
      expect(entries(records)).toEqual([
        {
          kind: 'entry',
          statementId: 'csv:cn-gbk-bank:6222 0000 1234 5678:CNY:2026-01-05',
          lineNo: 8,
          amount: '1234.56',
          currency: 'CNY',
          bookingDate: '2026-01-05',
          valueDate: '2026-01-05',
          counterpartyName: '上海某某投资有限公司',
          remittance: '转账 手机银行',
          reversal: false,
        },
        expect.objectContaining({ lineNo: 9, amount: '-24.00', counterpartyName: '深圳市财付通支付科技有限公司', remittance: '消费 财付通-群收款' }),
      ]);
      expect(rejectedReasons(records)).toEqual(["10:amount '12,3,0' is not a decimal number"]);
      expect([1, 2, 3, 7, 8, 10, 11, 12].map((lineNo) => accounted.get(lineNo))).toEqual([
        ['noise'],
        ['noise'],
        ['noise'],
        ['statement'],
        ['entry'],
        ['rejected'],
        ['noise'],
        ['noise'],
      ]);
      expect(profile('cn-gbk-bank').defaultEncoding).toBe('gb18030');
    });

    it('reads single signed 交易金额 exports with yyyyMMdd dates (ABC style)', async () => {
      const text =
        '交易日期,交易时间,交易摘要,交易金额,本次余额,对手信息\n20240101,123456,转存,+10000.00,11000.00,哈哈\n20240102,132324,财付通,-10.00,10990.00,微信支付\n';
      const { records } = await parse(profile('cn-gbk-bank'), text);

      expect(entries(records).map((entry) => [entry.bookingDate, entry.amount, entry.currency])).toEqual([
        ['2024-01-01', '10000.00', 'CNY'],
        ['2024-01-02', '-10.00', 'CNY'],
      ]);
    });
  });

  describe('direction columns', () => {
    it("signs an unsigned amount by 借贷 (BOCOM) and treats the profile's skip values as noise", async () => {
      const text = [
        '序号,交易日期,交易时间,交易类型,借贷,交易金额,余额,对方账号,对方户名',
        '1,2025-01-01,00:00:00,存款利息,贷 Cr,1.23,1334.63,1323,利息',
        '2,2024-02-02,13:15:12,还款,借 Dr,3.21,2334.62,6666,哈哈',
        '3,2024-02-03,13:15:12,其他,不计收支,9.99,2334.62,6666,哈哈',
        '4,2024-02-04,13:15:12,其他,冲正,1.00,2334.62,6666,哈哈',
      ].join('\n');
      const { records, accounted } = await parse(profile('cn-gbk-bank'), text);

      expect(entries(records).map((entry) => [entry.amount, entry.bankTxCode, entry.counterpartyName])).toEqual([
        ['1.23', '存款利息', '利息'],
        ['-3.21', '还款', '哈哈'],
      ]);
      expect(accounted.get(4)).toEqual(['noise']);
      expect(rejectedReasons(records)).toEqual(["5:direction '冲正' is neither a credit (贷 Cr, 贷, Cr, 收入, 收) nor a debit (借 Dr, 借, Dr, 支出, 支)"]);
    });
  });

  describe('header problems', () => {
    it('says which columns a header with the required names lacks', async () => {
      await expect(parse(profile('cn-gbk-bank'), '交易日期,摘要,对方户名\n2026-01-02,x,y\n')).rejects.toThrow(
        "no header row with the columns 交易日期|记账日期 found in the first 41 lines (CSV profile 'cn-gbk-bank'): a header row has the required names but no amount column (交易金额, 金额, 收入金额, 交易金额(收入), 记账金额(收入), 存入金额)",
      );
    });
  });

  describe('de-bank', () => {
    it('reads ; separated rows with 1.234,56 amounts, dd.mm.yyyy dates and joined VWZ purpose columns', async () => {
      const text = [
        'Kontonummer;Buchungstag;Wertstellung;Auftraggeber/Empfänger;Buchungstext;VWZ1;VWZ2;Betrag;Kontostand;Währung',
        '1234567890;10.10.2025;11.10.2025;Muster GmbH;"SEPA-Überweisung";Rechnung 4711;Kunde 12;-1.234,56;8.765,44;EUR',
        '1234567890;12.10.2025;12.10.2025;Kunde A;Gutschrift;Einzahlung;;98,76;8.864,20;EUR',
        '1234567890;31.02.2025;31.02.2025;Kunde B;Gutschrift;;;1,00;8.865,20;EUR',
      ].join('\r\n');
      const { records } = await parse(profile('de-bank'), text);

      expect(entries(records)[0]).toEqual({
        kind: 'entry',
        statementId: 'csv:de-bank:1234567890:EUR:2025-10-10',
        lineNo: 2,
        amount: '-1234.56',
        currency: 'EUR',
        bookingDate: '2025-10-10',
        valueDate: '2025-10-11',
        bankTxCode: 'SEPA-Überweisung',
        counterpartyName: 'Muster GmbH',
        remittance: 'Rechnung 4711 Kunde 12',
        reversal: false,
      });
      expect(entries(records)[1]).toMatchObject({ amount: '98.76', remittance: 'Einzahlung' });
      expect(rejectedReasons(records)).toEqual(["4:date '31.02.2025' is not a valid dd.MM.yyyy date"]);
      expect(profile('de-bank').defaultEncoding).toBe('cp1252');
    });
  });

  describe('us-debit-credit', () => {
    it('turns separate Debit/Credit magnitudes into one signed amount and keeps a quoted field spanning lines', async () => {
      const text = [
        'Transaction Date,Posted Date,Card No.,Description,Category,Debit,Credit',
        '2025-12-31,2026-01-02,1234,Airplanes R Us,Other Travel,"1,000.00",',
        '2025-12-31,2026-01-02,1234,"AUTOPAY',
        'PAYMENT",Payment/Credit,,1000.00',
        '2026-01-03,2026-01-03,1234,Nothing,Other,,',
      ].join('\n');
      const { records, accounted } = await parse(profile('us-debit-credit'), text);

      expect(entries(records).map((entry) => [entry.lineNo, entry.amount, entry.bookingDate, entry.valueDate, entry.remittance])).toEqual([
        [2, '-1000.00', '2026-01-02', '2025-12-31', 'Airplanes R Us'],
        [3, '1000.00', '2026-01-02', '2025-12-31', 'AUTOPAY\nPAYMENT'],
      ]);
      expect(accounted.get(4)).toEqual(['entry']);
      expect(rejectedReasons(records)).toEqual(['5:neither the debit nor the credit amount is filled in']);
    });
  });

  describe('quotes', () => {
    it('keeps a stray quote inside an unquoted field literal instead of swallowing the next lines', async () => {
      const text = [
        'date,amount,currency,description',
        '2026-01-02,1.00,EUR,TV 55" screen',
        '2026-01-03,2.00,EUR,"quoted, with ""escapes"""',
        '2026-01-04,3.00,EUR,plain',
      ].join('\n');
      const { records, accounted } = await parse(profile('generic'), text);

      expect(entries(records).map((entry) => [entry.lineNo, entry.amount, entry.remittance])).toEqual([
        [2, '1.00', 'TV 55" screen'],
        [3, '2.00', 'quoted, with "escapes"'],
        [4, '3.00', 'plain'],
      ]);
      expect([...accounted.keys()].sort()).toEqual([1, 2, 3, 4]);
    });

    it('reads more rows than one csv-parse batch, with a multi-line field across the batch boundary', async () => {
      const rows = Array.from({ length: 1_200 }, (_, index) =>
        index === 510 ? `2026-01-02,${index}.00,EUR,"line one\nline two"` : `2026-01-02,${index}.00,EUR,row ${index}`,
      );
      const { records } = await parse(profile('generic'), `date,amount,currency,description\n${rows.join('\n')}\n`);

      expect(entries(records)).toHaveLength(1_200);
      expect(entries(records)[510]).toMatchObject({ lineNo: 512, remittance: 'line one\nline two' });
      expect(entries(records)[511]).toMatchObject({ lineNo: 514, amount: '511.00' });
      expect(entries(records)[1_199]).toMatchObject({ lineNo: 1_202, amount: '1199.00' });
    });
  });

  describe('generic', () => {
    it('reads the documented default layout', async () => {
      const text =
        'date,amount,currency,reference,account,description\n2026-01-02,-22.30,EUR,PLAT-W-000123,DE89370400440532013000,withdrawal\n2026-01-02,5,JPY,PLAT-D-1,DE89370400440532013000,\n';
      const { records } = await parse(profile('generic'), text);

      expect(records.map((record) => record.kind)).toEqual(['statement', 'entry', 'statement', 'entry']);
      expect(entries(records)[0]).toMatchObject({ amount: '-22.30', endToEndId: 'PLAT-W-000123', remittance: 'withdrawal', currency: 'EUR' });
      expect(entries(records)[1]).toMatchObject({ amount: '5', currency: 'JPY' });
    });

    it('rejects a line over the length limit and an unterminated quote, naming the problem', async () => {
      const long = `2026-01-02,1.00,EUR,${'x'.repeat(300)}`;
      const unterminated = ['2026-01-03,2.00,EUR,"never closed', ...Array.from({ length: 60 }, (_, index) => `line ${index}`)];
      const records = await collect(
        parseCsv(profile('generic'), linesOf(['date,amount,currency,description', long, ...unterminated].join('\n')), { lineLengthMax: 200 }),
      );

      expect(rejectedReasons(records)).toEqual([
        '2:line is 320 characters long, over the limit of 200',
        `3:unterminated quoted field (no closing '"' within 50 lines)`,
        ...Array.from({ length: 11 }, (_, index) => `${53 + index}:date 'line ${49 + index}' does not match yyyy-MM-dd`),
      ]);
    });

    it('rejects rows without a currency when the profile sets none, and throws when no header is found', async () => {
      const { records } = await parse(profile('generic'), 'Date,Payee,Amount\n2024-05-01,北京餐厅,-35.00\n');

      expect(rejectedReasons(records)).toEqual([
        "2:no currency: the row leaves it blank, account '' gives none and CSV profile 'generic' sets none (give the profile currency, accountCurrencies or accountCurrencyPattern)",
      ]);
      await expect(parse(profile('generic'), ':20:STARTUMS\n:25:X\n')).rejects.toThrow(
        "no header row with the columns date, amount found in the first 31 lines (CSV profile 'generic')",
      );
    });
  });
});

describe(csvParserFor.name, () => {
  it('names the unknown profile and lists the known ones', () => {
    expect(() => csvParserFor('nope')).toThrow(
      new UnreadableStatementError("unknown CSV profile 'nope'; known profiles: generic, de-bank, us-debit-credit, cn-gbk-bank"),
    );
    expect(csvParserFor('de-bank').format).toBe('csv:de-bank');
  });

  it('exposes header matching for format auto-detection', () => {
    expect(profile('cn-gbk-bank').matchesHeader(['明细查询文件下载', '交易日期,摘要,交易金额(收入)'])).toBe(true);
    expect(profile('de-bank').matchesHeader(['"Auftragskonto";"Buchungstag";"Betrag"'])).toBe(true);
    expect(profile('de-bank').matchesHeader(['date,amount'])).toBe(false);
  });
});

describe(loadCsvProfile.name, () => {
  const yaml = [
    'name: my-bank',
    'defaultEncoding: gb18030',
    'delimiter: ","',
    'headerRequired: [Date, Amount]',
    'columns:',
    '  date: Date',
    '  amount: Amount',
    '  counterpartyName: [Payee]',
    'dateFormats: [yyyy-MM-dd]',
    'currency: CNY',
    'account: CUSTODY-CNY-1',
  ].join('\n');

  it('loads a YAML profile and parses with it', async () => {
    const sut = loadCsvProfile(yaml);
    const records = await collect(csvParserForProfile(sut).parse(linesOf('Date,Payee,Amount\n2024-05-01,北京餐厅,-35.00\n')));

    expect(records).toEqual([
      { kind: 'statement', format: 'csv:my-bank', statementId: 'csv:my-bank:CUSTODY-CNY-1:CNY:2024-05-01', account: 'CUSTODY-CNY-1', currency: 'CNY' },
      {
        kind: 'entry',
        statementId: 'csv:my-bank:CUSTODY-CNY-1:CNY:2024-05-01',
        lineNo: 2,
        amount: '-35.00',
        currency: 'CNY',
        bookingDate: '2024-05-01',
        valueDate: '2024-05-01',
        counterpartyName: '北京餐厅',
        reversal: false,
      },
    ]);
  });

  it('loads the same profile written as JSON', () => {
    const json = JSON.stringify({ name: 'json-bank', headerRequired: ['d'], columns: { date: 'd', debit: 'out', credit: 'in' }, dateFormats: ['dd/MM/yyyy'] });

    expect(loadCsvProfile(json)).toMatchObject({ name: 'json-bank', delimiter: ',', decimalSeparator: '.', signConvention: 'credit-positive' });
  });

  it.each([
    ['name: My Bank\nheaderRequired: [a]\ncolumns: {date: a, amount: b}\ndateFormats: [yyyy-MM-dd]', 'name: name must be lower-case'],
    ['name: x\nheaderRequired: [a]\ncolumns: {date: a}\ndateFormats: [yyyy-MM-dd]', 'columns.amount: needs an amount column or debit/credit columns'],
    ['name: x\nheaderRequired: [a]\ncolumns: {date: a, amount: b}\ndateFormats: [dd-MMM-yy]', 'dateFormats.0'],
    ['name: x\nheaderRequired: [a]\ncolumns: {date: a, amount: b, colour: c}\ndateFormats: [yyyy-MM-dd]', 'columns'],
    ['name: x\nheaderRequired: [a]\ncolumns: {date: a, debit: b}\ndateFormats: [yyyy-MM-dd]', 'columns.credit: debit and credit columns come as a pair'],
    ['name: [unclosed', 'not valid YAML/JSON'],
  ])('names the bad field: %s', (text, message) => {
    expect(() => loadCsvProfile(text)).toThrow(message);
  });
});
