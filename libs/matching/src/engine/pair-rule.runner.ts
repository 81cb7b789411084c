import { absMinor, type MatchingContext } from './matching-context';

/**
 * How a one-to-one rule sees the items. Items are grouped into classes of *twins* (items the rule cannot
 * tell apart: same account, currency, amount, value date and references) and classes are joined through
 * hash keys, so the work is linear in the number of candidate pairs, never a scan of all pairs.
 */
export interface PairRuleSpec {
  readonly ruleId: string;
  readonly amountToleranceMinor: bigint;
  readonly valueDateToleranceDays: number;
  /** Class key of an unmatched ledger item, or undefined when the rule does not apply to it. */
  ledgerClassKey(index: number): string | undefined;
  ledgerJoinKeys(index: number, out: string[]): void;
  bankClassKey(index: number): string | undefined;
  bankJoinKeys(index: number, out: string[]): void;
}

/** A rule resolving more rounds than this is being fed something pathological; the rest stays unmatched. */
export const PAIRING_ROUNDS_MAX = 16;
/** Candidates remembered per ambiguous item, for the break's explanation. */
export const AMBIGUOUS_CANDIDATES_MAX = 3;

interface ItemClass {
  readonly members: number[];
  taken: number;
}

interface Edge {
  readonly ledgerClass: number;
  readonly bankClass: number;
  readonly amountDiffMinor: bigint;
  readonly dayDiff: number;
}

/**
 * The common case of ref-exact in linear time without building keys: a reference carried by exactly one
 * unmatched ledger entry and exactly one unmatched bank line pairs them when amount, currency and date
 * agree. Such a pair is necessarily each other's unique best candidate, so the result is the one the
 * general algorithm below gives; everything else is left to it.
 */
export interface ReferencePresence {
  /** Whether some unmatched bank line carries this exact reference. */
  readonly onBank: (reference: string) => boolean;
  /** Whether some unmatched ledger entry carries this exact reference. */
  readonly inLedger: (reference: string) => boolean;
}

export function runUniqueReferencePairs(context: MatchingContext, spec: PairRuleSpec): ReferencePresence {
  const MULTIPLE = -2;
  const ledgerByReference = new Map<string, number>();
  for (let index = 0; index < context.ledger.length; index += 1) {
    if (context.ledgerGroup[index] !== -1) continue;
    const reference = context.ledgerRefExact[index];
    if (reference === undefined) continue;
    ledgerByReference.set(reference, ledgerByReference.has(reference) ? MULTIPLE : index);
  }
  const bankCountByReference = new Map<string, number>();
  for (let index = 0; index < context.bank.length; index += 1) {
    if (context.bankGroup[index] !== -1) continue;
    for (const reference of context.bankMatchingRefs[index]!) bankCountByReference.set(reference, (bankCountByReference.get(reference) ?? 0) + 1);
  }
  for (let bankIndex = 0; bankIndex < context.bank.length; bankIndex += 1) {
    if (context.bankGroup[bankIndex] !== -1) continue;
    const references = context.bankMatchingRefs[bankIndex]!;
    let partner = -1;
    for (const reference of references) {
      const ledgerIndex = ledgerByReference.get(reference);
      if (ledgerIndex === undefined) continue;
      if (ledgerIndex === MULTIPLE || bankCountByReference.get(reference) !== 1 || (partner !== -1 && partner !== ledgerIndex)) {
        partner = MULTIPLE;
        break;
      }
      partner = ledgerIndex;
    }
    if (partner < 0 || context.ledgerGroup[partner] !== -1) continue;
    if (context.ledgerAccountCurrency[partner] !== context.bankAccountCurrency[bankIndex]) continue;
    if (absMinor(context.ledger[partner]!.amountMinor - context.bank[bankIndex]!.amountMinor) > spec.amountToleranceMinor) continue;
    if (context.dayDistance(partner, bankIndex) > spec.valueDateToleranceDays) continue;
    context.addGroup(spec.ruleId, [partner], [bankIndex]);
  }
  return { onBank: (reference) => bankCountByReference.has(reference), inLedger: (reference) => ledgerByReference.has(reference) };
}

/**
 * Runs one one-to-one rule over the still unmatched items.
 *
 * Pairing is by *mutual unique best*: a ledger class and a bank class pair when each is the other's single
 * best candidate (smallest amount difference, then smallest value-date distance). Twins pair in stable id
 * order, because every field the rule compares is equal (the choice changes no amount, date or reference
 * in the result). When two different candidates are equally good, nothing is paired by chance: the items
 * stay unmatched, carry an ambiguity note and later rules or the break classifier deal with them.
 * Rounds repeat so that a class whose best partner was taken can pair with its next best.
 */
export function runPairRule(context: MatchingContext, spec: PairRuleSpec): void {
  const ledgerClasses: ItemClass[] = [];
  const ledgerClassByKey = new Map<string, number>();
  for (let index = 0; index < context.ledger.length; index += 1) {
    if (context.ledgerGroup[index] !== -1) continue;
    const key = spec.ledgerClassKey(index);
    if (key === undefined) continue;
    const existing = ledgerClassByKey.get(key);
    if (existing === undefined) {
      ledgerClassByKey.set(key, ledgerClasses.length);
      ledgerClasses.push({ members: [index], taken: 0 });
    } else ledgerClasses[existing]!.members.push(index);
  }
  if (ledgerClasses.length === 0) return;
  ledgerClassByKey.clear();

  const joinIndex = new Map<string, number[]>();
  const keys: string[] = [];
  for (let classIndex = 0; classIndex < ledgerClasses.length; classIndex += 1) {
    keys.length = 0;
    spec.ledgerJoinKeys(ledgerClasses[classIndex]!.members[0]!, keys);
    for (const key of keys) {
      const list = joinIndex.get(key);
      if (list === undefined) joinIndex.set(key, [classIndex]);
      else if (list[list.length - 1] !== classIndex) list.push(classIndex);
    }
  }

  const bankClasses: ItemClass[] = [];
  const bankClassByKey = new Map<string, number>();
  for (let index = 0; index < context.bank.length; index += 1) {
    if (context.bankGroup[index] !== -1) continue;
    const key = spec.bankClassKey(index);
    if (key === undefined) continue;
    const existing = bankClassByKey.get(key);
    if (existing === undefined) {
      bankClassByKey.set(key, bankClasses.length);
      bankClasses.push({ members: [index], taken: 0 });
    } else bankClasses[existing]!.members.push(index);
  }
  bankClassByKey.clear();

  const edges: Edge[] = [];
  const seenByLedgerClass = new Int32Array(ledgerClasses.length).fill(-1);
  for (let bankClass = 0; bankClass < bankClasses.length; bankClass += 1) {
    const bankIndex = bankClasses[bankClass]!.members[0]!;
    const bankItem = context.bank[bankIndex]!;
    keys.length = 0;
    spec.bankJoinKeys(bankIndex, keys);
    for (const key of keys) {
      const list = joinIndex.get(key);
      if (list === undefined) continue;
      for (const ledgerClass of list) {
        if (seenByLedgerClass[ledgerClass] === bankClass) continue;
        seenByLedgerClass[ledgerClass] = bankClass;
        const ledgerIndex = ledgerClasses[ledgerClass]!.members[0]!;
        if (context.ledgerAccountCurrency[ledgerIndex] !== context.bankAccountCurrency[bankIndex]) continue;
        const amountDiffMinor = absMinor(context.ledger[ledgerIndex]!.amountMinor - bankItem.amountMinor);
        if (amountDiffMinor > spec.amountToleranceMinor) continue;
        const dayDiff = context.dayDistance(ledgerIndex, bankIndex);
        if (dayDiff > spec.valueDateToleranceDays) continue;
        edges.push({ ledgerClass, bankClass, amountDiffMinor, dayDiff });
      }
    }
  }
  joinIndex.clear();
  if (edges.length === 0) return;
  // Edges in (ledger class, bank class) order: class numbers follow the sorted item order, so this is stable.
  edges.sort((a, b) => a.ledgerClass - b.ledgerClass || a.bankClass - b.bankClass);

  const ledgerBest = new BestTracker(ledgerClasses.length);
  const bankBest = new BestTracker(bankClasses.length);
  const live = (edge: Edge): boolean => {
    const ledgerClass = ledgerClasses[edge.ledgerClass]!;
    const bankClass = bankClasses[edge.bankClass]!;
    return ledgerClass.taken < ledgerClass.members.length && bankClass.taken < bankClass.members.length;
  };
  let liveEdges = edges;
  for (let round = 0; round < PAIRING_ROUNDS_MAX && liveEdges.length > 0; round += 1) {
    ledgerBest.reset();
    bankBest.reset();
    for (const edge of liveEdges) {
      ledgerBest.offer(edge.ledgerClass, edge.bankClass, edge.amountDiffMinor, edge.dayDiff);
      bankBest.offer(edge.bankClass, edge.ledgerClass, edge.amountDiffMinor, edge.dayDiff);
    }
    let paired = 0;
    for (const edge of liveEdges) {
      if (!ledgerBest.isUniqueBest(edge.ledgerClass, edge.bankClass) || !bankBest.isUniqueBest(edge.bankClass, edge.ledgerClass)) continue;
      const ledgerClass = ledgerClasses[edge.ledgerClass]!;
      const bankClass = bankClasses[edge.bankClass]!;
      while (ledgerClass.taken < ledgerClass.members.length && bankClass.taken < bankClass.members.length) {
        context.addGroup(spec.ruleId, [ledgerClass.members[ledgerClass.taken]!], [bankClass.members[bankClass.taken]!]);
        ledgerClass.taken += 1;
        bankClass.taken += 1;
        paired += 1;
      }
    }
    const remaining = liveEdges.filter(live);
    if (paired === 0) {
      noteAmbiguity(context, spec.ruleId, remaining, ledgerClasses, bankClasses, ledgerBest, bankBest);
      break;
    }
    liveEdges = remaining;
  }
}

function noteAmbiguity(
  context: MatchingContext,
  ruleId: string,
  edges: readonly Edge[],
  ledgerClasses: readonly ItemClass[],
  bankClasses: readonly ItemClass[],
  ledgerBest: BestTracker,
  bankBest: BestTracker,
): void {
  for (const edge of edges) {
    if (ledgerBest.countOf(edge.ledgerClass) > 1 && ledgerBest.isBest(edge.ledgerClass, edge.amountDiffMinor, edge.dayDiff)) {
      for (const member of untaken(ledgerClasses[edge.ledgerClass]!)) {
        addCandidate(context.ledgerAmbiguity, member, ruleId, untaken(bankClasses[edge.bankClass]!)[0]);
      }
    }
    if (bankBest.countOf(edge.bankClass) > 1 && bankBest.isBest(edge.bankClass, edge.amountDiffMinor, edge.dayDiff)) {
      for (const member of untaken(bankClasses[edge.bankClass]!)) {
        addCandidate(context.bankAmbiguity, member, ruleId, untaken(ledgerClasses[edge.ledgerClass]!)[0]);
      }
    }
  }
}

function untaken(itemClass: ItemClass): number[] {
  return itemClass.members.slice(itemClass.taken);
}

function addCandidate(notes: Map<number, { rule: string; candidates: readonly number[] }>, item: number, rule: string, candidate: number | undefined): void {
  if (candidate === undefined) return;
  const note = notes.get(item);
  if (note === undefined) {
    notes.set(item, { rule, candidates: [candidate] });
    return;
  }
  if (note.rule !== rule || note.candidates.includes(candidate) || note.candidates.length >= AMBIGUOUS_CANDIDATES_MAX) return;
  notes.set(item, { rule, candidates: [...note.candidates, candidate] });
}

/** Per class: the best (amount difference, day distance) seen, and how many distinct partners reach it. */
class BestTracker {
  private readonly amount: bigint[];
  private readonly day: Int32Array;
  private readonly count: Int32Array;
  private readonly partner: Int32Array;

  constructor(size: number) {
    this.amount = new Array<bigint>(size);
    this.day = new Int32Array(size);
    this.count = new Int32Array(size);
    this.partner = new Int32Array(size);
  }

  reset(): void {
    this.count.fill(0);
  }

  offer(self: number, partner: number, amountDiffMinor: bigint, dayDiff: number): void {
    if (this.count[self] === 0) {
      this.set(self, partner, amountDiffMinor, dayDiff);
      return;
    }
    const bestAmount = this.amount[self]!;
    const bestDay = this.day[self]!;
    if (amountDiffMinor < bestAmount || (amountDiffMinor === bestAmount && dayDiff < bestDay)) this.set(self, partner, amountDiffMinor, dayDiff);
    else if (amountDiffMinor === bestAmount && dayDiff === bestDay && this.partner[self] !== partner) this.count[self] = this.count[self]! + 1;
  }

  isUniqueBest(self: number, partner: number): boolean {
    return this.count[self] === 1 && this.partner[self] === partner;
  }

  isBest(self: number, amountDiffMinor: bigint, dayDiff: number): boolean {
    return this.count[self]! > 0 && this.amount[self] === amountDiffMinor && this.day[self] === dayDiff;
  }

  countOf(self: number): number {
    return this.count[self]!;
  }

  private set(self: number, partner: number, amountDiffMinor: bigint, dayDiff: number): void {
    this.amount[self] = amountDiffMinor;
    this.day[self] = dayDiff;
    this.count[self] = 1;
    this.partner[self] = partner;
  }
}
