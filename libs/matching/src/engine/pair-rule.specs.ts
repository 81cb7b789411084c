import { exactReferenceKey, normalisedReferenceKey, textReferenceKeys, WantedReferenceKeys } from '../model/references';
import type { AmountDateRule, RefExactRule, RefInTextRule, RefTruncatedRule } from '../rules/rule-set';
import type { MatchingContext } from './matching-context';
import type { PairRuleSpec } from './pair-rule.runner';

/**
 * The references a bank line carries for the platform: endToEndId and customerRef. The bank's own
 * bankRef only stands in when neither is there, because it is unique per line and would otherwise keep a
 * bank-side duplicate (same payment booked twice under two bankRefs) from being recognised as a twin.
 */
export function bankPlatformReferences(context: MatchingContext, bankIndex: number): readonly string[] {
  return context.bankPlatformRefsOf(bankIndex);
}

export function bankReferencesForMatching(context: MatchingContext, bankIndex: number): readonly string[] {
  return context.bankMatchingRefsOf(bankIndex);
}

/** What identifies a bank line's movement apart from amount and date: its references, else its text. */
export function bankIdentity(context: MatchingContext, bankIndex: number): string {
  const platform = bankPlatformReferences(context, bankIndex);
  if (platform.length > 0) return `R:${platform.join(' ')}`;
  const remittance = context.bank.remittance[bankIndex]?.trim().toUpperCase();
  if (remittance !== undefined && remittance.length > 0) return `T:${remittance}`;
  return `B:${exactReferenceKey(context.bank.bankRef[bankIndex], context.ignoredReferences) ?? ''}`;
}

/**
 * Amount buckets of width tolerance+1 in the join keys: every rule requires the amount within tolerance,
 * and without them a reference shared by thousands of items (a truncated prefix, "SALARY") would join
 * every such ledger entry with every such bank line.
 */
class AmountBuckets {
  private readonly width: bigint;
  constructor(private readonly toleranceMinor: bigint) {
    this.width = toleranceMinor + 1n;
  }
  of(amountMinor: bigint): bigint {
    if (this.toleranceMinor === 0n) return amountMinor;
    return amountMinor >= 0n ? amountMinor / this.width : -((-amountMinor + this.width - 1n) / this.width);
  }
  /** Keys a ledger item is filed under: its bucket, and the neighbours when a tolerance lets amounts cross. */
  ledgerKeys(prefix: string, amountMinor: bigint, out: string[]): void {
    const bucket = this.of(amountMinor);
    if (this.toleranceMinor === 0n) out.push(`${prefix}|${bucket}`);
    else for (const offset of [-1n, 0n, 1n]) out.push(`${prefix}|${bucket + offset}`);
  }
  bankKey(prefix: string, amountMinor: bigint): string {
    return `${prefix}|${this.of(amountMinor)}`;
  }
}

function ledgerBase(context: MatchingContext, index: number): string {
  return `${context.ledgerAccountCurrency[index]}|${context.ledger.amountMinor.at(index)}|${context.ledgerDay[index]}`;
}

function bankBase(context: MatchingContext, index: number): string {
  return `${context.bankAccountCurrency[index]}|${context.bank.amountMinor.at(index)}|${context.bankDay[index]}`;
}

export function refExactSpec(context: MatchingContext, rule: RefExactRule): PairRuleSpec {
  const buckets = new AmountBuckets(rule.amountToleranceMinor);
  return {
    ruleId: rule.id,
    amountToleranceMinor: rule.amountToleranceMinor,
    valueDateToleranceDays: rule.valueDateToleranceDays,
    referenceKeys: {
      ledger: (index, out) => {
        const reference = context.ledgerRefExact[index];
        if (reference !== undefined) out.push(reference);
      },
      bank: (index, out) => {
        const first = context.bankMatchingRef1[index];
        if (first === undefined) return;
        out.push(first);
        const second = context.bankMatchingRef2[index];
        if (second !== undefined) out.push(second);
      },
    },
    ledgerClassKey: (index) => {
      const reference = context.ledgerRefExact[index];
      if (reference === undefined) return undefined;
      return `${ledgerBase(context, index)}|${reference}`;
    },
    ledgerJoinKeys: (index, out) => {
      buckets.ledgerKeys(`${context.ledgerAccountCurrency[index]}|${context.ledgerRefExact[index]}`, context.ledger.amountMinor.at(index), out);
    },
    bankClassKey: (index) => {
      const references = bankReferencesForMatching(context, index);
      if (references.length === 0) return undefined;
      return `${bankBase(context, index)}|${references.join(' ')}`;
    },
    bankJoinKeys: (index, out) => {
      const first = context.bankMatchingRef1[index];
      if (first === undefined) return;
      out.push(buckets.bankKey(`${context.bankAccountCurrency[index]}|${first}`, context.bank.amountMinor.at(index)));
      const second = context.bankMatchingRef2[index];
      if (second !== undefined) out.push(buckets.bankKey(`${context.bankAccountCurrency[index]}|${second}`, context.bank.amountMinor.at(index)));
    },
  };
}

export function refInTextSpec(context: MatchingContext, rule: RefInTextRule): PairRuleSpec {
  const buckets = new AmountBuckets(rule.amountToleranceMinor);
  // Prepared on first use, over the items still unmatched: which ledger references some bank text contains,
  // and for each bank line the ledger references found in it. Only those items take part; building keys for
  // the others would only make garbage.
  let hits: { readonly ledgerReferences: ReadonlySet<string>; readonly bankKeys: ReadonlyMap<number, readonly string[]> } | undefined;
  const prepare = (): NonNullable<typeof hits> => {
    const ledgerReferences = new Set<string>();
    for (let index = 0; index < context.ledger.length; index += 1) {
      if (context.ledgerGroup[index] !== -1) continue;
      const reference = context.ledgerRefNormalisedOf(index);
      if (reference !== undefined && reference.length >= rule.referenceLengthMin) ledgerReferences.add(reference);
    }
    // A text yields a dozen candidate keys and few are references: only keys found are kept (in the order the text
    // yields them, as filtering would), and a key whose length and digest no reference has is not even built.
    const wanted = new WantedReferenceKeys(ledgerReferences);
    const found = new Set<string>();
    const bankKeys = new Map<number, string[]>();
    const keys = new Set<string>();
    for (let index = 0; index < context.bank.length; index += 1) {
      if (context.bankGroup[index] !== -1) continue;
      keys.clear();
      const endToEnd = normalisedReferenceKey(context.bank.endToEndId[index], context.ignoredReferences);
      if (endToEnd !== undefined && wanted.has(endToEnd)) keys.add(endToEnd);
      const customer = normalisedReferenceKey(context.bank.customerRef[index], context.ignoredReferences);
      if (customer !== undefined && wanted.has(customer)) keys.add(customer);
      textReferenceKeys(context.bank.remittance[index], rule.tokensJoinedMax, rule.referenceLengthMin, keys, wanted);
      if (keys.size === 0) continue;
      const matching = [...keys];
      bankKeys.set(index, matching);
      for (const key of matching) found.add(key);
    }
    return { ledgerReferences: found, bankKeys };
  };
  return {
    ruleId: rule.id,
    amountToleranceMinor: rule.amountToleranceMinor,
    valueDateToleranceDays: rule.valueDateToleranceDays,
    // The texts are read once (in `prepare`, at the rule's start): only references found on both sides count.
    referenceKeys: {
      ledger: (index, out) => {
        hits ??= prepare();
        const reference = context.ledgerRefNormalisedOf(index);
        if (reference !== undefined && hits.ledgerReferences.has(reference)) out.push(reference);
      },
      bank: (index, out) => {
        hits ??= prepare();
        const keys = hits.bankKeys.get(index);
        if (keys !== undefined) for (const key of keys) out.push(key);
      },
      bankIdentity: (index) => bankIdentity(context, index),
    },
    ledgerClassKey: (index) => {
      hits ??= prepare();
      const reference = context.ledgerRefNormalisedOf(index);
      if (reference === undefined || !hits.ledgerReferences.has(reference)) return undefined;
      return `${ledgerBase(context, index)}|${reference}`;
    },
    ledgerJoinKeys: (index, out) => {
      buckets.ledgerKeys(`${context.ledgerAccountCurrency[index]}|${context.ledgerRefNormalisedOf(index)!}`, context.ledger.amountMinor.at(index), out);
    },
    bankClassKey: (index) => {
      hits ??= prepare();
      return hits.bankKeys.has(index) ? `${bankBase(context, index)}|${bankIdentity(context, index)}` : undefined;
    },
    bankJoinKeys: (index, out) => {
      hits ??= prepare();
      for (const key of hits.bankKeys.get(index) ?? [])
        out.push(buckets.bankKey(`${context.bankAccountCurrency[index]}|${key}`, context.bank.amountMinor.at(index)));
    },
  };
}

export function refTruncatedSpec(context: MatchingContext, rule: RefTruncatedRule): PairRuleSpec {
  const lengthMax = Math.max(...rule.truncatedLengths);
  const buckets = new AmountBuckets(rule.amountToleranceMinor);
  return {
    ruleId: rule.id,
    amountToleranceMinor: rule.amountToleranceMinor,
    valueDateToleranceDays: rule.valueDateToleranceDays,
    referenceKeys: {
      ledger: (index, out) => {
        const reference = context.ledgerRefExact[index];
        if (reference === undefined) return;
        for (const length of rule.truncatedLengths) if (reference.length > length) out.push(reference.slice(0, length).trimEnd());
      },
      bank: (index, out) => {
        const first = context.bankMatchingRef1[index];
        if (first !== undefined && first.length <= lengthMax) out.push(first);
        const second = context.bankMatchingRef2[index];
        if (second !== undefined && second.length <= lengthMax) out.push(second);
      },
    },
    ledgerClassKey: (index) => {
      const reference = context.ledgerRefExact[index];
      if (reference === undefined || !rule.truncatedLengths.some((length) => reference.length > length)) return undefined;
      return `${ledgerBase(context, index)}|${reference}`;
    },
    ledgerJoinKeys: (index, out) => {
      const reference = context.ledgerRefExact[index]!;
      for (const length of rule.truncatedLengths) {
        if (reference.length > length)
          buckets.ledgerKeys(`${context.ledgerAccountCurrency[index]}|${reference.slice(0, length).trimEnd()}`, context.ledger.amountMinor.at(index), out);
      }
    },
    bankClassKey: (index) => {
      const references = bankReferencesForMatching(context, index).filter((reference) => reference.length <= lengthMax);
      return references.length === 0 ? undefined : `${bankBase(context, index)}|${references.join(' ')}`;
    },
    bankJoinKeys: (index, out) => {
      for (const reference of bankReferencesForMatching(context, index)) {
        if (reference.length <= lengthMax) out.push(buckets.bankKey(`${context.bankAccountCurrency[index]}|${reference}`, context.bank.amountMinor.at(index)));
      }
    },
  };
}

/**
 * Amount + currency + value date. Amounts within the tolerance land in the same or a neighbouring
 * bucket of width tolerance+1, so a hash join still finds every pair within tolerance.
 */
export function amountDateSpec(context: MatchingContext, rule: AmountDateRule): PairRuleSpec {
  const buckets = new AmountBuckets(rule.amountToleranceMinor);
  // Key spaces: "A" is open to every pair, "N" only to pairs where the bank line has no platform reference.
  return {
    ruleId: rule.id,
    amountToleranceMinor: rule.amountToleranceMinor,
    valueDateToleranceDays: rule.valueDateToleranceDays,
    ledgerClassKey: (index) => `${ledgerBase(context, index)}|${context.ledgerRefExact[index] ?? ''}`,
    ledgerJoinKeys: (index, out) => {
      const space = !rule.onlyWithoutReference || context.ledgerRefExact[index] === undefined ? 'A' : 'N';
      buckets.ledgerKeys(`${space}|${context.ledgerAccountCurrency[index]}`, context.ledger.amountMinor.at(index), out);
    },
    bankClassKey: (index) => `${bankBase(context, index)}|${bankPlatformReferences(context, index).join(' ')}`,
    bankJoinKeys: (index, out) => {
      const amountMinor = context.bank.amountMinor.at(index);
      out.push(buckets.bankKey(`A|${context.bankAccountCurrency[index]}`, amountMinor));
      if (context.bankRefsArePlatform[index] === 0) out.push(buckets.bankKey(`N|${context.bankAccountCurrency[index]}`, amountMinor));
    },
  };
}
