import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';

/**
 * Renders one row in COPY's text format: tab-separated, `\N` for NULL, backslash escapes for the characters COPY
 * treats specially. NUL cannot be stored in Postgres text at all, so it becomes U+FFFD (the raw file keeps it).
 */
export function copyTextRow(values: readonly (string | number | bigint | null | undefined)[]): string {
  return `${values.map(copyTextField).join('\t')}\n`;
}

function copyTextField(value: string | number | bigint | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  const text = typeof value === 'string' ? value : value.toString();
  return text.replace(/[\\\t\n\r\u0000]/g, (character) => COPY_ESCAPES[character] ?? character);
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\u0000': '\uFFFD' };

/** Rows are sent in chunks of about this size: one COPY message per row would cost a socket write per row. */
export const COPY_CHUNK_CHARACTERS = 256 * 1024;

/** Writes to a COPY stream in chunks, respecting back-pressure: a million rows never pile up in this process. */
export class CopyRowWriter {
  rowCount = 0;
  private pending: string[] = [];
  private pendingCharacters = 0;

  constructor(private readonly stream: Writable) {}

  async write(values: readonly (string | number | bigint | null | undefined)[]): Promise<void> {
    this.rowCount += 1;
    const row = copyTextRow(values);
    this.pending.push(row);
    this.pendingCharacters += row.length;
    if (this.pendingCharacters >= COPY_CHUNK_CHARACTERS) await this.flush();
  }

  /** Abandons the COPY (the server rolls it back); the caller's transaction is rolled back after. */
  abort(error: unknown): void {
    this.pending = [];
    this.stream.destroy(error instanceof Error ? error : new Error(String(error)));
  }

  async end(): Promise<void> {
    await this.flush();
    this.stream.end();
    await finished(this.stream);
  }

  private async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const chunk = Buffer.from(this.pending.join(''), 'utf8');
    this.pending = [];
    this.pendingCharacters = 0;
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }
}

/** Strings inside jsonb cannot hold NUL either; the canonical record is stored with U+FFFD in its place. */
export function jsonWithoutNul(value: unknown): string {
  return JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd');
}
