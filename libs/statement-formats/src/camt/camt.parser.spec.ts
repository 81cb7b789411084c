import { type CanonicalRecord, type EntryRecord, type RejectedRecord, type StatementRecord, UnreadableStatementError } from '../canonical';
import { collect } from '../parser.port';
import { type CamtKind, type EntrySpec, camtDocument, camtEntryXml, standardRecord } from '../../test-fixtures/camt-builder';
import { CamtStreamParser, STATEMENT_HEADER_REASON_PREFIX, XML_DEPTH_MAX, parseCamt } from './camt.parser';
import { CAMT_VERSION_MAX } from './camt-message-type';

async function* chunksOf(text: string, chunkLength: number): AsyncGenerator<string> {
  for (let index = 0; index < text.length; index += chunkLength) yield text.slice(index, index + chunkLength);
}

function parse(xml: string, chunkLength = 4096): Promise<CanonicalRecord[]> {
  return collect(parseCamt(chunksOf(xml, chunkLength)));
}

const statementsOf = (records: CanonicalRecord[]): StatementRecord[] => records.filter((record): record is StatementRecord => record.kind === 'statement');
const entriesOf = (records: CanonicalRecord[]): EntryRecord[] => records.filter((record): record is EntryRecord => record.kind === 'entry');
const rejectedOf = (records: CanonicalRecord[]): RejectedRecord[] => records.filter((record): record is RejectedRecord => record.kind === 'rejected');

const FORMAT_OF: Readonly<Record<CamtKind, string>> = { '052': 'camt.052', '053': 'camt.053', '054': 'camt.054' };

const EXPECTED_STATEMENT = {
  kind: 'statement',
  statementId: 'STMT-2025-001',
  account: 'DE89370400440532013000',
  currency: 'EUR',
  sequence: '1',
  from: '2025-01-02',
  to: '2025-01-02',
  openingBalance: { amount: '1000.00', date: '2025-01-01' },
  closingBalance: { amount: '1077.70', date: '2025-01-02' },
};

const EXPECTED_DEBIT = {
  kind: 'entry',
  statementId: 'STMT-2025-001',
  lineNo: 1,
  amount: '-22.30',
  currency: 'EUR',
  bookingDate: '2025-01-02',
  valueDate: '2025-01-02',
  bankRef: '2025010200017',
  endToEndId: 'PLAT-W-000123',
  customerRef: 'PLAT-W-000123',
  bankTxCode: 'PMNT/ICDT/ESCT',
  counterpartyName: 'Jane Doe',
  counterpartyAccount: 'FR7630006000011234567890189',
  remittance: 'withdrawal PLAT-W-000123',
  reversal: false,
};

const EXPECTED_CREDIT = {
  kind: 'entry',
  statementId: 'STMT-2025-001',
  lineNo: 2,
  amount: '100.00',
  currency: 'EUR',
  bookingDate: '2025-01-02',
  valueDate: '2025-01-03',
  bankRef: '2025010200018',
  customerRef: 'INSTR-9',
  bankTxCode: 'PMNT/RCDT/ESCT',
  counterpartyName: 'Max Müller',
  counterpartyAccount: 'DE02120300000000202051',
  remittance: 'RF18539007547034',
  reversal: false,
};

describe(CamtStreamParser.name, () => {
  describe('every version family', () => {
    const cases: [CamtKind, number][] = [];
    for (const kind of ['052', '053', '054'] as const) for (let version = 2; version <= CAMT_VERSION_MAX; version += 1) cases.push([kind, version]);

    it.each(cases)('reads camt.%s.001.%i into the same canonical records', async (kind, version) => {
      const records = await parse(camtDocument({ kind, version, records: [standardRecord()] }), 97);

      expect(records).toEqual([{ ...EXPECTED_STATEMENT, format: FORMAT_OF[kind] }, EXPECTED_DEBIT, EXPECTED_CREDIT]);
    });
  });

  it('writes keys in the CONTRACT order', async () => {
    const [statement, debit] = await parse(camtDocument({ kind: '053', version: 8, records: [standardRecord()] }));

    expect(Object.keys(statement!)).toEqual([
      'kind',
      'format',
      'statementId',
      'account',
      'currency',
      'sequence',
      'from',
      'to',
      'openingBalance',
      'closingBalance',
    ]);
    expect(Object.keys(debit!)).toEqual(Object.keys(EXPECTED_DEBIT));
  });

  it('reads camt.053.001.01 (message element with V01 suffix, balance type without CdOrPrtry)', async () => {
    const records = await parse(camtDocument({ kind: '053', version: 1, records: [standardRecord()] }));

    expect(statementsOf(records)[0]).toMatchObject({ openingBalance: { amount: '1000.00' } });
    expect(entriesOf(records)).toHaveLength(2);
  });

  it('reads prefixed element names (ns2:Document)', async () => {
    const records = await parse(camtDocument({ kind: '053', version: 4, prefix: 'ns2', records: [standardRecord()] }));

    expect(records).toEqual([{ ...EXPECTED_STATEMENT, format: 'camt.053' }, EXPECTED_DEBIT, EXPECTED_CREDIT]);
  });

  it('keeps the sign of the money on a reversal and flags it', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 8,
      records: [
        standardRecord({
          balances: [],
          entries: [
            { amount: '50.00', indicator: 'CRDT', reversal: true, bookingDate: '2025-01-02' },
            { amount: '5.00', indicator: 'DBIT', reversal: true },
          ],
        }),
      ],
    });

    const entries = entriesOf(await parse(xml));

    expect(entries.map((entry) => [entry.amount, entry.reversal])).toEqual([
      ['50.00', true],
      ['-5.00', true],
    ]);
  });

  it('keeps a batch booking as one entry with its itemised transactions', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 8,
      records: [
        standardRecord({
          balances: [],
          entries: [
            {
              amount: '300.00',
              indicator: 'DBIT',
              bookingDate: '2025-01-02',
              bankRef: 'BATCH-BANK-1',
              batchPaymentInformationId: 'PLAT-BATCH-77',
              additionalInfo: 'SEPA collective payment',
              transactions: [
                { amount: '100.00', endToEndId: 'E2E-1', creditorName: 'Alice', creditorIban: 'NL91ABNA0417164300', unstructured: ['payout 1'] },
                { amount: '200.00', endToEndId: 'E2E-2', creditorName: 'Bob', creditorOtherId: 'ACC-2', bankRef: 'TX-2' },
              ],
            },
          ],
        }),
      ],
    });

    const [entry] = entriesOf(await parse(xml));

    expect(entry).toEqual({
      kind: 'entry',
      statementId: 'STMT-2025-001',
      lineNo: 1,
      amount: '-300.00',
      currency: 'EUR',
      bookingDate: '2025-01-02',
      bankRef: 'BATCH-BANK-1',
      customerRef: 'PLAT-BATCH-77',
      remittance: 'SEPA collective payment',
      reversal: false,
      transactions: [
        {
          amount: '-100.00',
          endToEndId: 'E2E-1',
          remittance: 'payout 1',
          customerRef: 'E2E-1',
          counterpartyName: 'Alice',
          counterpartyAccount: 'NL91ABNA0417164300',
        },
        { amount: '-200.00', endToEndId: 'E2E-2', bankRef: 'TX-2', customerRef: 'E2E-2', counterpartyName: 'Bob', counterpartyAccount: 'ACC-2' },
      ],
    });
  });

  it('reads the entries after one bigger than the reused node pool exactly as after a small one', async () => {
    // Entry nodes are reused from entry to entry and the pool is cut back after a big entry: nothing may leak across.
    const parts = Array.from({ length: 2_500 }, (_, index) => ({
      amount: '1.00',
      endToEndId: `E2E-${index}`,
      unstructured: [`part ${index} of a long batch`],
    }));
    const following = [
      {
        amount: '12.30',
        indicator: 'CRDT' as const,
        bankRef: 'REF-AFTER-BIG-ENTRY-1',
        transactions: [{ amount: '12.30', unstructured: ['one single transaction'] }],
      },
      { amount: '-4.00', indicator: 'DBIT' as const },
      { amount: '7.00', indicator: 'DBIT' as const, status: 'PDNG' },
    ];
    const documentWith = (first: EntrySpec): string =>
      camtDocument({ kind: '053', version: 8, records: [standardRecord({ balances: [], entries: [first, ...following] })] });

    const afterBig = await parse(documentWith({ amount: '2500.00', indicator: 'CRDT', transactions: parts }));
    const afterSmall = await parse(documentWith({ amount: '1.00', indicator: 'CRDT' }));

    expect(entriesOf(afterBig)[0]?.transactions).toHaveLength(2_500);
    expect(afterBig.slice(2)).toEqual(afterSmall.slice(2));
    expect(afterBig.slice(2).map((record) => record.kind)).toEqual(['entry', 'rejected', 'rejected']);
  });

  it('reads 001.02 batch parts from AmtDtls/TxAmt', async () => {
    const xml = camtDocument({
      kind: '054',
      version: 2,
      records: [standardRecord({ balances: [], entries: [{ amount: '3.00', indicator: 'CRDT', transactions: [{ amount: '1.00' }, { amount: '2.00' }] }] })],
    });

    const [entry] = entriesOf(await parse(xml));

    expect(entry?.transactions).toEqual([{ amount: '1.00' }, { amount: '2.00' }]);
  });

  it('does not itemise batch parts that carry no amount in the entry currency', async () => {
    const xml = camtDocument({
      kind: '054',
      version: 8,
      records: [
        standardRecord({
          balances: [],
          entries: [{ amount: '3.00', indicator: 'CRDT', transactions: [{ amount: '1.00', currency: 'CHF' }, { endToEndId: 'X' }] }],
        }),
      ],
    });

    const [entry] = entriesOf(await parse(xml));

    expect(entry).toMatchObject({ amount: '3.00' });
    expect(entry?.transactions).toBeUndefined();
  });

  it('signs a DBIT balance negative and uses PRCD when there is no OPBD', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 2,
      records: [
        standardRecord({
          accountCurrency: undefined,
          balances: [
            { code: 'PRCD', amount: '12.50', indicator: 'DBIT', date: '2024-12-31' },
            { code: 'CLAV', amount: '999.00', indicator: 'CRDT' },
            { code: 'CLBD', amount: '65.20', indicator: 'CRDT', date: '2025-01-02' },
          ],
        }),
      ],
    });

    const [statement] = statementsOf(await parse(xml));

    expect(statement).toMatchObject({
      currency: 'EUR',
      openingBalance: { amount: '-12.50', date: '2024-12-31' },
      closingBalance: { amount: '65.20', date: '2025-01-02' },
    });
  });

  it('prefers OPBD over PRCD', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 8,
      records: [
        standardRecord({
          balances: [
            { code: 'PRCD', amount: '1.00', indicator: 'CRDT' },
            { code: 'OPBD', amount: '2.00', indicator: 'CRDT' },
          ],
        }),
      ],
    });

    expect(statementsOf(await parse(xml))[0]?.openingBalance?.amount).toBe('2.00');
  });

  it('takes the calendar date of a DtTm as written, without converting it to UTC', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 8,
      records: [
        standardRecord({
          balances: [{ code: 'OPBD', amount: '0', indicator: 'CRDT', dateTime: '2024-12-31T23:30:00-05:00' }],
          entries: [{ amount: '1', indicator: 'CRDT', bookingDateTime: '2025-01-02T23:59:59-08:00', valueDate: '2025-01-03' }],
        }),
      ],
    });

    const records = await parse(xml);

    expect(statementsOf(records)[0]?.openingBalance).toEqual({ amount: '0.00', date: '2024-12-31' });
    expect(entriesOf(records)[0]).toMatchObject({ amount: '1.00', bookingDate: '2025-01-02', valueDate: '2025-01-03' });
  });

  it('accepts trailing zeros beyond the minor digits and rejects real excess precision', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 4,
      records: [
        standardRecord({
          balances: [],
          entries: [
            { amount: '18.150', indicator: 'CRDT' },
            { amount: '18.155', indicator: 'CRDT' },
            { amount: '7', currency: 'JPY', indicator: 'DBIT' },
          ],
        }),
      ],
    });

    const records = await parse(xml);

    expect(entriesOf(records).map((entry) => [entry.lineNo, entry.amount, entry.currency])).toEqual([
      [1, '18.15', 'EUR'],
      [3, '-7', 'JPY'],
    ]);
    expect(rejectedOf(records)).toEqual([
      {
        kind: 'rejected',
        lineNo: 2,
        reason: "entry 2: entry amount: amount '18.155' has more than 2 decimal places for EUR",
        raw: expect.stringContaining('<Amt Ccy="EUR">18.155</Amt>'),
      },
    ]);
  });

  it('writes amounts canonically: no leading zeros, no negative zero, padded to the minor digits', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 8,
      records: [
        standardRecord({
          balances: [],
          entries: [
            { amount: '007.50', indicator: 'DBIT' },
            { amount: '0.00', indicator: 'DBIT' },
            { amount: '12.3', indicator: 'CRDT' },
            { amount: '1000', currency: 'JPY', indicator: 'CRDT' },
            { amount: '5', currency: 'KWD', indicator: 'DBIT' },
            { amount: '000', currency: 'JPY', indicator: 'DBIT' },
          ],
        }),
      ],
    });

    const amounts = entriesOf(await parse(xml)).map((entry) => entry.amount);

    expect(amounts).toEqual(['-7.50', '0.00', '12.30', '1000', '-5.000', '0']);
  });

  it.each([
    ['an unknown currency', { amount: '1.00', currency: 'EURO', indicator: 'CRDT' as const }, "currency 'EURO' is not an ISO 4217 code"],
    ['a non-number amount', { amount: '12,30', indicator: 'CRDT' as const }, "amount '12,30' is not a decimal number"],
    ['a pending status', { amount: '1.00', indicator: 'CRDT' as const, status: 'PDNG' }, 'entry status PDNG (pending)'],
    [
      'an impossible date',
      { amount: '1.00', indicator: 'CRDT' as const, bookingDate: '2025-02-30' },
      "booking date (BookgDt) '2025-02-30' is not a calendar date",
    ],
  ])('rejects an entry with %s, naming the problem', async (_label, entry, reason) => {
    const xml = camtDocument({ kind: '053', version: 8, records: [standardRecord({ balances: [], entries: [entry] })] });

    const [rejected] = rejectedOf(await parse(xml));

    expect(rejected?.lineNo).toBe(1);
    expect(rejected?.reason).toContain(reason);
  });

  it('rejects a negative amount and an unknown credit/debit indicator', async () => {
    const xml = camtDocument({ kind: '053', version: 8, records: [standardRecord({ balances: [], entries: [{ amount: '1.00', indicator: 'CRDT' }] })] })
      .replace('<Amt Ccy="EUR">1.00</Amt>', '<Amt Ccy="EUR">-1.00</Amt>')
      .concat('');
    const indicatorXml = camtDocument({
      kind: '053',
      version: 8,
      records: [standardRecord({ balances: [], entries: [{ amount: '1.00', indicator: 'CRDT' }] })],
    }).replace('CRDT</CdtDbtInd>', 'CRED</CdtDbtInd>');

    expect(rejectedOf(await parse(xml))[0]?.reason).toContain('is negative');
    expect(rejectedOf(await parse(indicatorXml))[0]?.reason).toContain("'CRED' is neither CRDT nor DBIT");
  });

  it('numbers entries across statements and accounts for every one of them', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 8,
      records: [
        standardRecord(),
        standardRecord({
          id: 'STMT-2025-002',
          electronicSequence: '2',
          entries: [
            { amount: 'x', indicator: 'CRDT' },
            { amount: '1', indicator: 'CRDT' },
          ],
        }),
      ],
    });

    const records = await parse(xml);

    expect(records.map((record) => `${record.kind}:${record.kind === 'statement' ? record.statementId : record.lineNo}`)).toEqual([
      'statement:STMT-2025-001',
      'entry:1',
      'entry:2',
      'statement:STMT-2025-002',
      'rejected:3',
      'entry:4',
    ]);
  });

  it('refuses every entry of a record whose header has no account, and says why', async () => {
    const xml = camtDocument({ kind: '053', version: 8, records: [standardRecord()] }).replace(/<Acct>.*?<\/Acct>/, '');

    const records = await parse(xml);

    expect(records.map((record) => [record.kind, record.kind === 'rejected' ? record.lineNo : undefined])).toEqual([
      ['rejected', 1],
      ['rejected', 1],
      ['rejected', 2],
    ]);
    expect((records[0] as RejectedRecord).reason).toMatch(new RegExp(`^${STATEMENT_HEADER_REASON_PREFIX}.*no account identification`));
    expect((records[1] as RejectedRecord).reason).toContain('its statement header was rejected');
  });

  it('keeps a statement whose closing balance is in another currency, without that balance, and reports it', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 8,
      records: [
        standardRecord({
          balances: [
            { code: 'OPBD', amount: '1', indicator: 'CRDT' },
            { code: 'CLBD', amount: '1', indicator: 'CRDT', currency: 'SEK' },
          ],
        }),
      ],
    });

    const records = await parse(xml);

    expect(statementsOf(records)[0]?.closingBalance).toBeUndefined();
    expect(rejectedOf(records)[0]?.reason).toContain('closing balance CLBD is in SEK but the account currency is EUR');
    expect(entriesOf(records)).toHaveLength(2);
  });

  it('takes the currency of a notification without account currency or balances from its first entry', async () => {
    const xml = camtDocument({
      kind: '054',
      version: 8,
      records: [standardRecord({ accountCurrency: undefined, balances: [], entries: [{ amount: '5', currency: 'CHF', indicator: 'CRDT' }] })],
    });

    expect(statementsOf(await parse(xml))[0]?.currency).toBe('CHF');
  });

  it('reads a document handed over as one huge chunk, with astral characters across the cut points', async () => {
    const remittance = '😀'.repeat(20_000);
    const entries = Array.from({ length: 40 }, () => ({ amount: '1.00', indicator: 'CRDT' as const, additionalInfo: remittance }));
    const xml = camtDocument({ kind: '053', version: 8, records: [standardRecord({ balances: [], entries })] });

    const records = await parse(xml, xml.length);

    expect(entriesOf(records).map((entry) => entry.remittance === remittance)).toEqual(entries.map(() => true));
  });

  it('skips blank lines before the XML declaration', async () => {
    const records = await parse(`\n\n  ${camtDocument({ kind: '053', version: 8, records: [standardRecord()] })}`, 1);

    expect(records).toHaveLength(3);
  });

  it('emits a statement without entries', async () => {
    const records = await parse(camtDocument({ kind: '053', version: 8, records: [standardRecord({ entries: [] })] }));

    expect(records).toEqual([{ ...EXPECTED_STATEMENT, format: 'camt.053' }]);
  });

  it('reads the account from Othr/Id and the sequence from LglSeqNb', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 8,
      records: [standardRecord({ iban: undefined, otherAccountId: '0532013000', electronicSequence: undefined, legalSequence: '77' })],
    });

    expect(statementsOf(await parse(xml))[0]).toMatchObject({ account: '0532013000', sequence: '77' });
  });

  it('uses the proprietary bank transaction code when there is no ISO domain', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 8,
      records: [standardRecord({ entries: [{ amount: '1', indicator: 'CRDT', proprietaryCode: 'NMSC+051' }] })],
    });

    expect(entriesOf(await parse(xml))[0]?.bankTxCode).toBe('NMSC+051');
  });

  it('decodes entities and CDATA in text', async () => {
    const xml = camtDocument({
      kind: '053',
      version: 8,
      records: [standardRecord({ entries: [{ amount: '1', indicator: 'CRDT', additionalInfo: 'A & B <C>' }] })],
    }).replace('</AddtlNtryInf>', '<![CDATA[ & more]]></AddtlNtryInf>');

    expect(entriesOf(await parse(xml))[0]?.remittance).toBe('A & B <C> & more');
  });

  it('accounts for an Ntry misplaced inside a balance', async () => {
    const xml = camtDocument({ kind: '053', version: 8, records: [standardRecord()] }).replace('<Bal><Tp>', '<Bal><Ntry/><Tp>');

    const records = await parse(xml);

    expect(rejectedOf(records).map((record) => [record.lineNo, record.reason])).toEqual([
      [2, 'statement header: <Bal> is unusable: it contains an Ntry element'],
      [1, 'Ntry inside <Bal>; not read'],
    ]);
    expect(entriesOf(records).map((entry) => entry.lineNo)).toEqual([2, 3]);
  });

  it('rejects an Ntry outside any statement', async () => {
    const xml = camtDocument({ kind: '053', version: 8, records: [standardRecord({ entries: [] })] }).replace(
      '</BkToCstmrStmt>',
      `${camtEntryXml({ amount: '1', indicator: 'CRDT' }, 8)}</BkToCstmrStmt>`,
    );

    const records = await parse(xml);

    expect(rejectedOf(records)).toEqual([expect.objectContaining({ lineNo: 1, reason: expect.stringContaining('Ntry outside a Stmt') })]);
  });

  describe('XML readers', () => {
    const xml = camtDocument({ kind: '053', version: 8, records: [standardRecord(), standardRecord({ id: 'STMT-2', electronicSequence: '2' })] });

    it('reads a document declaring XML 1.1 through saxes, with the same records, even when the declaration is cut', async () => {
      const xml11 = xml.replace(/^<\?xml version="1\.0"/, '<?xml version="1.1"');
      expect(xml11).not.toBe(xml);

      for (const chunkLength of [3, 4096]) expect(await parse(xml11, chunkLength)).toEqual(await parse(xml));
      // XML 1.1 line-end rules (NEL is a line end) show that saxes read it; XML 1.0 keeps NEL as a character.
      const withNel = (text: string): string => text.replace('withdrawal ', 'with\u0085drawal ');
      expect(entriesOf(await parse(withNel(xml11), 3)).map((entry) => entry.remittance)).toContainEqual(expect.stringContaining('with\ndrawal'));
      expect(entriesOf(await parse(withNel(xml), 3)).map((entry) => entry.remittance)).toContainEqual(expect.stringContaining('with\u0085drawal'));
    });

    it("gives the same records through the saxes reader (the tokenizer's reference)", async () => {
      expect(await collect(parseCamt(chunksOf(xml, 50), { xmlReader: 'saxes' }))).toEqual(await parse(xml));
    });
  });

  describe('hostile and broken documents', () => {
    const valid = camtDocument({ kind: '053', version: 8, records: [standardRecord()] });

    it('refuses a DTD (XXE)', async () => {
      const xxe = valid.replace('?>', '?>\n<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>').replace('2025010200017', '&xxe;');

      await expect(parse(xxe)).rejects.toThrow(
        new UnreadableStatementError('the XML has a document type declaration (<!DOCTYPE>); DTDs and external entities are refused'),
      );
    });

    it('refuses undefined entities', async () => {
      await expect(parse(valid.replace('2025010200017', '&lol9;'))).rejects.toThrow(UnreadableStatementError);
    });

    it.each([1, 50, Math.floor(valid.length / 2), valid.length - 3])('refuses a document truncated at character %i', async (cut) => {
      await expect(parse(valid.slice(0, cut))).rejects.toThrow(UnreadableStatementError);
    });

    it('names the open elements of a truncated document', async () => {
      const cut = valid.indexOf('<RmtInf>');

      await expect(parse(valid.slice(0, cut))).rejects.toThrow(/truncated: it ends inside <Document\/BkToCstmrStmt\/Stmt\/Ntry/);
    });

    it('refuses nesting deeper than XML_DEPTH_MAX', async () => {
      const deep = `${'<A>'.repeat(XML_DEPTH_MAX)}${'</A>'.repeat(XML_DEPTH_MAX)}`;
      const xml = valid.replace('<AddtlNtryInf>', `${deep}<AddtlNtryInf>`).replace('<RmtInf>', `${deep}<RmtInf>`);

      await expect(parse(xml)).rejects.toThrow(`nested deeper than ${XML_DEPTH_MAX}`);
    });

    it('refuses an endless text without any tag', async () => {
      const parser = new CamtStreamParser();
      parser.write('<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt><Id>');
      const block = 'x'.repeat(64 * 1024);

      expect(() => {
        for (let index = 0; index < 40; index += 1) parser.write(block);
      }).toThrow(UnreadableStatementError);
    });

    it('rejects (does not crash on) an entry whose field text is too long', async () => {
      const xml = valid.replace('withdrawal ', 'w'.repeat(70 * 1024));

      const records = await parse(xml, 16 * 1024);

      expect(rejectedOf(records)[0]?.reason).toContain('text longer than');
      expect(rejectedOf(records)[0]?.raw.length).toBeLessThanOrEqual(2_001);
    });

    it('refuses a document of another type than claimed', async () => {
      await expect(collect(parseCamt(chunksOf(valid, 1000), { expectedFormat: 'camt.054' }))).rejects.toThrow('the file is camt.053, not camt.054 as claimed');
    });

    it.each([
      ['not XML at all', ':20:STATEMENT\n:25:123'],
      ['XML of another kind', '<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><x/></Document>'],
      ['a camt version from the future', '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.14"><BkToCstmrStmt/></Document>'],
      ['an empty message', '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr/></BkToCstmrStmt></Document>'],
      ['two roots', `${valid}${valid.slice(valid.indexOf('<Document'))}`],
      ['an empty input', ''],
    ])('refuses %s', async (_label, xml) => {
      await expect(parse(xml)).rejects.toThrow(UnreadableStatementError);
    });
  });
});
