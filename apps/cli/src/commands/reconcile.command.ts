import { createHash } from 'node:crypto';
import { closeSync, createReadStream, openSync, promises as fs, writeSync } from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Command } from 'commander';
import {
  BankItemCollector,
  InputFileError,
  InvalidReconcileInputError,
  type LedgerBalance,
  type ReconcileSink,
  type ReconcileSummary,
  RuleSetError,
  defaultRuleSet,
  ledgerFormatOf,
  parseRuleSet,
  readBalancesCsv,
  readCanonicalJsonl,
  readLedgerColumns,
  reconcileToSink,
} from '@recon/matching';
import { type CanonicalRecord, StatementChecker, UnreadableStatementError, parseStatementBytes } from '@recon/statement-formats';
import { CliError, CliFindings, EXIT_BAD_INPUT } from '../cli-error';

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

/** What a run wrote: matches.jsonl and breaks.jsonl are streamed to `--out` and never held in memory. */
export interface ReconcileRun {
  readonly summary: ReconcileSummary & { readonly inputs: Record<string, unknown> };
}

/**
 * Phases after which most of what the run made is garbage: the statement parser's buffers and records, the
 * first two reference rules' maps and keys (the largest). After classification too would save another ~70 MB
 * of peak for ~0.7 s of CPU, so not there. V8 sets its next full collection by the heap it
 * found live at its last one and, with a million items a side, lets the heap grow about 500 MB past the live
 * data (at most about 560 MB) before collecting again: a peak RSS of 1.1-1.2 GB. A full collection at these
 * points keeps the peak near the live heap (docs/matching.md, "Performance", has the figures); each takes a
 * few hundred milliseconds, about what V8's own collections would have cost.
 */
const COLLECTED_AFTER = new Set(['read bank', 'match: rule ref-exact', 'match: rule ref-in-text']);

/**
 * The runtime's full garbage collection (V8's `gc`, exposed at run time for this process), or undefined where
 * the runtime does not offer it: then V8 alone decides, which changes the peak memory, not the results.
 */
function fullCollection(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** The file's size, or undefined when it cannot be known up front (a pipe, or an error the read will report). */
async function fileSize(file: string): Promise<number | undefined> {
  const stat = await fs.stat(file).catch(() => undefined);
  return stat?.isFile() === true ? stat.size : undefined;
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
  const collect = fullCollection();
  const phaseEnd = (name: string): void => {
    clock?.phase(name);
    if (collect !== undefined && COLLECTED_AFTER.has(name)) collect();
  };
  const ruleText = options.rules === undefined ? undefined : await readSmallFile(options.rules, 'rules');
  const ruleSet = ruleText === undefined ? defaultRuleSet() : guard(() => parseRuleSet(ruleText, options.rules));
  const rulesHash = ruleText === undefined ? undefined : { path: options.rules, sha256: sha256Of(ruleText) };

  const ledgerHash = createHash('sha256');
  const ledgerBytes = await fileSize(options.ledger);
  const ledger = await guardAsync(() =>
    readLedgerColumns(hashedChunks(options.ledger, ledgerHash), ledgerFormatOf(options.ledger), options.ledger, {
      keepDescriptive: false,
      sizeBytes: ledgerBytes,
    }),
  );
  const ledgerFile: InputFileHash = { path: options.ledger, sha256: ledgerHash.digest('hex') };
  phaseEnd('read ledger');

  // The engine never reads descriptions or counterparty names, and the run record hashes the files themselves.
  const collector = new BankItemCollector({ keepCounterpartyName: false });
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
  const collected = collector.finishColumns();
  phaseEnd('read bank');

  let balancesFile: InputFileHash | undefined;
  let balances: LedgerBalance[] | undefined;
  if (options.balances !== undefined) {
    const text = await readSmallFile(options.balances, 'balances');
    balances = guard(() => readBalancesCsv(text, options.balances));
    balancesFile = { path: options.balances, sha256: sha256Of(text) };
  }

  await fs.mkdir(options.out, { recursive: true }).catch((error: unknown) => {
    throw new CliError(`cannot create --out directory ${options.out}: ${(error as Error).message}`, EXIT_BAD_INPUT);
  });
  const sink = new OutputFiles(path.join(options.out, 'matches.jsonl'), path.join(options.out, 'breaks.jsonl'));
  let result: ReconcileSummary;
  try {
    result = guard(() =>
      reconcileToSink(
        { ledger, bank: collected.bank, statements: collected.statements, balances, findings: checker.findings(), rejected: collected.rejected },
        ruleSet,
        sink,
        {
          inputHashes: { ledger: ledgerFile.sha256, bank: sha256Of(bankFiles.map((file) => file.sha256).join('\n')) },
          timer: { phase: (name: string) => phaseEnd(`match: ${name}`) },
        },
      ),
    );
  } catch (error: unknown) {
    // A run that fails leaves no half-written outputs behind that could pass for a result.
    sink.close();
    await Promise.all([sink.matchesFile, sink.breaksFile].map((file) => fs.rm(file, { force: true })));
    throw error;
  }
  sink.close();
  const summary = {
    ...result,
    inputs: {
      ledger: ledgerFile,
      bank: bankFiles,
      ...(balancesFile === undefined ? {} : { balances: balancesFile }),
      ...(rulesHash === undefined ? {} : { rules: rulesHash }),
    },
  };
  await fs.writeFile(path.join(options.out, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
  clock?.phase('write');
  return { summary };
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

/**
 * matches.jsonl and breaks.jsonl, written as the engine produces them. The engine is synchronous, so are these
 * writes (in blocks of about a megabyte); both files exist, possibly empty, once the run is through.
 */
class OutputFiles implements ReconcileSink {
  private readonly matchesFd: number;
  private readonly breaksFd: number;

  constructor(
    readonly matchesFile: string,
    readonly breaksFile: string,
  ) {
    this.matchesFd = openOutput(matchesFile);
    try {
      this.breaksFd = openOutput(breaksFile);
    } catch (error: unknown) {
      closeSync(this.matchesFd);
      throw error;
    }
  }

  matches(block: string): void {
    writeOutput(this.matchesFd, block, this.matchesFile);
  }

  breaks(block: string): void {
    writeOutput(this.breaksFd, block, this.breaksFile);
  }

  close(): void {
    closeSync(this.matchesFd);
    closeSync(this.breaksFd);
  }
}

function openOutput(file: string): number {
  try {
    return openSync(file, 'w');
  } catch (error: unknown) {
    throw new CliError(`cannot write ${file}: ${describeFsError(error)}`, EXIT_BAD_INPUT);
  }
}

function writeOutput(fd: number, text: string, file: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let written = 0;
  try {
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
  } catch (error: unknown) {
    throw new CliError(`cannot write ${file}: ${describeFsError(error)}`, EXIT_BAD_INPUT);
  }
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
