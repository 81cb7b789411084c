import { DIGEST_OFFSET, digestContinued, normalisedReferenceKey, textReferenceKeys } from '../model/references';
import { absMinor, DAY_UNKNOWN, type MatchingContext } from '../engine/matching-context';
import { bankPlatformReferences, bankReferencesForMatching } from '../engine/pair-rule.specs';
import { BREAK_CANDIDATES_MAX, type BreakCandidate, type CriterionCheck } from './break';
import { displayMoney } from './money-text';

/** Candidates gathered per item before ranking: a bound against a reference shared by thousands of lines. */
const GATHERED_CANDIDATES_MAX = 16;
/** Unmatched items of similar amount looked at on each side of the nearest one. */
const NEAREST_AMOUNT_NEIGHBOURS = 3;
const TEXT_TOKENS_JOINED_MAX = 4;
const TEXT_KEY_LENGTH_MIN = 6;

export interface ExplainTolerance {
  readonly amountToleranceMinor: bigint;
  readonly valueDateToleranceDays: number;
  readonly truncatedLengths: readonly number[];
}

/** Items of a pass over a whole side between two pauses of `prepareInSteps` (about 10 ms). */
const STEP_ITEMS = 16_384;

/**
 * Finds, for items that ended in a break, their nearest candidates on the other side and says for each
 * which criterion failed and by how much. Candidates come from hash lookups (same reference, same
 * normalised reference, reference in text, truncated reference, same amount) in one pass over the other
 * side, plus the unmatched items of nearest amount: never a comparison of every item with every item.
 */
export class BreakExplainer {
  private readonly ledgerCandidates = new Map<number, Set<number>>();
  private readonly bankCandidates = new Map<number, Set<number>>();

  constructor(
    private readonly context: MatchingContext,
    private readonly tolerance: ExplainTolerance,
    private readonly groupRule: (side: 'ledger' | 'bank', index: number) => string | undefined,
  ) {}

  /**
   * Gathers candidates for the given break items; taken to its end once before `candidatesFor`. One pass over each
   * other side, looking up keys the items already carry (no key strings are built for the whole side), pausing
   * (yielding) every `STEP_ITEMS` items of those passes.
   */
  *prepareInSteps(ledgerItems: readonly number[], bankItems: readonly number[]): Generator<void, void> {
    const context = this.context;
    if (ledgerItems.length > 0) {
      const byReference = new Map<string, number[]>();
      const byAmount = new AmountIndex();
      for (const index of ledgerItems) {
        const reference = context.ledgerRefExact[index];
        if (reference !== undefined) addWanted(byReference, reference, index);
        const normalised = context.ledgerRefNormalisedOf(index);
        if (normalised !== undefined && normalised !== reference) addWanted(byReference, normalised, index);
        byAmount.add(context.ledger.amountMinor.at(index), index);
      }
      for (let bankIndex = 0; bankIndex < context.bank.length; bankIndex += 1) {
        if (bankIndex % STEP_ITEMS === STEP_ITEMS - 1) yield;
        const first = context.bankMatchingRef1[bankIndex];
        if (first !== undefined) this.gather(this.ledgerCandidates, byReference.get(first), bankIndex, context.bankAccount[bankIndex]!, 'ledger');
        const second = context.bankMatchingRef2[bankIndex];
        if (second !== undefined) this.gather(this.ledgerCandidates, byReference.get(second), bankIndex, context.bankAccount[bankIndex]!, 'ledger');
        this.gather(this.ledgerCandidates, byAmount.get(context.bank.amountMinor.at(bankIndex)), bankIndex, context.bankAccount[bankIndex]!, 'ledger');
      }
      this.addNearestAmounts(ledgerItems, 'ledger');
    }
    if (bankItems.length > 0) {
      const byReference = new Map<string, number[]>();
      const byAmount = new AmountIndex();
      const keys = new Set<string>();
      for (const index of bankItems) {
        const item = context.bank.item(index);
        keys.clear();
        for (const reference of context.bankMatchingRefsOf(index)) keys.add(reference);
        for (const reference of [item.endToEndId, item.customerRef, item.bankRef]) {
          const key = normalisedReferenceKey(reference, context.ignoredReferences);
          if (key !== undefined) keys.add(key);
        }
        textReferenceKeys(item.remittance, TEXT_TOKENS_JOINED_MAX, TEXT_KEY_LENGTH_MIN, keys);
        for (const key of keys) addWanted(byReference, key, index);
        byAmount.add(item.amountMinor, index);
      }
      const lengths = this.tolerance.truncatedLengths;
      // Every ledger entry's truncated and normalised references are looked up, and almost none is wanted: a
      // digest of the key, computed from the exact reference without building the key, skips those that cannot be.
      const wantedDigests = new Set<number>();
      for (const key of byReference.keys()) wantedDigests.add(digestContinued(DIGEST_OFFSET, key, 0, key.length));
      for (let ledgerIndex = 0; ledgerIndex < context.ledger.length; ledgerIndex += 1) {
        if (ledgerIndex % STEP_ITEMS === STEP_ITEMS - 1) yield;
        const account = context.ledgerAccount[ledgerIndex]!;
        const reference = context.ledgerRefExact[ledgerIndex];
        if (reference !== undefined) {
          this.gather(this.bankCandidates, byReference.get(reference), ledgerIndex, account, 'bank');
          for (const length of lengths) {
            if (reference.length <= length) continue;
            const digest = truncatedKeyDigest(reference, length);
            if (digest !== undefined && !wantedDigests.has(digest)) continue;
            this.gather(this.bankCandidates, byReference.get(reference.slice(0, length).trimEnd()), ledgerIndex, account, 'bank');
          }
        }
        // The normalised reference is the exact one without what is not [0-9A-Z] (undefined when the exact one is).
        const normalisedWanted = reference === undefined || wantedDigests.has(digestOfAlphanumerics(reference));
        if (normalisedWanted && (reference !== undefined || context.ledger.reference[ledgerIndex] !== undefined)) {
          const normalised = context.ledgerRefNormalisedTransient(ledgerIndex);
          if (normalised !== undefined && normalised !== reference) this.gather(this.bankCandidates, byReference.get(normalised), ledgerIndex, account, 'bank');
        }
        this.gather(this.bankCandidates, byAmount.get(context.ledger.amountMinor.at(ledgerIndex)), ledgerIndex, account, 'bank');
      }
      this.addNearestAmounts(bankItems, 'bank');
    }
  }

  /** Adds `candidate` to every wanted item of the same account. */
  private gather(
    target: Map<number, Set<number>>,
    wanted: readonly number[] | undefined,
    candidate: number,
    account: number,
    wantedSide: 'ledger' | 'bank',
  ): void {
    if (wanted === undefined) return;
    for (const index of wanted) {
      const wantedAccount = wantedSide === 'ledger' ? this.context.ledgerAccount[index] : this.context.bankAccount[index];
      if (wantedAccount === account) addCandidate(target, index, candidate);
    }
  }

  candidatesFor(side: 'ledger' | 'bank', index: number, exclude: readonly number[] = []): BreakCandidate[] {
    const gathered = (side === 'ledger' ? this.ledgerCandidates : this.bankCandidates).get(index);
    if (gathered === undefined) return [];
    // Ranked by the weight of their failed criteria (no detail written), then nearest amount and date; only the
    // candidates kept get their checks written out.
    const ranked = [...gathered]
      .filter((other) => !exclude.includes(other))
      .map((other) => {
        const ledgerIndex = side === 'ledger' ? index : other;
        const bankIndex = side === 'ledger' ? other : index;
        return { other, weight: this.pairWeight(ledgerIndex, bankIndex), ledgerIndex, bankIndex };
      })
      .sort(
        (a, b) =>
          a.weight - b.weight ||
          this.amountGap(a.ledgerIndex, a.bankIndex, b.ledgerIndex, b.bankIndex) ||
          this.dayGap(a.ledgerIndex, a.bankIndex) - this.dayGap(b.ledgerIndex, b.bankIndex) ||
          a.other - b.other,
      )
      .slice(0, BREAK_CANDIDATES_MAX);
    return ranked.map(({ other, ledgerIndex, bankIndex }) =>
      this.candidate(side === 'ledger' ? 'bank' : 'ledger', other, this.checkPair(ledgerIndex, bankIndex)),
    );
  }

  /**
   * `checkWeight(this.checkPair(ledgerIndex, bankIndex))`, from the columns and without writing any detail: a break's
   * candidates are ranked by it, and only the few kept are checked in words.
   */
  pairWeight(ledgerIndex: number, bankIndex: number): number {
    const context = this.context;
    let weight = 0;
    if (context.ledgerAccount[ledgerIndex] !== context.bankAccount[bankIndex]) weight += ACCOUNT_WEIGHT;
    const sameCurrency = context.ledger.currency[ledgerIndex] === context.bank.currency[bankIndex];
    if (!sameCurrency) weight += CRITERION_WEIGHT;
    if (!this.referenceCheck(ledgerIndex, bankIndex).ok) weight += REFERENCE_WEIGHT;
    const ledgerAmount = context.ledger.amountMinor.at(ledgerIndex);
    const bankAmount = context.bank.amountMinor.at(bankIndex);
    if (ledgerAmount < 0n !== bankAmount < 0n) weight += CRITERION_WEIGHT;
    if (sameCurrency && absMinor(ledgerAmount - bankAmount) > this.tolerance.amountToleranceMinor) weight += CRITERION_WEIGHT;
    const bankDay = context.bankDay[bankIndex]!;
    if (bankDay !== DAY_UNKNOWN && Math.abs(context.ledgerDay[ledgerIndex]! - bankDay) > this.tolerance.valueDateToleranceDays) weight += CRITERION_WEIGHT;
    return weight;
  }

  candidate(side: 'ledger' | 'bank', index: number, checks: readonly CriterionCheck[]): BreakCandidate {
    const id = side === 'ledger' ? this.context.ledger.entryId[index]! : this.context.bank.id[index]!;
    const matchedBy = this.groupRule(side, index);
    const failed = checks.filter((check) => !check.ok).map((check) => check.detail);
    return matchedBy === undefined ? { side, id, failed, checks } : { side, id, matchedBy, failed, checks };
  }

  /** Every criterion of a ledger entry against a bank line, with the failing ones quantified. */
  checkPair(ledgerIndex: number, bankIndex: number): CriterionCheck[] {
    const context = this.context;
    const ledgerItem = context.ledger.item(ledgerIndex);
    const bankItem = context.bank.item(bankIndex);
    const checks: CriterionCheck[] = [];
    const sameAccount = context.ledgerAccount[ledgerIndex] === context.bankAccount[bankIndex];
    checks.push({
      criterion: 'account',
      ok: sameAccount,
      detail: sameAccount ? 'same account' : `account differs: ledger ${ledgerItem.account}, bank ${bankItem.account}`,
    });
    const sameCurrency = ledgerItem.currency === bankItem.currency;
    checks.push({
      criterion: 'currency',
      ok: sameCurrency,
      detail: sameCurrency ? `same currency ${ledgerItem.currency}` : `currency differs: ledger ${ledgerItem.currency}, bank ${bankItem.currency}`,
    });
    checks.push(this.referenceCheck(ledgerIndex, bankIndex));
    const sameDirection = ledgerItem.amountMinor < 0n === bankItem.amountMinor < 0n;
    checks.push({
      criterion: 'direction',
      ok: sameDirection,
      detail: sameDirection
        ? 'same direction'
        : `direction differs: ledger ${ledgerItem.amountMinor < 0n ? 'debit' : 'credit'}, bank ${bankItem.amountMinor < 0n ? 'debit' : 'credit'}`,
    });
    if (sameCurrency) {
      const differenceMinor = absMinor(ledgerItem.amountMinor - bankItem.amountMinor);
      const ok = differenceMinor <= this.tolerance.amountToleranceMinor;
      const detail =
        differenceMinor === 0n
          ? 'amounts equal'
          : `amount differs by ${displayMoney(differenceMinor, ledgerItem.currency)} (ledger ${displayMoney(ledgerItem.amountMinor, ledgerItem.currency)}, bank ${displayMoney(bankItem.amountMinor, bankItem.currency)}), tolerance ${displayMoney(this.tolerance.amountToleranceMinor, ledgerItem.currency)}`;
      checks.push({ criterion: 'amount', ok, detail });
    }
    const bankDay = context.bankDay[bankIndex]!;
    if (bankDay === DAY_UNKNOWN) checks.push({ criterion: 'valueDate', ok: true, detail: 'bank line carries no date' });
    else {
      const days = Math.abs(context.ledgerDay[ledgerIndex]! - bankDay);
      const ok = days <= this.tolerance.valueDateToleranceDays;
      const bankDate = bankItem.valueDate ?? bankItem.bookingDate ?? '';
      const detail =
        days === 0
          ? 'same value date'
          : `value date ${days} day${days === 1 ? '' : 's'} apart (ledger ${ledgerItem.valueDate}, bank ${bankDate}), tolerance ${this.tolerance.valueDateToleranceDays}`;
      checks.push({ criterion: 'valueDate', ok, detail });
    }
    return checks;
  }

  private referenceCheck(ledgerIndex: number, bankIndex: number): CriterionCheck {
    const context = this.context;
    const reference = context.ledgerRefExact[ledgerIndex];
    const bankItem = context.bank.item(bankIndex);
    if (reference === undefined) return { criterion: 'reference', ok: true, detail: 'ledger entry carries no reference' };
    const bankReferences = [...bankReferencesForMatching(context, bankIndex), ...(bankItem.bankRef === undefined ? [] : [bankItem.bankRef.toUpperCase()])];
    if (bankReferences.includes(reference)) return { criterion: 'reference', ok: true, detail: `reference ${reference} equal` };
    const normalised = context.ledgerRefNormalisedOf(ledgerIndex);
    if (normalised !== undefined) {
      const keys = new Set<string>();
      for (const bankReference of [bankItem.endToEndId, bankItem.customerRef]) {
        const key = normalisedReferenceKey(bankReference, context.ignoredReferences);
        if (key !== undefined) keys.add(key);
      }
      textReferenceKeys(bankItem.remittance, TEXT_TOKENS_JOINED_MAX, Math.min(TEXT_KEY_LENGTH_MIN, normalised.length), keys);
      if (keys.has(normalised)) return { criterion: 'reference', ok: true, detail: `reference ${reference} found in bank text` };
    }
    for (const bankReference of bankPlatformReferences(context, bankIndex)) {
      if (bankReference.length >= TEXT_KEY_LENGTH_MIN && reference.startsWith(bankReference)) {
        return {
          criterion: 'reference',
          ok: true,
          detail: `bank reference ${bankReference} is reference ${reference} truncated to ${bankReference.length} characters`,
        };
      }
    }
    const shown = bankReferences.length === 0 ? 'none' : bankReferences.join(', ');
    return { criterion: 'reference', ok: false, detail: `reference ${reference} not on bank line (bank references: ${shown})` };
  }

  private amountGap(ledgerA: number, bankA: number, ledgerB: number, bankB: number): number {
    const gapA = absMinor(this.context.ledger.amountMinor.at(ledgerA) - this.context.bank.amountMinor.at(bankA));
    const gapB = absMinor(this.context.ledger.amountMinor.at(ledgerB) - this.context.bank.amountMinor.at(bankB));
    return gapA < gapB ? -1 : gapA > gapB ? 1 : 0;
  }

  private dayGap(ledgerIndex: number, bankIndex: number): number {
    return this.context.dayDistance(ledgerIndex, bankIndex);
  }

  /** Unmatched items of the same account and currency nearest in amount (sorted list + binary search). */
  private addNearestAmounts(items: readonly number[], side: 'ledger' | 'bank'): void {
    const context = this.context;
    const others: number[] = [];
    if (side === 'ledger') {
      for (let index = 0; index < context.bank.length; index += 1) if (context.bankGroup[index] === -1) others.push(index);
    } else {
      for (let index = 0; index < context.ledger.length; index += 1) if (context.ledgerGroup[index] === -1) others.push(index);
    }
    const groupOf = (index: number): number => (side === 'ledger' ? context.bankAccountCurrency[index]! : context.ledgerAccountCurrency[index]!);
    const amountOf = (index: number): bigint => (side === 'ledger' ? context.bank.amountMinor.at(index) : context.ledger.amountMinor.at(index));
    others.sort((a, b) => groupOf(a) - groupOf(b) || (amountOf(a) < amountOf(b) ? -1 : amountOf(a) > amountOf(b) ? 1 : a - b));
    const target = side === 'ledger' ? this.ledgerCandidates : this.bankCandidates;
    for (const index of items) {
      const group = side === 'ledger' ? context.ledgerAccountCurrency[index]! : context.bankAccountCurrency[index]!;
      const amount = side === 'ledger' ? context.ledger.amountMinor.at(index) : context.bank.amountMinor.at(index);
      let low = 0;
      let high = others.length;
      while (low < high) {
        const middle = (low + high) >>> 1;
        const probe = others[middle]!;
        if (groupOf(probe) < group || (groupOf(probe) === group && amountOf(probe) < amount)) low = middle + 1;
        else high = middle;
      }
      for (let position = low - NEAREST_AMOUNT_NEIGHBOURS; position < low + NEAREST_AMOUNT_NEIGHBOURS; position += 1) {
        const other = others[position];
        if (other !== undefined && groupOf(other) === group) addCandidate(target, index, other);
      }
    }
  }
}

/** A failed reference outweighs anything else, a different account all but that, any other failed criterion counts one. */
const REFERENCE_WEIGHT = 10;
const ACCOUNT_WEIGHT = 5;
const CRITERION_WEIGHT = 1;

/** How far a candidate is from its break's item: the weights of its failed criteria, summed (fewer and lighter first). */
export function checkWeight(checks: readonly CriterionCheck[]): number {
  return checks.reduce(
    (total, check) =>
      total + (check.ok ? 0 : check.criterion === 'reference' ? REFERENCE_WEIGHT : check.criterion === 'account' ? ACCOUNT_WEIGHT : CRITERION_WEIGHT),
    0,
  );
}

/**
 * Wanted items by absolute amount. A pass over a whole side looks every item's amount up here, and most are not
 * wanted: amounts within the safe integer range are keyed as numbers (exact there, and no bigint arithmetic or
 * hashing per lookup), the rare larger ones as bigints.
 */
class AmountIndex {
  private readonly small = new Map<number, number[]>();
  private readonly large = new Map<bigint, number[]>();

  add(amountMinor: bigint, index: number): void {
    const absolute = absMinor(amountMinor);
    if (absolute <= MAX_SAFE_MINOR) addWanted(this.small, Number(absolute), index);
    else addWanted(this.large, absolute, index);
  }

  get(amountMinor: bigint): readonly number[] | undefined {
    const approximate = Math.abs(Number(amountMinor));
    if (approximate <= Number.MAX_SAFE_INTEGER) return this.small.get(approximate);
    return this.large.size === 0 ? undefined : this.large.get(absMinor(amountMinor));
  }
}

const MAX_SAFE_MINOR = BigInt(Number.MAX_SAFE_INTEGER);

/** The digest of `text.replace(/[^0-9A-Z]/g, '')`, without building it. */
function digestOfAlphanumerics(text: string): number {
  let digest = DIGEST_OFFSET;
  for (let at = 0; at < text.length; at += 1) {
    const code = text.charCodeAt(at);
    if ((code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a)) digest = digestContinued(digest, text, at, at + 1);
  }
  return digest;
}

/**
 * The digest of `text.slice(0, length).trimEnd()` (text longer than `length`) when the slice ends in printable ASCII
 * other than a space, so that trimEnd keeps it whole; undefined otherwise (the caller builds the key).
 */
function truncatedKeyDigest(text: string, length: number): number | undefined {
  const last = text.charCodeAt(length - 1);
  return last > 0x20 && last < 0x7f ? digestContinued(DIGEST_OFFSET, text, 0, length) : undefined;
}

function addWanted<K>(wanted: Map<K, number[]>, key: K, index: number): void {
  const list = wanted.get(key);
  if (list === undefined) wanted.set(key, [index]);
  else if (list.length < GATHERED_CANDIDATES_MAX) list.push(index);
}

function addCandidate(target: Map<number, Set<number>>, index: number, candidate: number): void {
  const set = target.get(index);
  if (set === undefined) target.set(index, new Set([candidate]));
  else if (set.size < GATHERED_CANDIDATES_MAX) set.add(candidate);
}
