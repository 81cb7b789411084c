import { createHash } from 'node:crypto';
import type { BankColumns, LedgerColumns } from '../model/columns';

/**
 * The canonical input hashes of a run (`RunRecord.ledgerHash`/`bankHash` when the caller has no file hashes):
 * SHA-256 of one line per item, in index order. Fields are joined by TAB and items by LF; free text is
 * JSON-quoted so that a TAB or LF inside it cannot shift fields, and an absent field reads '-'.
 */

/** Hash input accumulated in blocks of this many characters: one digest update per block, not per item. */
const HASH_BLOCK_CHARACTERS = 1 << 20;

function hashItems<T>(items: { readonly length: number; readonly at: (index: number) => T }, line: (item: T) => string): string {
  const hash = createHash('sha256');
  let block = '';
  for (let index = 0; index < items.length; index += 1) {
    block += line(items.at(index));
    if (block.length >= HASH_BLOCK_CHARACTERS) {
      hash.update(block);
      block = '';
    }
  }
  hash.update(block);
  return hash.digest('hex');
}

function quoted(text: string | undefined): string {
  return text === undefined ? '-' : JSON.stringify(text);
}

export function hashLedger(ledger: LedgerColumns): string {
  return hashItems(
    { length: ledger.length, at: (index) => ledger.item(index) },
    (item) =>
      `${quoted(item.entryId)}\t${quoted(item.account)}\t${item.amountMinor}\t${item.currency}\t${item.valueDate}\t${quoted(item.reference)}\t${quoted(item.subAccount)}\t${item.bookingDate ?? '-'}\t${quoted(item.description)}\t${quoted(item.kind)}\t${quoted(item.batchReference)}\n`,
  );
}

export function hashBank(bank: BankColumns): string {
  return hashItems(
    { length: bank.length, at: (index) => bank.item(index) },
    (item) =>
      `${quoted(item.id)}\t${quoted(item.statementId)}\t${item.lineNo}\t${quoted(item.account)}\t${item.amountMinor}\t${item.currency}\t${item.valueDate ?? '-'}\t${item.bookingDate ?? '-'}\t` +
      `${quoted(item.bankRef)}\t${quoted(item.endToEndId)}\t${quoted(item.customerRef)}\t${quoted(item.remittance)}\t${quoted(item.counterpartyName)}\t${quoted(item.bankTxCode)}\t${item.reversal}\t` +
      `${(item.transactions ?? []).map((part) => `${part.amountMinor}/${quoted(part.endToEndId)}/${quoted(part.remittance)}`).join(';')}\n`,
  );
}
