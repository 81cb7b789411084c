import { z } from 'zod';
import type { CanonicalRecord } from '@recon/statement-formats';
import { InputFileError, linesOfChunks } from './input-error';

const CANONICAL_LINE_LENGTH_MAX = 1024 * 1024;
const TEXT_MAX = 4_096;

const text = z.string().max(TEXT_MAX);
const decimal = z.string().regex(/^[+-]?\d{1,30}(\.\d{1,6})?$/, 'must be a decimal string such as "12.30"');
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');

const statementSchema = z.object({
  kind: z.literal('statement'),
  format: z.string().max(32),
  statementId: text.min(1),
  account: text.min(1),
  currency: z.string().length(3),
  sequence: text.optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  openingBalance: z.object({ amount: decimal, date: isoDate }).optional(),
  closingBalance: z.object({ amount: decimal, date: isoDate }).optional(),
});
const entrySchema = z.object({
  kind: z.literal('entry'),
  statementId: text.min(1),
  lineNo: z.number().int().min(0),
  amount: decimal,
  currency: z.string().length(3),
  bookingDate: isoDate.optional(),
  valueDate: isoDate.optional(),
  bankRef: text.optional(),
  endToEndId: text.optional(),
  customerRef: text.optional(),
  bankTxCode: text.optional(),
  counterpartyName: text.optional(),
  counterpartyAccount: text.optional(),
  remittance: text.optional(),
  reversal: z.boolean(),
  transactions: z
    .array(
      z.object({
        amount: decimal,
        endToEndId: text.optional(),
        remittance: text.optional(),
        bankRef: text.optional(),
        customerRef: text.optional(),
        counterpartyName: text.optional(),
        counterpartyAccount: text.optional(),
      }),
    )
    .max(100_000)
    .optional(),
});
const rejectedSchema = z.object({ kind: z.literal('rejected'), lineNo: z.number().int().min(0), reason: text, raw: z.string().max(CANONICAL_LINE_LENGTH_MAX) });
const recordSchema = z.discriminatedUnion('kind', [statementSchema, entrySchema, rejectedSchema]);

/**
 * Reads canonical JSONL, exactly what `recon parse` prints (CONTRACT section 1), validating every line: a
 * bank file already parsed elsewhere, or written by a test or a benchmark, is as good as the bank's own.
 */
export async function* readCanonicalJsonl(chunks: AsyncIterable<string | Buffer>, source: string): AsyncGenerator<CanonicalRecord> {
  for await (const { lineNo, text: line } of linesOfChunks(chunks, CANONICAL_LINE_LENGTH_MAX, source)) {
    if (line.trim().length === 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new InputFileError(`${source} line ${lineNo}: not JSON`);
    }
    const parsed = recordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InputFileError(
        `${source} line ${lineNo}${issue === undefined || issue.path.length === 0 ? '' : `, field ${issue.path.join('.')}`}: ${issue?.message ?? 'not a canonical record'}`,
      );
    }
    yield parsed.data as CanonicalRecord;
  }
}
