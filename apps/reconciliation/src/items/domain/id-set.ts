/**
 * A fixed set of ids for membership tests, built once: the run's completeness checks ask, for each of a day's
 * million exported entries or gateway lines, whether it is among the million stored. The ids are kept as their
 * UTF-8 bytes, end to end in one buffer (as Postgres sends them with COPY: no string per id, nothing for the
 * collector to trace), with an open-addressing table (linear probing, at most half full) of their positions. A
 * `Set<string>` of a million ids took 0.75 s to build (its table grown and rehashed twenty times over) and a JSON
 * array of them as long again to parse.
 *
 * Ids compare as their UTF-8 bytes, so a string with an unpaired surrogate (which no UTF-8 text decodes to) is
 * taken as U+FFFD, as encoding it would.
 */
export class IdSet {
  /**
   * Per slot, three numbers side by side (one memory fetch per probe): the id's first byte, the byte after its last,
   * and its hash (compared before any byte is); an empty slot's end is EMPTY.
   */
  private readonly slots: Int32Array;
  private readonly mask: number;
  private readonly count: number;

  /**
   * `bytes` holds id i at [starts[i], starts[i + 1] - separator) (`starts` has one more entry than there are ids, and
   * `separator` bytes follow each id); `bytes` is not changed afterwards.
   */
  private constructor(
    private readonly bytes: Buffer,
    starts: Int32Array,
    separator: number,
  ) {
    const ids = starts.length - 1;
    let capacity = MIN_CAPACITY;
    while (capacity < ids * 2) capacity *= 2;
    const mask = capacity - 1;
    const slots = new Int32Array(capacity * SLOT_WIDTH).fill(EMPTY);
    let count = 0;
    for (let index = 0; index < ids; index += 1) {
      const start = starts[index]!;
      const end = starts[index + 1]! - separator;
      const hash = hashOfBytes(bytes, start, end);
      let slot = hash & mask;
      for (;;) {
        const at = slot * SLOT_WIDTH;
        if (slots[at + 1] === EMPTY) {
          slots[at] = start;
          slots[at + 1] = end;
          slots[at + 2] = hash;
          count += 1;
          break;
        }
        if (slots[at + 2] === (hash | 0) && bytesEqual(bytes, slots[at]!, slots[at + 1]!, bytes, start, end)) break; // listed twice: once is enough
        slot = (slot + 1) & mask;
      }
    }
    this.slots = slots;
    this.mask = mask;
    this.count = count;
  }

  /** The set of these ids. */
  static of(ids: readonly string[]): IdSet {
    const encoded = ids.map((id) => Buffer.from(id, 'utf8'));
    const starts = new Int32Array(ids.length + 1);
    for (let index = 0; index < encoded.length; index += 1) starts[index + 1] = starts[index]! + encoded[index]!.length;
    return new IdSet(Buffer.concat(encoded), starts, 0);
  }

  /**
   * The set of the ids in `bytes`, each as UTF-8 followed by an LF (as COPY ... TO STDOUT sends one column of values
   * that need no escape). Throws when the bytes do not end in an LF.
   */
  static ofLines(bytes: Buffer): IdSet {
    if (bytes.length > 0 && bytes[bytes.length - 1] !== LF) throw new Error('IdSet.ofLines: the last id is not followed by an LF');
    let lines = 0;
    for (let at = bytes.indexOf(LF); at !== -1; at = bytes.indexOf(LF, at + 1)) lines += 1;
    const starts = new Int32Array(lines + 1);
    let line = 0;
    for (let at = bytes.indexOf(LF); at !== -1; at = bytes.indexOf(LF, at + 1)) starts[++line] = at + 1;
    return new IdSet(bytes, starts, 1);
  }

  /** Distinct ids held. */
  get size(): number {
    return this.count;
  }

  has(id: string): boolean {
    // Nearly every id is ASCII: its code units are its bytes, hashed and compared without encoding it.
    let hash = FNV_OFFSET;
    for (let index = 0; index < id.length; index += 1) {
      const code = id.charCodeAt(index);
      if (code >= ASCII_END) {
        const encoded = Buffer.from(id, 'utf8');
        return this.hasBytes(encoded, 0, encoded.length);
      }
      hash = Math.imul(hash ^ code, FNV_PRIME);
    }
    hash = finish(hash);
    const slots = this.slots;
    const bytes = this.bytes;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = slot * SLOT_WIDTH;
      const end = slots[at + 1]!;
      if (end === EMPTY) return false;
      if (slots[at + 2] !== (hash | 0)) continue;
      const start = slots[at]!;
      if (end - start !== id.length) continue;
      let offset = 0;
      while (offset < id.length && bytes[start + offset] === id.charCodeAt(offset)) offset += 1;
      if (offset === id.length) return true;
    }
  }

  /** Whether the id whose UTF-8 bytes are bytes[start, end) is held. */
  hasBytes(bytes: Uint8Array, start: number, end: number): boolean {
    const hash = hashOfBytes(bytes, start, end);
    const slots = this.slots;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const at = slot * SLOT_WIDTH;
      const heldEnd = slots[at + 1]!;
      if (heldEnd === EMPTY) return false;
      if (slots[at + 2] === (hash | 0) && bytesEqual(this.bytes, slots[at]!, heldEnd, bytes, start, end)) return true;
    }
  }
}

/** Whether a[aStart, aEnd) and b[bStart, bEnd) hold the same bytes. */
function bytesEqual(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): boolean {
  if (aEnd - aStart !== bEnd - bStart) return false;
  for (let offset = 0; offset < aEnd - aStart; offset += 1) if (a[aStart + offset] !== b[bStart + offset]) return false;
  return true;
}

const SLOT_WIDTH = 3;
const EMPTY = -1;
const MIN_CAPACITY = 16;
const ASCII_END = 0x80;
const LF = 0x0a;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the bytes, with a final mix so that the low bits (the slot) depend on every byte. */
function hashOfBytes(bytes: Uint8Array, start: number, end: number): number {
  let hash = FNV_OFFSET;
  for (let index = start; index < end; index += 1) hash = Math.imul(hash ^ bytes[index]!, FNV_PRIME);
  return finish(hash);
}

function finish(hash: number): number {
  hash ^= hash >>> 15;
  hash = Math.imul(hash, 0x2c1b3c6d);
  return (hash ^ (hash >>> 12)) >>> 0;
}
