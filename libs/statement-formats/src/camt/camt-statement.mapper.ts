import { type Money, isCurrencyCode } from '@recon/money';
import type { DatedAmount, StatementRecord } from '../canonical';
import { CamtFieldError, accountIdOf, creditDebitOf, dateChoiceOf, isoDateOf, moneyOf, signed } from './camt-fields';
import type { CamtFormat } from './camt-message-type';
import { type XmlNode, childOf, detached, textAt } from './xml-node';

/** The children of one Stmt/Rpt/Ntfctn that come before its entries and that the mapping reads. */
export const CAMT_HEADER_ELEMENTS: ReadonlySet<string> = new Set(['Id', 'ElctrncSeqNb', 'LglSeqNb', 'FrToDt', 'Acct', 'Bal']);

export interface CamtStatementHeader {
  readonly nodes: XmlNode[];
}

export interface MappedStatementHeader {
  /** Undefined when the header is unusable; `fatalReason` then says why and every entry is refused. */
  readonly statement: StatementRecord | undefined;
  readonly fatalReason: string | undefined;
  /** Non-fatal problems (an unreadable balance): the statement is kept without that field. */
  readonly problems: readonly string[];
}

const OPENING_BALANCE_CODES = ['OPBD', 'PRCD'] as const;
const CLOSING_BALANCE_CODE = 'CLBD';

function balanceCodeOf(balance: XmlNode): string | undefined {
  return textAt(balance, 'Tp', 'CdOrPrtry', 'Cd') ?? textAt(balance, 'Tp', 'CdOrPrtry', 'Prtry') ?? textAt(balance, 'Tp', 'Cd');
}

function findBalance(balances: readonly XmlNode[], code: string): XmlNode | undefined {
  return balances.find((balance) => balanceCodeOf(balance) === code);
}

function optionalDate(text: string | undefined, what: string, problems: string[]): string | undefined {
  if (text === undefined) return undefined;
  try {
    return isoDateOf(text, what);
  } catch (error: unknown) {
    if (error instanceof CamtFieldError) {
      problems.push(error.message);
      return undefined;
    }
    throw error;
  }
}

/**
 * Builds the canonical statement from a record's header. Opening balance is OPBD, else PRCD (German banks
 * send the previous closing balance instead); closing balance is CLBD; other balance types (CLAV, ITBD,
 * FWAV...) are not canonical fields. A DBIT balance is negative. The currency is Acct/Ccy, else the
 * currency of the opening/closing balance, else that of the first entry (`firstEntryCurrency`).
 */
export function mapCamtStatementHeader(header: CamtStatementHeader, format: CamtFormat, firstEntryCurrency: string | undefined): MappedStatementHeader {
  const nodes = header.nodes;
  const byName = (name: string): XmlNode | undefined => nodes.find((node) => node.name === name);
  const balances = nodes.filter((node) => node.name === 'Bal');
  const problems: string[] = [];
  const fatal = (reason: string): MappedStatementHeader => ({ statement: undefined, fatalReason: reason, problems });

  const statementId = textAt(byName('Id'));
  if (statementId === undefined) return fatal(`the ${format} record has no identification (Id)`);
  const account = byName('Acct');
  const accountId = accountIdOf(account);
  if (accountId === undefined) return fatal(`record '${statementId}' has no account identification (Acct/Id/IBAN or Acct/Id/Othr/Id)`);

  const openingNode = findBalance(balances, OPENING_BALANCE_CODES[0]) ?? findBalance(balances, OPENING_BALANCE_CODES[1]);
  const closingNode = findBalance(balances, CLOSING_BALANCE_CODE);
  const currency = textAt(account, 'Ccy') ?? childOf(openingNode, 'Amt')?.ccy?.trim() ?? childOf(closingNode, 'Amt')?.ccy?.trim() ?? firstEntryCurrency;
  if (currency === undefined) return fatal(`record '${statementId}' names no currency (Acct/Ccy, balances and entries carry none)`);
  if (!isCurrencyCode(currency)) return fatal(`record '${statementId}' currency '${currency.slice(0, 10)}' is not an ISO 4217 code`);

  const balanceOf = (node: XmlNode | undefined, label: string): DatedAmount | undefined => {
    if (node === undefined) return undefined;
    const what = `${label} balance ${balanceCodeOf(node) ?? ''}`.trim();
    try {
      const amount: Money = moneyOf(childOf(node, 'Amt'), what);
      if (amount.currency !== currency) throw new CamtFieldError(`${what} is in ${amount.currency} but the account currency is ${currency}`);
      const date = dateChoiceOf(childOf(node, 'Dt'), `${what} date`);
      if (date === undefined) throw new CamtFieldError(`${what} has no date (Dt)`);
      return { amount: signed(amount, creditDebitOf(node, what)).toDecimalString(), date };
    } catch (error: unknown) {
      if (error instanceof CamtFieldError) {
        problems.push(`${error.message}; the statement is kept without it`);
        return undefined;
      }
      throw error;
    }
  };

  const period = byName('FrToDt');
  const from = optionalDate(textAt(period, 'FrDtTm') ?? textAt(period, 'FrDt'), 'period start (FrToDt/FrDtTm)', problems);
  const to = optionalDate(textAt(period, 'ToDtTm') ?? textAt(period, 'ToDt'), 'period end (FrToDt/ToDtTm)', problems);
  const sequence = textAt(byName('ElctrncSeqNb')) ?? textAt(byName('LglSeqNb'));
  const openingBalance = balanceOf(openingNode, 'opening');
  const closingBalance = balanceOf(closingNode, 'closing');

  // Keys in CONTRACT.md order; absent fields are left out.
  // Texts are detached from the decoded chunk they were read from: the caller may keep them (see `detached`).
  const record: Record<string, unknown> = { kind: 'statement', format, statementId: detached(statementId), account: detached(accountId), currency };
  if (sequence !== undefined) record.sequence = detached(sequence);
  if (from !== undefined) record.from = from;
  if (to !== undefined) record.to = to;
  if (openingBalance !== undefined) record.openingBalance = openingBalance;
  if (closingBalance !== undefined) record.closingBalance = closingBalance;
  return { statement: record as unknown as StatementRecord, fatalReason: undefined, problems };
}
