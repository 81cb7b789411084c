import type { Money } from '@recon/money';
import type { BatchTransaction, EntryRecord } from '../canonical';
import { CamtFieldError, type CreditDebit, accountIdOf, creditDebitOf, dateChoiceOf, moneyOf, signed, signedAmountOf } from './camt-fields';
import { type XmlNode, childOf, childrenOf, detached, nodeAt, textAt } from './xml-node';

/** Most itemised transactions (`TxDtls`) kept for one entry; a bigger batch is rejected, not truncated. */
export const TRANSACTIONS_PER_ENTRY_MAX = 10_000;

/** Placeholder banks put in EndToEndId when the payer gave none (SEPA rulebook); it is not a reference. */
const NOT_PROVIDED = 'NOTPROVIDED';

/**
 * Maps one `Ntry` subtree to the canonical entry. Throws CamtFieldError with a reason a person can act on.
 *
 * Choices (see docs/statement-formats.md):
 * - Only `BOOK` entries are statement lines. Pending (`PDNG`), information (`INFO`) and future (`FUTR`)
 *   entries are refused with a reason naming the status, in every message type, so that they are accounted
 *   for without being reconciled as booked money.
 * - `RvslInd=true`: ISO 20022 says CdtDbtInd of a reversal already gives the direction of the reversing
 *   booking, so the sign follows CdtDbtInd and `reversal` is true.
 * - One `TxDtls`: its references, parties and remittance are the entry's. Several `TxDtls` (a batch, with or
 *   without `Btch`): the entry keeps entry-level fields and lists the parts in `transactions`.
 * - customerRef is EndToEndId, else InstrId, else PmtInfId, else Btch/PmtInfId, else Btch/MsgId; a batch of
 *   several parts takes the Btch reference (the one the platform gave the bank for the whole batch).
 */
export function mapCamtEntry(ntry: XmlNode, statementId: string, lineNo: number): EntryRecord {
  const status = textAt(ntry, 'Sts', 'Cd') ?? textAt(ntry, 'Sts', 'Prtry') ?? textAt(ntry, 'Sts');
  if (status === undefined) throw new CamtFieldError('entry has no status (Sts); only booked (BOOK) entries are statement lines');
  if (status !== 'BOOK') throw new CamtFieldError(statusReason(status));

  const indicator = creditDebitOf(ntry, 'entry');
  const entryAmount = signedAmountOf(childOf(ntry, 'Amt'), indicator, 'entry amount');
  const reversalText = textAt(ntry, 'RvslInd');
  if (reversalText !== undefined && reversalText !== 'true' && reversalText !== 'false' && reversalText !== '1' && reversalText !== '0') {
    throw new CamtFieldError(`reversal indicator (RvslInd) '${reversalText.slice(0, 20)}' is neither true nor false`);
  }
  const reversal = reversalText === 'true' || reversalText === '1';
  const bookingDate = dateChoiceOf(childOf(ntry, 'BookgDt'), 'booking date (BookgDt)');
  const valueDate = dateChoiceOf(childOf(ntry, 'ValDt'), 'value date (ValDt)');

  const transactionNodes: XmlNode[] = [];
  let batch: XmlNode | undefined;
  for (let detail = ntry.firstChild; detail !== undefined; detail = detail.nextSibling) {
    if (detail.name !== 'NtryDtls') continue;
    batch ??= childOf(detail, 'Btch');
    for (let child = detail.firstChild; child !== undefined; child = child.nextSibling) if (child.name === 'TxDtls') transactionNodes.push(child);
  }
  if (transactionNodes.length > TRANSACTIONS_PER_ENTRY_MAX) {
    throw new CamtFieldError(`entry itemises ${transactionNodes.length} transactions, more than the ${TRANSACTIONS_PER_ENTRY_MAX} allowed`);
  }
  const isBatch = transactionNodes.length > 1;
  const single = isBatch ? undefined : transactionNodes[0];

  const bankRef = textAt(ntry, 'AcctSvcrRef') ?? textAt(single, 'Refs', 'AcctSvcrRef');
  const endToEndId = endToEndIdOf(single);
  const batchRef = textAt(batch, 'PmtInfId') ?? textAt(batch, 'MsgId');
  const customerRef = isBatch ? batchRef : (customerRefOf(single) ?? batchRef);
  const counterparty = isBatch ? undefined : counterpartyOf(single, indicator);
  const remittance = (single === undefined ? undefined : remittanceOf(single)) ?? textAt(ntry, 'AddtlNtryInf');
  const transactions = isBatch ? mapTransactions(transactionNodes, entryAmount.currency, indicator) : undefined;

  // Keys in CONTRACT.md order; absent fields are left out rather than set to undefined.
  const record: Record<string, unknown> = { kind: 'entry', statementId, lineNo, amount: detached(entryAmount.amount), currency: entryAmount.currency };
  if (bookingDate !== undefined) record.bookingDate = bookingDate;
  if (valueDate !== undefined) record.valueDate = valueDate;
  // Texts are detached from the decoded chunk they were read from: the caller may keep them (see `detached`).
  if (bankRef !== undefined) record.bankRef = detached(bankRef);
  if (endToEndId !== undefined) record.endToEndId = detached(endToEndId);
  if (customerRef !== undefined) record.customerRef = endToEndId === customerRef ? record.endToEndId : detached(customerRef);
  const bankTxCode = bankTxCodeOf(childOf(ntry, 'BkTxCd'));
  if (bankTxCode !== undefined) record.bankTxCode = detached(bankTxCode);
  if (counterparty?.name !== undefined) record.counterpartyName = detached(counterparty.name);
  if (counterparty?.account !== undefined) record.counterpartyAccount = detached(counterparty.account);
  if (remittance !== undefined) record.remittance = detached(remittance);
  record.reversal = reversal;
  if (transactions !== undefined && transactions.length > 0) record.transactions = transactions;
  return record as unknown as EntryRecord;
}

function statusReason(status: string): string {
  const shown = status.slice(0, 20);
  switch (status) {
    case 'PDNG':
      return `entry status PDNG (pending): not booked yet, so not a statement line; it is expected again as BOOK once the bank books it`;
    case 'INFO':
      return `entry status INFO (information only): the bank did not book it, so it is not a statement line`;
    case 'FUTR':
      return `entry status FUTR (future booking): not booked yet, so not a statement line`;
    default:
      return `entry status '${shown}' is not BOOK; only booked entries are statement lines`;
  }
}

/** "PMNT/ICDT/ESCT" from the ISO domain/family/sub-family; else the proprietary code (e.g. German "NMSC+051"). */
export function bankTxCodeOf(code: XmlNode | undefined): string | undefined {
  if (code === undefined) return undefined;
  const domain = textAt(code, 'Domn', 'Cd');
  const family = textAt(code, 'Domn', 'Fmly', 'Cd');
  const subFamily = textAt(code, 'Domn', 'Fmly', 'SubFmlyCd');
  if (domain !== undefined && family !== undefined && subFamily !== undefined) return `${domain}/${family}/${subFamily}`;
  return textAt(code, 'Prtry', 'Cd');
}

function endToEndIdOf(transaction: XmlNode | undefined): string | undefined {
  const endToEndId = textAt(transaction, 'Refs', 'EndToEndId');
  return endToEndId === NOT_PROVIDED ? undefined : endToEndId;
}

function customerRefOf(transaction: XmlNode | undefined): string | undefined {
  const instructionId = textAt(transaction, 'Refs', 'InstrId');
  const paymentInformationId = textAt(transaction, 'Refs', 'PmtInfId');
  return endToEndIdOf(transaction) ?? (instructionId === NOT_PROVIDED ? undefined : instructionId) ?? paymentInformationId;
}

/**
 * Unstructured remittance lines concatenated without separator (banks split one text mid-word across
 * `Ustrd` repetitions), else the structured creditor references, else the transaction's additional info.
 */
export function remittanceOf(transaction: XmlNode): string | undefined {
  const remittanceInformation = childOf(transaction, 'RmtInf');
  if (remittanceInformation === undefined) return textAt(transaction, 'AddtlTxInf');
  // Segments are joined as they are (a space at a segment's end is part of the text), then the whole is trimmed.
  let unstructured = '';
  for (let child = remittanceInformation.firstChild; child !== undefined; child = child.nextSibling) if (child.name === 'Ustrd') unstructured += child.text;
  unstructured = unstructured.trim();
  if (unstructured.length > 0) return unstructured;
  const references = childrenOf(remittanceInformation, 'Strd')
    .map((structured) => textAt(structured, 'CdtrRefInf', 'Ref'))
    .filter((reference): reference is string => reference !== undefined);
  if (references.length > 0) return references.join(' ');
  return textAt(transaction, 'AddtlTxInf');
}

interface Counterparty {
  readonly name: string | undefined;
  readonly account: string | undefined;
}

/**
 * The other side of the movement: the debtor for money in, the creditor for money out (by CdtDbtInd, the
 * direction of this booking). Names sit at `Dbtr/Nm` up to 001.07 and `Dbtr/Pty/Nm` from 001.08; a bank as
 * party names itself under `Agt/FinInstnId`. The ultimate party stands in when the direct one is absent.
 */
function counterpartyOf(transaction: XmlNode | undefined, indicator: CreditDebit): Counterparty | undefined {
  const parties = childOf(transaction, 'RltdPties');
  if (parties === undefined) return undefined;
  const role = indicator === 'CRDT' ? 'Dbtr' : 'Cdtr';
  const party = childOf(parties, role);
  const ultimate = childOf(parties, role === 'Dbtr' ? 'UltmtDbtr' : 'UltmtCdtr');
  const name =
    textAt(party, 'Nm') ?? textAt(party, 'Pty', 'Nm') ?? textAt(party, 'Agt', 'FinInstnId', 'Nm') ?? textAt(ultimate, 'Nm') ?? textAt(ultimate, 'Pty', 'Nm');
  const account = accountIdOf(childOf(parties, `${role}Acct`));
  if (name === undefined && account === undefined) return undefined;
  return { name, account };
}

/**
 * The parts of a batch. A part is itemised only with an amount in the entry's currency (the canonical
 * transaction has no currency of its own); when any part has none (banks that list only references, or only
 * the original foreign amount) the entry keeps its total and lists no parts rather than misreading them.
 */
function mapTransactions(nodes: readonly XmlNode[], entryCurrency: string, indicator: CreditDebit): BatchTransaction[] {
  const parts: BatchTransaction[] = [];
  for (let index = 0; index < nodes.length; index += 1) {
    const part = mapTransaction(nodes[index]!, index, nodes.length, entryCurrency, indicator);
    if (part === undefined) return [];
    parts.push(part);
  }
  return parts;
}

/** The part's amount in the entry's currency: TxDtls/Amt (001.03+) or AmtDtls/TxAmt (001.02), else the counter-value. */
function transactionAmountOf(transaction: XmlNode, entryCurrency: string, position: string): Money | undefined {
  const candidates = [
    childOf(transaction, 'Amt'),
    nodeAt(transaction, 'AmtDtls', 'TxAmt', 'Amt'),
    nodeAt(transaction, 'AmtDtls', 'CntrValAmt', 'Amt'),
    nodeAt(transaction, 'AmtDtls', 'InstdAmt', 'Amt'),
  ];
  for (const candidate of candidates) {
    if (candidate === undefined) continue;
    if (candidate.ccy?.trim() === entryCurrency) return moneyOf(candidate, `${position} amount`);
  }
  return undefined;
}

function mapTransaction(transaction: XmlNode, index: number, count: number, entryCurrency: string, entryIndicator: CreditDebit): BatchTransaction | undefined {
  const position = `batch transaction ${index + 1} of ${count}`;
  const amount = transactionAmountOf(transaction, entryCurrency, position);
  if (amount === undefined) return undefined;
  const indicator = textAt(transaction, 'CdtDbtInd') === undefined ? entryIndicator : creditDebitOf(transaction, position);
  const part: Record<string, unknown> = { amount: signed(amount, indicator).toDecimalString() };
  const endToEndId = endToEndIdOf(transaction);
  if (endToEndId !== undefined) part.endToEndId = detached(endToEndId);
  const remittance = remittanceOf(transaction);
  if (remittance !== undefined) part.remittance = detached(remittance);
  const bankRef = textAt(transaction, 'Refs', 'AcctSvcrRef');
  if (bankRef !== undefined) part.bankRef = detached(bankRef);
  const customerRef = customerRefOf(transaction);
  if (customerRef !== undefined) part.customerRef = detached(customerRef);
  const counterparty = counterpartyOf(transaction, indicator);
  if (counterparty?.name !== undefined) part.counterpartyName = detached(counterparty.name);
  if (counterparty?.account !== undefined) part.counterpartyAccount = detached(counterparty.account);
  return part as unknown as BatchTransaction;
}
