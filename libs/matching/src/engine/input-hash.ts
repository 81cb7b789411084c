import { createHash } from 'node:crypto';
import type { BankColumns, LedgerColumns } from '../model/columns';

/**
 * The canonical input hashes of a run (`RunRecord.ledgerHash`/`bankHash` when the caller has no file hashes):
 * SHA-256 of one line per item, in index order. Fields are joined by TAB and items by LF; free text is
 * JSON-quoted so that a TAB or LF inside it cannot shift fields, and an absent field reads '-'.
 */

/** UTF-8 bytes gathered before one digest update: small enough that nothing of it outlives a young collection. */
const HASH_BLOCK_BYTES = 1 << 16;

const SAFE_INTEGER_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const TAB = 0x09;
const LF = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HYPHEN = 0x2d;
const SLASH = 0x2f;
const SEMICOLON = 0x3b;

/**
 * The hashed text, written as UTF-8 straight into a reused block and fed to SHA-256 a block at a time. The bytes are
 * those of hashing the text as one string (items joined into blocks of strings, as this first did): every field is
 * encoded on its own, which is the same because fields are separated by ASCII, so no surrogate pair spans two. Two
 * million lines built as strings made some forty pieces each (one string per quoted field, one per concatenation),
 * and collecting them cost more than the hash; here a line allocates only its number texts.
 */
class HashedText {
  private readonly hash = createHash('sha256');
  private readonly block = Buffer.allocUnsafe(HASH_BLOCK_BYTES);
  private used = 0;

  /** One ASCII character. */
  char(code: number): void {
    if (this.used === HASH_BLOCK_BYTES) this.flush();
    this.block[this.used] = code;
    this.used += 1;
  }

  /** `text` encoded as hashing the string encodes it (UTF-8, a lone surrogate as U+FFFD). */
  text(text: string): void {
    const count = text.length;
    // A UTF-16 code unit takes at most 3 bytes in UTF-8 (a surrogate pair, two units, takes 4).
    if (this.used + 3 * count > HASH_BLOCK_BYTES) {
      this.flush();
      if (3 * count > HASH_BLOCK_BYTES) {
        this.hash.update(text);
        return;
      }
    }
    const block = this.block;
    let used = this.used;
    for (let at = 0; at < count; at += 1) {
      const code = text.charCodeAt(at);
      if (code >= 0x80) {
        // Not ASCII: Node's own encoder, the one hashing a string uses, writes the whole text.
        this.used += block.write(text, this.used, 'utf8');
        return;
      }
      block[used] = code;
      used += 1;
    }
    this.used = used;
  }

  /** `String(value)` without making the string: an integer within ±(2^53 - 1) is written digit by digit. */
  integer(value: bigint | number): void {
    const safe = typeof value === 'bigint' ? value <= SAFE_INTEGER_MAX && value >= -SAFE_INTEGER_MAX : Number.isSafeInteger(value);
    if (!safe) {
      this.text(String(value));
      return;
    }
    let rest = Number(value);
    // A sign and the 16 digits of Number.MAX_SAFE_INTEGER.
    if (this.used + 17 > HASH_BLOCK_BYTES) this.flush();
    const block = this.block;
    if (rest < 0) {
      block[this.used] = HYPHEN;
      this.used += 1;
      rest = -rest;
    }
    let digitCount = 1;
    for (let power = 10; power <= rest; power *= 10) digitCount += 1;
    for (let at = this.used + digitCount - 1; at >= this.used; at -= 1) {
      block[at] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
    this.used += digitCount;
  }

  /**
   * `JSON.stringify(text)`, or '-' for an absent field. Printable ASCII without '"' and '\\' is quoted as it is,
   * which is what JSON.stringify does; anything else (an escape, a non-ASCII character) is left to JSON.stringify.
   */
  quoted(text: string | undefined): void {
    if (text === undefined) {
      this.char(HYPHEN);
      return;
    }
    if (typeof text !== 'string') {
      this.text(String(JSON.stringify(text)));
      return;
    }
    const count = text.length;
    if (this.used + count + 2 > HASH_BLOCK_BYTES) {
      this.flush();
      if (count + 2 > HASH_BLOCK_BYTES) {
        this.text(JSON.stringify(text));
        return;
      }
    }
    const block = this.block;
    let used = this.used;
    block[used] = QUOTE;
    used += 1;
    for (let at = 0; at < count; at += 1) {
      const code = text.charCodeAt(at);
      if (code < 0x20 || code === QUOTE || code === BACKSLASH || code >= 0x80) {
        this.text(JSON.stringify(text));
        return;
      }
      block[used] = code;
      used += 1;
    }
    block[used] = QUOTE;
    this.used = used + 1;
  }

  digest(): string {
    this.flush();
    return this.hash.digest('hex');
  }

  private flush(): void {
    if (this.used > 0) this.hash.update(this.block.subarray(0, this.used));
    this.used = 0;
  }
}

/**
 * SHA-256 of one line per entry: entryId, account, amount, currency, value date, reference, subAccount, booking
 * date, description, kind, batchReference. Reads the columns directly (as `item(index)` would, an absent field is
 * undefined either way) rather than building an object per entry.
 */
export function hashLedger(ledger: LedgerColumns): string {
  const out = new HashedText();
  hashLedgerItems(ledger, out, 0, ledger.length);
  return out.digest();
}

/** `hashLedger`'s lines of the entries in [from, to), written to `out`. */
function hashLedgerItems(ledger: LedgerColumns, out: HashedText, from: number, to: number): void {
  const { entryId, account, amountMinor, currency, valueDate, reference, subAccount, bookingDate, description, kind, batchReference } = ledger;
  for (let index = from; index < to; index += 1) {
    out.quoted(entryId[index]);
    out.char(TAB);
    out.quoted(account[index]);
    out.char(TAB);
    out.integer(amountMinor.at(index));
    out.char(TAB);
    out.text(String(currency[index]));
    out.char(TAB);
    out.text(String(valueDate[index]));
    out.char(TAB);
    out.quoted(reference[index]);
    out.char(TAB);
    out.quoted(subAccount[index]);
    out.char(TAB);
    out.text(bookingDate[index] ?? '-');
    out.char(TAB);
    out.quoted(description[index]);
    out.char(TAB);
    out.quoted(kind[index]);
    out.char(TAB);
    out.quoted(batchReference[index]);
    out.char(LF);
  }
}

/**
 * As `hashLedger`, for bank lines: id, statementId, lineNo, account, amount, currency, value and booking dates,
 * bankRef, endToEndId, customerRef, remittance, counterpartyName, bankTxCode, reversal, and a batch line's parts
 * as `amount/endToEndId/remittance` joined by ';'.
 */
export function hashBank(bank: BankColumns): string {
  const out = new HashedText();
  hashBankItems(bank, out, 0, bank.length);
  return out.digest();
}

/** `hashBank`'s lines of the lines in [from, to), written to `out`. */
function hashBankItems(bank: BankColumns, out: HashedText, from: number, to: number): void {
  const {
    id,
    statementId,
    lineNo,
    account,
    amountMinor,
    currency,
    valueDate,
    bookingDate,
    bankRef,
    endToEndId,
    customerRef,
    remittance,
    counterpartyName,
    bankTxCode,
    reversal,
    transactions,
  } = bank;
  for (let index = from; index < to; index += 1) {
    out.quoted(id[index]);
    out.char(TAB);
    out.quoted(statementId[index]);
    out.char(TAB);
    out.integer(lineNo[index]!);
    out.char(TAB);
    out.quoted(account[index]);
    out.char(TAB);
    out.integer(amountMinor.at(index));
    out.char(TAB);
    out.text(String(currency[index]));
    out.char(TAB);
    out.text(valueDate[index] ?? '-');
    out.char(TAB);
    out.text(bookingDate[index] ?? '-');
    out.char(TAB);
    out.quoted(bankRef[index]);
    out.char(TAB);
    out.quoted(endToEndId[index]);
    out.char(TAB);
    out.quoted(customerRef[index]);
    out.char(TAB);
    out.quoted(remittance[index]);
    out.char(TAB);
    out.quoted(counterpartyName[index]);
    out.char(TAB);
    out.quoted(bankTxCode[index]);
    out.char(TAB);
    out.text(String(reversal[index]));
    out.char(TAB);
    const parts = transactions[index];
    if (parts !== undefined) {
      for (let at = 0; at < parts.length; at += 1) {
        const part = parts[at]!;
        if (at > 0) out.char(SEMICOLON);
        out.integer(part.amountMinor);
        out.char(SLASH);
        out.quoted(part.endToEndId);
        out.char(SLASH);
        out.quoted(part.remittance);
      }
    }
    out.char(LF);
  }
}

/**
 * `hashLedger` and `hashBank` of one run's inputs, made a slice at a time: `step(items)` hashes up to that many more
 * items (the ledger's, then the bank's), so that a caller can hash while it waits on something else (the service,
 * while Postgres stores the run's matches) instead of all at once. The digests are those of `hashLedger`/`hashBank`.
 */
export class InputHashes {
  private readonly ledgerText = new HashedText();
  private readonly bankText = new HashedText();
  private ledgerHashed = 0;
  private bankHashed = 0;
  private digests: { readonly ledger: string; readonly bank: string } | undefined;

  constructor(
    private readonly ledger: LedgerColumns,
    private readonly bank: BankColumns,
  ) {}

  /** Hashes up to `items` more items; true once every item is hashed. */
  step(items: number): boolean {
    let left = items;
    if (this.ledgerHashed < this.ledger.length && left > 0) {
      const to = Math.min(this.ledger.length, this.ledgerHashed + left);
      hashLedgerItems(this.ledger, this.ledgerText, this.ledgerHashed, to);
      left -= to - this.ledgerHashed;
      this.ledgerHashed = to;
    }
    if (this.bankHashed < this.bank.length && left > 0) {
      const to = Math.min(this.bank.length, this.bankHashed + left);
      hashBankItems(this.bank, this.bankText, this.bankHashed, to);
      this.bankHashed = to;
    }
    return this.ledgerHashed === this.ledger.length && this.bankHashed === this.bank.length;
  }

  /** Both digests, hashing whatever is left first. */
  result(): { readonly ledger: string; readonly bank: string } {
    if (this.digests === undefined) {
      this.step(Number.POSITIVE_INFINITY);
      this.digests = { ledger: this.ledgerText.digest(), bank: this.bankText.digest() };
    }
    return this.digests;
  }
}
