/**
 * Builds the project's own synthetic camt.052/053/054 documents for tests, in the layout of a given
 * version: the drift points between versions are reproduced on purpose (BIC vs BICFI, Dbtr/Nm vs
 * Dbtr/Pty/Nm, Sts as a code vs Sts/Cd, TxDtls amount under AmtDtls in 001.02).
 */
export type CamtKind = '052' | '053' | '054';

export interface BalanceSpec {
  readonly code: 'OPBD' | 'PRCD' | 'CLBD' | 'CLAV' | 'ITBD';
  readonly amount: string;
  readonly indicator: 'CRDT' | 'DBIT';
  readonly date?: string;
  readonly dateTime?: string;
  readonly currency?: string;
}

export interface TransactionSpec {
  readonly amount?: string;
  readonly currency?: string;
  readonly indicator?: 'CRDT' | 'DBIT';
  readonly endToEndId?: string;
  readonly instructionId?: string;
  readonly bankRef?: string;
  readonly debtorName?: string;
  readonly debtorIban?: string;
  readonly creditorName?: string;
  readonly creditorIban?: string;
  readonly creditorOtherId?: string;
  readonly unstructured?: readonly string[];
  readonly structuredRef?: string;
}

export interface EntrySpec {
  readonly amount: string;
  readonly currency?: string;
  readonly indicator: 'CRDT' | 'DBIT';
  readonly status?: string;
  readonly reversal?: boolean;
  readonly bookingDate?: string;
  readonly bookingDateTime?: string;
  readonly valueDate?: string;
  readonly bankRef?: string;
  readonly domain?: readonly [string, string, string];
  readonly proprietaryCode?: string;
  readonly batchPaymentInformationId?: string;
  readonly transactions?: readonly TransactionSpec[];
  readonly additionalInfo?: string;
}

export interface RecordSpec {
  readonly id?: string;
  readonly iban?: string;
  readonly otherAccountId?: string;
  readonly accountCurrency?: string;
  readonly electronicSequence?: string;
  readonly legalSequence?: string;
  readonly from?: string;
  readonly to?: string;
  readonly balances?: readonly BalanceSpec[];
  readonly entries: readonly EntrySpec[];
}

export interface DocumentSpec {
  readonly kind: CamtKind;
  readonly version: number;
  readonly records: readonly RecordSpec[];
  readonly encodingDeclaration?: string;
  readonly prefix?: string;
}

const MESSAGE: Readonly<Record<CamtKind, readonly [string, string]>> = {
  '052': ['BkToCstmrAcctRpt', 'Rpt'],
  '053': ['BkToCstmrStmt', 'Stmt'],
  '054': ['BkToCstmrDbtCdtNtfctn', 'Ntfctn'],
};

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An element around `content`, or nothing when there is no content. */
function element(name: string, content: string | undefined): string {
  return content === undefined || content === '' ? '' : `<${name}>${content}</${name}>`;
}

function text(name: string, value: string | undefined): string {
  return value === undefined ? '' : element(name, escapeText(value));
}

function party(role: string, name: string | undefined, version: number): string {
  if (name === undefined) return '';
  return version >= 8 ? `<${role}><Pty>${text('Nm', name)}</Pty></${role}>` : `<${role}>${text('Nm', name)}</${role}>`;
}

function account(role: string, iban: string | undefined, otherId: string | undefined): string {
  if (iban === undefined && otherId === undefined) return '';
  const id = iban !== undefined ? text('IBAN', iban) : `<Othr>${text('Id', otherId)}</Othr>`;
  return `<${role}Acct><Id>${id}</Id></${role}Acct>`;
}

function transaction(spec: TransactionSpec, version: number, entryCurrency: string): string {
  const currency = spec.currency ?? entryCurrency;
  const amountXml =
    spec.amount === undefined
      ? ''
      : version <= 2
        ? `<AmtDtls><TxAmt><Amt Ccy="${currency}">${spec.amount}</Amt></TxAmt></AmtDtls>`
        : `<Amt Ccy="${currency}">${spec.amount}</Amt>${text('CdtDbtInd', spec.indicator)}`;
  const refs = element('Refs', `${text('AcctSvcrRef', spec.bankRef)}${text('InstrId', spec.instructionId)}${text('EndToEndId', spec.endToEndId)}` || undefined);
  const parties =
    party('Dbtr', spec.debtorName, version) +
    account('Dbtr', spec.debtorIban, undefined) +
    party('Cdtr', spec.creditorName, version) +
    account('Cdtr', spec.creditorIban, spec.creditorOtherId);
  const agentBic = version <= 2 ? '<BIC>DEUTDEFF</BIC>' : '<BICFI>DEUTDEFF</BICFI>';
  const unstructured = (spec.unstructured ?? []).map((line) => text('Ustrd', line)).join('');
  const structured = spec.structuredRef === undefined ? '' : `<Strd><CdtrRefInf>${text('Ref', spec.structuredRef)}</CdtrRefInf></Strd>`;
  return (
    `<TxDtls>${refs}${amountXml}${element('RltdPties', parties || undefined)}` +
    `<RltdAgts><DbtrAgt><FinInstnId>${agentBic}</FinInstnId></DbtrAgt></RltdAgts>` +
    `${element('RmtInf', unstructured + structured || undefined)}</TxDtls>`
  );
}

export function camtEntryXml(spec: EntrySpec, version: number): string {
  const currency = spec.currency ?? 'EUR';
  const status = spec.status ?? 'BOOK';
  const statusXml = version >= 8 ? `<Sts><Cd>${status}</Cd></Sts>` : `<Sts>${status}</Sts>`;
  const booking =
    spec.bookingDateTime !== undefined ? `<BookgDt><DtTm>${spec.bookingDateTime}</DtTm></BookgDt>` : element('BookgDt', text('Dt', spec.bookingDate));
  const domain =
    spec.domain === undefined ? '' : `<Domn><Cd>${spec.domain[0]}</Cd><Fmly><Cd>${spec.domain[1]}</Cd><SubFmlyCd>${spec.domain[2]}</SubFmlyCd></Fmly></Domn>`;
  const proprietary = spec.proprietaryCode === undefined ? '' : `<Prtry><Cd>${spec.proprietaryCode}</Cd><Issr>DK</Issr></Prtry>`;
  const batch =
    spec.batchPaymentInformationId === undefined
      ? ''
      : `<Btch>${text('PmtInfId', spec.batchPaymentInformationId)}<NbOfTxs>${spec.transactions?.length ?? 0}</NbOfTxs></Btch>`;
  const transactions = (spec.transactions ?? []).map((part) => transaction(part, version, currency)).join('');
  const details = batch + transactions === '' ? '' : `<NtryDtls>${batch}${transactions}</NtryDtls>`;
  return (
    `<Ntry><Amt Ccy="${currency}">${spec.amount}</Amt><CdtDbtInd>${spec.indicator}</CdtDbtInd>` +
    `${spec.reversal === undefined ? '' : text('RvslInd', String(spec.reversal))}${statusXml}${booking}${element('ValDt', text('Dt', spec.valueDate))}` +
    `${text('AcctSvcrRef', spec.bankRef)}${element('BkTxCd', domain + proprietary || undefined)}${details}${text('AddtlNtryInf', spec.additionalInfo)}</Ntry>`
  );
}

function balance(spec: BalanceSpec, version: number): string {
  const date = spec.dateTime !== undefined ? `<DtTm>${spec.dateTime}</DtTm>` : `<Dt>${spec.date ?? '2025-01-02'}</Dt>`;
  const type = version === 1 ? `<Tp><Cd>${spec.code}</Cd></Tp>` : `<Tp><CdOrPrtry><Cd>${spec.code}</Cd></CdOrPrtry></Tp>`;
  return `<Bal>${type}<Amt Ccy="${spec.currency ?? 'EUR'}">${spec.amount}</Amt><CdtDbtInd>${spec.indicator}</CdtDbtInd><Dt>${date}</Dt></Bal>`;
}

export function camtDocument(spec: DocumentSpec): string {
  const [messageElement, recordElement] = MESSAGE[spec.kind];
  const prefix = spec.prefix === undefined ? '' : `${spec.prefix}:`;
  const namespace = `urn:iso:std:iso:20022:tech:xsd:camt.${spec.kind}.001.${String(spec.version).padStart(2, '0')}`;
  const namespaceAttribute = spec.prefix === undefined ? `xmlns="${namespace}"` : `xmlns:${spec.prefix}="${namespace}"`;
  const records = spec.records
    .map((record, index) => {
      const accountId = record.iban !== undefined ? text('IBAN', record.iban) : `<Othr>${text('Id', record.otherAccountId)}</Othr>`;
      const period =
        record.from === undefined
          ? ''
          : `<FrToDt><FrDtTm>${record.from}T00:00:00+01:00</FrDtTm><ToDtTm>${record.to ?? record.from}T23:59:59+01:00</ToDtTm></FrToDt>`;
      const body =
        `${text('Id', record.id ?? `REC-${index + 1}`)}${text('ElctrncSeqNb', record.electronicSequence)}${text('LglSeqNb', record.legalSequence)}` +
        `<CreDtTm>2025-01-02T18:00:00+01:00</CreDtTm>${period}<Acct><Id>${accountId}</Id>${text('Ccy', record.accountCurrency)}</Acct>` +
        (record.balances ?? []).map((item) => balance(item, spec.version)).join('') +
        record.entries.map((entry) => camtEntryXml(entry, spec.version)).join('\n');
      return `<${recordElement}>${body}</${recordElement}>`;
    })
    .join('\n');
  const declaration = `<?xml version="1.0" encoding="${spec.encodingDeclaration ?? 'UTF-8'}"?>`;
  const wrap = (name: string, inner: string, attributes = ''): string => `<${prefix}${name}${attributes}>${inner}</${prefix}${name}>`;
  // With a prefix every element carries it, as in files written by JAXB-style serialisers (`ns2:Ntry`).
  const prefixed = spec.prefix === undefined ? records : records.replace(/<(\/?)([A-Za-z])/g, `<$1${prefix}$2`);
  const messageName = spec.version === 1 ? `${messageElement}V01` : messageElement;
  return `${declaration}\n${wrap('Document', wrap(messageName, `${wrap('GrpHdr', `${wrap('MsgId', 'MSG-1')}`)}\n${prefixed}`), ` ${namespaceAttribute}`)}\n`;
}

/** The canonical statement + one credit + one debit, used across versions. */
export function standardRecord(overrides: Partial<RecordSpec> = {}): RecordSpec {
  return {
    id: 'STMT-2025-001',
    iban: 'DE89370400440532013000',
    accountCurrency: 'EUR',
    electronicSequence: '1',
    from: '2025-01-02',
    to: '2025-01-02',
    balances: [
      { code: 'OPBD', amount: '1000.00', indicator: 'CRDT', date: '2025-01-01' },
      { code: 'CLBD', amount: '1077.70', indicator: 'CRDT', date: '2025-01-02' },
    ],
    entries: [
      {
        amount: '22.30',
        indicator: 'DBIT',
        bookingDate: '2025-01-02',
        valueDate: '2025-01-02',
        bankRef: '2025010200017',
        domain: ['PMNT', 'ICDT', 'ESCT'],
        transactions: [
          {
            amount: '22.30',
            indicator: 'DBIT',
            endToEndId: 'PLAT-W-000123',
            creditorName: 'Jane Doe',
            creditorIban: 'FR7630006000011234567890189',
            unstructured: ['withdrawal ', 'PLAT-W-000123'],
          },
        ],
      },
      {
        amount: '100.00',
        indicator: 'CRDT',
        bookingDate: '2025-01-02',
        valueDate: '2025-01-03',
        bankRef: '2025010200018',
        domain: ['PMNT', 'RCDT', 'ESCT'],
        transactions: [
          {
            amount: '100.00',
            indicator: 'CRDT',
            endToEndId: 'NOTPROVIDED',
            instructionId: 'INSTR-9',
            debtorName: 'Max Müller',
            debtorIban: 'DE02120300000000202051',
            structuredRef: 'RF18539007547034',
          },
        ],
      },
    ],
    ...overrides,
  };
}
