import { createHash } from 'node:crypto';
import { isCurrencyCode, minorDigitsOf, parseDecimalToMinor } from '@recon/money';
import { BREAK_TYPES, type BreakType, type ReconBreak } from '../breaks/break';
import { BreakClassifier } from '../breaks/break-classifier';
import { decimalOf } from '../breaks/money-text';
import type { BankItem, LedgerItem, ReconcileInputs } from '../model/items';
import type { RuleSet } from '../rules/rule-set';
import { runBatchRule } from './batch-rule.runner';
import { compareText, InvalidReconcileInputError, MatchingContext } from './matching-context';
import { runPairRule, runUniqueReferencePairs } from './pair-rule.runner';
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
}

/**
 * The matching engine: runs the rule chain, then classifies what is left into breaks. Pure and
 * deterministic: both sides are sorted by their ids first, all indexes are hash maps, and ties are never
 * broken by chance. Every ledger entry and every bank line ends in exactly one match group or one break
 * (asserted at the end).
 */
export function reconcile(inputs: ReconcileInputs, ruleSet: RuleSet, options: ReconcileOptions = {}): ReconcileResult {
  const timer = options.timer;
  validateCurrencies(inputs.ledger, inputs.bank);
  const context = new MatchingContext(inputs.ledger, inputs.bank, ruleSet);
  timer?.phase('index');
  for (const rule of ruleSet.rules) {
    switch (rule.type) {
      case 'ref-exact':
        {
          const presence = runUniqueReferencePairs(context, refExactSpec(context, rule));
          runPairRule(context, refExactSpec(context, rule, presence));
          break;
        }
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
  const breaks = new BreakClassifier(context, ruleSet).classify(inputs);
  timer?.phase('classify');
  const matches = context.groups
    .map((group) => ({
      rule: group.rule,
      ledger: group.ledger.map((index) => context.ledger[index]!.entryId).sort(compareText),
      bank: group.bank.map((index) => context.bank[index]!.id).sort(compareText),
    }))
    .sort(compareMatches);
  const sortedBreaks = [...breaks].sort(compareBreaks);
  assertExclusive(context, matches, sortedBreaks);
  const summary = summarise(context, ruleSet, matches, sortedBreaks, options.inputHashes);
  timer?.phase('summary');
  return { matches, breaks: sortedBreaks, summary };
}

function validateCurrencies(ledger: readonly LedgerItem[], bank: readonly BankItem[]): void {
  for (const item of ledger)
    if (!isCurrencyCode(item.currency))
      throw new InvalidReconcileInputError(`ledger entry ${item.entryId}: '${item.currency}' is not an ISO 4217 currency code`);
  for (const item of bank)
    if (!isCurrencyCode(item.currency)) throw new InvalidReconcileInputError(`bank line ${item.id}: '${item.currency}' is not an ISO 4217 currency code`);
}

function compareMatches(a: MatchOutput, b: MatchOutput): number {
  return compareText(a.ledger[0] ?? '', b.ledger[0] ?? '') || compareText(a.bank[0] ?? '', b.bank[0] ?? '');
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

/**
 * The exclusivity invariant on the output itself. Each assignment was already asserted when it was made (an
 * item matched or classified twice throws); here the totals must add up, so nothing was left out either.
 */
function assertExclusive(context: MatchingContext, matches: readonly MatchOutput[], breaks: readonly ReconBreak[]): void {
  let ledgerCount = 0;
  let bankCount = 0;
  for (const match of matches) {
    ledgerCount += match.ledger.length;
    bankCount += match.bank.length;
  }
  for (const item of breaks) {
    ledgerCount += item.ledger.length;
    bankCount += item.bank.length;
  }
  if (ledgerCount !== context.ledger.length) throw new Error(`${context.ledger.length} ledger entries but ${ledgerCount} places in matches and breaks`);
  if (bankCount !== context.bank.length) throw new Error(`${context.bank.length} bank lines but ${bankCount} places in matches and breaks`);
}

function summarise(
  context: MatchingContext,
  ruleSet: RuleSet,
  matches: readonly MatchOutput[],
  breaks: readonly ReconBreak[],
  inputHashes: ReconcileOptions['inputHashes'],
): ReconcileSummary {
  const matchesByRule: Record<string, { groups: number; ledgerEntries: number; bankLines: number }> = {};
  for (const rule of ruleSet.rules) matchesByRule[rule.id] = { groups: 0, ledgerEntries: 0, bankLines: 0 };
  let matchedLedger = 0;
  let matchedBank = 0;
  for (const match of matches) {
    const entry = matchesByRule[match.rule]!;
    entry.groups += 1;
    entry.ledgerEntries += match.ledger.length;
    entry.bankLines += match.bank.length;
    matchedLedger += match.ledger.length;
    matchedBank += match.bank.length;
  }
  const breaksByType = Object.fromEntries(BREAK_TYPES.map((type) => [type, 0])) as Record<BreakType, number>;
  const breaksBySeverity: Record<string, number> = { critical: 0, high: 0, medium: 0, low: 0 };
  for (const item of breaks) {
    breaksByType[item.type] += 1;
    breaksBySeverity[item.severity] = (breaksBySeverity[item.severity] ?? 0) + 1;
  }
  const totalItems = context.ledger.length + context.bank.length;
  const matchRate = totalItems === 0 ? 1 : Math.round(((matchedLedger + matchedBank) / totalItems) * 1e6) / 1e6;
  return {
    run: {
      engineVersion: ENGINE_VERSION,
      rulesVersion: ruleSet.version,
      rulesHash: ruleSet.rulesHash,
      ledgerHash: inputHashes?.ledger ?? hashLedger(context.ledger),
      bankHash: inputHashes?.bank ?? hashBank(context.bank),
      resultHash: hashResult(matches, breaks),
    },
    counts: {
      ledgerEntries: context.ledger.length,
      bankLines: context.bank.length,
      matchGroups: matches.length,
      matchedLedgerEntries: matchedLedger,
      matchedBankLines: matchedBank,
      breaks: breaks.length,
    },
    matchesByRule,
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
  context.ledger.forEach((item, index) => {
    const value = of(item.currency);
    value.ledgerCount += 1;
    value.ledger += item.amountMinor;
    if (context.ledgerGroup[index] !== -1) value.matchedLedger += item.amountMinor;
  });
  context.bank.forEach((item, index) => {
    const value = of(item.currency);
    value.bankCount += 1;
    value.bank += item.amountMinor;
    if (context.bankGroup[index] !== -1) value.matchedBank += item.amountMinor;
  });
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

/** Hash input accumulated in blocks of this many characters: one digest update per block, not per item. */
const HASH_BLOCK_CHARACTERS = 1 << 20;

/** Fields joined by TAB, items by LF; free text JSON-quoted so that a TAB or LF inside it cannot shift fields. */
function hashItems<T>(items: readonly T[], line: (item: T) => string): string {
  const hash = createHash('sha256');
  let block = '';
  for (const item of items) {
    block += line(item);
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

function hashLedger(ledger: readonly LedgerItem[]): string {
  return hashItems(
    ledger,
    (item) =>
      `${quoted(item.entryId)}\t${quoted(item.account)}\t${item.amountMinor}\t${item.currency}\t${item.valueDate}\t${quoted(item.reference)}\t${quoted(item.subAccount)}\t${item.bookingDate ?? '-'}\t${quoted(item.description)}\t${quoted(item.kind)}\t${quoted(item.batchReference)}\n`,
  );
}

function hashBank(bank: readonly BankItem[]): string {
  return hashItems(
    bank,
    (item) =>
      `${quoted(item.id)}\t${quoted(item.statementId)}\t${item.lineNo}\t${quoted(item.account)}\t${item.amountMinor}\t${item.currency}\t${item.valueDate ?? '-'}\t${item.bookingDate ?? '-'}\t` +
      `${quoted(item.bankRef)}\t${quoted(item.endToEndId)}\t${quoted(item.customerRef)}\t${quoted(item.remittance)}\t${quoted(item.counterpartyName)}\t${quoted(item.bankTxCode)}\t${item.reversal}\t` +
      `${(item.transactions ?? []).map((part) => `${part.amountMinor}/${quoted(part.endToEndId)}/${quoted(part.remittance)}`).join(';')}\n`,
  );
}

/** SHA-256 of the lines of matches.jsonl followed by those of breaks.jsonl, exactly as written. */
export function hashResult(matches: readonly MatchOutput[], breaks: readonly ReconBreak[]): string {
  const hash = createHash('sha256');
  hash.update(hashItems(matches, (match) => `${JSON.stringify(match)}\n`));
  hash.update(hashItems(breaks, (item) => `${JSON.stringify(item)}\n`));
  return hash.digest('hex');
}
