import * as iconv from 'iconv-lite';
import type { TextEncoding } from '../canonical';

/**
 * Decodes a byte stream chunk by chunk. iconv-lite keeps the bytes of a character split across two chunks
 * (UTF-8, GB18030, UTF-16) until the rest arrives, so memory stays one chunk whatever the file size.
 * A byte-order mark at the start is dropped.
 */
export async function* decodeChunks(source: AsyncIterable<Buffer>, encoding: TextEncoding): AsyncGenerator<string> {
  const decoder = iconv.getDecoder(encoding, { stripBOM: true });
  for await (const chunk of source) {
    const text = decoder.write(chunk);
    if (text.length > 0) yield text;
  }
  const rest = decoder.end();
  if (rest !== undefined && rest.length > 0) yield rest;
}

/** Decodes a whole in-memory buffer (detection heads, tests). */
export function decodeBuffer(bytes: Buffer, encoding: TextEncoding): string {
  return iconv.decode(bytes, encoding, { stripBOM: true });
}
