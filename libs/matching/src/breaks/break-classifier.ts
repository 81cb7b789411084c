import { normalisedReferenceKey, textReferenceKeys } from '../model/references';
import type { LedgerBalance, RejectedLine, StatementBalance, StatementFinding } from '../model/items';
import { ledgerBatches, bankBatchKeys } from '../engine/batch-rule.runner';
import { absMinor, accountKey, compareText, type MatchingContext } from '../engine/matching-context';
import { bankIdentity, bankPlatformReferences, bankReferencesForMatching } from '../engine/pair-rule.specs';
import { firstRuleOfType, type RuleSet } from '../rules/rule-set';
import { makeBreak, type BreakSeverity, type ReconBreak } from './break';
import { BreakExplainer, type ExplainTolerance } from './break-explainer';
import { decimalOf, displayMoney } from './money-text';

const PAIRING_ROUNDS_MAX = 8;
const BATCH_ENTRIES_MAX = 10_000;
const TEXT_TOKENS_JOINED_MAX = 4;
const TEXT_KEY_LENGTH_MIN = 6;
/** Currency stated on a break about a line of unknown currency: ISO 4217 "no currency involved". */
export const UNKNOWN_CURRENCY = 'XXX';

export interface ClassifyExtras {
  readonly statements?: readonly StatementBalance[];
  readonly balances?: readonly LedgerBalance[];
  readonly findings?: readonly StatementFinding[];
  readonly rejected?: readonly RejectedLine[];
}

/** Missing items explained (their candidates ranked and checked) between two pauses of `classifyInSteps`. */
const MISSING_STEP_ITEMS = 128;

/**
 * Turns everything the rules left unmatched into breaks, each item into exactly one break:
 * 1. batch sums that disagree with the bank line naming the batch (amount_mismatch);
 * 2. pairs that share a reference but differ in currency, amount or value date (mutual unique best only);
 * 3. items repeating another item of the same side: same account, amount, value date, reference (duplicate);
 * 4. the rest: missing_in_bank, missing_in_ledger, or unauthorized_debit for debits nothing explains.
 * Then the statement-level breaks: balance_mismatch, statement_gap, rejected_line.
 */
export class BreakClassifier {
  private readonly ledgerDone: Uint8Array;
  private readonly bankDone: Uint8Array;
  private readonly breaks: ReconBreak[] = [];
  private readonly tolerance: ExplainTolerance;
  private readonly explainer: BreakExplainer;
  private readonly criticalMinorByCurrency = new Map<string, bigint>();

  constructor(
    private readonly context: MatchingContext,
    private readonly ruleSet: RuleSet,
  ) {
    this.ledgerDone = new Uint8Array(context.ledger.length);
    this.bankDone = new Uint8Array(context.bank.length);
    const referenceRule = firstRuleOfType(ruleSet, 'ref-exact') ?? ruleSet.rules[0];
    const truncatedRule = firstRuleOfType(ruleSet, 'ref-truncated');
    this.tolerance = {
      amountToleranceMinor: referenceRule?.amountToleranceMinor ?? 0n,
      valueDateToleranceDays: referenceRule?.valueDateToleranceDays ?? 2,
      truncatedLengths: truncatedRule?.truncatedLengths ?? [16, 35],
    };
    this.explainer = new BreakExplainer(context, this.tolerance, (side, index) => {
      const group = side === 'ledger' ? context.ledgerGroup[index]! : context.bankGroup[index]!;
      return group === -1 ? undefined : context.ruleOfGroup(group);
    });
  }

  /**
   * The breaks of every item no rule matched, and of the balances, findings and rejected lines; pausing (yielding)
   * in its long passes, so that a caller can take it a slice at a time between other work.
   */
  *classifyInSteps(extras: ClassifyExtras): Generator<void, ReconBreak[]> {
    const context = this.context;
    for (let index = 0; index < context.ledger.length; index += 1) if (context.ledgerGroup[index] !== -1) this.ledgerDone[index] = 1;
    for (let index = 0; index < context.bank.length; index += 1) if (context.bankGroup[index] !== -1) this.bankDone[index] = 1;
    const leftLedger = this.pending('ledger');
    const leftBank = this.pending('bank');
    if (leftLedger.length > 0 || leftBank.length > 0) {
      yield* this.explainer.prepareInSteps(leftLedger, leftBank);
      this.classifyBatchMismatches();
      yield;
      // Repeats of an already matched item first, so that a repeat is not mistaken for a mismatched pair.
      this.classifyDuplicates(true);
      yield;
      this.classifyReferencePairs();
      yield;
      this.classifyDuplicates(false);
      yield;
      yield* this.classifyMissing();
    }
    if (this.pending('ledger').length > 0 || this.pending('bank').length > 0) throw new Error('an item ended in neither a match nor a break');
    this.classifyBalances(extras.statements ?? [], extras.balances ?? []);
    for (const finding of [...(extras.findings ?? [])].sort(compareFindings)) this.breaks.push(statementGap(finding));
    for (const line of [...(extras.rejected ?? [])].sort((a, b) => compareText(a.source, b.source) || a.lineNo - b.lineNo))
      this.breaks.push(rejectedLine(line));
    return this.breaks;
  }

  private pending(side: 'ledger' | 'bank'): number[] {
    const done = side === 'ledger' ? this.ledgerDone : this.bankDone;
    const out: number[] = [];
    for (let index = 0; index < done.length; index += 1) if (done[index] === 0) out.push(index);
    return out;
  }

  private classifyBatchMismatches(): void {
    const context = this.context;
    const batches = ledgerBatches(context, BATCH_ENTRIES_MAX);
    const hits = new Map<string, number[]>();
    const hitsByBank = new Map<number, string[]>();
    for (const bankIndex of this.pending('bank')) {
      for (const key of bankBatchKeys(context, bankIndex)) {
        const batchKey = `${context.bankAccountCurrency[bankIndex]}|${key}`;
        const batch = batches.get(batchKey);
        if (batch === undefined || batch.members.length < 2) continue;
        pushTo(hits, batchKey, bankIndex);
        pushTo(hitsByBank, bankIndex, batchKey);
      }
    }
    for (const [bankIndex, batchKeys] of [...hitsByBank].sort((a, b) => a[0] - b[0])) {
      if (batchKeys.length !== 1 || hits.get(batchKeys[0]!)!.length !== 1) continue;
      const batch = batches.get(batchKeys[0]!)!;
      if (batch.members.some((member) => this.ledgerDone[member] === 1)) continue;
      const bankItem = context.bank.item(bankIndex);
      const currency = bankItem.currency;
      const differenceMinor = bankItem.amountMinor - batch.sumMinor;
      const ledgerIds = batch.members.map((member) => context.ledger.entryId[member]!);
      const batchName = context.ledger.batchReference[batch.members[0]!] ?? '';
      if (absMinor(differenceMinor) > this.tolerance.amountToleranceMinor) {
        this.push(
          makeBreak('amount_mismatch', {
            severity: this.mismatchSeverity(differenceMinor, batch.sumMinor, currency),
            currency,
            amount: decimalOf(absMinor(differenceMinor), currency),
            ledger: ledgerIds,
            bank: [bankItem.id],
            reason: `bank line ${bankItem.id} settles batch ${batchName} but its ${displayMoney(bankItem.amountMinor, currency)} differs by ${displayMoney(absMinor(differenceMinor), currency)} from the ${batch.members.length} ledger entries' sum of ${displayMoney(batch.sumMinor, currency)}`,
            account: bankItem.account,
          }),
          batch.members,
          [bankIndex],
        );
      } else {
        this.push(
          makeBreak('date_mismatch', {
            severity: 'low',
            currency,
            amount: decimalOf(absMinor(bankItem.amountMinor), currency),
            ledger: ledgerIds,
            bank: [bankItem.id],
            reason: `bank line ${bankItem.id} settles batch ${batchName} with the right sum but value dates are more than ${this.tolerance.valueDateToleranceDays} days apart`,
            account: bankItem.account,
          }),
          batch.members,
          [bankIndex],
        );
      }
    }
  }

  /** Pairs left-over items that share a reference, to say *what* differs between them. */
  private classifyReferencePairs(): void {
    const context = this.context;
    const ledgerByKey = new Map<string, number[]>();
    const specificPrefixes = this.specificTruncatedPrefixes();
    for (const index of this.pending('ledger')) {
      const account = context.ledgerAccount[index];
      const exact = context.ledgerRefExact[index];
      if (exact === undefined) continue;
      pushTo(ledgerByKey, `E|${account}|${exact}`, index);
      for (const length of this.tolerance.truncatedLengths) {
        const key = `E|${account}|${exact.slice(0, length).trimEnd()}`;
        if (exact.length > length && specificPrefixes.has(key)) pushTo(ledgerByKey, key, index);
      }
      const normalised = context.ledgerRefNormalisedOf(index);
      if (normalised !== undefined && normalised.length >= TEXT_KEY_LENGTH_MIN) pushTo(ledgerByKey, `N|${account}|${normalised}`, index);
    }
    if (ledgerByKey.size === 0) return;
    interface PairEdge {
      readonly ledgerIndex: number;
      readonly bankIndex: number;
      readonly score: readonly [number, bigint, number];
    }
    const edges: PairEdge[] = [];
    const keys = new Set<string>();
    for (const bankIndex of this.pending('bank')) {
      const bankItem = context.bank.item(bankIndex);
      const account = context.bankAccount[bankIndex];
      keys.clear();
      for (const reference of bankReferencesForMatching(context, bankIndex)) keys.add(`E|${account}|${reference}`);
      const textKeys = new Set<string>();
      for (const reference of [bankItem.endToEndId, bankItem.customerRef]) {
        const key = normalisedReferenceKey(reference, context.ignoredReferences);
        if (key !== undefined) textKeys.add(key);
      }
      textReferenceKeys(bankItem.remittance, TEXT_TOKENS_JOINED_MAX, TEXT_KEY_LENGTH_MIN, textKeys);
      for (const key of textKeys) keys.add(`N|${account}|${key}`);
      const seen = new Set<number>();
      for (const key of keys) {
        for (const ledgerIndex of ledgerByKey.get(key) ?? []) {
          if (seen.has(ledgerIndex)) continue;
          seen.add(ledgerIndex);
          const ledgerItem = context.ledger.item(ledgerIndex);
          const currencyDiffers = ledgerItem.currency === bankItem.currency ? 0 : 1;
          // Across currencies the raw minor numbers still tell which candidate is nearest (a mislabelled currency).
          const amountDiff = absMinor(ledgerItem.amountMinor - bankItem.amountMinor);
          edges.push({ ledgerIndex, bankIndex, score: [currencyDiffers, amountDiff, context.dayDistance(ledgerIndex, bankIndex)] });
        }
      }
    }
    const better = (a: readonly [number, bigint, number], b: readonly [number, bigint, number]): number =>
      a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) || a[2] - b[2];
    let live = edges.sort((a, b) => a.ledgerIndex - b.ledgerIndex || a.bankIndex - b.bankIndex);
    for (let round = 0; round < PAIRING_ROUNDS_MAX && live.length > 0; round += 1) {
      const bestLedger = new Map<number, { edge: PairEdge; count: number }>();
      const bestBank = new Map<number, { edge: PairEdge; count: number }>();
      for (const edge of live) {
        offerBest(bestLedger, edge.ledgerIndex, edge, better);
        offerBest(bestBank, edge.bankIndex, edge, better);
      }
      let paired = 0;
      for (const edge of live) {
        const forLedger = bestLedger.get(edge.ledgerIndex)!;
        const forBank = bestBank.get(edge.bankIndex)!;
        if (forLedger.count !== 1 || forBank.count !== 1 || forLedger.edge !== edge || forBank.edge !== edge) continue;
        if (this.pairBreak(edge.ledgerIndex, edge.bankIndex)) paired += 1;
      }
      if (paired === 0) break;
      live = live.filter((edge) => this.ledgerDone[edge.ledgerIndex] === 0 && this.bankDone[edge.bankIndex] === 0);
    }
  }

  /**
   * Truncated prefixes of left-over ledger references that belong to a single ledger entry. A prefix many
   * references share ("PLATFORM-WITHDRA") says nothing about which entry a bank line is, so without the
   * amount agreeing it is no evidence of a pair.
   */
  private specificTruncatedPrefixes(): Set<string> {
    const context = this.context;
    const counts = new Map<string, number>();
    for (const index of this.pending('ledger')) {
      const exact = context.ledgerRefExact[index];
      if (exact === undefined) continue;
      for (const length of this.tolerance.truncatedLengths)
        if (exact.length > length) counts.set(`E|${context.ledgerAccount[index]}|${exact.slice(0, length).trimEnd()}`, 0);
    }
    if (counts.size === 0) return new Set();
    for (let index = 0; index < context.ledger.length; index += 1) {
      const exact = context.ledgerRefExact[index];
      if (exact === undefined) continue;
      for (const length of this.tolerance.truncatedLengths) {
        if (exact.length <= length) continue;
        const key = `E|${context.ledgerAccount[index]}|${exact.slice(0, length).trimEnd()}`;
        const count = counts.get(key);
        if (count !== undefined) counts.set(key, count + 1);
      }
    }
    return new Set([...counts].filter(([, count]) => count === 1).map(([key]) => key));
  }

  private pairBreak(ledgerIndex: number, bankIndex: number): boolean {
    const context = this.context;
    const ledgerItem = context.ledger.item(ledgerIndex);
    const bankItem = context.bank.item(bankIndex);
    const reference = context.ledgerRefExact[ledgerIndex] ?? '';
    const checks = this.explainer.checkPair(ledgerIndex, bankIndex);
    const candidates = [this.explainer.candidate('bank', bankIndex, checks)];
    const common = { ledger: [ledgerItem.entryId], bank: [bankItem.id], account: ledgerItem.account, valueDate: ledgerItem.valueDate, candidates };
    if (ledgerItem.currency !== bankItem.currency) {
      this.push(
        makeBreak('currency_mismatch', {
          severity: 'high',
          currency: ledgerItem.currency,
          amount: decimalOf(absMinor(ledgerItem.amountMinor), ledgerItem.currency),
          reason: `ledger ${ledgerItem.entryId} is ${displayMoney(ledgerItem.amountMinor, ledgerItem.currency)} but bank line ${bankItem.id} with reference ${reference} is ${displayMoney(bankItem.amountMinor, bankItem.currency)}`,
          ...common,
        }),
        [ledgerIndex],
        [bankIndex],
      );
      return true;
    }
    const currency = ledgerItem.currency;
    const differenceMinor = bankItem.amountMinor - ledgerItem.amountMinor;
    if (absMinor(differenceMinor) > this.tolerance.amountToleranceMinor) {
      this.push(
        makeBreak('amount_mismatch', {
          severity: this.mismatchSeverity(differenceMinor, ledgerItem.amountMinor, currency),
          currency,
          amount: decimalOf(absMinor(differenceMinor), currency),
          reason: `ledger ${ledgerItem.entryId} and bank line ${bankItem.id} share reference ${reference} but the amount differs by ${displayMoney(absMinor(differenceMinor), currency)} (ledger ${displayMoney(ledgerItem.amountMinor, currency)}, bank ${displayMoney(bankItem.amountMinor, currency)})`,
          ...common,
        }),
        [ledgerIndex],
        [bankIndex],
      );
      return true;
    }
    const days = context.dayDistance(ledgerIndex, bankIndex);
    if (days > this.tolerance.valueDateToleranceDays) {
      this.push(
        makeBreak('date_mismatch', {
          severity: 'low',
          currency,
          amount: decimalOf(absMinor(ledgerItem.amountMinor), currency),
          reason: `ledger ${ledgerItem.entryId} and bank line ${bankItem.id} (reference ${reference}) have value dates ${days} days apart (${ledgerItem.valueDate} and ${bankItem.valueDate ?? bankItem.bookingDate ?? '?'}), tolerance ${this.tolerance.valueDateToleranceDays}`,
          ...common,
        }),
        [ledgerIndex],
        [bankIndex],
      );
      return true;
    }
    // Everything agrees: the rules left the pair alone because another candidate fitted equally well.
    return false;
  }

  private classifyDuplicates(onlyRepeatsOfDone: boolean): void {
    const context = this.context;
    const leftLedger = this.pending('ledger').filter((index) => context.ledgerRefExact[index] !== undefined);
    if (leftLedger.length > 0) {
      const twinKey = (index: number): string =>
        `${context.ledgerAccountCurrency[index]}|${context.ledger.amountMinor.at(index)}|${context.ledgerDay[index]}|${context.ledgerRefExact[index]}`;
      const twins = collectTwins(
        leftLedger.map(twinKey),
        context.ledger.length,
        (index) => context.ledger.amountMinor.at(index),
        (index) => (context.ledgerRefExact[index] === undefined ? undefined : twinKey(index)),
        leftLedger.map((index) => context.ledger.amountMinor.at(index)),
      );
      for (const index of leftLedger) {
        const all = twins.get(twinKey(index)) ?? [];
        const original = all.filter((other) => other !== index && (this.ledgerDone[other] === 1 || (!onlyRepeatsOfDone && other < index)));
        if (original.length === 0) continue;
        const item = context.ledger.item(index);
        const firstOriginal = context.ledger.item(original[0]!);
        this.push(
          makeBreak('duplicate', {
            severity: item.amountMinor > 0n ? 'high' : 'medium',
            currency: item.currency,
            amount: decimalOf(absMinor(item.amountMinor), item.currency),
            ledger: [item.entryId],
            bank: [],
            reason: `ledger entry ${item.entryId} repeats ${firstOriginal.entryId}: same ${displayMoney(item.amountMinor, item.currency)}, value date ${item.valueDate} and reference ${context.ledgerRefExact[index]}`,
            account: item.account,
            valueDate: item.valueDate,
            duplicateOf: original.map((other) => context.ledger.entryId[other]!),
          }),
          [index],
          [],
        );
      }
    }
    const leftBank = this.pending('bank');
    if (leftBank.length > 0) {
      const twinKey = (index: number): string =>
        `${context.bankAccountCurrency[index]}|${context.bank.amountMinor.at(index)}|${context.bankDay[index]}|${bankIdentity(context, index)}`;
      const twins = collectTwins(
        leftBank.map(twinKey),
        context.bank.length,
        (index) => context.bank.amountMinor.at(index),
        twinKey,
        leftBank.map((index) => context.bank.amountMinor.at(index)),
      );
      for (const index of leftBank) {
        const all = twins.get(twinKey(index)) ?? [];
        const original = all.filter((other) => other !== index && (this.bankDone[other] === 1 || (!onlyRepeatsOfDone && other < index)));
        if (original.length === 0) continue;
        const item = context.bank.item(index);
        const firstOriginal = context.bank.item(original[0]!);
        const identity = bankPlatformReferences(context, index).join(', ') || item.remittance || item.bankRef || '';
        this.push(
          makeBreak('duplicate', {
            severity: item.amountMinor < 0n ? 'high' : 'medium',
            currency: item.currency,
            amount: decimalOf(absMinor(item.amountMinor), item.currency),
            ledger: [],
            bank: [item.id],
            reason: `bank line ${item.id} repeats ${firstOriginal.id}: same ${displayMoney(item.amountMinor, item.currency)}, value date ${item.valueDate ?? item.bookingDate ?? '?'} and reference ${identity}`,
            account: item.account,
            ...(item.valueDate === undefined ? {} : { valueDate: item.valueDate }),
            duplicateOf: original.map((other) => context.bank.id[other]!),
            candidates: this.explainer.candidatesFor('bank', index),
          }),
          [],
          [index],
        );
      }
    }
  }

  private *classifyMissing(): Generator<void, void> {
    const context = this.context;
    let explained = 0;
    for (const index of this.pending('ledger')) {
      if (++explained % MISSING_STEP_ITEMS === 0) yield;
      const item = context.ledger.item(index);
      const ambiguity = context.ledgerAmbiguity.get(index);
      const reference = context.ledgerRefExact[index];
      const what = `ledger ${item.amountMinor < 0n ? 'debit' : 'credit'} of ${displayMoney(absMinor(item.amountMinor), item.currency)} (${item.entryId}${reference === undefined ? '' : `, reference ${reference}`}, value date ${item.valueDate})`;
      const ambiguousIds = ambiguity?.candidates.map((other) => context.bank.id[other]!);
      const reason =
        ambiguity === undefined
          ? `${what} has no bank line`
          : `${what} could not be paired: bank lines ${ambiguousIds!.join(', ')} fit equally well under rule ${ambiguity.rule}, and the engine does not choose by chance`;
      this.push(
        makeBreak('missing_in_bank', {
          severity: item.amountMinor > 0n ? 'high' : 'medium',
          currency: item.currency,
          amount: decimalOf(absMinor(item.amountMinor), item.currency),
          ledger: [item.entryId],
          bank: [],
          reason,
          account: item.account,
          valueDate: item.valueDate,
          candidates: this.explainer.candidatesFor('ledger', index),
          ...(ambiguity === undefined ? {} : { ambiguous: { rule: ambiguity.rule, candidates: ambiguousIds! } }),
        }),
        [index],
        [],
      );
    }
    for (const index of this.pending('bank')) {
      if (++explained % MISSING_STEP_ITEMS === 0) yield;
      const item = context.bank.item(index);
      const ambiguity = context.bankAmbiguity.get(index);
      const ambiguousIds = ambiguity?.candidates.map((other) => context.ledger.entryId[other]!);
      const amountText = displayMoney(absMinor(item.amountMinor), item.currency);
      const references = bankPlatformReferences(context, index);
      const referenceText = references.length === 0 ? '' : ` with reference ${references.join(', ')}`;
      const explanation = this.debitExplanation(index);
      let type: 'missing_in_ledger' | 'unauthorized_debit';
      let severity: BreakSeverity;
      let reason: string;
      if (item.amountMinor >= 0n) {
        type = 'missing_in_ledger';
        severity = 'medium';
        reason = `bank credited ${amountText} (${item.id}${referenceText}) with no ledger entry behind it`;
      } else if (ambiguity !== undefined || explanation !== undefined) {
        type = 'missing_in_ledger';
        severity = ambiguity === undefined ? 'low' : 'medium';
        reason =
          explanation !== undefined
            ? `bank debited ${amountText} (${item.id}) as ${explanation} with no ledger entry`
            : `bank debited ${amountText} (${item.id}${referenceText}) with no ledger entry it could be paired with`;
      } else {
        type = 'unauthorized_debit';
        severity = absMinor(item.amountMinor) >= this.criticalMinor(item.currency) ? 'critical' : 'high';
        reason = `bank debited ${amountText} (${item.id}${referenceText}) with no ledger instruction behind it`;
      }
      if (ambiguity !== undefined)
        reason += `; ledger entries ${ambiguousIds!.join(', ')} fit equally well under rule ${ambiguity.rule}, and the engine does not choose by chance`;
      this.push(
        makeBreak(type, {
          severity,
          currency: item.currency,
          amount: decimalOf(absMinor(item.amountMinor), item.currency),
          ledger: [],
          bank: [item.id],
          reason,
          account: item.account,
          ...(item.valueDate === undefined ? {} : { valueDate: item.valueDate }),
          candidates: this.explainer.candidatesFor('bank', index),
          ...(ambiguity === undefined ? {} : { ambiguous: { rule: ambiguity.rule, candidates: ambiguousIds! } }),
        }),
        [],
        [index],
      );
    }
  }

  /** A debit the bank explains itself: a reversal, or a charges/interest transaction code. */
  private debitExplanation(bankIndex: number): string | undefined {
    const item = this.context.bank.item(bankIndex);
    if (item.reversal) return 'a reversal';
    const code = item.bankTxCode?.toUpperCase();
    if (code === undefined) return undefined;
    const parts = code.split(/[^0-9A-Z]+/);
    return this.ruleSet.explainedDebitCodes.some((explained) => parts.includes(explained)) ? `charges (code ${item.bankTxCode})` : undefined;
  }

  private classifyBalances(statements: readonly StatementBalance[], balances: readonly LedgerBalance[]): void {
    const sortedBalances = [...balances].sort(
      (a, b) => compareText(accountKey(a.account), accountKey(b.account)) || compareText(a.currency, b.currency) || compareText(a.asOf, b.asOf),
    );
    for (const balance of sortedBalances) {
      const closing = statements
        .filter(
          (statement) =>
            accountKey(statement.account) === accountKey(balance.account) && statement.currency === balance.currency && statement.closingBalance !== undefined,
        )
        .filter(
          (statement) => statement.closingBalance!.date === balance.asOf || (statement.closingBalance!.date < balance.asOf && statement.to === balance.asOf),
        )
        .sort(
          (a, b) =>
            compareText(a.closingBalance!.date, b.closingBalance!.date) ||
            compareText(a.sequence ?? '', b.sequence ?? '') ||
            compareText(a.statementId, b.statementId),
        );
      const latest = closing[closing.length - 1];
      const currency = balance.currency;
      if (latest === undefined) {
        this.breaks.push(
          makeBreak('balance_mismatch', {
            severity: 'high',
            currency,
            amount: decimalOf(absMinor(balance.balanceMinor), currency),
            ledger: [],
            bank: [],
            reason: `no bank closing balance for account ${balance.account} in ${currency} as of ${balance.asOf}; the ledger's ${displayMoney(balance.balanceMinor, currency)} cannot be confirmed`,
            account: balance.account,
            valueDate: balance.asOf,
          }),
        );
        continue;
      }
      const bankMinor = latest.closingBalance!.amountMinor;
      const differenceMinor = bankMinor - balance.balanceMinor;
      if (differenceMinor === 0n) continue;
      const shortfall = differenceMinor < 0n;
      this.breaks.push(
        makeBreak('balance_mismatch', {
          severity: shortfall ? 'critical' : 'medium',
          currency,
          amount: decimalOf(absMinor(differenceMinor), currency),
          ledger: [],
          bank: [],
          reason: shortfall
            ? `bank holds ${displayMoney(bankMinor, currency)} on ${balance.account} at end of ${balance.asOf}, ${displayMoney(-differenceMinor, currency)} less than the ${displayMoney(balance.balanceMinor, currency)} the ledger says is owed`
            : `bank holds ${displayMoney(bankMinor, currency)} on ${balance.account} at end of ${balance.asOf}, ${displayMoney(differenceMinor, currency)} more than the ledger's ${displayMoney(balance.balanceMinor, currency)}`,
          account: balance.account,
          valueDate: balance.asOf,
          statementId: latest.statementId,
        }),
      );
    }
  }

  private mismatchSeverity(bankMinusLedgerMinor: bigint, ledgerMinor: bigint, currency: string): BreakSeverity {
    // Bank credited less than the ledger expects, or debited more than instructed: the custody account is short.
    const short = bankMinusLedgerMinor < 0n;
    void ledgerMinor;
    if (!short) return 'medium';
    return absMinor(bankMinusLedgerMinor) >= this.criticalMinor(currency) ? 'critical' : 'high';
  }

  private criticalMinor(currency: string): bigint {
    let value = this.criticalMinorByCurrency.get(currency);
    if (value === undefined) {
      value = BigInt(this.ruleSet.criticalAmountMajor) * 10n ** BigInt(decimalOf(0n, currency).split('.')[1]?.length ?? 0);
      this.criticalMinorByCurrency.set(currency, value);
    }
    return value;
  }

  private push(reconBreak: ReconBreak, ledgerItems: readonly number[], bankItems: readonly number[]): void {
    for (const index of ledgerItems) {
      if (this.ledgerDone[index] === 1) throw new Error(`ledger item ${this.context.ledger.entryId[index]!} classified twice`);
      this.ledgerDone[index] = 1;
    }
    for (const index of bankItems) {
      if (this.bankDone[index] === 1) throw new Error(`bank line ${this.context.bank.id[index]!} classified twice`);
      this.bankDone[index] = 1;
    }
    this.breaks.push(reconBreak);
  }
}

function statementGap(finding: StatementFinding): ReconBreak {
  const currency = isKnownCurrency(finding.currency) ? finding.currency : UNKNOWN_CURRENCY;
  const amount = finding.amount === undefined || currency === UNKNOWN_CURRENCY ? zeroOf(currency) : stripSign(finding.amount);
  return makeBreak('statement_gap', {
    severity: 'high',
    currency,
    amount,
    ledger: [],
    bank: [],
    reason: finding.message,
    account: finding.account,
    statementId: finding.statementId,
    findingKind: finding.kind,
  });
}

function rejectedLine(line: RejectedLine): ReconBreak {
  const currency = line.currency !== undefined && isKnownCurrency(line.currency) ? line.currency : UNKNOWN_CURRENCY;
  return makeBreak('rejected_line', {
    severity: 'high',
    currency,
    amount: zeroOf(currency),
    ledger: [],
    bank: [],
    reason: `line ${line.lineNo} of ${line.source} could not be read (${line.reason}); its amount is unknown and it is in no match`,
    source: line.source,
    lineNo: line.lineNo,
    ...(line.statementId === undefined ? {} : { statementId: line.statementId }),
  });
}

function isKnownCurrency(currency: string): boolean {
  try {
    decimalOf(0n, currency);
    return true;
  } catch {
    return false;
  }
}

function zeroOf(currency: string): string {
  return currency === UNKNOWN_CURRENCY ? '0' : decimalOf(0n, currency);
}

function stripSign(amount: string): string {
  return amount.startsWith('-') || amount.startsWith('+') ? amount.slice(1) : amount;
}

function compareFindings(a: StatementFinding, b: StatementFinding): number {
  return compareText(a.account, b.account) || compareText(a.statementId, b.statementId) || compareText(a.kind, b.kind) || compareText(a.message, b.message);
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function offerBest<T>(
  best: Map<number, { edge: T & { score: readonly [number, bigint, number] }; count: number }>,
  key: number,
  edge: T & { score: readonly [number, bigint, number] },
  better: (a: readonly [number, bigint, number], b: readonly [number, bigint, number]) => number,
): void {
  const current = best.get(key);
  if (current === undefined) {
    best.set(key, { edge, count: 1 });
    return;
  }
  const order = better(edge.score, current.edge.score);
  if (order < 0) best.set(key, { edge, count: 1 });
  else if (order === 0) current.count += 1;
}

/**
 * Groups all items of one side by twin key, looking only at items whose amount some left-over item has:
 * one pass, and twin keys are built for few items.
 */
function collectTwins(
  wantedKeys: readonly string[],
  count: number,
  amountOf: (index: number) => bigint,
  keyOf: (index: number) => string | undefined,
  wantedAmounts: readonly bigint[],
): Map<string, number[]> {
  const wanted = new Set(wantedKeys);
  // Amounts as numbers: a filter only (equal amounts give equal numbers; the twin key then compares exactly).
  const amounts = new Set(wantedAmounts.map((amount) => Number(amount)));
  const twins = new Map<string, number[]>();
  for (let index = 0; index < count; index += 1) {
    if (!amounts.has(Number(amountOf(index)))) continue;
    const key = keyOf(index);
    if (key === undefined || !wanted.has(key)) continue;
    pushTo(twins, key, index);
  }
  return twins;
}
