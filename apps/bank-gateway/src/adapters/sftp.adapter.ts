import { createHash } from 'node:crypto';
import * as path from 'node:path/posix';
import type { CanonicalRecord } from '@recon/statement-formats';
import SftpClient from 'ssh2-sftp-client';
import {
  type AdapterCapabilities,
  type BankAdapter,
  type DetectedFile,
  type FetchContext,
  type FetchedFile,
  FetchFailedError,
  type ParseOptions,
} from './bank-adapter.port';
import { detectStandard, parseStandard } from './standard-statement.parser';

/** Directory entries looked at per run: a bank's outbox directory with more is misconfigured. */
export const SFTP_LISTING_ENTRIES_MAX = 100_000;

/**
 * Pulls statement files from the bank's SFTP directory. A file's version is its size and modification time, so a
 * file is downloaded once, and again only if the bank replaces it. The secret is a password, or a private key when
 * it is PEM/OpenSSH text. With `hostKeySha256` the server's host key is pinned.
 */
export class SftpAdapter implements BankAdapter {
  capabilities(): AdapterCapabilities {
    return { name: 'sftp', transports: ['sftp'], formats: ['*'] };
  }

  async *fetch(context: FetchContext): AsyncIterable<FetchedFile> {
    const transport = context.connection.transport;
    if (transport.kind !== 'sftp') throw new Error(`the sftp adapter cannot fetch a ${transport.kind} connection`);
    const secret = await context.secret();
    const client = new SftpClient(`recon-${context.connection.name}`);
    const pinned = transport.hostKeySha256;
    try {
      await client.connect({
        host: transport.host,
        port: transport.port,
        username: transport.username,
        readyTimeout: context.timeoutMs,
        timeout: context.timeoutMs,
        ...(secret === undefined ? {} : /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(secret) ? { privateKey: secret } : { password: secret }),
        ...(pinned === undefined ? {} : { hostVerifier: (key: Buffer) => hostKeyMatches(key, pinned) }),
      });
    } catch (error) {
      await client.end().catch(() => undefined);
      throw new FetchFailedError(`sftp ${transport.host}:${transport.port}: ${(error as Error).message}`, { cause: error });
    }
    try {
      const entries = await client.list(transport.path);
      if (entries.length > SFTP_LISTING_ENTRIES_MAX) throw new FetchFailedError(`sftp ${transport.path}: more than ${SFTP_LISTING_ENTRIES_MAX} entries`);
      const pattern = transport.namePattern === undefined ? undefined : new RegExp(transport.namePattern);
      const files = entries
        .filter((entry) => entry.type === '-' && (pattern === undefined || pattern.test(entry.name)))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      let yielded = 0;
      for (const entry of files) {
        if (yielded >= context.filesMax) return;
        const versionKey = `${entry.size}:${entry.modifyTime}`;
        if (await context.alreadyFetched({ name: entry.name, versionKey, sizeBytes: entry.size })) continue;
        if (entry.size > context.fileBytesMax) {
          context.log('file larger than the limit, not fetched', { name: entry.name, sizeBytes: entry.size, bytesMax: context.fileBytesMax });
          continue;
        }
        const content = await client.get(path.join(transport.path, entry.name));
        if (!Buffer.isBuffer(content)) throw new FetchFailedError(`sftp ${entry.name}: the download gave no bytes`);
        yielded += 1;
        yield { name: entry.name, versionKey, sizeBytes: content.length, content };
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  detect(head: Buffer): DetectedFile | undefined {
    return detectStandard(head);
  }

  parse(content: Buffer, options: ParseOptions): AsyncIterable<CanonicalRecord> {
    return parseStandard(content, options);
  }
}

function hostKeyMatches(key: Buffer, pinned: string): boolean {
  const digest = createHash('sha256').update(key).digest();
  const wanted = pinned.replace(/^SHA256:/, '');
  // OpenSSH prints SHA256:<base64 without padding>; hex (with or without colons) is accepted too.
  return digest.toString('base64').replace(/=+$/, '') === wanted.replace(/=+$/, '') || digest.toString('hex') === wanted.replaceAll(':', '').toLowerCase();
}

export default new SftpAdapter();
