import { createHash } from 'node:crypto';
import { isCurrencyCode, minorDigitsOf, parseDecimalToMinor } from '@recon/money';
import { BREAK_TYPES, type BreakType, type ReconBreak } from '../breaks/break';
import { BreakClassifier } from '../breaks/break-classifier';
import { decimalOf } from '../breaks/money-text';
import { BankColumns, LedgerColumns } from '../model/columns';
import type { BankItem, LedgerItem } from '../model/items';
import type { ReconcileInputs } from '../model/inputs';
import type { RuleSet } from '../rules/rule-set';
import { runBatchRule } from './batch-rule.runner';
import { hashBank, hashLedger, InputHashes } from './input-hash';
import { compareText, InvalidReconcileInputError, MatchingContext } from './matching-context';
import { runPairRule } from './pair-rule.runner';
import { amountDateSpec, refExactSpec, refInTextSpec, refTruncatedSpec } from './pair-rule.specs';

/** Version of the engine's behaviour, recorded with every run next to the rule set's version and hash. */
export const ENGINE_VERSION = 'matching-1';

export interface MatchOutput {
  readonly rule: string;
  readonly ledger: readonly string[];
  readonly bank: readonly string[];
}

export interface CurrencyTotals {
  readonly ledgerCount: number;
  readonly bankCount: number;
  /** Net signed sums, decimal strings. */
  readonly ledgerAmount: string;
  readonly bankAmount: string;
  readonly matchedLedgerAmount: string;
  readonly matchedBankAmount: string;
  /** Sum of the breaks' absolute amounts in this currency. */
  readonly breaksAmount: string;
}

/** What makes a run reproducible: same engine, same rules, same inputs give the same result. */
export interface RunRecord {
  readonly engineVersion: string;
  readonly rulesVersion: string;
  readonly rulesHash: string;
  /** SHA-256 of the input files (CLI), or of the canonical sorted item lists (independent of order and format). */
  readonly ledgerHash: string;
  readonly bankHash: string;
  /** SHA-256 of matches.jsonl + breaks.jsonl as written: equal for a faithful replay. */
  readonly resultHash: string;
}

export interface ReconcileSummary {
  readonly run: RunRecord;
  readonly counts: {
    readonly ledgerEntries: number;
    readonly bankLines: number;
    readonly matchGroups: number;
    readonly matchedLedgerEntries: number;
    readonly matchedBankLines: number;
    readonly breaks: number;
  };
  readonly matchesByRule: Readonly<Record<string, { readonly groups: number; readonly ledgerEntries: number; readonly bankLines: number }>>;
  readonly breaksByType: Readonly<Record<BreakType, number>>;
  readonly breaksBySeverity: Readonly<Record<string, number>>;
  /** Matched items over all items of both sides, 0..1, rounded to 6 places (a ratio, not money). */
  readonly matchRate: number;
  readonly totals: Readonly<Record<string, CurrencyTotals>>;
}

export interface ReconcileResult {
  readonly matches: readonly MatchOutput[];
  readonly breaks: readonly ReconBreak[];
  readonly summary: ReconcileSummary;
  /** With `options.itemMatches`: per side, per input item (in the order given), its index in `matches`, or -1. */
  readonly itemMatches?: ItemMatches;
}

/**
 * The match each input item ended in, as an index into the run's matches (in matches.jsonl order), -1 for an item
 * left unmatched; indexed like the input lists, whatever their order. Lets a caller that stores the matches pair
 * every item with its match without a map of a million ids.
 */
export interface ItemMatches {
  readonly ledger: Int32Array;
  readonly bank: Int32Array;
}

export interface ReconcilePhaseTimer {
  phase(name: string): void;
}

export interface ReconcileOptions {
  readonly timer?: ReconcilePhaseTimer;
  /**
   * SHA-256 of the input files as read, when the caller has them (the CLI does). Without them the engine
   * hashes the canonical, sorted item lists instead, which is independent of file format and order.
   */
  readonly inputHashes?: { readonly ledger: string; readonly bank: string };
  /** `reconcile` also returns `itemMatches`. */
  readonly itemMatches?: boolean;
}

/**
 * Receives the outputs of a run as they are produced, in blocks of whole lines: first every line of
 * `matches.jsonl` (in order), then every line of `breaks.jsonl`. With it a run holds neither list in memory.
 */
export interface ReconcileSink {
  matches(block: string): void;
  breaks(block: string): void;
}

/**
 * The matching engine: runs the rule chain, then classifies what is left into breaks. Pure and
 * deterministic: both sides are sorted by their ids first, all indexes are hash maps, and ties are never
 * broken by chance. Every ledger entry and every bank line ends in exactly one match group or one break
 * (asserted at the end).
 */
export function reconcile(inputs: ReconcileInputs, ruleSet: RuleSet, options: ReconcileOptions = {}): ReconcileResult {
  const matches: MatchOutput[] = [];
  const { breaks, summary, itemMatches } = runEngine(inputs, ruleSet, options, (rule, ledger, bank) => {
    matches.push({ rule, ledger, bank });
  });
  return { matches, breaks, summary, ...(itemMatches === undefined ? {} : { itemMatches }) };
}

/**
 * `reconcile` for a whole business day: the same run, but the lines of matches.jsonl and breaks.jsonl go to
 * `sink` as they are made (each serialised once, hashed on the way) and only the summary is returned. The lines
 * are byte for byte those `reconcile`'s result serialises to, and the summary (result hash included) is equal.
 */
export function reconcileToSink(inputs: ReconcileInputs, ruleSet: RuleSet, sink: ReconcileSink, options: ReconcileOptions = {}): ReconcileSummary {
  let block = '';
  const { summary } = runEngine(
    inputs,
    ruleSet,
    options,
    undefined,
    (line) => {
      block += line;
      if (block.length >= SINK_BLOCK_CHARACTERS) {
        sink.matches(block);
        block = '';
      }
    },
    (lines) => {
      if (block.length > 0) sink.matches(block);
      block = '';
      for (const line of lines) {
        block += line;
        if (block.length >= SINK_BLOCK_CHARACTERS) {
          sink.breaks(block);
          block = '';
        }
      }
      if (block.length > 0) sink.breaks(block);
      block = '';
    },
  );
  return summary;
}

/**
 * The match groups alone, in the order of matches.jsonl: the rule chain of `reconcile`, without classifying what is
 * left into breaks, without the summary and without any hash. For callers that pair a few items at a time (the
 * service's continuous matching) and leave breaks to a later full run: the groups are exactly `reconcile`'s.
 */
export function matchOnly(inputs: ReconcileInputs, ruleSet: RuleSet): MatchOutput[] {
  validateCurrencies(inputs.ledger, inputs.bank);
  const context = new MatchingContext(inputs.ledger, inputs.bank, ruleSet);
  runRules(context, ruleSet);
  const matches: MatchOutput[] = [];
  emitMatches(context, (rule, ledger, bank) => matches.push({ rule, ledger, bank }));
  return matches;
}

/** Output handed to a sink in blocks of about this many characters. */
const SINK_BLOCK_CHARACTERS = 1 << 20;

function runEngine(
  inputs: ReconcileInputs,
  ruleSet: RuleSet,
  options: ReconcileOptions,
  onMatch?: (rule: string, ledger: readonly string[], bank: readonly string[]) => void,
  onMatchLine?: (line: string) => void,
  onBreakLines?: (lines: readonly string[]) => void,
): { breaks: ReconBreak[]; summary: ReconcileSummary; itemMatches?: ItemMatches } {
  const matched = matchStage(inputs, ruleSet, options, onMatch, onMatchLine);
  const { breaks, summary } = finishSteps(classifyStage(matched, inputs, ruleSet, options, onBreakLines, () => options.inputHashes));
  if (options.itemMatches !== true) return { breaks, summary };
  const itemMatches = itemMatchesOfRun(matched);
  options.timer?.phase('item matches');
  return { breaks, summary, itemMatches };
}

/** What the rule chain leaves for the classification: the context, the match groups' counts, hash and order. */
interface MatchedStage {
  readonly context: MatchingContext;
  readonly counts: OutputCounts;
  readonly matchesHash: BlockHash;
  /** Per group, its index in matches.jsonl. */
  readonly matchOfGroup: Int32Array;
}

/** The rule chain and the match groups in matches.jsonl order (hashed and counted on the way). */
function matchStage(
  inputs: ReconcileInputs,
  ruleSet: RuleSet,
  options: ReconcileOptions,
  onMatch?: (rule: string, ledger: readonly string[], bank: readonly string[]) => void,
  onMatchLine?: (line: string) => void,
): MatchedStage {
  const timer = options.timer;
  validateCurrencies(inputs.ledger, inputs.bank);
  const context = new MatchingContext(inputs.ledger, inputs.bank, ruleSet);
  timer?.phase('index');
  runRules(context, ruleSet, timer);
  const counts = new OutputCounts(ruleSet);
  const matchesHash = new BlockHash();
  const matchOfGroup = new Int32Array(context.groupCount);
  let emitted = 0;
  emitMatches(context, (rule, ledger, bank, group) => {
    matchOfGroup[group] = emitted;
    emitted += 1;
    const line = matchLine(rule, ledger, bank);
    matchesHash.add(line);
    counts.addMatch(rule, ledger.length, bank.length);
    onMatch?.(rule, ledger, bank);
    onMatchLine?.(line);
  });
  timer?.phase('matches');
  return { context, counts, matchesHash, matchOfGroup };
}

/** Runs `steps` to their end and returns what they return. */
function finishSteps<T>(steps: Generator<void, T>): T {
  for (let step = steps.next(); ; step = steps.next()) if (step.done === true) return step.value;
}

/**
 * What is left classified into breaks (in breaks.jsonl order), the result hash, and the summary, pausing (yielding)
 * in the classification's long passes. `inputHashes` is asked for when the summary is made.
 */
function* classifyStage(
  matched: MatchedStage,
  inputs: ReconcileInputs,
  ruleSet: RuleSet,
  options: ReconcileOptions,
  onBreakLines: ((lines: readonly string[]) => void) | undefined,
  inputHashes: () => ReconcileOptions['inputHashes'],
): Generator<void, { breaks: ReconBreak[]; summary: ReconcileSummary }> {
  const { context, counts, matchesHash } = matched;
  const breaks = yield* new BreakClassifier(context, ruleSet).classifyInSteps(inputs);
  options.timer?.phase('classify');
  const sortedBreaks = breaks.sort(compareBreaks);
  const breaksHash = new BlockHash();
  const breakLines: string[] = [];
  for (const item of sortedBreaks) {
    const line = `${JSON.stringify(item)}\n`;
    breaksHash.add(line);
    if (onBreakLines !== undefined) breakLines.push(line);
  }
  onBreakLines?.(breakLines);
  counts.assertExclusive(context, sortedBreaks);
  const resultHash = createHash('sha256').update(matchesHash.digest()).update(breaksHash.digest()).digest('hex');
  const summary = summarise(context, ruleSet, counts, sortedBreaks, inputHashes(), resultHash);
  options.timer?.phase('summary');
  return { breaks: sortedBreaks, summary };
}

function itemMatchesOfRun({ context, matchOfGroup }: MatchedStage): ItemMatches {
  return {
    ledger: itemMatchesOf(context.ledgerGroup, context.ledgerOrder, matchOfGroup),
    bank: itemMatchesOf(context.bankGroup, context.bankOrder, matchOfGroup),
  };
}

/**
 * `reconcile` in two stages, for a caller that stores the match groups while the rest is worked out (the service's
 * nightly run: Postgres stores a day's matches for seconds while its own thread would wait). This runs the rule
 * chain and returns the groups and each item's match; `step()` does the rest a slice at a time (the inputs hashed
 * for the run record, then what is left classified), about 10 ms each, and says whether all is done; `finish()` does
 * what is left of it and returns the breaks and the summary. `matches`, `itemMatches` and `finish()`'s breaks and
 * summary are exactly `reconcile`'s (with `itemMatches: true`), however many steps were taken. A step that throws
 * ends the run: it cannot be finished after.
 */
export interface StagedReconcile {
  readonly matches: readonly MatchOutput[];
  readonly itemMatches: ItemMatches;
  step(): boolean;
  finish(): { readonly breaks: readonly ReconBreak[]; readonly summary: ReconcileSummary };
}

/** Input items hashed by one `StagedReconcile.step` (about 10 ms). */
const HASH_STEP_ITEMS = 10_000;

export function reconcileStaged(
  inputs: ReconcileInputs,
  ruleSet: RuleSet,
  options: Omit<ReconcileOptions, 'inputHashes' | 'itemMatches'> = {},
): StagedReconcile {
  const matches: MatchOutput[] = [];
  const matched = matchStage(inputs, ruleSet, options, (rule, ledger, bank) => {
    matches.push({ rule, ledger, bank });
  });
  const itemMatches = itemMatchesOfRun(matched);
  options.timer?.phase('item matches');
  const inputHashes = new InputHashes(matched.context.ledger, matched.context.bank);
  const rest = (function* (): Generator<void, { breaks: ReconBreak[]; summary: ReconcileSummary }> {
    while (!inputHashes.step(HASH_STEP_ITEMS)) yield;
    return yield* classifyStage(matched, inputs, ruleSet, options, undefined, () => inputHashes.result());
  })();
  let finished: { readonly breaks: readonly ReconBreak[]; readonly summary: ReconcileSummary } | undefined;
  return {
    matches,
    itemMatches,
    step: () => {
      if (finished !== undefined) return true;
      const next = rest.next();
      if (next.done === true) finished = next.value;
      return finished !== undefined;
    },
    finish: () => (finished ??= finishSteps(rest)),
  };
}

/** Per input item (input order, through the sort order), the index of its match, -1 where it has none. */
function itemMatchesOf(groupOfSorted: Int32Array, order: readonly number[] | undefined, matchOfGroup: Int32Array): Int32Array {
  const out = new Int32Array(groupOfSorted.length);
  for (let sorted = 0; sorted < groupOfSorted.length; sorted += 1) {
    const group = groupOfSorted[sorted]!;
    out[order === undefined ? sorted : order[sorted]!] = group === -1 ? -1 : matchOfGroup[group]!;
  }
  return out;
}

/** The rule chain, in order: each rule pairs what the ones before it left open. */
function runRules(context: MatchingContext, ruleSet: RuleSet, timer?: ReconcilePhaseTimer): void {
  for (const rule of ruleSet.rules) {
    switch (rule.type) {
      case 'ref-exact':
        runPairRule(context, refExactSpec(context, rule));
        break;
      case 'ref-in-text':
        runPairRule(context, refInTextSpec(context, rule));
        break;
      case 'ref-truncated':
        runPairRule(context, refTruncatedSpec(context, rule));
        break;
      case 'amount-date':
        runPairRule(context, amountDateSpec(context, rule));
        break;
      case 'batch':
        runBatchRule(context, rule);
        break;
    }
    timer?.phase(`rule ${rule.id}`);
  }
}

/**
 * Match groups in the order of matches.jsonl (by first ledger id, each side's ids in id order). Both sides are
 * sorted by id and a ledger entry is in at most one group, so walking the ledger in index order and taking each
 * group at its lowest ledger index gives exactly that order, without sorting and without a list of groups.
 */
function emitMatches(context: MatchingContext, emit: (rule: string, ledger: readonly string[], bank: readonly string[], group: number) => void): void {
  const ledgerGroup = context.ledgerGroup;
  for (let index = 0; index < ledgerGroup.length; index += 1) {
    const group = ledgerGroup[index]!;
    if (group === -1 || context.firstLedgerOfGroup(group) !== index) continue;
    if (context.isPairGroup(group)) {
      emit(context.ruleOfGroup(group), [context.ledger.entryId[index]!], [context.bank.id[context.firstBankOfGroup(group)]!], group);
      continue;
    }
    const members = context.membersOfGroup(group);
    emit(
      context.ruleOfGroup(group),
      members.ledger.map((member) => context.ledger.entryId[member]!),
      members.bank.map((member) => context.bank.id[member]!),
      group,
    );
  }
}

/** `JSON.stringify({ rule, ledger, bank })` plus LF, without building the object. */
function matchLine(rule: string, ledger: readonly string[], bank: readonly string[]): string {
  let line = `{"rule":${JSON.stringify(rule)},"ledger":[`;
  for (let index = 0; index < ledger.length; index += 1) line += (index === 0 ? '' : ',') + JSON.stringify(ledger[index]);
  line += '],"bank":[';
  for (let index = 0; index < bank.length; index += 1) line += (index === 0 ? '' : ',') + JSON.stringify(bank[index]);
  return `${line}]}\n`;
}

/** SHA-256 fed in blocks of about HASH_BLOCK_CHARACTERS: one digest update per block, not per line. */
class BlockHash {
  private readonly hash = createHash('sha256');
  private block = '';
  add(text: string): void {
    this.block += text;
    if (this.block.length >= HASH_BLOCK_CHARACTERS) {
      this.hash.update(this.block);
      this.block = '';
    }
  }
  digest(): string {
    this.hash.update(this.block);
    this.block = '';
    return this.hash.digest('hex');
  }
}

/** Counts per rule and per side, gathered while the matches are written. */
class OutputCounts {
  readonly matchesByRule: Record<string, { groups: number; ledgerEntries: number; bankLines: number }> = {};
  matchGroups = 0;
  matchedLedger = 0;
  matchedBank = 0;

  constructor(ruleSet: RuleSet) {
    for (const rule of ruleSet.rules) this.matchesByRule[rule.id] = { groups: 0, ledgerEntries: 0, bankLines: 0 };
  }

  addMatch(rule: string, ledgerCount: number, bankCount: number): void {
    const entry = this.matchesByRule[rule]!;
    entry.groups += 1;
    entry.ledgerEntries += ledgerCount;
    entry.bankLines += bankCount;
    this.matchGroups += 1;
    this.matchedLedger += ledgerCount;
    this.matchedBank += bankCount;
  }

  /**
   * The exclusivity invariant on the output itself. Each assignment was already asserted when it was made (an
   * item matched or classified twice throws); here the totals must add up, so nothing was left out either.
   */
  assertExclusive(context: MatchingContext, breaks: readonly ReconBreak[]): void {
    let ledgerCount = this.matchedLedger;
    let bankCount = this.matchedBank;
    for (const item of breaks) {
      ledgerCount += item.ledger.length;
      bankCount += item.bank.length;
    }
    if (ledgerCount !== context.ledger.length) throw new Error(`${context.ledger.length} ledger entries but ${ledgerCount} places in matches and breaks`);
    if (bankCount !== context.bank.length) throw new Error(`${context.bank.length} bank lines but ${bankCount} places in matches and breaks`);
  }
}

/** Currency codes repeat: each distinct one is checked once, the first item carrying a bad one is named. */
function validateCurrencies(ledger: readonly LedgerItem[] | LedgerColumns, bank: readonly BankItem[] | BankColumns): void {
  const valid = new Set<string>();
  const check = (currency: string, what: () => string): void => {
    if (valid.has(currency)) return;
    if (!isCurrencyCode(currency)) throw new InvalidReconcileInputError(`${what()}: '${currency}' is not an ISO 4217 currency code`);
    valid.add(currency);
  };
  if (ledger instanceof LedgerColumns) {
    for (let index = 0; index < ledger.length; index += 1) check(ledger.currency[index]!, () => `ledger entry ${ledger.entryId[index]}`);
  } else for (const item of ledger) check(item.currency, () => `ledger entry ${item.entryId}`);
  if (bank instanceof BankColumns) {
    for (let index = 0; index < bank.length; index += 1) check(bank.currency[index]!, () => `bank line ${bank.id[index]}`);
  } else for (const item of bank) check(item.currency, () => `bank line ${item.id}`);
}

function compareBreaks(a: ReconBreak, b: ReconBreak): number {
  return (
    BREAK_TYPES.indexOf(a.type) - BREAK_TYPES.indexOf(b.type) ||
    compareText(a.ledger[0] ?? '', b.ledger[0] ?? '') ||
    compareText(a.bank[0] ?? '', b.bank[0] ?? '') ||
    compareText(a.source ?? '', b.source ?? '') ||
    (a.lineNo ?? 0) - (b.lineNo ?? 0) ||
    compareText(a.account ?? '', b.account ?? '') ||
    compareText(a.currency, b.currency) ||
    compareText(a.statementId ?? '', b.statementId ?? '') ||
    compareText(a.reason, b.reason)
  );
}

function summarise(
  context: MatchingContext,
  ruleSet: RuleSet,
  counts: OutputCounts,
  breaks: readonly ReconBreak[],
  inputHashes: ReconcileOptions['inputHashes'],
  resultHash: string,
): ReconcileSummary {
  const breaksByType = Object.fromEntries(BREAK_TYPES.map((type) => [type, 0])) as Record<BreakType, number>;
  const breaksBySeverity: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const item of breaks) {
    breaksByType[item.type] += 1;
    breaksBySeverity[item.severity] = (breaksBySeverity[item.severity] ?? 0) + 1;
  }
  const totalItems = context.ledger.length + context.bank.length;
  const matchRate = totalItems === 0 ? 1 : Math.round(((counts.matchedLedger + counts.matchedBank) / totalItems) * 1e6) / 1e6;
  return {
    run: {
      engineVersion: ENGINE_VERSION,
      rulesVersion: ruleSet.version,
      rulesHash: ruleSet.rulesHash,
      ledgerHash: inputHashes?.ledger ?? hashLedger(context.ledger),
      bankHash: inputHashes?.bank ?? hashBank(context.bank),
      resultHash,
    },
    counts: {
      ledgerEntries: context.ledger.length,
      bankLines: context.bank.length,
      matchGroups: counts.matchGroups,
      matchedLedgerEntries: counts.matchedLedger,
      matchedBankLines: counts.matchedBank,
      breaks: breaks.length,
    },
    matchesByRule: counts.matchesByRule,
    breaksByType,
    breaksBySeverity,
    matchRate,
    totals: totalsByCurrency(context, breaks),
  };
}

function totalsByCurrency(context: MatchingContext, breaks: readonly ReconBreak[]): Record<string, CurrencyTotals> {
  interface Sums {
    ledgerCount: number;
    bankCount: number;
    ledger: bigint;
    bank: bigint;
    matchedLedger: bigint;
    matchedBank: bigint;
    breaks: bigint;
  }
  const sums = new Map<string, Sums>();
  const of = (currency: string): Sums => {
    let value = sums.get(currency);
    if (value === undefined) {
      value = { ledgerCount: 0, bankCount: 0, ledger: 0n, bank: 0n, matchedLedger: 0n, matchedBank: 0n, breaks: 0n };
      sums.set(currency, value);
    }
    return value;
  };
  for (let index = 0; index < context.ledger.length; index += 1) {
    const value = of(context.ledger.currency[index]!);
    const amountMinor = context.ledger.amountMinor.at(index);
    value.ledgerCount += 1;
    value.ledger += amountMinor;
    if (context.ledgerGroup[index] !== -1) value.matchedLedger += amountMinor;
  }
  for (let index = 0; index < context.bank.length; index += 1) {
    const value = of(context.bank.currency[index]!);
    const amountMinor = context.bank.amountMinor.at(index);
    value.bankCount += 1;
    value.bank += amountMinor;
    if (context.bankGroup[index] !== -1) value.matchedBank += amountMinor;
  }
  const result: Record<string, CurrencyTotals> = {};
  for (const item of breaks) {
    if (!isCurrencyCode(item.currency)) continue;
    of(item.currency).breaks += parseDecimalToMinor(item.amount, minorDigitsOf(item.currency));
  }
  for (const currency of [...sums.keys()].sort(compareText)) {
    const value = sums.get(currency)!;
    result[currency] = {
      ledgerCount: value.ledgerCount,
      bankCount: value.bankCount,
      ledgerAmount: decimalOf(value.ledger, currency),
      bankAmount: decimalOf(value.bank, currency),
      matchedLedgerAmount: decimalOf(value.matchedLedger, currency),
      matchedBankAmount: decimalOf(value.matchedBank, currency),
      breaksAmount: decimalOf(value.breaks, currency),
    };
  }
  return result;
}

/**
 * Hash input accumulated in blocks of this many characters: one digest update per block, not per item. Small enough
 * that a block and its pieces die young: a block of 1 << 20 characters was flattened into the large-object space
 * each time and its lines outlived young collections (matches phase of a 1M day ~1.3 -> ~1.0 s).
 */
const HASH_BLOCK_CHARACTERS = 1 << 15;

/** SHA-256 of one line per item, fed to the digest in blocks. */
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

/** SHA-256 of the lines of matches.jsonl followed by those of breaks.jsonl, exactly as written. */
export function hashResult(matches: readonly MatchOutput[], breaks: readonly ReconBreak[]): string {
  const hash = createHash('sha256');
  hash.update(hashItems(matches, (match) => `${JSON.stringify(match)}\n`));
  hash.update(hashItems(breaks, (item) => `${JSON.stringify(item)}\n`));
  return hash.digest('hex');
}
