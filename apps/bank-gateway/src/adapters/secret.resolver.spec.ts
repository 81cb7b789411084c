import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveSecretRef, SecretUnavailableError } from './secret.resolver';

describe(resolveSecretRef.name, () => {
  it('reads env: references from the given environment and file: references from disk', async () => {
    expect(await resolveSecretRef('env:BANK_TOKEN', { BANK_TOKEN: 't0ken' })).toBe('t0ken');
    const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'secret-'));
    try {
      fs.writeFileSync(path.join(directory, 'password'), 's3cret\n');
      expect(await resolveSecretRef(`file:${path.join(directory, 'password')}`, {})).toBe('s3cret');
    } finally {
      fs.rmSync(directory, { recursive: true, force: true });
    }
  });

  it('names the reference, never a value, when the secret is unavailable', async () => {
    await expect(resolveSecretRef('env:MISSING', {})).rejects.toThrow(
      new SecretUnavailableError('secret env:MISSING: the environment variable MISSING is not set'),
    );
    await expect(resolveSecretRef('file:/nonexistent/secret', {})).rejects.toThrow(/cannot read the file \(ENOENT\)/);
    await expect(resolveSecretRef('vault:x', {})).rejects.toThrow(/neither env:NAME nor file:\/path/);
  });
});
