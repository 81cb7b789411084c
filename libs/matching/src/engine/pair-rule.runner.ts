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
  /**
   * The references (before account and amount) under which an item can meet the other side under this rule:
   * every join key of an item is one of these with account, currency and amount bucket added. With them the
   * rule first pairs the items whose references are unique on both sides (`runUniqueKeyPairs`) and gives the
   * general algorithm only what is left and can still meet something. Absent for rules that join on amounts.
   */
  readonly referenceKeys?: {
    ledger(index: number, out: string[]): void;
    bank(index: number, out: string[]): void;
    /**
     * For rules whose bank classes are wider than their references (ref-in-text: twins by identity, whose
     * texts may differ): what the class of a bank line with references is keyed on apart from base fields.
     * The shortcut only takes a bank line whose identity no other candidate line shares.
     */
    bankIdentity?(index: number): string;
  };
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

/** Marks a reference carried by more than one item of a side. */
const MULTIPLE = -2;

/**
 * Whether an item (unmatched when the unique pass ran) carries a reference some unmatched item of the other side
 * carries too: what the general pass needs to skip items that cannot meet anything.
 */
interface ReferenceMeetings {
  ledgerMeets(index: number): boolean;
  bankMeets(index: number): boolean;
}

/**
 * The common case of every reference rule in linear time, with one hash lookup per reference and no class or
 * candidate list: a ledger entry and a bank line whose references under the rule meet each other and nothing
 * else (no other unmatched item of either side carries any of them) pair when account, currency, amount and
 * value date agree within the rule's tolerances. In the general algorithm such a pair is a component of its own
 * in the candidate graph (twins would share the references), so it pairs in the first round and changes
 * nothing else: the result is the one the general algorithm gives. Everything else is left to it.
 *
 * Each item's references are read once: the ledger pass marks entries sharing a reference with another entry;
 * the bank pass (looking only at references the ledger has) notes each line's single partner (or MULTIPLE) and
 * counts, per entry, the lines that carry one of its references.
 */
export function runUniqueKeyPairs(context: MatchingContext, spec: PairRuleSpec): ReferenceMeetings | undefined {
  const referenceKeys = spec.referenceKeys;
  if (referenceKeys === undefined) return undefined;
  const ledgerCount = context.ledger.length;
  const bankCount = context.bank.length;
  const keys: string[] = [];

  const ledgerOwners = new Map<string, number>();
  const ledgerShared = new Uint8Array(ledgerCount);
  for (let index = 0; index < ledgerCount; index += 1) {
    if (context.ledgerGroup[index] !== -1) continue;
    keys.length = 0;
    referenceKeys.ledger(index, keys);
    for (const key of keys) {
      const owner = ledgerOwners.get(key);
      if (owner === undefined) ledgerOwners.set(key, index);
      else if (owner !== index) {
        if (owner !== MULTIPLE) {
          ledgerShared[owner] = 1;
          ledgerOwners.set(key, MULTIPLE);
        }
        ledgerShared[index] = 1;
      }
    }
  }

  /** Per bank line: -1 no ledger reference, else the one entry its references name, or MULTIPLE. */
  const partners = new Int32Array(bankCount).fill(-1);
  /** Per ledger entry: how many bank lines carry one of its references (1, or 2 for "more than one"). */
  const claims = new Uint8Array(ledgerCount);
  const lastClaimant = new Int32Array(ledgerCount).fill(-1);
  /** References several ledger entries carry that some bank line carries too (no claim names their entries). */
  const sharedOnBank = new Set<string>();
  for (let index = 0; index < bankCount; index += 1) {
    if (context.bankGroup[index] !== -1) continue;
    keys.length = 0;
    referenceKeys.bank(index, keys);
    let partner = -1;
    for (const key of keys) {
      const ledgerIndex = ledgerOwners.get(key);
      if (ledgerIndex === undefined) continue;
      if (ledgerIndex === MULTIPLE) {
        partner = MULTIPLE;
        sharedOnBank.add(key);
      } else {
        if (partner === -1) partner = ledgerIndex;
        else if (partner !== ledgerIndex) partner = MULTIPLE;
        if (lastClaimant[ledgerIndex] !== index) {
          lastClaimant[ledgerIndex] = index;
          if (claims[ledgerIndex]! < 2) claims[ledgerIndex] = claims[ledgerIndex]! + 1;
        }
      }
    }
    partners[index] = partner;
  }

  const identityCounts = referenceKeys.bankIdentity === undefined ? undefined : countIdentities(context, referenceKeys.bankIdentity, partners);
  for (let bankIndex = 0; bankIndex < bankCount; bankIndex += 1) {
    const partner = partners[bankIndex]!;
    // A partner whose references no other entry shares and no other line carries (one claim: this line's),
    // named alone by this line: the two meet each other and nothing else. (A line sharing one of its references
    // with another line is covered: that other line claims the same entry.)
    if (partner < 0 || ledgerShared[partner] === 1 || claims[partner] !== 1) continue;
    if (context.ledgerGroup[partner] !== -1 || context.bankGroup[bankIndex] !== -1) continue;
    if (identityCounts !== undefined && identityCounts.get(referenceKeys.bankIdentity!(bankIndex)) !== 1) continue;
    if (context.ledgerAccountCurrency[partner] !== context.bankAccountCurrency[bankIndex]) continue;
    if (absMinor(context.ledger.amountMinor.at(partner) - context.bank.amountMinor.at(bankIndex)) > spec.amountToleranceMinor) continue;
    if (context.dayDistance(partner, bankIndex) > spec.valueDateToleranceDays) continue;
    context.addPair(spec.ruleId, partner, bankIndex);
  }
  // An entry meets a line when a line carries one of its own references (a claim) or one it shares with others.
  const probe: string[] = [];
  return {
    bankMeets: (index) => partners[index] !== -1,
    ledgerMeets: (index) => {
      if (claims[index]! > 0) return true;
      if (ledgerShared[index] === 0 || sharedOnBank.size === 0) return false;
      probe.length = 0;
      referenceKeys.ledger(index, probe);
      return probe.some((key) => sharedOnBank.has(key));
    },
  };
}

/** How many unmatched bank lines that meet some ledger reference share each identity. */
function countIdentities(context: MatchingContext, identityOf: (index: number) => string, partners: Int32Array): Map<string, number> {
  const counts = new Map<string, number>();
  for (let index = 0; index < context.bank.length; index += 1) {
    if (context.bankGroup[index] !== -1 || partners[index] === -1) continue;
    const identity = identityOf(index);
    counts.set(identity, (counts.get(identity) ?? 0) + 1);
  }
  return counts;
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
  // An item none of whose references the other side carries has no candidate: its class would have no edge.
  const meetings = runUniqueKeyPairs(context, spec);
  const ledgerClasses: ItemClass[] = [];
  const ledgerClassByKey = new Map<string, number>();
  for (let index = 0; index < context.ledger.length; index += 1) {
    if (context.ledgerGroup[index] !== -1) continue;
    if (meetings !== undefined && !meetings.ledgerMeets(index)) continue;
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
    if (meetings !== undefined && !meetings.bankMeets(index)) continue;
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
    const bankAmountMinor = context.bank.amountMinor.at(bankIndex);
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
        const amountDiffMinor = absMinor(context.ledger.amountMinor.at(ledgerIndex) - bankAmountMinor);
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
        context.addPair(spec.ruleId, ledgerClass.members[ledgerClass.taken]!, bankClass.members[bankClass.taken]!);
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
