import { connectionInputSchema, inlineSecretPaths } from './connection';

const valid = {
  name: 'acme-sftp',
  bankId: 'COBADEFFXXX',
  custodyAccount: 'DE89370400440532013000',
  schedule: { cron: '0 7 * * 1-5', timeZone: 'Europe/Berlin' },
  transport: { kind: 'sftp', host: 'sftp.bank.example', path: '/outbox', username: 'acme' },
  secretRef: 'env:ACME_SFTP_PASSWORD',
};

describe('connectionInputSchema', () => {
  it('accepts a connection with its secret by reference and fills defaults', () => {
    const sut = connectionInputSchema.parse(valid);
    expect(sut).toMatchObject({ format: 'auto', encoding: 'auto', transport: { kind: 'sftp', port: 22 }, secretRef: 'env:ACME_SFTP_PASSWORD' });
  });

  it('turns a CSV profile into its format and refuses a contradiction', () => {
    expect(connectionInputSchema.parse({ ...valid, csvProfile: 'de-bank' }).format).toBe('csv:de-bank');
    expect(() => connectionInputSchema.parse({ ...valid, format: 'mt940', csvProfile: 'de-bank' })).toThrow(/contradicts/);
  });

  it.each([
    ['a secret that is not a reference', { secretRef: 'hunter2' }, /secretRef/],
    ['a relative file reference', { secretRef: 'file:secrets/x' }, /secretRef/],
    ['an unknown key', { password: 'x' }, /password|Unrecognized/],
    ['a 4-field cron', { schedule: { cron: '0 7 * *' } }, /cron/],
    ['an unknown time zone', { schedule: { cron: '0 7 * * *', timeZone: 'Mars/Olympus' } }, /time zone/],
    ['a schedule on an upload connection', { transport: { kind: 'upload' } }, /nothing to pull/],
    ['an http URL', { transport: { kind: 'https', url: 'http://bank.example/x' } }, /https/],
    ['credentials in the URL', { transport: { kind: 'https', url: 'https://user:pw@bank.example/x' } }, /credentials/],
    ['an unknown format', { format: 'mt999' }, /format/],
  ])('refuses %s', (_title, change, message) => {
    expect(() => connectionInputSchema.parse({ ...valid, ...change })).toThrow(message);
  });
});

describe(inlineSecretPaths.name, () => {
  it('finds credential-looking keys at any depth but not the reference keys', () => {
    expect(inlineSecretPaths(valid)).toEqual([]);
    expect(inlineSecretPaths({ ...valid, transport: { ...valid.transport, password: 'x', privateKey: 'k' }, apiToken: 't' })).toEqual([
      'transport.password',
      'transport.privateKey',
      'apiToken',
    ]);
    expect(inlineSecretPaths({ caCertificateRef: 'file:/ca.pem', transport: { hostKeySha256: 'abc' } })).toEqual([]);
  });
});
