import * as iconv from 'iconv-lite';
import type { TextEncoding } from '../canonical';

/**
 * Largest piece of input decoded (and handed on) at once. 64 KiB keeps each decoded string in V8's young
 * generation: strings of a megabyte land in large-object space, whose collection made decoding alone cost
 * about a third of camt parsing (measured with node --cpu-prof, docs/statement-formats.md).
 */
export const DECODE_CHUNK_BYTES_MAX = 64 * 1024;

/**
 * Decodes a byte stream chunk by chunk. iconv-lite keeps the bytes of a character split across two chunks
 * (UTF-8, GB18030, UTF-16) until the rest arrives, so memory stays one chunk whatever the file size.
 * A byte-order mark at the start is dropped.
 */
export async function* decodeChunks(source: AsyncIterable<Buffer>, encoding: TextEncoding): AsyncGenerator<string> {
  const decoder = iconv.getDecoder(encoding, { stripBOM: true });
  for await (const chunk of source) {
    // A caller's huge chunk is cut, so that what a parser buffers per chunk (records, lines) stays bounded.
    for (let offset = 0; offset < chunk.length; offset += DECODE_CHUNK_BYTES_MAX) {
      const text = decoder.write(chunk.length <= DECODE_CHUNK_BYTES_MAX ? chunk : chunk.subarray(offset, offset + DECODE_CHUNK_BYTES_MAX));
      if (text.length > 0) yield text;
    }
  }
  const rest = decoder.end();
  if (rest !== undefined && rest.length > 0) yield rest;
}

/** Decodes a whole in-memory buffer (detection heads, tests). */
export function decodeBuffer(bytes: Buffer, encoding: TextEncoding): string {
  return iconv.decode(bytes, encoding, { stripBOM: true });
}
