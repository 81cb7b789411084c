import { uuidV7 } from './clock';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uuidV7', () => {
  it('is an RFC 9562 version 7 UUID carrying the millisecond timestamp in its first 48 bits', () => {
    const timestampMs = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
    const id = uuidV7(timestampMs);
    expect(id).toMatch(UUID_V7);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBeGreaterThanOrEqual(timestampMs);
    expect(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBeLessThanOrEqual(timestampMs + 1);
  });

  it('is strictly increasing within one process, even within one millisecond and when the clock steps back', () => {
    const base = Date.UTC(2031, 5, 6);
    const ids = [...Array.from({ length: 10_000 }, () => uuidV7(base)), uuidV7(base - 5_000), uuidV7(base + 1)];
    for (let index = 1; index < ids.length; index += 1) expect(ids[index]! > ids[index - 1]!).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(UUID_V7);
  });

  it('carries 62 random bits: ids of one millisecond differ beyond the counter', () => {
    const base = Date.UTC(2032, 0, 1);
    const tails = new Set(Array.from({ length: 1_000 }, () => uuidV7(base).slice(19)));
    expect(tails.size).toBe(1_000);
  });

  it('refuses a timestamp that does not fit 48 bits', () => {
    expect(() => uuidV7(-1)).toThrow(RangeError);
    expect(() => uuidV7(2 ** 48)).toThrow(/48-bit/);
    expect(() => uuidV7(1.5)).toThrow(RangeError);
  });
});
