import { exactReferenceKey, normalisedReferenceKey, textReferenceKeys } from '../model/references';
import type { BatchRule } from '../rules/rule-set';
import { absMinor, DAY_UNKNOWN, type MatchingContext } from './matching-context';
import { bankPlatformReferences } from './pair-rule.specs';

/** Words joined when looking for a batch reference in a bank line's text (as in ref-in-text). */
const BATCH_TEXT_TOKENS_JOINED_MAX = 4;
const BATCH_TEXT_KEY_LENGTH_MIN = 6;

/**
 * One bank line settling several ledger entries (1:n) and several bank lines settling one ledger entry
 * (n:1). A group matches only when it is the single viable candidate on both sides; otherwise the items
 * are left for the classifier with an ambiguity note.
 */
export function runBatchRule(context: MatchingContext, rule: BatchRule): void {
  if (rule.oneToMany) {
    matchBatchReference(context, rule);
    matchItemisedBatches(context, rule);
  }
  if (rule.manyToOne) matchSplitSettlements(context, rule);
}

interface LedgerBatch {
  readonly members: number[];
  sumMinor: bigint;
  dayMin: number;
  dayMax: number;
}

function withinDays(context: MatchingContext, bankIndex: number, dayMin: number, dayMax: number, toleranceDays: number): boolean {
  const bankDay = context.bankDay[bankIndex]!;
  if (bankDay === DAY_UNKNOWN) return true;
  return Math.abs(bankDay - dayMin) <= toleranceDays && Math.abs(bankDay - dayMax) <= toleranceDays;
}

/** Ledger entries sharing a batch_reference (per account and currency), unmatched so far. */
export function ledgerBatches(context: MatchingContext, batchEntriesMax: number): Map<string, LedgerBatch> {
  const batches = new Map<string, LedgerBatch>();
  for (let index = 0; index < context.ledger.length; index += 1) {
    if (context.ledgerGroup[index] !== -1) continue;
    const batchKey = normalisedReferenceKey(context.ledger.batchReference[index], context.ignoredReferences);
    if (batchKey === undefined) continue;
    const key = `${context.ledgerAccountCurrency[index]}|${batchKey}`;
    const day = context.ledgerDay[index]!;
    const batch = batches.get(key);
    if (batch === undefined) batches.set(key, { members: [index], sumMinor: context.ledger.amountMinor.at(index), dayMin: day, dayMax: day });
    else {
      batch.members.push(index);
      batch.sumMinor += context.ledger.amountMinor.at(index);
      batch.dayMin = Math.min(batch.dayMin, day);
      batch.dayMax = Math.max(batch.dayMax, day);
    }
  }
  for (const [key, batch] of batches) if (batch.members.length > batchEntriesMax) batches.delete(key);
  return batches;
}

/** The keys under which a bank line may name a batch: its references and words of its text, normalised. */
export function bankBatchKeys(context: MatchingContext, bankIndex: number): Set<string> {
  const bank = context.bank;
  const keys = new Set<string>();
  for (const reference of [bank.endToEndId[bankIndex], bank.customerRef[bankIndex], bank.bankRef[bankIndex]]) {
    const key = normalisedReferenceKey(reference, context.ignoredReferences);
    if (key !== undefined) keys.add(key);
  }
  textReferenceKeys(bank.remittance[bankIndex], BATCH_TEXT_TOKENS_JOINED_MAX, BATCH_TEXT_KEY_LENGTH_MIN, keys);
  return keys;
}

function matchBatchReference(context: MatchingContext, rule: BatchRule): void {
  const batches = ledgerBatches(context, rule.batchEntriesMax);
  if (batches.size === 0) return;
  const viableByBatch = new Map<string, number[]>();
  const viableByBank = new Map<number, string[]>();
  for (let bankIndex = 0; bankIndex < context.bank.length; bankIndex += 1) {
    if (context.bankGroup[bankIndex] !== -1) continue;
    for (const key of bankBatchKeys(context, bankIndex)) {
      const batchKey = `${context.bankAccountCurrency[bankIndex]}|${key}`;
      const batch = batches.get(batchKey);
      if (batch === undefined) continue;
      if (absMinor(batch.sumMinor - context.bank.amountMinor.at(bankIndex)) > rule.amountToleranceMinor) continue;
      if (!withinDays(context, bankIndex, batch.dayMin, batch.dayMax, rule.valueDateToleranceDays)) continue;
      push(viableByBatch, batchKey, bankIndex);
      push(viableByBank, bankIndex, batchKey);
    }
  }
  for (const [bankIndex, batchKeys] of [...viableByBank].sort((a, b) => a[0] - b[0])) {
    const batchKey = batchKeys[0]!;
    const banks = viableByBatch.get(batchKey)!;
    const batch = batches.get(batchKey)!;
    if (batchKeys.length === 1 && banks.length === 1) {
      context.addGroup(rule.id, batch.members, [bankIndex]);
      continue;
    }
    context.bankAmbiguity.set(bankIndex, { rule: rule.id, candidates: batchKeys.flatMap((key) => batches.get(key)!.members).slice(0, 3) });
    for (const member of batch.members) context.ledgerAmbiguity.set(member, { rule: rule.id, candidates: banks.slice(0, 3) });
  }
}

/**
 * A batch booking whose parts the bank itemised (camt `TxDtls`): every part must name exactly one unmatched
 * ledger entry (by end-to-end id, else by a reference in its text) with the same amount, and the entries
 * must add up to the line.
 */
function matchItemisedBatches(context: MatchingContext, rule: BatchRule): void {
  const candidates: number[] = [];
  for (let bankIndex = 0; bankIndex < context.bank.length; bankIndex += 1) {
    const parts = context.bank.transactions[bankIndex];
    if (context.bankGroup[bankIndex] === -1 && parts !== undefined && parts.length >= 2 && parts.length <= rule.batchEntriesMax) candidates.push(bankIndex);
  }
  if (candidates.length === 0) return;
  const byExact = new Map<string, number[]>();
  const byNormalised = new Map<string, number[]>();
  for (let index = 0; index < context.ledger.length; index += 1) {
    if (context.ledgerGroup[index] !== -1) continue;
    const exact = context.ledgerRefExact[index];
    if (exact !== undefined) push(byExact, `${context.ledgerAccountCurrency[index]}|${exact}`, index);
    const normalised = context.ledgerRefNormalisedOf(index);
    if (normalised !== undefined) push(byNormalised, `${context.ledgerAccountCurrency[index]}|${normalised}`, index);
  }
  const claimed = new Set<number>();
  const keys = new Set<string>();
  for (const bankIndex of candidates) {
    const bankItem = context.bank.item(bankIndex);
    const accountCurrency = context.bankAccountCurrency[bankIndex];
    const members: number[] = [];
    let sumMinor = 0n;
    let complete = true;
    for (const part of bankItem.transactions!) {
      let found: number[] | undefined;
      const endToEnd = exactReferenceKey(part.endToEndId, context.ignoredReferences);
      if (endToEnd !== undefined) found = byExact.get(`${accountCurrency}|${endToEnd}`);
      if (found === undefined) {
        keys.clear();
        textReferenceKeys(part.remittance, BATCH_TEXT_TOKENS_JOINED_MAX, BATCH_TEXT_KEY_LENGTH_MIN, keys);
        const hits = new Set<number>();
        for (const key of keys) for (const hit of byNormalised.get(`${accountCurrency}|${key}`) ?? []) hits.add(hit);
        found = [...hits];
      }
      const viable = found.filter(
        (index) =>
          context.ledgerGroup[index] === -1 &&
          !claimed.has(index) &&
          !members.includes(index) &&
          absMinor(absMinor(context.ledger.amountMinor.at(index)) - absMinor(part.amountMinor)) <= rule.amountToleranceMinor &&
          context.ledger.amountMinor.at(index) < 0n === bankItem.amountMinor < 0n &&
          context.dayDistance(index, bankIndex) <= rule.valueDateToleranceDays,
      );
      if (viable.length !== 1) {
        complete = false;
        break;
      }
      members.push(viable[0]!);
      sumMinor += context.ledger.amountMinor.at(viable[0]!);
    }
    if (!complete || absMinor(sumMinor - bankItem.amountMinor) > rule.amountToleranceMinor) continue;
    for (const member of members) claimed.add(member);
    context.addGroup(
      rule.id,
      members.sort((a, b) => a - b),
      [bankIndex],
    );
  }
}

/** n:1: several bank lines carrying one ledger entry's reference, adding up to its amount. */
function matchSplitSettlements(context: MatchingContext, rule: BatchRule): void {
  const linesByReference = new Map<string, number[]>();
  for (let bankIndex = 0; bankIndex < context.bank.length; bankIndex += 1) {
    if (context.bankGroup[bankIndex] !== -1) continue;
    const references = bankPlatformReferences(context, bankIndex);
    if (references.length === 0) continue;
    push(linesByReference, `${context.bankAccountCurrency[bankIndex]}|${references[0]}`, bankIndex);
  }
  const ledgerByReference = new Map<string, number[]>();
  for (let index = 0; index < context.ledger.length; index += 1) {
    if (context.ledgerGroup[index] !== -1 || context.ledgerRefExact[index] === undefined) continue;
    const key = `${context.ledgerAccountCurrency[index]}|${context.ledgerRefExact[index]}`;
    if (linesByReference.has(key)) push(ledgerByReference, key, index);
  }
  for (const [key, ledgerIndexes] of [...ledgerByReference].sort((a, b) => a[1][0]! - b[1][0]!)) {
    const lines = linesByReference.get(key)!;
    if (lines.length < 2 || lines.length > rule.batchEntriesMax) continue;
    if (ledgerIndexes.length !== 1) {
      for (const line of lines) context.bankAmbiguity.set(line, { rule: rule.id, candidates: ledgerIndexes.slice(0, 3) });
      continue;
    }
    const ledgerIndex = ledgerIndexes[0]!;
    let sumMinor = 0n;
    for (const line of lines) sumMinor += context.bank.amountMinor.at(line);
    if (absMinor(sumMinor - context.ledger.amountMinor.at(ledgerIndex)) > rule.amountToleranceMinor) continue;
    if (!lines.every((line) => context.dayDistance(ledgerIndex, line) <= rule.valueDateToleranceDays)) continue;
    context.addGroup(rule.id, [ledgerIndex], lines);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
