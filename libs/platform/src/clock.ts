import { randomBytes, randomUUID } from 'node:crypto';

/** Time and identifiers are injected, never read inline in domain or use-case code (R16). */
export interface Clock {
  now(): Date;
}

export interface IdGenerator {
  /** A UUIDv7: time-ordered, so that ids sort by creation and index inserts stay append-mostly. */
  uuid(): string;
}

export const CLOCK = Symbol('CLOCK');
export const ID_GENERATOR = Symbol('ID_GENERATOR');

export const systemClock: Clock = { now: () => new Date() };

export const uuidV7Generator: IdGenerator = { uuid: uuidV7 };

/** Random bytes drawn from the system in blocks: one syscall per 409 ids instead of one per id. */
const RANDOM_POOL_BYTES = 16 * 256;
let randomPool: Buffer = Buffer.alloc(0);
let randomPoolOffset = RANDOM_POOL_BYTES;

/** Offset in `randomPool` of 10 fresh random bytes (read in place: no Buffer view per id). */
function random10Bytes(): number {
  if (randomPoolOffset + 10 > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomPoolOffset = 0;
  }
  const offset = randomPoolOffset;
  randomPoolOffset += 10;
  return offset;
}

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const SEQUENCE_MAX = 0xfff;
let lastTimestampMs = -1;
let sequence = 0;
/**
 * The id's 36 characters are written as bytes and read out with one latin1 decode: a flat string, instead of a
 * chain of 20 concatenations that is flattened again when the id is written or compared (a run makes a million).
 */
const text = Buffer.from('00000000-0000-7000-8000-000000000000', 'latin1');

function writeHex(byte: number, at: number): void {
  text[at] = HEX_DIGITS[byte >>> 4]!;
  text[at + 1] = HEX_DIGITS[byte & 0xf]!;
}

/**
 * A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter (method 1 of section 6.2), then 62
 * random bits. Ids made by one process are strictly increasing: within one millisecond the counter (started at a
 * random value below 2048) counts up, and when it would overflow the timestamp moves on by a millisecond. A clock
 * that steps back keeps the last timestamp rather than going back with it.
 */
export function uuidV7(timestampMs: number = Date.now()): string {
  if (!Number.isSafeInteger(timestampMs) || timestampMs < 0 || timestampMs >= 2 ** 48)
    throw new RangeError(`uuidV7: timestamp ${timestampMs} is not a 48-bit millisecond count`);
  const random = random10Bytes();
  const pool = randomPool;
  let time = timestampMs;
  if (time > lastTimestampMs) {
    sequence = ((pool[random]! << 8) | pool[random + 1]!) & 0x7ff;
  } else {
    time = lastTimestampMs;
    sequence += 1;
    if (sequence > SEQUENCE_MAX) {
      time += 1;
      sequence = ((pool[random]! << 8) | pool[random + 1]!) & 0x7ff;
    }
  }
  lastTimestampMs = time;
  const high = Math.floor(time / 2 ** 16); // the top 32 bits of the 48-bit timestamp
  const low = time % 2 ** 16;
  writeHex((high >>> 24) & 0xff, 0);
  writeHex((high >>> 16) & 0xff, 2);
  writeHex((high >>> 8) & 0xff, 4);
  writeHex(high & 0xff, 6);
  writeHex((low >>> 8) & 0xff, 9);
  writeHex(low & 0xff, 11);
  writeHex(0x70 | (sequence >>> 8), 14);
  writeHex(sequence & 0xff, 16);
  writeHex((pool[random + 2]! & 0x3f) | 0x80, 19);
  writeHex(pool[random + 3]!, 21);
  for (let index = 0; index < 6; index += 1) writeHex(pool[random + 4 + index]!, 24 + 2 * index);
  return text.toString('latin1', 0, 36);
}

export const randomUuidV4 = randomUUID;
