import fc from 'fast-check';
import { textReferenceKeys, WantedReferenceKeys } from './references';

describe(WantedReferenceKeys.name, () => {
  const textArbitrary = fc.string({ unit: fc.constantFrom('A', 'b', '1', '2', '-', ' ', '/', 'é', 'ß', '😀', 'PLAT', 'w', '0000'), maxLength: 40 });

  it('gives the text keys that filtering all of them by the set gives, in the same order', () => {
    fc.assert(
      fc.property(
        textArbitrary,
        fc.array(fc.string({ unit: fc.constantFrom('A', 'B', '1', '2', 'PLAT', 'W', '0000'), maxLength: 12 }), { maxLength: 8 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 100 }),
        (text, extraKeys, tokensJoinedMax, keyLengthMin, takePercent) => {
          const all = new Set<string>();
          textReferenceKeys(text, tokensJoinedMax, keyLengthMin, all);
          // Some of the text's own keys (so that there are hits) and some arbitrary ones.
          const keys = new Set([...[...all].filter((_, index) => (index * 37) % 100 < takePercent), ...extraKeys]);
          const wanted = new Set<string>();
          textReferenceKeys(text, tokensJoinedMax, keyLengthMin, wanted, new WantedReferenceKeys(keys));

          expect([...wanted]).toEqual([...all].filter((key) => keys.has(key)));
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('holds exactly its keys, whatever the size of its digest table', () => {
    const keys = new Set(Array.from({ length: 50_000 }, (_, index) => `PLATW${String(index).padStart(8, '0')}`));
    const sut = new WantedReferenceKeys(keys);

    expect(sut.has('PLATW00012345')).toBe(true);
    expect(sut.has('PLATW00099999')).toBe(false);
    expect(sut.has('')).toBe(false);
    expect(new WantedReferenceKeys(new Set()).has('PLATW00012345')).toBe(false);
  });
});
