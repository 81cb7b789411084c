import { createHash } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import type { CanonicalRecord } from '@recon/statement-formats';
import { z } from 'zod';
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

/** A listing is small metadata; a bigger answer is not a listing. */
export const LISTING_BYTES_MAX = 4 * 1024 * 1024;
export const LISTING_FILES_MAX = 10_000;

const listingSchema = z.object({
  files: z
    .array(
      z.object({
        name: z.string().min(1).max(500),
        url: z.string().max(2_000).optional(),
        size: z.number().int().min(0).optional(),
        modified: z.string().max(100).optional(),
        etag: z.string().max(200).optional(),
      }),
    )
    .max(LISTING_FILES_MAX),
});

interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/**
 * Pulls statements from a bank's HTTPS endpoint: either one URL that always serves the latest file (`mode: file`,
 * its version is the ETag / Last-Modified / content hash), or a JSON listing of files (`mode: listing`) each
 * downloaded once per version. A private CA is trusted per connection (`caCertificateRef`), never globally; the
 * secret, when configured, is sent as a bearer token.
 */
export class HttpsAdapter implements BankAdapter {
  capabilities(): AdapterCapabilities {
    return { name: 'https', transports: ['https'], formats: ['*'] };
  }

  async *fetch(context: FetchContext): AsyncIterable<FetchedFile> {
    const transport = context.connection.transport;
    if (transport.kind !== 'https') throw new Error(`the https adapter cannot fetch a ${transport.kind} connection`);
    const [secret, ca] = await Promise.all([context.secret(), context.caCertificate()]);
    const get = (url: string, method: 'GET' | 'HEAD' = 'GET', bytesMax = context.fileBytesMax) =>
      this.call(url, method, { secret, ca, timeoutMs: context.timeoutMs, bytesMax });
    if (transport.mode === 'file') {
      const head = await get(transport.url, 'HEAD', 0);
      const declaredVersion = versionKeyOf(head.headers);
      const name = new URL(transport.url).pathname.split('/').pop() || transport.url;
      if (declaredVersion !== undefined && (await context.alreadyFetched({ name, versionKey: declaredVersion }))) return;
      const answer = await get(transport.url);
      const versionKey = versionKeyOf(answer.headers) ?? `sha256:${createHash('sha256').update(answer.body).digest('hex')}`;
      if (await context.alreadyFetched({ name, versionKey })) return;
      yield { name, versionKey, sizeBytes: answer.body.length, content: answer.body };
      return;
    }
    const listingAnswer = await get(transport.url, 'GET', LISTING_BYTES_MAX);
    let listing: z.output<typeof listingSchema>;
    try {
      listing = listingSchema.parse(JSON.parse(listingAnswer.body.toString('utf8')));
    } catch (error) {
      throw new FetchFailedError(`the listing at ${transport.url} is not {"files":[{"name",...}]}: ${(error as Error).message.slice(0, 200)}`);
    }
    let yielded = 0;
    for (const file of [...listing.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (yielded >= context.filesMax) return;
      const versionKey = file.etag ?? `${file.size ?? ''}:${file.modified ?? ''}`;
      if (await context.alreadyFetched({ name: file.name, versionKey })) continue;
      if (file.size !== undefined && file.size > context.fileBytesMax) {
        context.log('file larger than the limit, not fetched', { name: file.name, sizeBytes: file.size, bytesMax: context.fileBytesMax });
        continue;
      }
      const url = new URL(file.url ?? encodeURIComponent(file.name), transport.url);
      // The bearer secret goes only to the bank's own origin: a listing cannot send it (or us) elsewhere.
      if (url.origin !== new URL(transport.url).origin) {
        context.log('listing entry on another origin, not fetched', { name: file.name, origin: url.origin });
        continue;
      }
      const answer = await get(url.toString());
      yielded += 1;
      yield { name: file.name, versionKey, sizeBytes: answer.body.length, content: answer.body };
    }
  }

  detect(head: Buffer): DetectedFile | undefined {
    return detectStandard(head);
  }

  parse(content: Buffer, options: ParseOptions): AsyncIterable<CanonicalRecord> {
    return parseStandard(content, options);
  }

  private call(
    url: string,
    method: 'GET' | 'HEAD',
    options: { secret: string | undefined; ca: string | undefined; timeoutMs: number; bytesMax: number },
  ): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const request = httpsRequest(
        url,
        {
          method,
          timeout: options.timeoutMs,
          ...(options.ca === undefined ? {} : { ca: options.ca }),
          headers: { accept: '*/*', ...(options.secret === undefined ? {} : { authorization: `Bearer ${options.secret}` }) },
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            response.resume();
            reject(new FetchFailedError(`${method} ${url}: HTTP ${status}`));
            return;
          }
          const chunks: Buffer[] = [];
          let received = 0;
          response.on('data', (chunk: Buffer) => {
            received += chunk.length;
            if (received > options.bytesMax && method === 'GET') {
              request.destroy(new FetchFailedError(`${method} ${url}: larger than ${options.bytesMax} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('end', () => resolve({ status, headers: response.headers, body: Buffer.concat(chunks) }));
          response.on('error', (error) => reject(new FetchFailedError(`${method} ${url}: ${error.message}`, { cause: error })));
        },
      );
      request.on('timeout', () => request.destroy(new FetchFailedError(`${method} ${url}: no answer within ${options.timeoutMs} ms`)));
      request.on('error', (error) =>
        reject(error instanceof FetchFailedError ? error : new FetchFailedError(`${method} ${url}: ${error.message}`, { cause: error })),
      );
      request.end();
    });
  }
}

function versionKeyOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const etag = headers.etag;
  if (typeof etag === 'string' && etag.length > 0) return `etag:${etag.slice(0, 200)}`;
  const modified = headers['last-modified'];
  const length = headers['content-length'];
  if (typeof modified === 'string' && modified.length > 0) return `modified:${modified}:${typeof length === 'string' ? length : ''}`;
  return undefined;
}

export default new HttpsAdapter();
