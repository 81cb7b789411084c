import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import {
  BankItemCollector,
  InputFileError,
  InvalidReconcileInputError,
  type LedgerBalance,
  type ReconcileResult,
  type ReconcileSummary,
  RuleSetError,
  defaultRuleSet,
  ledgerFormatOf,
  parseRuleSet,
  readBalancesCsv,
  readCanonicalJsonl,
  readLedgerFile,
  reconcile,
} from '@recon/matching';
import { type CanonicalRecord, StatementChecker, UnreadableStatementError, parseStatementBytes } from '@recon/statement-formats';
import { CliError, CliFindings, EXIT_BAD_INPUT } from '../cli-error';

/** Output is written in blocks of about this many characters. */
const OUTPUT_BLOCK_CHARACTERS = 1024 * 1024;
const READ_CHUNK_BYTES = 1024 * 1024;
const BALANCES_FILE_BYTES_MAX = 64 * 1024 * 1024;

export interface ReconcileCommandOptions {
  readonly ledger: string;
  readonly bank: readonly string[];
  readonly balances?: string;
  readonly rules?: string;
  readonly out: string;
}

export interface InputFileHash {
  readonly path: string;
  readonly sha256: string;
}

export interface ReconcileRun {
  readonly result: ReconcileResult;
  readonly summary: ReconcileSummary & { readonly inputs: Record<string, unknown> };
}

/** Records time per phase (for the benchmark); the CLI passes none. */
export interface PhaseClock {
  phase(name: string): void;
}

/**
 * The whole of `recon reconcile` minus argument parsing and exit status: read, match, write. The benchmark
 * calls exactly this, so what it measures is what finance ops run.
 */
export async function runReconcile(options: ReconcileCommandOptions, clock?: PhaseClock): Promise<ReconcileRun> {
  const ruleText = options.rules === undefined ? undefined : await readSmallFile(options.rules, 'rules');
  const ruleSet = ruleText === undefined ? defaultRuleSet() : guard(() => parseRuleSet(ruleText, options.rules));
  const rulesHash = ruleText === undefined ? undefined : { path: options.rules, sha256: sha256Of(ruleText) };

  const ledgerHash = createHash('sha256');
  const ledger = await guardAsync(() => readLedgerFile(hashedChunks(options.ledger, ledgerHash), ledgerFormatOf(options.ledger), options.ledger));
  const ledgerFile: InputFileHash = { path: options.ledger, sha256: ledgerHash.digest('hex') };
  clock?.phase('read ledger');

  const collector = new BankItemCollector();
  const checker = new StatementChecker();
  const bankFiles: InputFileHash[] = [];
  for (const file of options.bank) {
    const hash = createHash('sha256');
    const records: AsyncIterable<CanonicalRecord> = /\.(jsonl|ndjson)$/i.test(file)
      ? readCanonicalJsonl(hashedChunks(file, hash), file)
      : parseStatementBytes(hashedChunks(file, hash), { format: 'auto', encoding: 'auto' });
    await guardAsync(async () => {
      for await (const record of records) {
        collector.add(record, file);
        checker.accept(record);
      }
    }, file);
    bankFiles.push({ path: file, sha256: hash.digest('hex') });
  }
  const collected = collector.finish();
  clock?.phase('read bank');

  let balancesFile: InputFileHash | undefined;
  let balances: LedgerBalance[] | undefined;
  if (options.balances !== undefined) {
    const text = await readSmallFile(options.balances, 'balances');
    balances = guard(() => readBalancesCsv(text, options.balances));
    balancesFile = { path: options.balances, sha256: sha256Of(text) };
  }

  const result = guard(() =>
    reconcile(
      { ledger, bank: collected.bank, statements: collected.statements, balances, findings: checker.findings(), rejected: collected.rejected },
      ruleSet,
      {
        inputHashes: { ledger: ledgerFile.sha256, bank: sha256Of(bankFiles.map((file) => file.sha256).join('\n')) },
        ...(clock === undefined ? {} : { timer: { phase: (name: string) => clock.phase(`match: ${name}`) } }),
      },
    ),
  );

  await fs.mkdir(options.out, { recursive: true }).catch((error: unknown) => {
    throw new CliError(`cannot create --out directory ${options.out}: ${(error as Error).message}`, EXIT_BAD_INPUT);
  });
  await writeJsonLines(path.join(options.out, 'matches.jsonl'), result.matches);
  await writeJsonLines(path.join(options.out, 'breaks.jsonl'), result.breaks);
  const summary = {
    ...result.summary,
    inputs: {
      ledger: ledgerFile,
      bank: bankFiles,
      ...(balancesFile === undefined ? {} : { balances: balancesFile }),
      ...(rulesHash === undefined ? {} : { rules: rulesHash }),
    },
  };
  await fs.writeFile(path.join(options.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  clock?.phase('write');
  return { result, summary };
}

async function* hashedChunks(file: string, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  const stream = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
  try {
    for await (const chunk of stream) {
      hash.update(chunk as Buffer);
      yield chunk as Buffer;
    }
  } catch (error: unknown) {
    throw new CliError(`cannot read ${file}: ${describeFsError(error)}`, EXIT_BAD_INPUT);
  } finally {
    stream.destroy();
  }
}

async function readSmallFile(file: string, what: string): Promise<string> {
  try {
    const stat = await fs.stat(file);
    if (stat.size > BALANCES_FILE_BYTES_MAX) throw new CliError(`${what} file ${file} is larger than ${BALANCES_FILE_BYTES_MAX} bytes`, EXIT_BAD_INPUT);
    return await fs.readFile(file, 'utf8');
  } catch (error: unknown) {
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot read ${what} file ${file}: ${describeFsError(error)}`, EXIT_BAD_INPUT);
  }
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return error instanceof Error ? error.message : String(error);
}

/** Bad input of any kind becomes exit status 2 with the library's message, which names file, row and field. */
function badInput(error: unknown, file?: string): never {
  if (error instanceof CliError) throw error;
  if (error instanceof UnreadableStatementError) throw new CliError(`${file ?? 'bank file'}: ${error.message}`, EXIT_BAD_INPUT);
  if (error instanceof InputFileError || error instanceof RuleSetError || error instanceof InvalidReconcileInputError)
    throw new CliError(error.message, EXIT_BAD_INPUT);
  throw error;
}

function guard<T>(action: () => T): T {
  try {
    return action();
  } catch (error: unknown) {
    return badInput(error);
  }
}

async function guardAsync<T>(action: () => Promise<T>, file?: string): Promise<T> {
  try {
    return await action();
  } catch (error: unknown) {
    return badInput(error, file);
  }
}

async function writeJsonLines(file: string, items: readonly unknown[]): Promise<void> {
  const stream = createWriteStream(file, { encoding: 'utf8' });
  const finished = new Promise<void>((resolve, reject) => {
    stream.once('finish', resolve);
    stream.once('error', reject);
  });
  let block = '';
  for (const item of items) {
    block += `${JSON.stringify(item)}\n`;
    if (block.length >= OUTPUT_BLOCK_CHARACTERS) {
      if (!stream.write(block)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
      block = '';
    }
  }
  stream.end(block);
  await finished;
}

function sha256Of(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

interface RawOptions {
  readonly ledger: string;
  readonly bank: string[];
  readonly balances?: string;
  readonly rules?: string;
  readonly out: string;
}

export function registerReconcileCommand(program: Command): void {
  program
    .command('reconcile')
    .description(
      'Reconcile the ledger against bank statements offline. Writes matches.jsonl, breaks.jsonl and summary.json to --out. ' +
        'Exit 0 when there are no breaks, 1 when there are breaks, 2 on bad input. Rules and break types: docs/matching.md.',
    )
    .requiredOption(
      '--ledger <file>',
      'ledger entries: CSV with a header row (entry_id, account, amount, currency, value_date, reference, ...) or .jsonl in camelCase',
    )
    .requiredOption('--bank <files...>', 'bank files in any format `recon parse` reads, or canonical .jsonl as `recon parse` writes it')
    .option('--balances <file>', 'CSV account,currency,as_of,balance: what the custody account should hold at end of as_of')
    .option('--rules <file>', 'YAML/JSON rule file (default: the documented default rules)')
    .requiredOption('--out <dir>', 'directory for matches.jsonl, breaks.jsonl and summary.json')
    .action(async (options: RawOptions) => {
      const run = await runReconcile(options);
      const counts = run.summary.counts;
      process.stdout.write(
        `reconciled ${counts.ledgerEntries} ledger entries and ${counts.bankLines} bank lines: ${counts.matchGroups} match groups, ${counts.breaks} breaks -> ${options.out}\n`,
      );
      if (counts.breaks > 0) throw new CliFindings();
    });
}
