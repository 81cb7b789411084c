import type { Command } from 'commander';
import {
  CSV_PROFILES,
  type CanonicalRecord,
  ENCODING_OPTIONS,
  type EncodingOption,
  type FormatOption,
  StatementChecker,
  UnreadableStatementError,
  isEncodingOption,
  isFormatOption,
  readStatementFile,
} from '@recon/statement-formats';
import { CliError, EXIT_BAD_INPUT, EXIT_FINDINGS } from '../cli-error';

/** Output is gathered into blocks of about this many characters before each stdout write. */
const OUTPUT_BLOCK_CHARACTERS = 256 * 1024;

const STATEMENT_KEYS = ['kind', 'format', 'statementId', 'account', 'currency', 'sequence', 'from', 'to', 'openingBalance', 'closingBalance'] as const;
const ENTRY_KEYS = [
  'kind',
  'statementId',
  'lineNo',
  'amount',
  'currency',
  'bookingDate',
  'valueDate',
  'bankRef',
  'endToEndId',
  'customerRef',
  'bankTxCode',
  'counterpartyName',
  'counterpartyAccount',
  'remittance',
  'reversal',
  'transactions',
] as const;
const TRANSACTION_KEYS = ['amount', 'endToEndId', 'remittance', 'bankRef', 'customerRef', 'counterpartyName', 'counterpartyAccount'] as const;
const REJECTED_KEYS = ['kind', 'lineNo', 'reason', 'raw'] as const;

function pick(source: object, keys: readonly string[]): Record<string, unknown> {
  const values = source as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = values[key];
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

/** One JSONL line with CONTRACT.md's key order, whatever order the parser built the object in. */
export function toJsonLine(record: CanonicalRecord): string {
  switch (record.kind) {
    case 'statement': {
      const out = pick(record, STATEMENT_KEYS);
      if (record.openingBalance !== undefined) out.openingBalance = pick(record.openingBalance, ['amount', 'date']);
      if (record.closingBalance !== undefined) out.closingBalance = pick(record.closingBalance, ['amount', 'date']);
      return JSON.stringify(out);
    }
    case 'entry': {
      const out = pick(record, ENTRY_KEYS);
      if (record.transactions !== undefined) out.transactions = record.transactions.map((part) => pick(part, TRANSACTION_KEYS));
      return JSON.stringify(out);
    }
    case 'rejected':
      return JSON.stringify(pick(record, REJECTED_KEYS));
  }
}

/**
 * Writes JSONL blocks to stdout with back-pressure. A reader that goes away (`recon parse f | head`) closes
 * the pipe: that is the reader's choice, so the parse stops quietly instead of failing.
 */
class StdoutWriter {
  private failure: Error | undefined;
  private readonly onError = (error: Error): void => {
    this.failure = error;
  };

  constructor() {
    process.stdout.on('error', this.onError);
  }

  get closedByReader(): boolean {
    return (this.failure as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
  }

  async write(text: string): Promise<void> {
    this.throwIfFailed();
    if (process.stdout.write(text)) return;
    await new Promise<void>((resolve) => {
      const settle = (): void => {
        process.stdout.off('drain', settle);
        process.stdout.off('error', settle);
        resolve();
      };
      process.stdout.once('drain', settle);
      process.stdout.once('error', settle);
    });
    this.throwIfFailed();
  }

  close(): void {
    process.stdout.off('error', this.onError);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

interface ParseCommandOptions {
  readonly format: string;
  readonly encoding: string;
  readonly check?: boolean;
}

async function runParse(file: string, options: ParseCommandOptions): Promise<void> {
  if (!isFormatOption(options.format)) {
    throw new CliError(`unknown --format '${options.format}' (auto, mt940, mt942, camt.052, camt.053, camt.054, bai2, csv:<profile>)`, EXIT_BAD_INPUT);
  }
  if (!isEncodingOption(options.encoding)) {
    throw new CliError(`unknown --encoding '${options.encoding}' (${ENCODING_OPTIONS.join(', ')})`, EXIT_BAD_INPUT);
  }
  const format: FormatOption = options.format;
  const encoding: EncodingOption = options.encoding;
  const checker = options.check === true ? new StatementChecker() : undefined;
  let rejectedCount = 0;
  let block = '';
  const stdout = new StdoutWriter();
  try {
    for await (const record of readStatementFile(file, { format, encoding })) {
      if (record.kind === 'rejected') rejectedCount += 1;
      checker?.accept(record);
      block += `${toJsonLine(record)}\n`;
      if (block.length >= OUTPUT_BLOCK_CHARACTERS) {
        await stdout.write(block);
        block = '';
      }
    }
    if (block.length > 0) await stdout.write(block);
  } catch (error: unknown) {
    if (stdout.closedByReader) return;
    if (error instanceof UnreadableStatementError) {
      if (block.length > 0) await stdout.write(block).catch(() => undefined);
      throw new CliError(`${file}: ${error.message}`, EXIT_BAD_INPUT);
    }
    throw error;
  } finally {
    stdout.close();
  }

  const findings = checker?.findings() ?? [];
  for (const finding of findings) process.stderr.write(`recon: ${finding.kind}: ${finding.message}\n`);
  if (rejectedCount > 0 || findings.length > 0) {
    const parts: string[] = [];
    if (rejectedCount > 0) parts.push(`${rejectedCount} line(s) rejected`);
    if (findings.length > 0) parts.push(`${findings.length} statement check finding(s)`);
    throw new CliError(`${file}: ${parts.join(', ')}`, EXIT_FINDINGS);
  }
}

export function registerParseCommand(program: Command): void {
  program
    .command('parse')
    .description(
      'Parse one bank statement file (MT940, MT942, camt.052/053/054, BAI2, CSV) into canonical JSONL on stdout: one line per ' +
        'statement, then its entries, in file order. Exit 0 when everything parsed, 1 when any line was rejected, 2 when the ' +
        'file is unreadable.',
    )
    .argument('<file>', 'the bank file')
    .option(
      '--format <format>',
      `auto, mt940, mt942, camt.052, camt.053, camt.054, bai2 or csv:<profile> (profiles: ${[...CSV_PROFILES.keys()].join(', ')})`,
      'auto',
    )
    .option(
      '--encoding <encoding>',
      `auto (BOM, XML declaration, UTF-8, GB18030 heuristic, else Windows-1252), ${ENCODING_OPTIONS.slice(1).join(', ')}`,
      'auto',
    )
    .option('--check', 'also check balances and statement continuity; findings go to stderr and make the exit status 1')
    .action(async (file: string, options: ParseCommandOptions) => {
      await runParse(file, options);
    });
}
