import type { CsvProfileInput } from './csv-profile';

/**
 * Built-in CSV profiles. Each one is plain data validated by the same schema as a custom profile, so a bank that
 * differs slightly is handled by copying one of these into a YAML file and editing it.
 */
export const BUILTIN_CSV_PROFILE_SPECS: readonly CsvProfileInput[] = [
  {
    // The project's own documented layout: a header row with these (case-insensitive) names, ISO dates, `.` decimals.
    name: 'generic',
    defaultEncoding: 'utf8',
    delimiter: ',',
    headerRequired: ['date', 'amount'],
    columns: {
      date: ['date', 'booking_date', 'booking date'],
      valueDate: ['value_date', 'value date'],
      amount: ['amount'],
      currency: ['currency'],
      account: ['account'],
      endToEndId: ['reference', 'end_to_end_id'],
      bankRef: ['bank_reference', 'bank_ref'],
      customerRef: ['customer_reference', 'customer_ref'],
      bankTxCode: ['transaction_code', 'type'],
      counterpartyName: ['counterparty_name', 'counterparty', 'payee', 'name'],
      counterpartyAccount: ['counterparty_account'],
      remittance: ['description', 'remittance', 'memo'],
    },
    decimalSeparator: '.',
    thousandsSeparator: '',
    dateFormats: ['yyyy-MM-dd'],
  },
  {
    // German online-banking exports (GLS, Sparkasse CSV-CAMT, Volksbank): `;`, `1.234,56`, dd.mm.yyyy, Windows-1252.
    name: 'de-bank',
    defaultEncoding: 'cp1252',
    delimiter: ';',
    headerRequired: ['Buchungstag', 'Betrag'],
    columns: {
      date: ['Buchungstag'],
      valueDate: ['Wertstellung', 'Valutadatum', 'Valuta'],
      amount: ['Betrag', 'Umsatz'],
      currency: ['Währung', 'Waehrung', 'WKZ'],
      account: ['Auftragskonto', 'IBAN Auftragskonto', 'Kontonummer'],
      endToEndId: ['Kundenreferenz (End-to-End)'],
      bankTxCode: ['Buchungstext'],
      counterpartyName: ['Auftraggeber/Empfänger', 'Beguenstigter/Zahlungspflichtiger', 'Name Zahlungsbeteiligter'],
      counterpartyAccount: ['IBAN Zahlungsbeteiligter', 'Kontonummer/IBAN'],
      remittance: ['Verwendungszweck', 'VWZ1', 'VWZ2', 'VWZ3', 'VWZ4', 'VWZ5', 'VWZ6', 'VWZ7', 'VWZ8', 'VWZ9', 'VWZ10', 'VWZ11', 'VWZ12', 'VWZ13', 'VWZ14'],
      balance: ['Saldo', 'Kontostand'],
    },
    decimalSeparator: ',',
    thousandsSeparator: '.',
    dateFormats: ['dd.MM.yyyy', 'dd.MM.yy'],
    currency: 'EUR',
  },
  {
    // US card/bank exports with separate Debit and Credit columns (Capital One style); amounts in USD unless a
    // Currency column says otherwise.
    name: 'us-debit-credit',
    defaultEncoding: 'utf8',
    delimiter: ',',
    headerRequired: ['Debit', 'Credit'],
    columns: {
      date: ['Posted Date', 'Date', 'Transaction Date'],
      valueDate: ['Transaction Date', 'Value Date'],
      debit: ['Debit', 'Withdrawals'],
      credit: ['Credit', 'Deposits'],
      currency: ['Currency'],
      account: ['Account', 'Account Number', 'Card No.'],
      bankRef: ['Reference', 'Transaction ID'],
      remittance: ['Description', 'Memo'],
      bankTxCode: ['Category', 'Type'],
    },
    decimalSeparator: '.',
    thousandsSeparator: ',',
    dateFormats: ['yyyy-MM-dd', 'MM/dd/yyyy', 'MM/dd/yy'],
    currency: 'USD',
  },
  {
    // Chinese bank detail exports (ICBC 明细查询文件下载 and similar): GBK/GB18030, a preamble with 卡号 before the
    // header, cells padded with spaces and a TAB inside the quotes, income and expense columns, `-` for "no amount".
    name: 'cn-gbk-bank',
    defaultEncoding: 'gb18030',
    delimiter: ',',
    headerRequired: ['交易日期|记账日期'],
    preambleLinesMax: 40,
    columns: {
      date: ['记账日期', '交易日期'],
      valueDate: ['交易日期'],
      // Pairs by position: 收入金额/支出金额, 交易金额(收入)/(支出), 记账金额(收入)/(支出), 存入金额/取出金额.
      credit: ['收入金额', '交易金额(收入)', '记账金额(收入)', '存入金额'],
      debit: ['支出金额', '交易金额(支出)', '记账金额(支出)', '取出金额'],
      amount: ['交易金额', '金额'],
      currency: ['交易币种', '记账币种', '币种', '货币'],
      account: ['卡号', '账号', '本方账号'],
      bankRef: ['交易流水号', '流水号'],
      counterpartyName: ['对方户名', '对方账户名称', '对方名称'],
      counterpartyAccount: ['对方账号', '对方账户'],
      remittance: ['摘要', '交易场所', '附言', '用途'],
      bankTxCode: ['交易类型'],
      // The running balance after each row gives the statement's opening and closing balances.
      balance: ['余额', '账户余额', '联机余额', '交易后余额'],
    },
    decimalSeparator: '.',
    thousandsSeparator: ',',
    dateFormats: ['yyyy-MM-dd', 'yyyyMMdd', 'yyyy/MM/dd'],
    currency: 'CNY',
    currencyAliases: { 人民币: 'CNY', RMB: 'CNY', 美元: 'USD', 港币: 'HKD', 港元: 'HKD', 欧元: 'EUR', 日元: 'JPY', 英镑: 'GBP' },
    // BOCOM writes an unsigned 交易金额 and the direction in 借贷 (`贷 Cr` / `借 Dr`); others use 收/支.
    direction: {
      column: ['借贷', '借贷标志', '收/支', '收支'],
      creditValues: ['贷 Cr', '贷', 'Cr', '收入', '收'],
      debitValues: ['借 Dr', '借', 'Dr', '支出', '支'],
      skipValues: ['不计收支'],
    },
    accountPreamblePattern: '(?:卡号|账号)\\s*[:：]\\s*([0-9*Xx -]{4,40})',
    emptyAmountTokens: ['-', '--'],
    footerPrefixes: ['人民币合计', '合计', '总计'],
  },
];
