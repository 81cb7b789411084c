/**
 * Reference normalisation. Banks change case, drop punctuation and split long references over lines,
 * so the rules compare in two strengths: `exactReferenceKey` (trimmed, upper case) and
 * `normalisedReferenceKey` (upper case letters and digits only).
 */

/** Longest reference considered; longer text is not a reference but free text. */
export const REFERENCE_LENGTH_MAX = 140;

export function exactReferenceKey(reference: string | undefined, ignored: ReadonlySet<string>): string | undefined {
  if (reference === undefined) return undefined;
  const key = reference.trim().toUpperCase();
  if (key.length === 0 || key.length > REFERENCE_LENGTH_MAX || ignored.has(key)) return undefined;
  return key;
}

export function normalisedReferenceKey(reference: string | undefined, ignored: ReadonlySet<string>): string | undefined {
  if (reference === undefined) return undefined;
  const exact = exactReferenceKey(reference, ignored);
  if (exact === undefined) return undefined;
  const key = exact.replace(/[^0-9A-Z]/g, '');
  if (key.length === 0 || ignored.has(key)) return undefined;
  return key;
}

/**
 * The candidate reference keys hidden in a free text: every run of 1..`tokensJoinedMax` adjacent
 * alphanumeric tokens, concatenated. "ref PLAT-W-000123 thanks" yields "PLATW000123" (three tokens joined)
 * among others. The cost is linear in the text length, which is what lets the engine look every key up
 * in a hash set instead of comparing every reference with every text. With `wanted`, only the keys it accepts are
 * added (in the same order): for a caller that keeps only keys found in a set anyway.
 */
export function textReferenceKeys(
  text: string | undefined,
  tokensJoinedMax: number,
  keyLengthMin: number,
  out: Set<string>,
  wanted?: (key: string) => boolean,
): void {
  if (text === undefined || text.length === 0) return;
  const tokens = text
    .toUpperCase()
    .split(/[^0-9A-Z]+/)
    .filter((token) => token.length > 0);
  for (let start = 0; start < tokens.length; start += 1) {
    let joined = '';
    for (let count = 0; count < tokensJoinedMax && start + count < tokens.length; count += 1) {
      joined += tokens[start + count];
      if (joined.length > REFERENCE_LENGTH_MAX) break;
      if (joined.length >= keyLengthMin && (wanted === undefined || wanted(joined))) out.add(joined);
    }
  }
}
