import fc from 'fast-check';
import { IdSet } from './id-set';

/** Ids as they come from text: any Unicode (no unpaired surrogate), short, often ASCII, often repeated. */
const idArbitrary = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
  fc.constantFrom('', 'L1', 'l1', 'é', 'e\u0301'),
);

describe(IdSet.name, () => {
  it('answers as a Set of the same ids would, for any ids and probes, by string and by bytes: repeats, empty strings and any text included', () => {
    fc.assert(
      fc.property(fc.array(idArbitrary, { maxLength: 200 }), fc.array(idArbitrary), (ids, probes) => {
        const expected = new Set(ids);
        const lines = ids.filter((id) => !id.includes('\n'));
        const fromLines = IdSet.ofLines(Buffer.from(lines.map((id) => `${id}\n`).join(''), 'utf8'));
        const set = IdSet.of(ids);
        expect(set.size).toBe(expected.size);
        expect(fromLines.size).toBe(new Set(lines).size);
        for (const id of [...ids, ...probes]) {
          expect(set.has(id)).toBe(expected.has(id));
          const bytes = Buffer.from(`<${id}>`, 'utf8');
          expect(set.hasBytes(bytes, 1, bytes.length - 1)).toBe(expected.has(id));
          expect(fromLines.has(id)).toBe(lines.includes(id));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('holds a day of a hundred thousand ids that differ in one character, and nothing else', () => {
    const ids = Array.from({ length: 100_000 }, (_, index) => `LEDGER-2025-01-02-${String(index).padStart(7, '0')}`);
    const set = IdSet.ofLines(Buffer.from(ids.map((id) => `${id}\n`).join('')));
    expect(set.size).toBe(100_000);
    expect(ids.filter((id) => !set.has(id))).toEqual([]);
    expect(set.has('LEDGER-2025-01-02-0100000')).toBe(false);
    expect(set.has('ledger-2025-01-02-0000001')).toBe(false);
    expect(set.has('LEDGER-2025-01-02-000000')).toBe(false);
    expect(set.has('')).toBe(false);
  });

  it('compares ids as their UTF-8 bytes: an unpaired surrogate is U+FFFD, as encoding it makes it', () => {
    const set = IdSet.of(['\ufffd']);
    expect(set.has('\ud800')).toBe(true);
    expect(set.has('\ufffd\ufffd')).toBe(false);
  });

  it('is empty for no ids, and refuses lines whose last id has no LF', () => {
    for (const set of [IdSet.of([]), IdSet.ofLines(Buffer.alloc(0))]) {
      expect(set.size).toBe(0);
      expect(set.has('')).toBe(false);
      expect(set.has('L1')).toBe(false);
    }
    expect(() => IdSet.ofLines(Buffer.from('L1\nL2'))).toThrow('the last id is not followed by an LF');
  });
});
