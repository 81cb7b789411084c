import { uuidOf } from './gateway-completeness';

describe(uuidOf.name, () => {
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
});
