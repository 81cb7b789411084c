import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyEntry } from '@recon/config';
import type { Actor } from './actor';

/**
 * Static credentials from configuration: API keys (`X-Api-Key`) or the same secrets as bearer tokens
 * (`Authorization: Bearer`). Keys are held only as SHA-256 digests and compared in constant time.
 * OIDC tokens will be a second CredentialVerifier behind the same guard.
 */
export interface CredentialVerifier {
  verify(secret: string): Actor | undefined;
}

export const CREDENTIAL_VERIFIER = Symbol('CREDENTIAL_VERIFIER');

export class StaticKeyVerifier implements CredentialVerifier {
  private readonly entries: readonly { digest: Buffer; actor: Actor }[];

  constructor(keys: readonly ApiKeyEntry[]) {
    this.entries = keys.map((entry) => ({ digest: digestOf(entry.key), actor: { id: entry.identity, roles: entry.roles } }));
  }

  verify(secret: string): Actor | undefined {
    const digest = digestOf(secret);
    let found: Actor | undefined;
    // Visit every entry so that timing does not reveal which key matched.
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest)) found = entry.actor;
    }
    return found;
  }
}

function digestOf(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}
