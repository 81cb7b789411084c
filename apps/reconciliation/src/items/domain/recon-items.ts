import type { BankLineReceivedV1, LedgerTransactionPostedV1 } from '@recon/contracts';
import type { BankItem, LedgerItem, RuleSet } from '@recon/matching';
import { normalisedReferenceKey, textReferenceKeys } from '@recon/matching';
import { Money } from '@recon/money';

/** Reference-like words looked for in a bank line's free text: as the engine's ref-in-text rule reads them. */
export const TEXT_KEY_LENGTH_MIN = 6;
export const TEXT_TOKENS_JOINED_MAX = 4;
/** Keys stored per bank line: a long remittance text yields many joined-word keys; beyond this they are not indexed. */
export const BANK_REF_KEYS_MAX = 200;

export interface CustodyAccountRef {
  readonly bankAccount: string;
  readonly currency: string;
}

/** A ledger entry as this service stores it: one line of a transaction on a custody account. */
export interface LedgerItemRow {
  readonly entryId: string;
  readonly bankAccount: string;
  readonly currency: string;
  readonly amountMinor: bigint;
  readonly valueDate: string;
  readonly reference: string | undefined;
  readonly refKey: string | undefined;
  readonly batchReference: string | undefined;
  readonly batchRefKey: string | undefined;
  readonly subAccount: string | undefined;
  readonly description: string | undefined;
  readonly kind: string | undefined;
}

export interface BankItemRow {
  readonly lineId: string;
  readonly fileId: string;
  readonly statementId: string;
  readonly lineNo: number;
  readonly bankAccount: string;
  readonly currency: string;
  readonly amountMinor: bigint;
  readonly valueDate: string | undefined;
  readonly bookingDate: string | undefined;
  readonly effectiveDate: string;
  readonly bankRef: string | undefined;
  readonly endToEndId: string | undefined;
  readonly customerRef: string | undefined;
  readonly bankTxCode: string | undefined;
  readonly counterpartyName: string | undefined;
  readonly remittance: string | undefined;
  readonly reversal: boolean;
  readonly transactions: readonly { readonly amountMinor: bigint; readonly endToEndId?: string; readonly remittance?: string }[] | undefined;
  readonly refKeys: readonly string[];
  readonly receivedAt: string;
}

export class UnknownCustodyAccountError extends Error {
  constructor(readonly accountId: string) {
    super(`custody account ${accountId} is not known yet (its ledger.account.opened has not been processed)`);
    this.name = 'UnknownCustodyAccountError';
  }
}

/**
 * The reconciliation items of one posted transaction: each line on a custody account, signed from the custody
 * account's side (a debit of custody is money in, +), with the id `<transactionId>:<lineNo>` (1-based), the
 * same `entry_id` as the ledger's CSV export.
 */
export function ledgerItemsOfTransaction(
  transaction: LedgerTransactionPostedV1,
  custodyAccountOf: (accountId: string) => CustodyAccountRef | undefined,
  ignoredReferences: ReadonlySet<string>,
): LedgerItemRow[] {
  const items: LedgerItemRow[] = [];
  transaction.lines.forEach((line, index) => {
    if (line.accountKind !== 'custody') return;
    const custody = custodyAccountOf(line.accountId);
    if (custody === undefined) throw new UnknownCustodyAccountError(line.accountId);
    const magnitudeMinor = Money.parse(line.amount, line.currency).amountMinor;
    const reference = transaction.reference.trim() === '' ? undefined : transaction.reference;
    items.push({
      entryId: `${transaction.transactionId}:${index + 1}`,
      bankAccount: custody.bankAccount,
      currency: line.currency,
      amountMinor: line.side === 'debit' ? magnitudeMinor : -magnitudeMinor,
      valueDate: transaction.valueDate,
      reference,
      refKey: normalisedReferenceKey(reference, ignoredReferences),
      batchReference: transaction.batchReference,
      batchRefKey: normalisedReferenceKey(transaction.batchReference, ignoredReferences),
      subAccount: undefined,
      description: transaction.description,
      kind: undefined,
    });
  });
  return items;
}

export function bankItemOfLine(line: BankLineReceivedV1, ignoredReferences: ReadonlySet<string>): BankItemRow {
  const transactions = line.transactions?.map((part) => ({
    amountMinor: Money.parse(part.amount, line.currency).amountMinor,
    ...(part.endToEndId === undefined ? {} : { endToEndId: part.endToEndId }),
    ...(part.remittance === undefined ? {} : { remittance: part.remittance }),
  }));
  return {
    lineId: line.lineId,
    fileId: line.fileId,
    statementId: line.statementId,
    lineNo: line.lineNo,
    bankAccount: line.account,
    currency: line.currency,
    amountMinor: Money.parse(line.amount, line.currency).amountMinor,
    valueDate: line.valueDate,
    bookingDate: line.bookingDate,
    effectiveDate: line.valueDate ?? line.bookingDate ?? line.receivedAt.slice(0, 10),
    bankRef: line.bankRef,
    endToEndId: line.endToEndId,
    customerRef: line.customerRef,
    bankTxCode: line.bankTxCode,
    counterpartyName: line.counterpartyName,
    remittance: line.remittance,
    reversal: line.reversal,
    transactions,
    refKeys: bankReferenceKeys(line, ignoredReferences),
    receivedAt: line.receivedAt,
  };
}

/** Every key under which a ledger entry could name this line: its references, and reference-like words of its texts. */
export function bankReferenceKeys(
  line: Pick<BankLineReceivedV1, 'bankRef' | 'endToEndId' | 'customerRef' | 'remittance' | 'transactions'>,
  ignoredReferences: ReadonlySet<string>,
): string[] {
  const keys = new Set<string>();
  for (const reference of [line.endToEndId, line.customerRef, line.bankRef, ...(line.transactions ?? []).map((part) => part.endToEndId)]) {
    const key = normalisedReferenceKey(reference, ignoredReferences);
    if (key !== undefined) keys.add(key);
  }
  textReferenceKeys(line.remittance, TEXT_TOKENS_JOINED_MAX, TEXT_KEY_LENGTH_MIN, keys);
  for (const part of line.transactions ?? []) textReferenceKeys(part.remittance, TEXT_TOKENS_JOINED_MAX, TEXT_KEY_LENGTH_MIN, keys);
  return [...keys].slice(0, BANK_REF_KEYS_MAX);
}

/** The keys under which a ledger entry looks for its bank partner: reference, batch reference, truncated prefixes. */
export function ledgerLookupKeys(item: Pick<LedgerItemRow, 'refKey' | 'batchRefKey'>, ruleSet: RuleSet): string[] {
  const keys = new Set<string>();
  if (item.refKey !== undefined) {
    keys.add(item.refKey);
    for (const rule of ruleSet.rules) {
      if (rule.type !== 'ref-truncated') continue;
      for (const length of rule.truncatedLengths) if (item.refKey.length > length) keys.add(item.refKey.slice(0, length));
    }
  }
  if (item.batchRefKey !== undefined) keys.add(item.batchRefKey);
  return [...keys];
}

export function ignoredReferencesOf(ruleSet: RuleSet): ReadonlySet<string> {
  return new Set(ruleSet.ignoredReferences.map((reference) => reference.toUpperCase()));
}

/** Value-date tolerance of the widest rule: amount-only candidates further apart can never match. */
export function valueDateToleranceDaysMax(ruleSet: RuleSet): number {
  return Math.max(0, ...ruleSet.rules.map((rule) => rule.valueDateToleranceDays));
}

/** Database rows (as loaded) to the engine's items. */
export interface LedgerItemRecord {
  entry_id: string;
  bank_account: string;
  currency: string;
  amount_minor: string;
  value_date: string;
  reference: string | null;
  batch_reference: string | null;
  sub_account: string | null;
  description: string | null;
  kind: string | null;
}

export interface BankItemRecord {
  line_id: string;
  item_ref: string;
  statement_id: string;
  line_no: number;
  bank_account: string;
  currency: string;
  amount_minor: string;
  value_date: string | null;
  booking_date: string | null;
  effective_date: string;
  bank_ref: string | null;
  end_to_end_id: string | null;
  customer_ref: string | null;
  bank_tx_code: string | null;
  counterparty_name: string | null;
  remittance: string | null;
  reversal: boolean;
  transactions: { amountMinor: string; endToEndId?: string; remittance?: string }[] | null;
}

export function engineLedgerItemOf(row: LedgerItemRecord): LedgerItem {
  return {
    entryId: row.entry_id,
    account: row.bank_account,
    amountMinor: BigInt(row.amount_minor),
    currency: row.currency,
    valueDate: row.value_date,
    ...(row.reference === null ? {} : { reference: row.reference }),
    ...(row.batch_reference === null ? {} : { batchReference: row.batch_reference }),
    ...(row.sub_account === null ? {} : { subAccount: row.sub_account }),
    ...(row.description === null ? {} : { description: row.description }),
    ...(row.kind === null ? {} : { kind: row.kind }),
  };
}

export function engineBankItemOf(row: BankItemRecord): BankItem {
  const optional = <K extends string>(key: K, value: string | null) => (value === null ? {} : ({ [key]: value } as Record<K, string>));
  return {
    id: row.item_ref,
    statementId: row.statement_id,
    lineNo: row.line_no,
    account: row.bank_account,
    amountMinor: BigInt(row.amount_minor),
    currency: row.currency,
    ...optional('valueDate', row.value_date),
    ...optional('bookingDate', row.booking_date),
    ...optional('bankRef', row.bank_ref),
    ...optional('endToEndId', row.end_to_end_id),
    ...optional('customerRef', row.customer_ref),
    ...optional('remittance', row.remittance),
    ...optional('counterpartyName', row.counterparty_name),
    ...optional('bankTxCode', row.bank_tx_code),
    reversal: row.reversal,
    ...(row.transactions === null
      ? {}
      : {
          transactions: row.transactions.map((part) => ({
            amountMinor: BigInt(part.amountMinor),
            ...(part.endToEndId === undefined ? {} : { endToEndId: part.endToEndId }),
            ...(part.remittance === undefined ? {} : { remittance: part.remittance }),
          })),
        }),
  };
}

/** The stored shape of a row just inserted, without reading it back. */
export function ledgerRecordOf(row: LedgerItemRow): LedgerItemRecord {
  return {
    entry_id: row.entryId,
    bank_account: row.bankAccount,
    currency: row.currency,
    amount_minor: row.amountMinor.toString(),
    value_date: row.valueDate,
    reference: row.reference ?? null,
    batch_reference: row.batchReference ?? null,
    sub_account: row.subAccount ?? null,
    description: row.description ?? null,
    kind: row.kind ?? null,
  };
}

export function bankRecordOf(row: BankItemRow, itemRef: string): BankItemRecord {
  return {
    line_id: row.lineId,
    item_ref: itemRef,
    statement_id: row.statementId,
    line_no: row.lineNo,
    bank_account: row.bankAccount,
    currency: row.currency,
    amount_minor: row.amountMinor.toString(),
    value_date: row.valueDate ?? null,
    booking_date: row.bookingDate ?? null,
    effective_date: row.effectiveDate,
    bank_ref: row.bankRef ?? null,
    end_to_end_id: row.endToEndId ?? null,
    customer_ref: row.customerRef ?? null,
    bank_tx_code: row.bankTxCode ?? null,
    counterparty_name: row.counterpartyName ?? null,
    remittance: row.remittance ?? null,
    reversal: row.reversal,
    transactions: row.transactions === undefined ? null : row.transactions.map((part) => ({ ...part, amountMinor: part.amountMinor.toString() })),
  };
}
