import { createReadStream } from 'node:fs';
import { type CanonicalRecord, type StatementFormat, type TextEncoding, UnreadableStatementError } from './canonical';
import { type CamtFormat } from './camt/camt-message-type';
import { CamtStreamParser } from './camt/camt.parser';
import { decodeChunks } from './decode/decode-stream';
import { DETECTION_HEAD_BYTES, type EncodingOption, detectEncoding } from './decode/encoding-detection';
import { LINE_LENGTH_MAX, LineSplitter } from './decode/line-reader';
import { type FormatOption, detectFormat } from './detect';
import { csvProfileOf, textLineReaderFor } from './text-formats';

/** Largest statement file read. Parsing streams, so this guards disk and time rather than memory. */
export const STATEMENT_FILE_BYTES_MAX = 8 * 1024 * 1024 * 1024;
/** Read-stream chunk size: large chunks keep per-chunk overhead (decoder, generator hops) negligible. */
export const READ_CHUNK_BYTES = 1024 * 1024;

export interface ReadStatementOptions {
  /** `auto` (default) detects; otherwise the file must be this format or it is unreadable. */
  readonly format?: FormatOption;
  /** `auto` (default): BOM, XML declaration, UTF-8 validity, GB18030 heuristic, else Windows-1252. */
  readonly encoding?: EncodingOption;
  /** Text formats: longest line accepted; longer lines become `rejected` records. */
  readonly lineLengthMax?: number;
}

const CAMT_FORMATS: readonly string[] = ['camt.052', 'camt.053', 'camt.054'];

function isCamt(format: StatementFormat): format is CamtFormat {
  return CAMT_FORMATS.includes(format);
}

/**
 * Reads one bank statement file as canonical records, streaming: memory stays flat whatever the file size.
 * Throws UnreadableStatementError (while iterating) when the file as a whole cannot be read.
 */
export function readStatementFile(path: string, options: ReadStatementOptions = {}): AsyncIterable<CanonicalRecord> {
  return parseStatementBytes(fileChunks(path), options);
}

async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (error: unknown) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UnreadableStatementError(`cannot read ${path}: no such file`);
    if (code === 'EISDIR') throw new UnreadableStatementError(`cannot read ${path}: it is a directory`);
    if (code === 'EACCES' || code === 'EPERM') throw new UnreadableStatementError(`cannot read ${path}: permission denied`);
    throw error;
  } finally {
    stream.destroy();
  }
}

/**
 * Parses a bank file given as bytes (a Buffer, or chunks such as a read stream): detects format and
 * encoding from the head when asked to (`auto`), then streams the rest through the format's parser.
 */
export async function* parseStatementBytes(source: AsyncIterable<Buffer> | Buffer, options: ReadStatementOptions = {}): AsyncGenerator<CanonicalRecord> {
  const iterator = (Buffer.isBuffer(source) ? chunksOf(source) : source)[Symbol.asyncIterator]();
  try {
    const headChunks: Buffer[] = [];
    let headBytes = 0;
    let exhausted = false;
    while (headBytes < DETECTION_HEAD_BYTES) {
      const next = await iterator.next();
      if (next.done === true) {
        exhausted = true;
        break;
      }
      headChunks.push(next.value);
      headBytes += next.value.length;
    }
    const head = Buffer.concat(headChunks);
    if (head.length === 0) throw new UnreadableStatementError('the file is empty');

    const requested = options.format ?? 'auto';
    const format = requested === 'auto' ? detectFormat(head, { encoding: options.encoding }) : requested;
    const encoding = resolveEncoding(head, format, options.encoding);
    const bytes = replay(headChunks, exhausted ? undefined : iterator);

    if (isCamt(format)) {
      // Driven here rather than through parseCamt: one async generator less per record. Decoded pieces are at most
      // DECODE_CHUNK_BYTES_MAX characters, so the records of one write stay bounded.
      const parser = new CamtStreamParser(requested === 'auto' ? {} : { expectedFormat: format });
      for await (const text of decodeChunks(bytes, encoding)) for (const record of parser.write(text)) yield record;
      for (const record of parser.end()) yield record;
      return;
    }
    const lineLengthMax = options.lineLengthMax ?? LINE_LENGTH_MAX;
    const reader = textLineReaderFor(format, { lineLengthMax });
    if (reader === undefined) throw new UnreadableStatementError(`unknown format '${format}'`);
    // Lines are split and parsed synchronously per decoded chunk; only the records cross an async boundary.
    const splitter = new LineSplitter({ lineLengthMax });
    const ready: CanonicalRecord[] = [];
    for await (const text of decodeChunks(bytes, encoding)) {
      for (const line of splitter.push(text)) for (const record of reader.push(line)) ready.push(record);
      for (const record of ready) yield record;
      ready.length = 0;
    }
    // Each array is the reader's own and yielded before the next call, so records come out before a final refusal.
    const last = splitter.finish();
    if (last !== undefined) for (const record of reader.push(last)) yield record;
    for (const record of reader.finish()) yield record;
  } finally {
    await iterator.return?.();
  }
}

function resolveEncoding(head: Buffer, format: StatementFormat, option: EncodingOption | undefined): TextEncoding {
  if (option !== undefined && option !== 'auto') return option;
  return detectEncoding(head, csvProfileOf(format)?.defaultEncoding).encoding;
}

/** An in-memory file is fed in READ_CHUNK_BYTES slices, so the records buffered per chunk stay bounded. */
async function* chunksOf(bytes: Buffer): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < bytes.length; offset += READ_CHUNK_BYTES) yield bytes.subarray(offset, offset + READ_CHUNK_BYTES);
}

/** The head chunks already read for detection, then the rest of the source; counts bytes against the limit. */
async function* replay(headChunks: readonly Buffer[], rest: AsyncIterator<Buffer> | undefined): AsyncGenerator<Buffer> {
  let totalBytes = 0;
  for (const chunk of headChunks) {
    totalBytes += chunk.length;
    yield chunk;
  }
  if (rest === undefined) return;
  for (;;) {
    const next = await rest.next();
    if (next.done === true) return;
    totalBytes += next.value.length;
    if (totalBytes > STATEMENT_FILE_BYTES_MAX) throw new UnreadableStatementError(`the file is larger than ${STATEMENT_FILE_BYTES_MAX} bytes`);
    yield next.value;
  }
}
