import { effectiveRole } from './actor';
import { StaticKeyVerifier } from './credentials';

describe(StaticKeyVerifier.name, () => {
  const sut = new StaticKeyVerifier([
    { key: 'key-of-alice-0000000', identity: 'alice', roles: ['ops'] },
    { key: 'key-of-bob-000000000', identity: 'bob', roles: ['approver', 'auditor'] },
  ]);

  it('knows each key and nothing else', () => {
    expect(sut.verify('key-of-alice-0000000')).toEqual({ id: 'alice', roles: ['ops'] });
    expect(sut.verify('key-of-bob-000000000')?.id).toBe('bob');
    expect(sut.verify('key-of-alice-0000001')).toBeUndefined();
    expect(sut.verify('')).toBeUndefined();
  });

  it('records the role an action was allowed under', () => {
    expect(effectiveRole({ id: 'bob', roles: ['approver', 'auditor'] }, ['auditor'])).toBe('auditor');
    expect(effectiveRole({ id: 'root', roles: ['admin'] }, ['ops'])).toBe('admin');
    expect(effectiveRole({ id: 'alice', roles: ['ops'] }, ['auditor'])).toBeUndefined();
  });
});
