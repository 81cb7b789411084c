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

/** Random bytes drawn from the system in blocks: one syscall per 256 ids instead of one per id. */
const RANDOM_POOL_BYTES = 16 * 256;
let randomPool = Buffer.alloc(0);
let randomPoolOffset = RANDOM_POOL_BYTES;

function random10Bytes(): Buffer {
  if (randomPoolOffset + 10 > randomPool.length) {
    randomPool = randomBytes(RANDOM_POOL_BYTES);
    randomPoolOffset = 0;
  }
  const slice = randomPool.subarray(randomPoolOffset, randomPoolOffset + 10);
  randomPoolOffset += 10;
  return slice;
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const SEQUENCE_MAX = 0xfff;
let lastTimestampMs = -1;
let sequence = 0;

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
  let time = timestampMs;
  if (time > lastTimestampMs) {
    sequence = (((random[0] ?? 0) << 8) | (random[1] ?? 0)) & 0x7ff;
  } else {
    time = lastTimestampMs;
    sequence += 1;
    if (sequence > SEQUENCE_MAX) {
      time += 1;
      sequence = (((random[0] ?? 0) << 8) | (random[1] ?? 0)) & 0x7ff;
    }
  }
  lastTimestampMs = time;
  const high = Math.floor(time / 2 ** 16); // the top 32 bits of the 48-bit timestamp
  const low = time % 2 ** 16;
  return (
    HEX[(high >>> 24) & 0xff]! +
    HEX[(high >>> 16) & 0xff]! +
    HEX[(high >>> 8) & 0xff]! +
    HEX[high & 0xff]! +
    '-' +
    HEX[(low >>> 8) & 0xff]! +
    HEX[low & 0xff]! +
    '-' +
    HEX[0x70 | (sequence >>> 8)]! +
    HEX[sequence & 0xff]! +
    '-' +
    HEX[((random[2] ?? 0) & 0x3f) | 0x80]! +
    HEX[random[3] ?? 0]! +
    '-' +
    HEX[random[4] ?? 0]! +
    HEX[random[5] ?? 0]! +
    HEX[random[6] ?? 0]! +
    HEX[random[7] ?? 0]! +
    HEX[random[8] ?? 0]! +
    HEX[random[9] ?? 0]!
  );
}

export const randomUuidV4 = randomUUID;
