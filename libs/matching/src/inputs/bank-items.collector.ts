import { isCurrencyCode, minorDigitsOf, MoneyFormatError, parseDecimalToMinor } from '@recon/money';
import type { CanonicalRecord, EntryRecord, StatementRecord } from '@recon/statement-formats';
import { isIsoDate } from '../model/iso-date';
import { BankColumns } from '../model/columns';
import type { BankItem, BankTransactionPart, RejectedLine, StatementBalance } from '../model/items';
import { InputFileError } from './input-error';
import { ownString, StringInterner } from './strings';

/** A bound on one run's bank side, as for the ledger. */
export const BANK_LINES_MAX = 5_000_000;

/** A bank item whose id is settled in `finish()`; written in place to avoid a second copy of every line. */
type Draft = { -readonly [K in keyof BankItem]: BankItem[K] };

export interface CollectedBank {
  readonly bank: BankItem[];
  readonly statements: StatementBalance[];
  readonly rejected: RejectedLine[];
}

/** `CollectedBank` with the lines column-wise (`finishColumns`): no object per line outlives the reading. */
export interface CollectedBankColumns {
  readonly bank: BankColumns;
  readonly statements: StatementBalance[];
  readonly rejected: RejectedLine[];
}

/**
 * Turns the canonical records of one or more bank files into BankItems, statement balances and rejected
 * lines. Entries take account and currency from the statement they sit in. Ids are assigned at the end:
 * the bankRef where it names exactly one line, else `statementId:lineNo` (a bankRef seen on several lines
 * would make the outputs ambiguous), with `#2`, `#3` appended if even that repeats (the same file given twice).
 */
export class BankItemCollector {
  /** The lines so far, column-wise; ids are settled in `finishColumns`. */
  private readonly lines = new BankColumns();
  private readonly statements: StatementBalance[] = [];
  private readonly rejected: RejectedLine[] = [];
  private current: StatementRecord | undefined;
  private readonly interned = new StringInterner();
  private currentSource = '';
  private readonly validCurrencies = new Set<string>();
  private readonly keepCounterpartyName: boolean;

  /**
   * `keepCounterpartyName: false` drops the counterparty's name, which matching never reads: `recon reconcile`
   * hashes the files themselves, so a day's million names need not stay in memory. Kept by default.
   */
  constructor(options: { readonly keepCounterpartyName?: boolean } = {}) {
    this.keepCounterpartyName = options.keepCounterpartyName ?? true;
  }

  add(record: CanonicalRecord, source: string): void {
    if (source !== this.currentSource) {
      this.current = undefined;
      this.currentSource = source;
    }
    switch (record.kind) {
      case 'statement':
        this.addStatement(record, source);
        return;
      case 'entry':
        this.addEntry(record, source);
        return;
      case 'rejected':
        this.rejected.push({
          source,
          lineNo: record.lineNo,
          reason: record.reason,
          raw: record.raw,
          ...(this.current === undefined ? {} : { currency: this.current.currency, statementId: this.current.statementId }),
        });
        return;
    }
  }

  finish(): CollectedBank {
    const collected = this.finishColumns();
    const bank: BankItem[] = [];
    for (let index = 0; index < collected.bank.length; index += 1) bank.push(collected.bank.item(index));
    return { bank, statements: collected.statements, rejected: collected.rejected };
  }

  finishColumns(): CollectedBankColumns {
    const lines = this.lines;
    const bankRefCounts = new Map<string, number>();
    for (const bankRef of lines.bankRef) if (bankRef !== undefined) bankRefCounts.set(bankRef, (bankRefCounts.get(bankRef) ?? 0) + 1);
    // Ids of lines whose bankRef is not unique (or missing) are `statementId:lineNo`. Only such an id can repeat
    // (a unique bankRef can only meet one of them), so only those and the bankRefs equal to one are counted.
    const fallbacks = new Set<string>();
    for (let index = 0; index < lines.length; index += 1) {
      const bankRef = lines.bankRef[index];
      if (bankRef === undefined || bankRefCounts.get(bankRef) !== 1) fallbacks.add(`${lines.statementId[index]}:${lines.lineNo[index]}`);
    }
    const used = new Map<string, number>();
    for (let index = 0; index < lines.length; index += 1) {
      const bankRef = lines.bankRef[index];
      let id = bankRef !== undefined && bankRefCounts.get(bankRef) === 1 ? bankRef : `${lines.statementId[index]}:${lines.lineNo[index]}`;
      if (fallbacks.has(id)) {
        const seen = used.get(id) ?? 0;
        used.set(id, seen + 1);
        if (seen > 0) id = `${id}#${seen + 1}`;
      }
      lines.id[index] = id;
    }
    return { bank: lines, statements: this.statements, rejected: this.rejected };
  }

  private addStatement(record: StatementRecord, source: string): void {
    if (!isCurrencyCode(record.currency))
      throw new InputFileError(`${source}: statement ${record.statementId} has currency '${record.currency}', not an ISO 4217 code`);
    this.current = record;
    const closing = record.closingBalance;
    this.statements.push({
      statementId: record.statementId,
      account: record.account,
      currency: record.currency,
      ...(record.sequence === undefined ? {} : { sequence: record.sequence }),
      ...(record.to === undefined ? {} : { to: record.to }),
      ...(closing === undefined
        ? {}
        : {
            closingBalance: {
              amountMinor: this.minor(closing.amount, record.currency, source, `statement ${record.statementId} closing balance`),
              date: closing.date,
            },
          }),
    });
  }

  private addEntry(record: EntryRecord, source: string): void {
    const statement = this.current;
    const where = (): string => `${source} entry ${record.statementId}:${record.lineNo}`;
    if (statement === undefined || statement.statementId !== record.statementId)
      throw new InputFileError(`${where()}: entry outside its statement '${record.statementId}'`);
    if (this.lines.length >= BANK_LINES_MAX) throw new InputFileError(`${source}: more than ${BANK_LINES_MAX} bank lines`);
    if (!this.validCurrencies.has(record.currency)) {
      if (!isCurrencyCode(record.currency)) throw new InputFileError(`${where()}: currency '${record.currency}' is not an ISO 4217 code`);
      this.validCurrencies.add(record.currency);
    }
    if (record.valueDate !== undefined && !this.interned.isValidDate(record.valueDate, isIsoDate))
      throw new InputFileError(`${where()}: valueDate '${record.valueDate}' is not YYYY-MM-DD`);
    if (record.bookingDate !== undefined && !this.interned.isValidDate(record.bookingDate, isIsoDate))
      throw new InputFileError(`${where()}: bookingDate '${record.bookingDate}' is not YYYY-MM-DD`);
    const transactions: BankTransactionPart[] | undefined = record.transactions?.map((part, index) => ({
      amountMinor: this.minor(part.amount, record.currency, source, () => `${where()} transaction ${index + 1}`),
      ...(part.endToEndId === undefined ? {} : { endToEndId: ownString(part.endToEndId) }),
      ...(part.remittance === undefined ? {} : { remittance: ownString(part.remittance) }),
    }));
    const draft: Draft = {
      id: '',
      statementId: this.intern(record.statementId),
      lineNo: record.lineNo,
      account: this.intern(statement.account),
      amountMinor: this.minor(record.amount, record.currency, source, where),
      currency: this.intern(record.currency),
      reversal: record.reversal,
    };
    if (record.valueDate !== undefined) draft.valueDate = this.intern(record.valueDate);
    if (record.bookingDate !== undefined) draft.bookingDate = this.intern(record.bookingDate);
    if (record.bankRef !== undefined) draft.bankRef = ownString(record.bankRef);
    if (record.endToEndId !== undefined) draft.endToEndId = ownString(record.endToEndId);
    if (record.customerRef !== undefined)
      draft.customerRef = record.customerRef === record.endToEndId && draft.endToEndId !== undefined ? draft.endToEndId : ownString(record.customerRef);
    if (record.remittance !== undefined) draft.remittance = ownString(record.remittance);
    if (record.counterpartyName !== undefined && this.keepCounterpartyName) draft.counterpartyName = ownString(record.counterpartyName);
    if (record.bankTxCode !== undefined) draft.bankTxCode = this.intern(record.bankTxCode);
    if (transactions !== undefined && transactions.length > 0) draft.transactions = transactions;
    this.lines.push(draft);
  }

  /** One copy of each repeated value (dates, currency, transaction codes, statement ids). */
  private intern(text: string): string {
    return this.interned.intern(text);
  }

  private minor(amount: string, currency: string, source: string, where: string | (() => string)): bigint {
    try {
      return parseDecimalToMinor(amount, minorDigitsOf(currency), { allowTrailingZeros: true });
    } catch (error: unknown) {
      if (error instanceof MoneyFormatError) throw new InputFileError(`${typeof where === 'string' ? where : where()}: ${error.message}`);
      throw error;
    }
  }
}
