import { createHash } from 'node:crypto';
import { isCurrencyCode, minorDigitsOf, parseDecimalToMinor } from '@recon/money';
import { BREAK_TYPES, type BreakType, type ReconBreak } from '../breaks/break';
import { BreakClassifier } from '../breaks/break-classifier';
import { decimalOf } from '../breaks/money-text';
import type { BankItem, LedgerItem, ReconcileInputs } from '../model/items';
import type { RuleSet } from '../rules/rule-set';
import { runBatchRule } from './batch-rule.runner';
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
  /** SHA-256 of the canonical, sorted ledger and bank items (independent of input order and file format). */
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

/**
 * The matching engine: runs the rule chain, then classifies what is left into breaks. Pure and
 * deterministic: both sides are sorted by their ids first, all indexes are hash maps, and ties are never
 * broken by chance. Every ledger entry and every bank line ends in exactly one match group or one break
 * (asserted at the end).
 */
export function reconcile(inputs: ReconcileInputs, ruleSet: RuleSet, timer?: ReconcilePhaseTimer): ReconcileResult {
  validateCurrencies(inputs.ledger, inputs.bank);
  const context = new MatchingContext(inputs.ledger, inputs.bank, ruleSet);
  timer?.phase('index');
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
  const summary = summarise(context, ruleSet, matches, sortedBreaks);
  timer?.phase('summary');
  return { matches, breaks: sortedBreaks, summary };
}

function validateCurrencies(ledger: readonly LedgerItem[], bank: readonly BankItem[]): void {
  for (const item of ledger) if (!isCurrencyCode(item.currency)) throw new InvalidReconcileInputError(`ledger entry ${item.entryId}: '${item.currency}' is not an ISO 4217 currency code`);
  for (const item of bank) if (!isCurrencyCode(item.currency)) throw new InvalidReconcileInputError(`bank line ${item.id}: '${item.currency}' is not an ISO 4217 currency code`);
}

function compareMatches(a: MatchOutput, b: MatchOutput): number {
  return compareText(a.ledger[0] ?? '', b.ledger[0] ?? '') || compareText(a.bank[0] ?? '', b.bank[0] ?? '');
}

function compareBreaks(a: ReconBreak, b: ReconBreak): number {
  return (
    BREAK_TYPES.indexOf(a.type) - BREAK_TYPES.indexOf(b.type) ||
    compareText(a.ledger[0] ?? '', b.ledger[0] ?? '') ||
    compareText(a.bank[0] ?? '', b.bank[0] ?? '') ||
    compareText(a.account ?? '', b.account ?? '') ||
    compareText(a.currency, b.currency) ||
    compareText(a.statementId ?? '', b.statementId ?? '') ||
    compareText(a.source ?? '', b.source ?? '') ||
    (a.lineNo ?? 0) - (b.lineNo ?? 0) ||
    compareText(a.reason, b.reason)
  );
}

/** The exclusivity invariant, checked on the output itself: each id in exactly one group or break. */
function assertExclusive(context: MatchingContext, matches: readonly MatchOutput[], breaks: readonly ReconBreak[]): void {
  const ledgerSeen = new Set<string>();
  const bankSeen = new Set<string>();
  const take = (seen: Set<string>, id: string, side: string): void => {
    if (seen.has(id)) throw new Error(`${side} ${id} appears in more than one match or break`);
    seen.add(id);
  };
  for (const match of matches) {
    for (const id of match.ledger) take(ledgerSeen, id, 'ledger entry');
    for (const id of match.bank) take(bankSeen, id, 'bank line');
  }
  for (const item of breaks) {
    for (const id of item.ledger) take(ledgerSeen, id, 'ledger entry');
    for (const id of item.bank) take(bankSeen, id, 'bank line');
  }
  if (ledgerSeen.size !== context.ledger.length) throw new Error(`${context.ledger.length - ledgerSeen.size} ledger entries ended in neither a match nor a break`);
  if (bankSeen.size !== context.bank.length) throw new Error(`${context.bank.length - bankSeen.size} bank lines ended in neither a match nor a break`);
}

function summarise(context: MatchingContext, ruleSet: RuleSet, matches: readonly MatchOutput[], breaks: readonly ReconBreak[]): ReconcileSummary {
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
      ledgerHash: hashLedger(context.ledger),
      bankHash: hashBank(context.bank),
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

function hashLedger(ledger: readonly LedgerItem[]): string {
  const hash = createHash('sha256');
  for (const item of ledger) {
    hash.update(
      JSON.stringify([item.entryId, item.account, item.amountMinor.toString(), item.currency, item.valueDate, item.reference ?? null, item.subAccount ?? null, item.bookingDate ?? null, item.description ?? null, item.kind ?? null, item.batchReference ?? null]),
    );
    hash.update('\n');
  }
  return hash.digest('hex');
}

function hashBank(bank: readonly BankItem[]): string {
  const hash = createHash('sha256');
  for (const item of bank) {
    hash.update(
      JSON.stringify([
        item.id,
        item.statementId,
        item.lineNo,
        item.account,
        item.amountMinor.toString(),
        item.currency,
        item.valueDate ?? null,
        item.bookingDate ?? null,
        item.bankRef ?? null,
        item.endToEndId ?? null,
        item.customerRef ?? null,
        item.remittance ?? null,
        item.counterpartyName ?? null,
        item.bankTxCode ?? null,
        item.reversal,
        (item.transactions ?? []).map((part) => [part.amountMinor.toString(), part.endToEndId ?? null, part.remittance ?? null]),
      ]),
    );
    hash.update('\n');
  }
  return hash.digest('hex');
}

export function hashResult(matches: readonly MatchOutput[], breaks: readonly ReconBreak[]): string {
  const hash = createHash('sha256');
  for (const match of matches) hash.update(`${JSON.stringify(match)}\n`);
  for (const item of breaks) hash.update(`${JSON.stringify(item)}\n`);
  return hash.digest('hex');
}
