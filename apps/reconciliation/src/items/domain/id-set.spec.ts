import fc from 'fast-check';
import { IdSet } from './id-set';

describe(IdSet.name, () => {
  it('answers as a Set of the same ids would, for any ids and probes: repeats, empty strings and any text included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 200 }),
        fc.array(fc.string({ unit: 'binary', maxLength: 12 })),
        (ids, probes) => {
          const set = new IdSet(ids);
          const expected = new Set(ids);
          expect(set.size).toBe(expected.size);
          for (const id of [...ids, ...probes]) expect(set.has(id)).toBe(expected.has(id));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('holds a day of a hundred thousand ids that differ in one character, and nothing else', () => {
    const ids = Array.from({ length: 100_000 }, (_, index) => `LEDGER-2025-01-02-${String(index).padStart(7, '0')}`);
    const set = new IdSet(ids);
    expect(set.size).toBe(100_000);
    expect(ids.filter((id) => !set.has(id))).toEqual([]);
    expect(set.has('LEDGER-2025-01-02-0100000')).toBe(false);
    expect(set.has('ledger-2025-01-02-0000001')).toBe(false);
    expect(set.has('')).toBe(false);
  });

  it('is empty for no ids', () => {
    const set = new IdSet([]);
    expect(set.size).toBe(0);
    expect(set.has('')).toBe(false);
    expect(set.has('L1')).toBe(false);
  });
});
