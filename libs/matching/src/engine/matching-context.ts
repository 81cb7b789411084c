import { dayNumberOf } from '../model/iso-date';
import { BankColumns, LedgerColumns } from '../model/columns';
import type { BankItem, LedgerItem } from '../model/items';
import { exactReferenceKey, normalisedReferenceKey } from '../model/references';
import type { RuleSet } from '../rules/rule-set';

const NO_REFERENCES: readonly string[] = [];

/** Day number used when a bank line carries no date at all: date criteria are then waived, not guessed. */
export const DAY_UNKNOWN = -1_000_000_000;

export class InvalidReconcileInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidReconcileInputError';
  }
}

export interface MatchGroup {
  readonly rule: string;
  readonly ledger: readonly number[];
  readonly bank: readonly number[];
}

/** Why a rule left an item unpaired although it had candidates: two or more fitted equally well. */
export interface AmbiguityNote {
  readonly rule: string;
  readonly candidates: readonly number[];
}

/**
 * Both sides sorted by their stable ids, with the per-item keys every rule needs computed once, and the
 * match state. Sorting first is what makes the result independent of input order.
 */
export class MatchingContext {
  /** Both sides column-wise, sorted by id: `ledger.amountMinor.at(index)`, `bank.id[index]`, `ledger.item(index)`. */
  readonly ledger: LedgerColumns;
  readonly bank: BankColumns;
  /** Where each sorted item was in the input (`ledgerOrder[sorted] = input index`); undefined when the input came sorted. */
  readonly ledgerOrder: readonly number[] | undefined;
  readonly bankOrder: readonly number[] | undefined;
  readonly ledgerDay: Int32Array;
  readonly bankDay: Int32Array;
  /** Interned "ACCOUNT|CURRENCY" ids: equal ids mean same custody account and currency. */
  readonly ledgerAccountCurrency: Int32Array;
  readonly bankAccountCurrency: Int32Array;
  /** Interned account ids (without currency), for pairing across currencies. */
  readonly ledgerAccount: Int32Array;
  readonly bankAccount: Int32Array;
  readonly ledgerRefExact: readonly (string | undefined)[];
  /** Normalised references, computed on first use: only items that survive ref-exact ever need them. */
  private readonly ledgerRefNormalised: (string | undefined | null)[];
  /**
   * What the reference rules join a bank line on, as two string columns rather than a small array per line:
   * endToEndId and customerRef as exact keys (the references the platform gave the bank; the second only when
   * it differs from the first), or, when the line has neither, its bankRef alone. undefined where there is none.
   * `bankMatchingRefsOf` and `bankPlatformRefsOf` give them as lists.
   */
  readonly bankMatchingRef1: readonly (string | undefined)[];
  readonly bankMatchingRef2: readonly (string | undefined)[];
  /** 1 when the line's matching references are platform references, 0 when they are its bankRef (or none). */
  readonly bankRefsArePlatform: Uint8Array;
  readonly ignoredReferences: ReadonlySet<string>;
  /** Group index per item, -1 while unmatched. */
  readonly ledgerGroup: Int32Array;
  readonly bankGroup: Int32Array;
  /**
   * Match groups, column-wise: most groups pair one ledger entry with one bank line, so a group is its rule
   * (an index into `ruleNames`), its lowest ledger and bank indexes, and only for a batch (more than one item on
   * a side) its member lists. A million `{ rule, ledger: [i], bank: [j] }` objects would otherwise live to the end.
   */
  private readonly groupRule = new GrowableInt32Array();
  private readonly groupFirstLedger = new GrowableInt32Array();
  private readonly groupFirstBank = new GrowableInt32Array();
  private readonly groupMembers = new Map<number, { readonly ledger: readonly number[]; readonly bank: readonly number[] }>();
  private readonly ruleNames: string[] = [];
  private readonly ruleIndexes = new Map<string, number>();
  readonly ledgerAmbiguity = new Map<number, AmbiguityNote>();
  readonly bankAmbiguity = new Map<number, AmbiguityNote>();

  constructor(ledger: readonly LedgerItem[] | LedgerColumns, bank: readonly BankItem[] | BankColumns, ruleSet: RuleSet) {
    const ledgerColumns = ledger instanceof LedgerColumns ? ledger : LedgerColumns.of(ledger);
    const bankColumns = bank instanceof BankColumns ? bank : BankColumns.of(bank);
    const ledgerOrder = sortOrder(ledgerColumns.entryId);
    const bankOrder = sortOrder(bankColumns.id);
    this.ledgerOrder = ledgerOrder;
    this.bankOrder = bankOrder;
    this.ledger = ledgerOrder === undefined ? ledgerColumns : ledgerColumns.permuted(ledgerOrder);
    this.bank = bankOrder === undefined ? bankColumns : bankColumns.permuted(bankOrder);
    assertUniqueIds(this.ledger.entryId, 'ledger entry_id');
    assertUniqueIds(this.bank.id, 'bank line id');
    this.ignoredReferences = new Set(ruleSet.ignoredReferences);
    const accounts = new Map<string, number>();
    const accountCurrencies = new Map<string, number>();
    const intern = (map: Map<string, number>, key: string): number => {
      let id = map.get(key);
      if (id === undefined) {
        id = map.size;
        map.set(key, id);
      }
      return id;
    };
    // Raw account and currency strings repeat for every item: each distinct pair is normalised once.
    const seenPairs = new Map<string, Map<string, readonly [number, number]>>();
    const accountIds = (account: string, currency: string): readonly [number, number] => {
      let byCurrency = seenPairs.get(account);
      if (byCurrency === undefined) {
        byCurrency = new Map();
        seenPairs.set(account, byCurrency);
      }
      let ids = byCurrency.get(currency);
      if (ids === undefined) {
        const key = accountKey(account);
        ids = [intern(accounts, key), intern(accountCurrencies, `${key}|${currency}`)];
        byCurrency.set(currency, ids);
      }
      return ids;
    };
    // Dates repeat across a day's items: convert each distinct one once.
    const days = new Map<string, number | undefined>();
    const dayOf = (date: string): number | undefined => {
      if (days.has(date)) return days.get(date);
      const day = dayNumberOf(date);
      days.set(date, day);
      return day;
    };
    const ledgerCount = this.ledger.length;
    const bankCount = this.bank.length;
    this.ledgerDay = new Int32Array(ledgerCount);
    this.ledgerAccount = new Int32Array(ledgerCount);
    this.ledgerAccountCurrency = new Int32Array(ledgerCount);
    const refExact: (string | undefined)[] = new Array<string | undefined>(ledgerCount);
    const ledgerColumnsSorted = this.ledger;
    for (let index = 0; index < ledgerCount; index += 1) {
      const valueDate = ledgerColumnsSorted.valueDate[index]!;
      const day = dayOf(valueDate);
      if (day === undefined)
        throw new InvalidReconcileInputError(`ledger entry ${ledgerColumnsSorted.entryId[index]}: value date '${valueDate}' is not YYYY-MM-DD`);
      this.ledgerDay[index] = day;
      const [accountId, accountCurrencyId] = accountIds(ledgerColumnsSorted.account[index]!, ledgerColumnsSorted.currency[index]!);
      this.ledgerAccount[index] = accountId;
      this.ledgerAccountCurrency[index] = accountCurrencyId;
      refExact[index] = exactReferenceKey(ledgerColumnsSorted.reference[index], this.ignoredReferences);
    }
    this.ledgerRefExact = refExact;
    this.ledgerRefNormalised = new Array<string | undefined | null>(ledgerCount).fill(null);
    this.bankDay = new Int32Array(bankCount);
    this.bankAccount = new Int32Array(bankCount);
    this.bankAccountCurrency = new Int32Array(bankCount);
    const bankColumnsSorted = this.bank;
    for (let index = 0; index < bankCount; index += 1) {
      const date = bankColumnsSorted.valueDate[index] ?? bankColumnsSorted.bookingDate[index];
      const day = date === undefined ? undefined : dayOf(date);
      if (date !== undefined && day === undefined)
        throw new InvalidReconcileInputError(`bank line ${bankColumnsSorted.id[index]}: date '${date}' is not YYYY-MM-DD`);
      this.bankDay[index] = day ?? DAY_UNKNOWN;
      const [accountId, accountCurrencyId] = accountIds(bankColumnsSorted.account[index]!, bankColumnsSorted.currency[index]!);
      this.bankAccount[index] = accountId;
      this.bankAccountCurrency[index] = accountCurrencyId;
    }
    const matchingRef1 = new Array<string | undefined>(bankCount);
    const matchingRef2 = new Array<string | undefined>(bankCount);
    this.bankRefsArePlatform = new Uint8Array(bankCount);
    for (let index = 0; index < bankCount; index += 1) {
      const endToEnd = exactReferenceKey(bankColumnsSorted.endToEndId[index], this.ignoredReferences);
      const customer = exactReferenceKey(bankColumnsSorted.customerRef[index], this.ignoredReferences);
      if (endToEnd !== undefined || customer !== undefined) {
        matchingRef1[index] = endToEnd ?? customer;
        matchingRef2[index] = endToEnd !== undefined && customer !== undefined && customer !== endToEnd ? customer : undefined;
        this.bankRefsArePlatform[index] = 1;
      } else {
        matchingRef1[index] = exactReferenceKey(bankColumnsSorted.bankRef[index], this.ignoredReferences);
        matchingRef2[index] = undefined;
      }
    }
    this.bankMatchingRef1 = matchingRef1;
    this.bankMatchingRef2 = matchingRef2;
    this.ledgerGroup = new Int32Array(ledgerCount).fill(-1);
    this.bankGroup = new Int32Array(bankCount).fill(-1);
  }

  /** The normalised reference without remembering it: for a pass over every entry that needs few of them. */
  ledgerRefNormalisedTransient(index: number): string | undefined {
    const value = this.ledgerRefNormalised[index];
    if (value !== null) return value;
    return normalisedReferenceKey(this.ledger.reference[index], this.ignoredReferences);
  }

  /** The platform references, or the bankRef when there are none: what the reference rules join on (a new list). */
  bankMatchingRefsOf(index: number): readonly string[] {
    const first = this.bankMatchingRef1[index];
    if (first === undefined) return NO_REFERENCES;
    const second = this.bankMatchingRef2[index];
    return second === undefined ? [first] : [first, second];
  }

  /** endToEndId and customerRef as exact keys (the references the platform gave the bank). */
  bankPlatformRefsOf(index: number): readonly string[] {
    return this.bankRefsArePlatform[index] === 1 ? this.bankMatchingRefsOf(index) : NO_REFERENCES;
  }

  ledgerRefNormalisedOf(index: number): string | undefined {
    let value = this.ledgerRefNormalised[index];
    if (value === null || value === undefined) {
      if (value === undefined) return undefined;
      value = normalisedReferenceKey(this.ledger.reference[index], this.ignoredReferences);
      this.ledgerRefNormalised[index] = value;
    }
    return value;
  }

  addGroup(rule: string, ledger: readonly number[], bank: readonly number[]): void {
    if (ledger.length === 1 && bank.length === 1) {
      this.addPair(rule, ledger[0]!, bank[0]!);
      return;
    }
    if (ledger.length === 0) throw new Error(`a match group of rule ${rule} without ledger entries`);
    const groupIndex = this.groupRule.length;
    for (const index of ledger) {
      if (this.ledgerGroup[index] !== -1) throw new Error(`ledger item ${index} matched twice`);
      this.ledgerGroup[index] = groupIndex;
    }
    for (const index of bank) {
      if (this.bankGroup[index] !== -1) throw new Error(`bank item ${index} matched twice`);
      this.bankGroup[index] = groupIndex;
    }
    const sortedLedger = [...ledger].sort((a, b) => a - b);
    const sortedBank = [...bank].sort((a, b) => a - b);
    this.groupRule.push(this.ruleIndexOf(rule));
    this.groupFirstLedger.push(sortedLedger[0]!);
    this.groupFirstBank.push(sortedBank.length === 0 ? -1 : sortedBank[0]!);
    this.groupMembers.set(groupIndex, { ledger: sortedLedger, bank: sortedBank });
  }

  /** The common case of addGroup without any array: one ledger entry and one bank line. */
  addPair(rule: string, ledgerIndex: number, bankIndex: number): void {
    if (this.ledgerGroup[ledgerIndex] !== -1) throw new Error(`ledger item ${ledgerIndex} matched twice`);
    if (this.bankGroup[bankIndex] !== -1) throw new Error(`bank item ${bankIndex} matched twice`);
    const groupIndex = this.groupRule.length;
    this.ledgerGroup[ledgerIndex] = groupIndex;
    this.bankGroup[bankIndex] = groupIndex;
    this.groupRule.push(this.ruleIndexOf(rule));
    this.groupFirstLedger.push(ledgerIndex);
    this.groupFirstBank.push(bankIndex);
  }

  get groupCount(): number {
    return this.groupRule.length;
  }

  ruleOfGroup(group: number): string {
    return this.ruleNames[this.groupRule.at(group)]!;
  }

  /** The lowest ledger index of a group: groups in this order are the groups in order of their first ledger id. */
  firstLedgerOfGroup(group: number): number {
    return this.groupFirstLedger.at(group);
  }

  /** Ledger and bank indexes of a group, each ascending (so their ids are in id order). */
  membersOfGroup(group: number): { readonly ledger: readonly number[]; readonly bank: readonly number[] } {
    const members = this.groupMembers.get(group);
    if (members !== undefined) return members;
    return { ledger: [this.groupFirstLedger.at(group)], bank: [this.groupFirstBank.at(group)] };
  }

  /** Whether a group is one ledger entry with one bank line (then `firstLedgerOfGroup`/`firstBankOfGroup` say all). */
  isPairGroup(group: number): boolean {
    return !this.groupMembers.has(group);
  }

  firstBankOfGroup(group: number): number {
    return this.groupFirstBank.at(group);
  }

  /** The match groups as objects (ledger and bank indexes ascending), in creation order. */
  get groups(): readonly MatchGroup[] {
    const out: MatchGroup[] = [];
    for (let group = 0; group < this.groupCount; group += 1) out.push({ rule: this.ruleOfGroup(group), ...this.membersOfGroup(group) });
    return out;
  }

  private ruleIndexOf(rule: string): number {
    let index = this.ruleIndexes.get(rule);
    if (index === undefined) {
      index = this.ruleNames.length;
      this.ruleNames.push(rule);
      this.ruleIndexes.set(rule, index);
    }
    return index;
  }

  /** Value-date distance in days; 0 when the bank line has no date (the criterion is waived). */
  dayDistance(ledgerIndex: number, bankIndex: number): number {
    const bankDay = this.bankDay[bankIndex]!;
    if (bankDay === DAY_UNKNOWN) return 0;
    return Math.abs(this.ledgerDay[ledgerIndex]! - bankDay);
  }
}

/** An Int32Array that grows by doubling: a column of numbers without an object (or a boxed number) per value. */
export class GrowableInt32Array {
  private values = new Int32Array(1024);
  private size = 0;

  get length(): number {
    return this.size;
  }

  push(value: number): void {
    if (this.size === this.values.length) {
      const grown = new Int32Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size] = value;
    this.size += 1;
  }

  at(index: number): number {
    return this.values[index]!;
  }
}

export function accountKey(account: string): string {
  return account.replace(/\s+/g, '').toUpperCase();
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function absMinor(value: bigint): bigint {
  return value < 0n ? -value : value;
}

/**
 * The order that sorts `ids`, or undefined when they are sorted already: files usually arrive sorted, and
 * checking that is much cheaper than sorting.
 */
function sortOrder(ids: readonly string[]): number[] | undefined {
  let sorted = true;
  for (let index = 1; index < ids.length && sorted; index += 1) sorted = ids[index - 1]! <= ids[index]!;
  if (sorted) return undefined;
  return ids.map((_, index) => index).sort((a, b) => compareText(ids[a]!, ids[b]!));
}

function assertUniqueIds(sortedIds: readonly string[], what: string): void {
  for (let index = 1; index < sortedIds.length; index += 1) {
    if (sortedIds[index] === sortedIds[index - 1]) throw new InvalidReconcileInputError(`${what} '${sortedIds[index]}' appears more than once`);
  }
}
