import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { type Command, Option } from 'commander';
import { CliError, EXIT_BAD_INPUT } from '../cli-error';

const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const LEDGER_REQUEST_TIMEOUT_MS = 10 * 60 * 1_000;

export interface LedgerClientOptions {
  readonly url: string;
  readonly apiKey: string;
}

/**
 * `recon ledger export` and `recon ledger balances`: the ledger's side of a reconciliation, pulled from a
 * running ledger service in the CONTRACT's CSV formats, streamed to a file or stdout as it arrives.
 */
export function registerLedgerCommand(program: Command): void {
  const ledger = program
    .command('ledger')
    .description("Talk to a running ledger service (its URL and an API key with the 'ops', 'auditor' or 'service' role).");
  const common = (command: Command) =>
    command
      .addOption(new Option('--url <url>', 'ledger service base URL').env('RECON_LEDGER_URL').default('http://127.0.0.1:3001'))
      .addOption(new Option('--api-key <key>', 'API key').env('RECON_API_KEY').makeOptionMandatory())
      .option('--account <account>', 'one custody account: its code or its bank account (IBAN)')
      .option('--out <file>', 'write to this file instead of stdout');

  common(
    ledger
      .command('export')
      .description('Ledger entries on custody accounts with value dates from..to, as the CONTRACT ledger CSV (input of `recon reconcile --ledger`).')
      .requiredOption('--from <date>', 'first value date, YYYY-MM-DD')
      .requiredOption('--to <date>', 'last value date, YYYY-MM-DD'),
  ).action(async (options: { url: string; apiKey: string; from: string; to: string; account?: string; out?: string }) => {
    checkDate('--from', options.from);
    checkDate('--to', options.to);
    await download(options, '/v1/exports/ledger.csv', { from: options.from, to: options.to, account: options.account }, options.out);
  });

  common(
    ledger
      .command('balances')
      .description('What each custody account must hold at the end of a day, as the CONTRACT balances CSV (input of `recon reconcile --balances`).')
      .requiredOption('--as-of <date>', 'the day, YYYY-MM-DD'),
  ).action(async (options: { url: string; apiKey: string; asOf: string; account?: string; out?: string }) => {
    checkDate('--as-of', options.asOf);
    await download(options, '/v1/exports/balances.csv', { asOf: options.asOf, account: options.account }, options.out);
  });
}

function checkDate(option: string, value: string): void {
  if (!DATE_PATTERN.test(value)) throw new CliError(`${option} '${value}' is not a date YYYY-MM-DD`, EXIT_BAD_INPUT);
}

export async function download(
  client: LedgerClientOptions,
  path: string,
  query: Record<string, string | undefined>,
  outFile: string | undefined,
): Promise<void> {
  let url: URL;
  try {
    url = new URL(path, client.url);
  } catch {
    throw new CliError(`--url '${client.url}' is not a URL`, EXIT_BAD_INPUT);
  }
  for (const [name, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(name, value);
  let response: Response;
  try {
    response = await fetch(url, { headers: { 'X-Api-Key': client.apiKey }, signal: AbortSignal.timeout(LEDGER_REQUEST_TIMEOUT_MS) });
  } catch (error: unknown) {
    throw new CliError(
      `cannot reach the ledger at ${client.url}: ${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}`,
      EXIT_BAD_INPUT,
    );
  }
  if (!response.ok || response.body === null) {
    const text = await response.text().catch(() => '');
    let message = text.slice(0, 500);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not JSON: keep the text
    }
    throw new CliError(`ledger answered ${response.status}: ${message}`, EXIT_BAD_INPUT);
  }
  const body = Readable.fromWeb(response.body as unknown as WebReadableStream<Uint8Array>);
  if (outFile === undefined) {
    await pipeline(body, process.stdout, { end: false });
    return;
  }
  await pipeline(body, fs.createWriteStream(outFile));
}
