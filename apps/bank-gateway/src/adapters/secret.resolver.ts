import { readFile } from 'node:fs/promises';

/** Largest secret or CA bundle read from a file reference. */
export const SECRET_FILE_BYTES_MAX = 1024 * 1024;

export class SecretUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretUnavailableError';
  }
}

/**
 * Resolves a secret reference at the moment of use: `env:NAME` from the given environment (the process's, read once
 * at boot), `file:/path` from disk (a mounted Kubernetes/Docker secret). The value is never stored or logged.
 */
export async function resolveSecretRef(ref: string, environment: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (ref.startsWith('env:')) {
    const name = ref.slice('env:'.length);
    const value = environment[name];
    if (value === undefined || value === '') throw new SecretUnavailableError(`secret ${ref}: the environment variable ${name} is not set`);
    return value;
  }
  if (ref.startsWith('file:/')) {
    const path = ref.slice('file:'.length);
    let content: Buffer;
    try {
      content = await readFile(path);
    } catch (error) {
      throw new SecretUnavailableError(`secret ${ref}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (content.length > SECRET_FILE_BYTES_MAX) throw new SecretUnavailableError(`secret ${ref}: larger than ${SECRET_FILE_BYTES_MAX} bytes`);
    return content.toString('utf8').replace(/\r?\n$/, '');
  }
  throw new SecretUnavailableError(`secret reference '${ref.slice(0, 10)}…' is neither env:NAME nor file:/path`);
}
