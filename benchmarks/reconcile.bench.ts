/**
 * `npm run bench:reconcile [-- --entries N --fault-rate R --dir D --keep]`
 *
 * Generates a business day of N ledger entries (CSV) and the matching camt.053.001.08 statement (XML written
 * here, streamed) with about 2% injected faults, then runs exactly the code path of `recon reconcile` on them
 * and prints the time per phase, entries per second, peak RSS, and the recall and precision of the breaks
 * against the injected faults. Generation runs in a child process so that its memory is not counted.
 * Targets: whole run under 30 s and under 1 GB RSS.
 *
 * `--dir D --reuse` skips the generation when D already holds the files of an earlier run with `--keep` (same
 * entries and fault rate): the generation takes longer than the run itself. Every phase also reports the CPU
 * time the process spent in it (user + system) and the load average when it ended, because the development
 * machine is shared and wall-clock figures are pessimistic there.
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, promises as fs, type WriteStream } from 'node:fs';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { formatMinorToDecimal } from '@recon/money';
import { runReconcile } from '../apps/cli/src/commands/reconcile.command';
import type { BankItem, LedgerItem } from '../libs/matching/src';
import { generateScenario } from '../libs/matching/src/testing/scenario.generator';

const DEFAULT_ENTRIES = 1_000_000;
const DEFAULT_FAULT_RATE = 0.02;
const TARGET_SECONDS = 30;
const TARGET_RSS_BYTES = 1024 * 1024 * 1024;
const WRITE_BLOCK_CHARACTERS = 1024 * 1024;
/**
 * Bank lines per generated movement (batches collapse several ledger entries into one line, split
 * settlements and injected extra lines add some): sized so that both sides reach the requested count.
 */
const BANK_LINES_PER_MOVEMENT = 1.02;
const CAMT_NAMESPACE = 'urn:iso:std:iso:20022:tech:xsd:camt.053.001.08';

/** A full garbage collection on demand (the `--expose-gc` function, obtained at run time). */
function fullCollection(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
}

class BlockWriter {
  private block = '';
  private readonly stream: WriteStream;
  constructor(file: string) {
    this.stream = createWriteStream(file, { encoding: 'utf8' });
  }
  async write(text: string): Promise<void> {
    this.block += text;
    if (this.block.length < WRITE_BLOCK_CHARACTERS) return;
    const block = this.block;
    this.block = '';
    if (!this.stream.write(block)) await new Promise<void>((resolve) => this.stream.once('drain', () => resolve()));
  }
  async close(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.stream.once('error', reject);
      this.stream.end(this.block, () => resolve());
    });
  }
}

function xmlText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function csvField(text: string | undefined): string {
  if (text === undefined) return '';
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

async function writeLedgerCsv(file: string, ledger: readonly LedgerItem[]): Promise<void> {
  const out = new BlockWriter(file);
  await out.write('entry_id,account,amount,currency,value_date,reference,sub_account,booking_date,description,kind,batch_reference\n');
  for (const item of ledger) {
    await out.write(
      `${item.entryId},${item.account},${formatMinorToDecimal(item.amountMinor, 2)},${item.currency},${item.valueDate},${csvField(item.reference)},${csvField(item.subAccount)},,${csvField(item.description)},${csvField(item.kind)},${csvField(item.batchReference)}\n`,
    );
  }
  await out.close();
}

function amountXml(amountMinor: bigint, currency: string): string {
  const unsigned = amountMinor < 0n ? -amountMinor : amountMinor;
  return `<Amt Ccy="${currency}">${formatMinorToDecimal(unsigned, 2)}</Amt><CdtDbtInd>${amountMinor < 0n ? 'DBIT' : 'CRDT'}</CdtDbtInd>`;
}

function bankTxCodeXml(code: string | undefined): string {
  const [domain, family, subFamily] = (code ?? 'PMNT/RCDT/ESCT').split('/');
  return `<BkTxCd><Domn><Cd>${domain}</Cd><Fmly><Cd>${family}</Cd><SubFmlyCd>${subFamily}</SubFmlyCd></Fmly></Domn></BkTxCd>`;
}

function entryXml(item: BankItem): string {
  const dates = `<BookgDt><Dt>${item.bookingDate ?? item.valueDate}</Dt></BookgDt><ValDt><Dt>${item.valueDate}</Dt></ValDt>`;
  const head = `<Ntry>${amountXml(item.amountMinor, item.currency)}<Sts><Cd>BOOK</Cd></Sts>${dates}<AcctSvcrRef>${xmlText(item.bankRef ?? item.id)}</AcctSvcrRef>${bankTxCodeXml(item.bankTxCode)}`;
  if (item.transactions !== undefined) {
    const parts = item.transactions
      .map(
        (part) =>
          `<TxDtls><Refs><EndToEndId>${xmlText(part.endToEndId ?? 'NOTPROVIDED')}</EndToEndId></Refs>${amountXml(part.amountMinor, item.currency)}</TxDtls>`,
      )
      .join('');
    const batchReference = item.remittance?.split(' ').pop() ?? '';
    return `${head}<NtryDtls><Btch><PmtInfId>${xmlText(batchReference)}</PmtInfId><NbOfTxs>${item.transactions.length}</NbOfTxs></Btch>${parts}</NtryDtls></Ntry>\n`;
  }
  if (item.endToEndId === undefined && item.customerRef === undefined) {
    return `${head}<AddtlNtryInf>${xmlText(item.remittance ?? '')}</AddtlNtryInf></Ntry>\n`;
  }
  const refs = `<Refs>${item.customerRef === undefined ? '' : `<InstrId>${xmlText(item.customerRef)}</InstrId>`}<EndToEndId>${xmlText(item.endToEndId ?? 'NOTPROVIDED')}</EndToEndId></Refs>`;
  const party =
    item.counterpartyName === undefined
      ? ''
      : `<RltdPties><${item.amountMinor < 0n ? 'Cdtr' : 'Dbtr'}><Pty><Nm>${xmlText(item.counterpartyName)}</Nm></Pty></${item.amountMinor < 0n ? 'Cdtr' : 'Dbtr'}></RltdPties>`;
  const remittance = item.remittance === undefined ? '' : `<RmtInf><Ustrd>${xmlText(item.remittance)}</Ustrd></RmtInf>`;
  return `${head}<NtryDtls><TxDtls>${refs}${amountXml(item.amountMinor, item.currency)}${party}${remittance}</TxDtls></NtryDtls></Ntry>\n`;
}

async function writeCamt053(file: string, bank: readonly BankItem[], account: string, currency: string, statementId: string, day: string): Promise<void> {
  let closingMinor = 0n;
  for (const item of bank) if (item.currency === currency) closingMinor += item.amountMinor;
  const balance = (type: string, amountMinor: bigint): string =>
    `<Bal><Tp><CdOrPrtry><Cd>${type}</Cd></CdOrPrtry></Tp>${amountXml(amountMinor, currency)}<Dt><Dt>${day}</Dt></Dt></Bal>`;
  const out = new BlockWriter(file);
  await out.write(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="${CAMT_NAMESPACE}"><BkToCstmrStmt><GrpHdr><MsgId>BENCH-${day}</MsgId><CreDtTm>${day}T20:00:00Z</CreDtTm></GrpHdr>\n` +
      `<Stmt><Id>${statementId}</Id><ElctrncSeqNb>1</ElctrncSeqNb><CreDtTm>${day}T20:00:00Z</CreDtTm><Acct><Id><IBAN>${account}</IBAN></Id><Ccy>${currency}</Ccy></Acct>` +
      `${balance('OPBD', 0n)}${balance('CLBD', closingMinor)}\n`,
  );
  for (const item of bank) await out.write(entryXml(item));
  await out.write('</Stmt></BkToCstmrStmt></Document>\n');
  await out.close();
}

async function generateInto(dir: string, entries: number, faultRate: number): Promise<void> {
  const scenario = generateScenario({ seed: 20250102, movements: Math.ceil(entries / BANK_LINES_PER_MOVEMENT), faultRate });
  await writeLedgerCsv(path.join(dir, 'ledger.csv'), scenario.ledger);
  await writeCamt053(path.join(dir, 'statement.camt053.xml'), scenario.bank, scenario.account, scenario.currency, scenario.statementId, scenario.day);
  await fs.writeFile(path.join(dir, 'expected.jsonl'), scenario.expected.map((item) => JSON.stringify(item)).join('\n') + '\n');
  await fs.writeFile(path.join(dir, 'counts.json'), JSON.stringify({ ledger: scenario.ledger.length, bank: scenario.bank.length }));
}

async function main(): Promise<void> {
  const entries = Number(argument('--entries') ?? DEFAULT_ENTRIES);
  const faultRate = Number(argument('--fault-rate') ?? DEFAULT_FAULT_RATE);
  const generateDir = argument('--generate-into');
  if (generateDir !== undefined) {
    await generateInto(generateDir, entries, faultRate);
    return;
  }
  const dir = argument('--dir') ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'recon-bench-')));
  await fs.mkdir(dir, { recursive: true });
  const generationStarted = Date.now();
  const reuse = process.argv.includes('--reuse') && existsSync(path.join(dir, 'counts.json'));
  if (!reuse) {
    const child = spawnSync(process.execPath, [process.argv[1]!, '--generate-into', dir, '--entries', String(entries), '--fault-rate', String(faultRate)], {
      stdio: 'inherit',
    });
    if (child.status !== 0) throw new Error(`generation failed with status ${child.status}`);
  }
  const counts = JSON.parse(await fs.readFile(path.join(dir, 'counts.json'), 'utf8')) as { ledger: number; bank: number };
  const xmlBytes = (await fs.stat(path.join(dir, 'statement.camt053.xml'))).size;
  process.stdout.write(
    `generated ${counts.ledger} ledger entries and a ${counts.bank}-entry camt.053 (${(xmlBytes / 1e6).toFixed(0)} MB) ${reuse ? ' (reused)' : ` in ${((Date.now() - generationStarted) / 1000).toFixed(1)} s (not timed)`}\n`,
  );

  // `--live-heap`: a full collection after every phase (outside the phase's time) to print the heap that is really
  // live then: what the run must keep, apart from the garbage V8 lets accumulate. Slows the run; off by default.
  const collect = process.argv.includes('--live-heap') ? fullCollection() : undefined;
  const phases: { name: string; ms: number; cpuMs: number; rssBytes: number; load: number; liveBytes?: number }[] = [];
  const loadBefore = os.loadavg()[0]!;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let last = started;
  let lastCpu = cpuStarted;
  const clock = {
    phase: (name: string): void => {
      const now = performance.now();
      const cpu = process.cpuUsage();
      const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
      phases.push({ name, ms: now - last, cpuMs, rssBytes: process.memoryUsage.rss(), load: os.loadavg()[0]! });
      last = now;
      lastCpu = cpu;
      if (collect !== undefined) {
        collect();
        phases[phases.length - 1]!.liveBytes = process.memoryUsage().heapUsed;
        last = performance.now();
        lastCpu = process.cpuUsage();
      }
    },
  };
  const run = await runReconcile({ ledger: path.join(dir, 'ledger.csv'), bank: [path.join(dir, 'statement.camt053.xml')], out: path.join(dir, 'out') }, clock);
  const totalSeconds = (performance.now() - started) / 1000;
  const cpuTotal = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpuTotal.user + cpuTotal.system) / 1e6;
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;

  for (const phase of phases) {
    process.stdout.write(
      `  ${phase.name.padEnd(28)} ${(phase.ms / 1000).toFixed(2).padStart(7)} s  CPU ${(phase.cpuMs / 1000).toFixed(2).padStart(7)} s   RSS after ${(phase.rssBytes / 1024 / 1024).toFixed(0).padStart(5)} MB   load ${phase.load.toFixed(2)}${phase.liveBytes === undefined ? '' : `   live heap ${(phase.liveBytes / 1024 / 1024).toFixed(0)} MB`}\n`,
    );
  }
  const items = counts.ledger + counts.bank;
  process.stdout.write(
    `total ${totalSeconds.toFixed(2)} s, ${Math.round(items / totalSeconds).toLocaleString('en-US')} entries/s (ledger + bank), peak RSS ${(peakRssBytes / 1024 / 1024).toFixed(0)} MB\n` +
      `CPU ${cpuSeconds.toFixed(2)} s (${((cpuSeconds / items) * 1e6).toFixed(2)} µs per entry); load average ${loadBefore.toFixed(2)} at start, ${os
        .loadavg()
        .map((value) => value.toFixed(2))
        .join(' ')} at end\n`,
  );

  const expected = (await fs.readFile(path.join(dir, 'expected.jsonl'), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; ledger: string[]; bank: string[] });
  const key = (item: { type: string; ledger: readonly string[]; bank: readonly string[] }): string =>
    `${item.type}|${[...item.ledger].sort().join(',')}|${[...item.bank].sort().join(',')}`;
  const expectedKeys = new Set(expected.map(key));
  // The run streamed its breaks to breaks.jsonl and holds none of them: read them back (after the measurement).
  const reported = (await fs.readFile(path.join(dir, 'out', 'breaks.jsonl'), 'utf8'))
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as { type: string; ledger: string[]; bank: string[] });
  const reportedKeys = new Set(reported.map(key));
  const recall = [...expectedKeys].filter((item) => reportedKeys.has(item)).length / Math.max(1, expectedKeys.size);
  const precision = [...reportedKeys].filter((item) => expectedKeys.has(item)).length / Math.max(1, reportedKeys.size);
  process.stdout.write(
    `matches ${run.summary.counts.matchGroups}, breaks ${run.summary.counts.breaks} (injected ${expectedKeys.size}); recall ${(recall * 100).toFixed(3)}%, precision ${(precision * 100).toFixed(3)}%, match rate ${run.summary.matchRate}\n`,
  );
  const fast = totalSeconds < TARGET_SECONDS;
  const small = peakRssBytes < TARGET_RSS_BYTES;
  process.stdout.write(`target < ${TARGET_SECONDS} s: ${fast ? 'met' : 'MISSED'}; target < 1 GB: ${small ? 'met' : 'MISSED'}\n`);
  if (!process.argv.includes('--keep') && argument('--dir') === undefined) await fs.rm(dir, { recursive: true, force: true });
  else process.stdout.write(`files kept in ${dir}\n`);
  if (!fast || !small) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:reconcile: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 2;
});
