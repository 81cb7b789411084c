import { isUtf8 } from 'node:buffer';

/** Lines handed to the caller at a time: what the run holds in memory of the gateway's record of a day. */
export const GATEWAY_LINES_CHUNK_SIZE = 5_000;
/** One NDJSON line of the gateway's answer (one bank line's payload) is never longer than this. */
export const GATEWAY_LINE_BYTES_MAX = 1_048_576;

/** The ids of lines the caller holds already, asked by text or by the id's bytes (an `IdSet` is one). */
export interface HeldLineIds {
  has(lineId: string): boolean;
  hasBytes(bytes: Uint8Array, start: number, end: number): boolean;
}

/**
 * One line of the gateway's record as it came, unparsed, with its `lineId` read off the text (undefined when the
 * text has none where the gateway writes it). A day of a million lines is mostly lines reconciliation holds
 * already: they are recognised by that id and never parsed; `parseGatewayLine` parses the others.
 */
export interface GatewayLineText {
  readonly lineId: string | undefined;
  readonly text: string;
}

/**
 * The `lineId` member of a line's text: `"lineId":"` can only be a member name there (a quote inside a string value
 * is escaped), and a bank line's nested objects (batch parts) have no `lineId`.
 */
const LINE_ID_FIELD = /"lineId":"([^"\\]{1,200})"/;
/** The end line, `{"end":true,"lines":N}`, is the one that starts with its `end` member. */
const END_LINE_START = /^\s*\{\s*"end"/;
const LF = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const ASCII_END = 0x80;
const NO_BYTES = Buffer.alloc(0);
const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const LINE_ID_MEMBER = Buffer.from('"lineId":"', 'latin1');
const LINE_ID_LENGTH_MAX = 200;

/**
 * Where the line's `lineId` lies in its bytes, as LINE_ID_FIELD reads it off the text: the value after the first
 * `"lineId":"`, when it is 1..200 ASCII characters up to the closing quote with no backslash; its start, its end in
 * `end`. Anything else (no member, an escape, a character beyond ASCII) is -1 here and left to the regular
 * expression on the text.
 */
function lineIdAt(buffer: Buffer, start: number, end: { at: number }): number {
  const member = buffer.indexOf(LINE_ID_MEMBER, start);
  if (member === -1 || member >= end.at) return -1;
  const from = member + LINE_ID_MEMBER.length;
  const limit = Math.min(end.at, from + LINE_ID_LENGTH_MAX + 1);
  for (let at = from; at < limit; at += 1) {
    const byte = buffer[at]!;
    if (byte === QUOTE) {
      if (at === from) return -1;
      end.at = at;
      return from;
    }
    if (byte === BACKSLASH || byte >= ASCII_END) return -1;
  }
  return -1;
}

/** The bytes of a line not ended yet, unless they are more than a line may be. */
function checkedPending(pending: Buffer, url: string): Buffer {
  if (pending.length > GATEWAY_LINE_BYTES_MAX) throw new GatewayHttpError(`bank gateway ${url} sent a line longer than ${GATEWAY_LINE_BYTES_MAX} bytes`);
  return pending;
}

/**
 * Whether the bytes are all ASCII white space (space, tab, CR, vertical tab, form feed): a blank line is skipped, as
 * its trimmed text would be.
 */
function isBlank(buffer: Buffer, start: number, end: number): boolean {
  for (let at = start; at < end; at += 1) {
    const byte = buffer[at]!;
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0b && byte !== 0x0c) return false;
  }
  return true;
}

/** The line's object, or a GatewayHttpError naming the line and what is wrong with it. */
export function parseGatewayLine(line: GatewayLineText): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.text);
  } catch {
    throw new GatewayHttpError(`bank gateway line ${line.lineId ?? '(no lineId)'} is not JSON: ${line.text.slice(0, 100)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new GatewayHttpError(`bank gateway line ${line.lineId ?? '(no lineId)'} is not a JSON object: ${line.text.slice(0, 100)}`);
  return parsed as Record<string, unknown>;
}

export class GatewayHttpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayHttpError';
  }
}

/** The bank gateway's record of the lines it published, as its HTTP API streams them. */
export class GatewayHttpClient {
  constructor(private readonly settings: { readonly gatewayUrl: string; readonly serviceApiKey: string; readonly httpTimeoutMs: number }) {}

  /**
   * Every line the gateway published for an account and business day (`GET /v1/lines?account&date`: booked on the
   * day, value-dated on it, or undated and received on it), each the `bank.line.received` payload, in chunks of at
   * most GATEWAY_LINES_CHUNK_SIZE. The next chunk is read only once the caller has taken this one, so a day of a
   * million lines never sits in memory. Throws GatewayHttpError when the gateway cannot be reached, answers
   * otherwise than 200, stalls for longer than the HTTP timeout, sends a line that is not UTF-8, or ends the stream
   * without its end line (the record was cut short: what was yielded before is still valid).
   *
   * `held`: asked for each line's id as the bytes come (as bytes when they are plain ASCII, else as text), before the
   * line is decoded; a line it holds (one the caller has already: nearly all of them on a day the events arrived) is
   * counted against the end line's count and nothing more: not decoded, not checked, not handed over.
   */
  async *linesOfDay(bankAccount: string, businessDate: string, held?: HeldLineIds): AsyncGenerator<GatewayLineText[]> {
    const url = `${this.settings.gatewayUrl}/v1/lines?${new URLSearchParams({ account: bankAccount, date: businessDate }).toString()}`;
    const abort = new AbortController();
    const reader = await this.open(url, abort);
    let pending: Buffer = NO_BYTES;
    let atStart = true;
    let chunk: GatewayLineText[] = [];
    let count = 0;
    let ended: number | undefined;
    const idEnd = { at: 0 };
    /** One line, bytes [start, end) of `buffer`: counted, and handed over unless it is blank, the end line or held. */
    const take = (buffer: Buffer, start: number, end: number): void => {
      if (isBlank(buffer, start, end)) return;
      if (ended !== undefined) throw new GatewayHttpError(`bank gateway ${url} sent lines after its end line`);
      idEnd.at = end;
      const idStart = lineIdAt(buffer, start, idEnd);
      if (idStart !== -1 && held?.hasBytes(buffer, idStart, idEnd.at) === true) {
        count += 1;
        return;
      }
      if (!isUtf8(buffer.subarray(start, end))) throw new GatewayHttpError(`bank gateway ${url} sent a line that is not UTF-8 (line ${count + 1})`);
      const text = buffer.toString('utf8', start, end);
      if (END_LINE_START.test(text)) {
        const parsed = parseObject(text, url);
        if (parsed.end === true) {
          ended = typeof parsed.lines === 'number' ? parsed.lines : -1;
          return;
        }
      }
      let lineId: string | undefined;
      if (idStart !== -1) lineId = buffer.toString('latin1', idStart, idEnd.at);
      else {
        // Not read off the bytes (escaped, not ASCII, or a second member further on): as the text reads.
        lineId = LINE_ID_FIELD.exec(text)?.[1];
        if (lineId !== undefined && held?.has(lineId) === true) {
          count += 1;
          return;
        }
      }
      chunk.push({ lineId, text });
      count += 1;
    };
    try {
      for (;;) {
        const { done, value } = await this.read(reader, abort, url);
        if (done) break;
        let buffer = Buffer.from(value!.buffer, value!.byteOffset, value!.byteLength);
        let start = 0;
        if (atStart) {
          // A byte order mark before the first line is not part of it (as a UTF-8 decoder drops it).
          if (pending.length > 0) buffer = Buffer.concat([pending, buffer]);
          pending = NO_BYTES;
          if (buffer.length < UTF8_BOM.length && UTF8_BOM.subarray(0, buffer.length).equals(buffer)) {
            pending = buffer;
            continue;
          }
          if (buffer.subarray(0, UTF8_BOM.length).equals(UTF8_BOM)) start = UTF8_BOM.length;
          atStart = false;
        } else if (pending.length > 0) {
          // The line the last read cut: joined with its rest alone, the rest of this read is taken where it lies.
          const end = buffer.indexOf(LF);
          if (end === -1) {
            pending = checkedPending(Buffer.concat([pending, buffer]), url);
            continue;
          }
          const line = Buffer.concat([pending, buffer.subarray(0, end)]);
          pending = NO_BYTES;
          take(line, 0, line.length);
          start = end + 1;
        }
        for (let end = buffer.indexOf(LF, start); end !== -1; start = end + 1, end = buffer.indexOf(LF, start)) {
          take(buffer, start, end);
          if (chunk.length >= GATEWAY_LINES_CHUNK_SIZE) {
            yield chunk;
            chunk = [];
          }
        }
        if (chunk.length >= GATEWAY_LINES_CHUNK_SIZE) {
          yield chunk;
          chunk = [];
        }
        // The cut line's bytes are copied: the read's buffer is not held on to for a few bytes of it.
        pending = start >= buffer.length ? NO_BYTES : checkedPending(Buffer.from(buffer.subarray(start)), url);
      }
      if (chunk.length > 0) yield chunk;
      if (ended === undefined)
        throw new GatewayHttpError(`bank gateway ${url} ended its answer without the end line after ${count} lines: the record was cut short`);
      if (ended !== count) throw new GatewayHttpError(`bank gateway ${url} announced ${ended} lines and sent ${count}`);
    } finally {
      abort.abort();
      reader.releaseLock();
    }
  }

  private async open(url: string, abort: AbortController): Promise<ReadableStreamDefaultReader<Uint8Array>> {
    const timer = setTimeout(() => abort.abort(), this.settings.httpTimeoutMs);
    let response: Response;
    try {
      response = await fetch(url, { headers: { 'x-api-key': this.settings.serviceApiKey, accept: 'application/x-ndjson' }, signal: abort.signal });
    } catch (error) {
      throw new GatewayHttpError(`bank gateway at ${this.settings.gatewayUrl} is unreachable: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
    if (response.status !== 200 || response.body === null) {
      const text = await response.text().catch(() => '');
      throw new GatewayHttpError(`bank gateway ${url} answered ${response.status}: ${text.slice(0, 300)}`);
    }
    return response.body.getReader();
  }

  /** One read of the body; the HTTP timeout applies to each wait for data, not to the whole day's stream. */
  private async read(reader: ReadableStreamDefaultReader<Uint8Array>, abort: AbortController, url: string): Promise<{ done: boolean; value?: Uint8Array }> {
    const timer = setTimeout(() => abort.abort(), this.settings.httpTimeoutMs);
    try {
      return await reader.read();
    } catch (error) {
      throw new GatewayHttpError(`bank gateway ${url} stopped sending: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

function parseObject(text: string, url: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GatewayHttpError(`bank gateway ${url} sent a line that is not JSON: ${text.slice(0, 100)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new GatewayHttpError(`bank gateway ${url} sent a line that is not an object`);
  return parsed as Record<string, unknown>;
}
