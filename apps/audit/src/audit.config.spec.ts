import { generateSigningKey, openCheckpoint, parseVerifierKey, signCheckpoint, EMPTY_TREE_HASH } from '@recon/audit-log';
import { ConfigError } from '@recon/config';
import { DEVELOPMENT_SIGNING_KEY, loadAuditSettings, verifierKeyOfSigner } from './audit.config';

describe(loadAuditSettings.name, () => {
  const production = generateSigningKey('recon.example/audit', { seed: new Uint8Array(32).fill(7) });
  const retired = generateSigningKey('recon.example/audit', { seed: new Uint8Array(32).fill(9) });

  it('uses the labelled, insecure development key outside production when no key is set', () => {
    const sut = loadAuditSettings({ NODE_ENV: 'development' });
    expect(sut.usesDevelopmentKey).toBe(true);
    expect(sut.origin).toBe('recon.dev-insecure/audit');
    expect(sut.signingVerifierKeys).toEqual([DEVELOPMENT_SIGNING_KEY.verifierKey]);
  });

  it('requires AUDIT_SIGNING_KEY in production and refuses the development key there', () => {
    expect(() => loadAuditSettings({ NODE_ENV: 'production' })).toThrow(/AUDIT_SIGNING_KEY: is required in production/);
    expect(() => loadAuditSettings({ NODE_ENV: 'production', AUDIT_SIGNING_KEY: DEVELOPMENT_SIGNING_KEY.signerKey })).toThrow(
      /development key .* refused in production/,
    );
    expect(() => loadAuditSettings({ NODE_ENV: 'production', AUDIT_SIGNING_KEY: 'PRIVATE+KEY+x+00000000+AAAA' })).toThrow(ConfigError);
  });

  it('signs with every configured key and lists retired verifier keys', () => {
    const sut = loadAuditSettings({
      NODE_ENV: 'production',
      AUDIT_SIGNING_KEY: production.signerKey,
      AUDIT_PREVIOUS_PUBLIC_KEYS: retired.verifierKey,
      AUDIT_CHECKPOINT_EVERY_EVENTS: '50',
    });
    expect(sut).toMatchObject({ origin: 'recon.example/audit', usesDevelopmentKey: false, checkpointEveryEvents: 50, checkpointEveryMs: 60_000 });
    expect(sut.signingVerifierKeys).toEqual([production.verifierKey]);
    expect(sut.previousVerifierKeys).toEqual([retired.verifierKey]);
    const note = signCheckpoint({ origin: sut.origin, size: 0, rootHash: EMPTY_TREE_HASH, extensions: [] }, sut.signers);
    expect(openCheckpoint(note, [parseVerifierKey(production.verifierKey)]).size).toBe(0);
    expect(() => loadAuditSettings({ AUDIT_PREVIOUS_PUBLIC_KEYS: 'not-a-key' })).toThrow(/AUDIT_PREVIOUS_PUBLIC_KEYS/);
    expect(() => loadAuditSettings({ AUDIT_CHECKPOINT_EVERY_EVENTS: '0' })).toThrow(/AUDIT_CHECKPOINT_EVERY_EVENTS/);
  });

  it('derives the verifier key of a signer key', () => {
    expect(verifierKeyOfSigner(production.signerKey)).toBe(production.verifierKey);
  });
});
