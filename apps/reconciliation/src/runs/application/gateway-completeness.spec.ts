import fc from 'fast-check';
import { uuidOf } from './gateway-completeness';

describe(uuidOf.name, () => {
  const PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

  it('reads a UUID in either case as Postgres prints it, and nothing else', () => {
    expect(uuidOf('01a21a5f-44db-75fd-be2a-5763e87a14a6')).toBe('01a21a5f-44db-75fd-be2a-5763e87a14a6');
    expect(uuidOf('01A21A5F-44DB-75FD-BE2A-5763E87A14A6')).toBe('01a21a5f-44db-75fd-be2a-5763e87a14a6');
    for (const bad of [
      '',
      '01a21a5f44db75fdbe2a5763e87a14a6',
      '01a21a5f-44db-75fd-be2a-5763e87a14a',
      '01a21a5f-44db-75fd-be2a-5763e87a14a6 ',
      '01a21a5g-44db-75fd-be2a-5763e87a14a6',
      '01a21a5f_44db-75fd-be2a-5763e87a14a6',
      '{1a21a5f-44db-75fd-be2a-5763e87a14a6',
    ])
      expect(uuidOf(bad)).toBeUndefined();
    expect(uuidOf(42)).toBeUndefined();
    expect(uuidOf(undefined)).toBeUndefined();
  });

  it('agrees with the UUID pattern for any text of its length', () => {
    const uuidLike = fc.array(fc.constantFrom(...'0123456789abcdefABCDEFg-_ G'.split('')), { minLength: 36, maxLength: 36 }).map((units) => units.join(''));
    fc.assert(
      fc.property(fc.oneof(uuidLike, fc.uuid(), fc.string({ unit: 'binary', maxLength: 40 })), (text) => {
        expect(uuidOf(text)).toBe(PATTERN.test(text) ? text.toLowerCase() : undefined);
      }),
      { numRuns: 2_000 },
    );
  });
});
