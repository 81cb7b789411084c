import type { Command } from 'commander';
import {
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
  'kind', 'statementId', 'lineNo', 'amount', 'currency', 'bookingDate', 'valueDate', 'bankRef', 'endToEndId', 'customerRef',
  'bankTxCode', 'counterpartyName', 'counterpartyAccount', 'remittance', 'reversal', 'transactions',
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

async function writeBlock(text: string): Promise<void> {
  if (process.stdout.write(text)) return;
  await new Promise<void>((resolve, reject) => {
    const onDrain = (): void => {
      process.stdout.off('error', onError);
      resolve();
    };
    const onError = (error: Error): void => {
      process.stdout.off('drain', onDrain);
      reject(error);
    };
    process.stdout.once('drain', onDrain);
    process.stdout.once('error', onError);
  });
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
  try {
    for await (const record of readStatementFile(file, { format, encoding })) {
      if (record.kind === 'rejected') rejectedCount += 1;
      checker?.accept(record);
      block += `${toJsonLine(record)}\n`;
      if (block.length >= OUTPUT_BLOCK_CHARACTERS) {
        await writeBlock(block);
        block = '';
      }
    }
  } catch (error: unknown) {
    if (block.length > 0) await writeBlock(block);
    if (error instanceof UnreadableStatementError) throw new CliError(`${file}: ${error.message}`, EXIT_BAD_INPUT);
    throw error;
  }
  if (block.length > 0) await writeBlock(block);

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
    .option('--format <format>', 'auto, mt940, mt942, camt.052, camt.053, camt.054, bai2 or csv:<profile>', 'auto')
    .option('--encoding <encoding>', `auto (BOM, XML declaration, UTF-8, GB18030 heuristic, else Windows-1252), ${ENCODING_OPTIONS.slice(1).join(', ')}`, 'auto')
    .option('--check', 'also check balances and statement continuity; findings go to stderr and make the exit status 1')
    .action(async (file: string, options: ParseCommandOptions) => {
      await runParse(file, options);
    });
}
