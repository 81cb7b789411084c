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

/** Writes to a COPY stream respecting back-pressure: a million rows never pile up in this process. */
export class CopyRowWriter {
  rowCount = 0;

  constructor(private readonly stream: Writable) {}

  async write(values: readonly (string | number | bigint | null | undefined)[]): Promise<void> {
    this.rowCount += 1;
    if (!this.stream.write(copyTextRow(values))) await once(this.stream, 'drain');
  }

  /** Abandons the COPY (the server rolls it back); the caller's transaction is rolled back after. */
  abort(error: unknown): void {
    this.stream.destroy(error instanceof Error ? error : new Error(String(error)));
  }

  async end(): Promise<void> {
    this.stream.end();
    await finished(this.stream);
  }
}

/** Strings inside jsonb cannot hold NUL either; the canonical record is stored with U+FFFD in its place. */
export function jsonWithoutNul(value: unknown): string {
  return JSON.stringify(value).replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1\\ufffd');
}
