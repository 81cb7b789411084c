import type { BankItem, BankTransactionPart, LedgerItem } from './items';

/**
 * Ledger entries and bank lines stored column-wise: one array per field instead of one object per item.
 * A business day is a million items on each side; as objects they are millions of small heap objects that
 * live for the whole run and that every garbage collection has to trace. As columns they are a few dozen
 * arrays of strings and numbers (repeated values such as accounts, currencies and dates shared), and the
 * engine reads the fields it needs by index. `item(index)` rebuilds the object form where one is needed
 * (explaining a break, hashing the inputs), which concerns a few items, not all.
 */
/**
 * Signed minor units, one per item: a BigInt64Array (8 bytes a value, no heap object) while every value fits in
 * 64 bits, which is every real amount; from the first one that does not, a plain array of bigints, so that
 * amounts stay exact whatever their size.
 */
export class AmountColumn {
  private packed: BigInt64Array | undefined = new BigInt64Array(1024);
  private wide: bigint[] | undefined;
  private size = 0;

  get length(): number {
    return this.size;
  }

  at(index: number): bigint {
    return this.packed !== undefined ? this.packed[index]! : this.wide![index]!;
  }

  push(value: bigint): void {
    const packed = this.packed;
    if (packed !== undefined) {
      if (value >= INT64_MIN && value <= INT64_MAX) {
        if (this.size === packed.length) {
          const grown = new BigInt64Array(packed.length * 2);
          grown.set(packed);
          this.packed = grown;
        }
        this.packed![this.size] = value;
        this.size += 1;
        return;
      }
      this.wide = Array.from(packed.subarray(0, this.size));
      this.packed = undefined;
    }
    this.wide!.push(value);
    this.size += 1;
  }

  toArray(): bigint[] {
    const out: bigint[] = [];
    for (let index = 0; index < this.size; index += 1) out.push(this.at(index));
    return out;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export class LedgerColumns {
  readonly entryId: string[] = [];
  readonly account: string[] = [];
  readonly amountMinor = new AmountColumn();
  readonly currency: string[] = [];
  readonly valueDate: string[] = [];
  readonly reference: (string | undefined)[] = [];
  readonly subAccount: (string | undefined)[] = [];
  readonly bookingDate: (string | undefined)[] = [];
  readonly description: (string | undefined)[] = [];
  readonly kind: (string | undefined)[] = [];
  readonly batchReference: (string | undefined)[] = [];
  /** Entries written into `reserve`d columns, -1 when not reserving. */
  private filled = -1;

  static of(items: readonly LedgerItem[]): LedgerColumns {
    const columns = new LedgerColumns();
    for (const item of items) columns.push(item);
    return columns;
  }

  get length(): number {
    return this.filled >= 0 ? this.filled : this.entryId.length;
  }

  /**
   * Sizes the columns for about `capacity` entries at once (a reader that can estimate the count). V8 grows a
   * pushed-to array of a million elements through dozens of ever larger copies, each a new large object that
   * the old generation must account for; one allocation per column costs a third of that. `trim()` ends it.
   */
  reserve(capacity: number): void {
    if (this.filled >= 0 || capacity <= this.entryId.length) return;
    this.filled = this.entryId.length;
    for (const column of this.reservedColumns()) column.length = capacity;
  }

  /** Cuts reserved columns to the entries written (in place); nothing when not reserving. */
  trim(): void {
    if (this.filled < 0) return;
    const count = this.filled;
    this.filled = -1;
    for (const column of this.reservedColumns()) column.length = count;
  }

  private reservedColumns(): unknown[][] {
    return [this.entryId, this.account, this.currency, this.valueDate, this.reference, this.bookingDate, this.batchReference];
  }

  /**
   * `keepDescriptive: false` leaves out what matching never reads: subAccount, description, kind. Those columns
   * then stay short (a missing index reads as undefined) rather than holding a million undefined slots each.
   */
  push(item: LedgerItem, keepDescriptive = true): void {
    if (this.filled >= 0) {
      if (this.filled < this.entryId.length) {
        this.set(this.filled, item, keepDescriptive);
        this.filled += 1;
        return;
      }
      this.trim();
    }
    const index = this.entryId.length;
    this.entryId.push(item.entryId);
    this.account.push(item.account);
    this.amountMinor.push(item.amountMinor);
    this.currency.push(item.currency);
    this.valueDate.push(item.valueDate);
    this.reference.push(item.reference);
    this.bookingDate.push(item.bookingDate);
    this.batchReference.push(item.batchReference);
    if (!keepDescriptive) return;
    for (const column of [this.subAccount, this.description, this.kind]) while (column.length < index) column.push(undefined);
    this.subAccount.push(item.subAccount);
    this.description.push(item.description);
    this.kind.push(item.kind);
  }

  private set(index: number, item: LedgerItem, keepDescriptive: boolean): void {
    this.entryId[index] = item.entryId;
    this.account[index] = item.account;
    this.amountMinor.push(item.amountMinor);
    this.currency[index] = item.currency;
    this.valueDate[index] = item.valueDate;
    this.reference[index] = item.reference;
    this.bookingDate[index] = item.bookingDate;
    this.batchReference[index] = item.batchReference;
    if (!keepDescriptive) return;
    for (const column of [this.subAccount, this.description, this.kind]) while (column.length < index) column.push(undefined);
    this.subAccount.push(item.subAccount);
    this.description.push(item.description);
    this.kind.push(item.kind);
  }

  item(index: number): LedgerItem {
    const item: { -readonly [K in keyof LedgerItem]: LedgerItem[K] } = {
      entryId: this.entryId[index]!,
      account: this.account[index]!,
      amountMinor: this.amountMinor.at(index),
      currency: this.currency[index]!,
      valueDate: this.valueDate[index]!,
    };
    if (this.reference[index] !== undefined) item.reference = this.reference[index];
    if (this.subAccount[index] !== undefined) item.subAccount = this.subAccount[index];
    if (this.bookingDate[index] !== undefined) item.bookingDate = this.bookingDate[index];
    if (this.description[index] !== undefined) item.description = this.description[index];
    if (this.kind[index] !== undefined) item.kind = this.kind[index];
    if (this.batchReference[index] !== undefined) item.batchReference = this.batchReference[index];
    return item;
  }

  /** The same entries in order `order` (a permutation of the indexes). */
  permuted(order: readonly number[]): LedgerColumns {
    const out = new LedgerColumns();
    for (const index of order) out.amountMinor.push(this.amountMinor.at(index));
    for (const key of LEDGER_COLUMN_KEYS) {
      const from = this[key] as unknown[];
      const to = out[key] as unknown[];
      // A descriptive column left out on reading stays empty.
      if (from.length > 0) for (const index of order) to.push(from[index]);
    }
    return out;
  }
}

const LEDGER_COLUMN_KEYS = [
  'entryId',
  'account',
  'currency',
  'valueDate',
  'reference',
  'subAccount',
  'bookingDate',
  'description',
  'kind',
  'batchReference',
] as const satisfies readonly (keyof LedgerColumns)[];

/** Bank lines column-wise; see LedgerColumns. `id` may be set after the fact (the collector settles ids last). */
export class BankColumns {
  readonly id: string[] = [];
  readonly statementId: string[] = [];
  readonly lineNo: number[] = [];
  readonly account: string[] = [];
  readonly amountMinor = new AmountColumn();
  readonly currency: string[] = [];
  readonly valueDate: (string | undefined)[] = [];
  readonly bookingDate: (string | undefined)[] = [];
  readonly bankRef: (string | undefined)[] = [];
  readonly endToEndId: (string | undefined)[] = [];
  readonly customerRef: (string | undefined)[] = [];
  readonly remittance: (string | undefined)[] = [];
  readonly counterpartyName: (string | undefined)[] = [];
  readonly bankTxCode: (string | undefined)[] = [];
  readonly reversal: boolean[] = [];
  readonly transactions: (readonly BankTransactionPart[] | undefined)[] = [];

  static of(items: readonly BankItem[]): BankColumns {
    const columns = new BankColumns();
    for (const item of items) columns.push(item);
    return columns;
  }

  get length(): number {
    return this.id.length;
  }

  push(item: BankItem): void {
    this.id.push(item.id);
    this.statementId.push(item.statementId);
    this.lineNo.push(item.lineNo);
    this.account.push(item.account);
    this.amountMinor.push(item.amountMinor);
    this.currency.push(item.currency);
    this.valueDate.push(item.valueDate);
    this.bookingDate.push(item.bookingDate);
    this.bankRef.push(item.bankRef);
    this.endToEndId.push(item.endToEndId);
    this.customerRef.push(item.customerRef);
    this.remittance.push(item.remittance);
    this.counterpartyName.push(item.counterpartyName);
    this.bankTxCode.push(item.bankTxCode);
    this.reversal.push(item.reversal);
    this.transactions.push(item.transactions);
  }

  item(index: number): BankItem {
    const item: { -readonly [K in keyof BankItem]: BankItem[K] } = {
      id: this.id[index]!,
      statementId: this.statementId[index]!,
      lineNo: this.lineNo[index]!,
      account: this.account[index]!,
      amountMinor: this.amountMinor.at(index),
      currency: this.currency[index]!,
      reversal: this.reversal[index]!,
    };
    if (this.valueDate[index] !== undefined) item.valueDate = this.valueDate[index];
    if (this.bookingDate[index] !== undefined) item.bookingDate = this.bookingDate[index];
    if (this.bankRef[index] !== undefined) item.bankRef = this.bankRef[index];
    if (this.endToEndId[index] !== undefined) item.endToEndId = this.endToEndId[index];
    if (this.customerRef[index] !== undefined) item.customerRef = this.customerRef[index];
    if (this.remittance[index] !== undefined) item.remittance = this.remittance[index];
    if (this.counterpartyName[index] !== undefined) item.counterpartyName = this.counterpartyName[index];
    if (this.bankTxCode[index] !== undefined) item.bankTxCode = this.bankTxCode[index];
    if (this.transactions[index] !== undefined) item.transactions = this.transactions[index];
    return item;
  }

  permuted(order: readonly number[]): BankColumns {
    const out = new BankColumns();
    for (const index of order) out.amountMinor.push(this.amountMinor.at(index));
    for (const key of BANK_COLUMN_KEYS) {
      const from = this[key] as unknown[];
      const to = out[key] as unknown[];
      for (const index of order) to.push(from[index]);
    }
    return out;
  }
}

const BANK_COLUMN_KEYS = [
  'id',
  'statementId',
  'lineNo',
  'account',
  'currency',
  'valueDate',
  'bookingDate',
  'bankRef',
  'endToEndId',
  'customerRef',
  'remittance',
  'counterpartyName',
  'bankTxCode',
  'reversal',
  'transactions',
] as const satisfies readonly (keyof BankColumns)[];
