import { type CanonicalRecord, detectEncoding, detectFormat, parseStatementBytes, UnreadableStatementError } from '@recon/statement-formats';
import type { DetectedFile, ParseOptions } from './bank-adapter.port';

/** detect and parse of the built-in adapters: every format @recon/statement-formats reads. */
export function detectStandard(head: Buffer): DetectedFile | undefined {
  try {
    const format = detectFormat(head);
    return { format, encoding: detectEncoding(head).encoding };
  } catch (error) {
    if (error instanceof UnreadableStatementError) return undefined;
    throw error;
  }
}

export function parseStandard(content: Buffer, options: ParseOptions): AsyncIterable<CanonicalRecord> {
  return parseStatementBytes(content, { format: options.format, encoding: options.encoding });
}
