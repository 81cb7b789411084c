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
 * in a hash set instead of comparing every reference with every text. With `wanted`, only the keys in it are
 * added (in the same order), and a key whose length and digest rule it out is never built.
 */
export function textReferenceKeys(
  text: string | undefined,
  tokensJoinedMax: number,
  keyLengthMin: number,
  out: Set<string>,
  wanted?: WantedReferenceKeys,
): void {
  if (text === undefined || text.length === 0) return;
  const tokens = text
    .toUpperCase()
    .split(/[^0-9A-Z]+/)
    .filter((token) => token.length > 0);
  if (wanted !== undefined) {
    wantedTextReferenceKeys(tokens, tokensJoinedMax, keyLengthMin, out, wanted);
    return;
  }
  for (let start = 0; start < tokens.length; start += 1) {
    let joined = '';
    for (let count = 0; count < tokensJoinedMax && start + count < tokens.length; count += 1) {
      joined += tokens[start + count];
      if (joined.length > REFERENCE_LENGTH_MAX) break;
      if (joined.length >= keyLengthMin) out.add(joined);
    }
  }
}

/** The same runs of tokens, each digested as it grows; joined into a string only when `wanted` may hold it. */
function wantedTextReferenceKeys(
  tokens: readonly string[],
  tokensJoinedMax: number,
  keyLengthMin: number,
  out: Set<string>,
  wanted: WantedReferenceKeys,
): void {
  for (let start = 0; start < tokens.length; start += 1) {
    let length = 0;
    let digest = DIGEST_OFFSET;
    for (let count = 0; count < tokensJoinedMax && start + count < tokens.length; count += 1) {
      const token = tokens[start + count]!;
      length += token.length;
      if (length > REFERENCE_LENGTH_MAX) break;
      digest = digestContinued(digest, token, 0, token.length);
      if (length < keyLengthMin || !wanted.mayHave(length, digest)) continue;
      const joined = tokens.slice(start, start + count + 1).join('');
      if (wanted.has(joined)) out.add(joined);
    }
  }
}

/**
 * A set of reference keys that can also be asked about a key not built yet, by its length and digest: a pass over
 * many candidate keys, few of them wanted, then builds and hashes only those that may be in it. The digests are
 * bits in a table of about 16 per key (at most 1 MiB, so that it stays in cache where a set of half a million
 * strings does not); a digest collision only costs the exact lookup.
 */
export class WantedReferenceKeys {
  private readonly lengths: Uint8Array;
  private readonly digestBits: Int32Array;
  private readonly digestSlotMask: number;

  constructor(private readonly keys: ReadonlySet<string>) {
    let lengthMax = 0;
    for (const key of keys) lengthMax = Math.max(lengthMax, key.length);
    this.lengths = new Uint8Array(lengthMax + 1);
    let slotCount = DIGEST_SLOTS_MIN;
    while (slotCount < DIGEST_SLOTS_MAX && slotCount * 32 < keys.size * DIGEST_BITS_PER_KEY) slotCount *= 2;
    this.digestBits = new Int32Array(slotCount);
    this.digestSlotMask = slotCount - 1;
    for (const key of keys) {
      this.lengths[key.length] = 1;
      const digest = digestContinued(DIGEST_OFFSET, key, 0, key.length);
      const slot = (digest >>> 5) & this.digestSlotMask;
      this.digestBits[slot] = this.digestBits[slot]! | (1 << (digest & 31));
    }
  }

  has(key: string): boolean {
    return this.mayHave(key.length, digestContinued(DIGEST_OFFSET, key, 0, key.length)) && this.keys.has(key);
  }

  /** False when no key of this length has this digest (of its UTF-16 code units, as `digestContinued` computes it). */
  mayHave(length: number, digest: number): boolean {
    return this.lengths[length] === 1 && (this.digestBits[(digest >>> 5) & this.digestSlotMask]! & (1 << (digest & 31))) !== 0;
  }
}

const DIGEST_BITS_PER_KEY = 16;
const DIGEST_SLOTS_MIN = 32;
const DIGEST_SLOTS_MAX = (1 << 20) / 4;

/** FNV-1a over the UTF-16 code units `text[start..end)`, continuing from `digest` (DIGEST_OFFSET to begin). */
export function digestContinued(digest: number, text: string, start: number, end: number): number {
  let value = digest;
  for (let at = start; at < end; at += 1) value = Math.imul(value ^ text.charCodeAt(at), DIGEST_PRIME);
  return value;
}

export const DIGEST_OFFSET = 0x811c9dc5 | 0;
const DIGEST_PRIME = 0x01000193;
