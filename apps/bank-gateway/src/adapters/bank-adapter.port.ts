import type { CanonicalRecord, EncodingOption, FormatOption, StatementFormat, TextEncoding } from '@recon/statement-formats';
import type { Transport } from '../connections/domain/connection';

/**
 * The port a bank integration implements. The gateway's own adapters (upload, https, sftp) implement it; an
 * integrator adds a bank with an unusual channel or file dialect by writing one module that exports a BankAdapter,
 * and proves it with `npm run adapter:check -- <module> <sample files...>` (docs/adapters.md).
 *
 * Contract, checked by the conformance kit:
 * - `parse` yields only canonical records (CONTRACT.md §1): a `statement` before its `entry` records, every line it
 *   cannot read as a `rejected` record with its line number and reason — never dropped, never thrown;
 * - the only error `parse` may throw is UnreadableStatementError, for a file unreadable as a whole;
 * - `fetch` yields each remote file once per version: it asks `alreadyFetched` before downloading.
 */
export interface BankAdapter {
  capabilities(): AdapterCapabilities;
  /** New files of a connection. Adapters without a transport of their own (upload) yield nothing. */
  fetch(context: FetchContext): AsyncIterable<FetchedFile>;
  /** Format (and encoding, when the bytes say) of a file from its head, or undefined when not this adapter's. */
  detect(head: Buffer): DetectedFile | undefined;
  /** Canonical records of a whole file, in file order. */
  parse(content: Buffer, options: ParseOptions): AsyncIterable<CanonicalRecord>;
}

export interface AdapterCapabilities {
  /** Short, stable name: `upload`, `https`, `sftp`, `acme-bank-api`. */
  readonly name: string;
  /** Transport kinds whose connections this adapter fetches; empty for push-only adapters. */
  readonly transports: readonly Transport['kind'][];
  /** Formats `parse` reads. */
  readonly formats: readonly StatementFormat[] | readonly ['*'];
  /** Largest file the adapter will fetch or parse, in bytes. */
  readonly fileBytesMax?: number;
}

export interface ParseOptions {
  readonly format: FormatOption;
  readonly encoding: EncodingOption;
}

export interface DetectedFile {
  readonly format: StatementFormat;
  readonly encoding?: TextEncoding;
}

/** A remote file as listed: its name and a version key (size + modification time, or ETag) that changes with its content. */
export interface RemoteFile {
  readonly name: string;
  readonly versionKey: string;
  readonly sizeBytes?: number;
}

export interface FetchedFile extends RemoteFile {
  readonly content: Buffer;
}

/** Everything an adapter's fetch may use; secrets only through the resolver, never from the connection itself. */
export interface FetchContext {
  readonly connection: AdapterConnection;
  /** The secret behind `secretRef` (password, private key or bearer token), or undefined when none is configured. */
  secret(): Promise<string | undefined>;
  /** PEM CA certificate(s) behind `caCertificateRef`, for a bank endpoint with a private CA. */
  caCertificate(): Promise<string | undefined>;
  /** True when this version of this remote file was taken before: do not download it again. */
  alreadyFetched(file: RemoteFile): Promise<boolean>;
  readonly fileBytesMax: number;
  readonly timeoutMs: number;
  /** Files to yield in one run at most; the rest wait for the next run. */
  readonly filesMax: number;
  log(message: string, details?: Record<string, unknown>): void;
}

export interface AdapterConnection {
  readonly connectionId: string;
  readonly name: string;
  readonly transport: Transport;
}

/** Raised by fetch for a failure worth retrying (network, server), after which BullMQ backs off and retries. */
export class FetchFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FetchFailedError';
  }
}
