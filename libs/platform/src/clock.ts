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

export function uuidV7(timestampMs: number = Date.now()): string {
  const bytes = randomBytes(16);
  const time = BigInt(timestampMs);
  for (let index = 0; index < 6; index += 1) bytes[index] = Number((time >> BigInt(8 * (5 - index))) & 0xffn);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x70;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const randomUuidV4 = randomUUID;
