/**
 * `npm run bench:parse`: streams a generated 1,000,000-entry camt.053 and a 1,000,000-line MT940 through
 * readStatementFile and prints entries/s, MB/s and peak RSS. Targets (issue 3): >= 100,000 entries/s and
 * < 300 MB RSS. Inputs are written to a temporary directory with back-pressure and removed afterwards.
 * `BENCH_ENTRIES=100000 npm run bench:parse` runs a smaller size.
 */
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readStatementFile } from '@recon/statement-formats';

const ENTRY_COUNT = Number.parseInt(process.env.BENCH_ENTRIES ?? '1000000', 10);
const ENTRIES_PER_WRITE = 2_000;
const TARGET_ENTRIES_PER_SECOND = 100_000;
const TARGET_RSS_MB = 300;
/** Entries per camt statement and per MT940 statement; several statements make the file realistic. */
const ENTRIES_PER_STATEMENT = 10_000;

async function writeStreamed(path: string, parts: Iterable<string>): Promise<void> {
  const stream = createWriteStream(path);
  for (const part of parts) {
    if (!stream.write(part)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}

function amountOf(index: number): { text: string; minor: bigint } {
  const minor = BigInt(((index * 7919) % 100_000) + 1);
  const text = `${minor / 100n}.${(minor % 100n).toString().padStart(2, '0')}`;
  return { text, minor };
}

function* camtParts(entryCount: number): Generator<string> {
  yield (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>' +
    '<GrpHdr><MsgId>BENCH</MsgId><CreDtTm>2025-01-02T18:00:00+01:00</CreDtTm></GrpHdr>\n'
  );
  let written = 0;
  let statementNo = 0;
  while (written < entryCount) {
    statementNo += 1;
    const count = Math.min(ENTRIES_PER_STATEMENT, entryCount - written);
    yield (
      `<Stmt><Id>STMT-${statementNo}</Id><ElctrncSeqNb>${statementNo}</ElctrncSeqNb><Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>` +
      '<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">0.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2025-01-01</Dt></Dt></Bal>\n'
    );
    let parts: string[] = [];
    for (let offset = 0; offset < count; offset += 1) {
      const index = written + offset;
      const { text } = amountOf(index);
      const direction = index % 2 === 0 ? 'CRDT' : 'DBIT';
      const party = direction === 'CRDT' ? 'Dbtr' : 'Cdtr';
      parts.push(
        `<Ntry><Amt Ccy="EUR">${text}</Amt><CdtDbtInd>${direction}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>` +
          '<BookgDt><Dt>2025-01-02</Dt></BookgDt><ValDt><Dt>2025-01-02</Dt></ValDt>' +
          `<AcctSvcrRef>B${index}</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>` +
          `<NtryDtls><TxDtls><Refs><EndToEndId>PLAT-${index}</EndToEndId></Refs><RltdPties><${party}><Pty><Nm>Jane Doe</Nm></Pty></${party}>` +
          `</RltdPties><RmtInf><Ustrd>payment ${index}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n`,
      );
      if (parts.length >= ENTRIES_PER_WRITE) {
        yield parts.join('');
        parts = [];
      }
    }
    if (parts.length > 0) yield parts.join('');
    yield '</Stmt>\n';
    written += count;
  }
  yield '</BkToCstmrStmt></Document>\n';
}

/** MT940 with one `:61:` line and one `:86:` line per entry: "lines" counts both, so entries = lines / 2. */
function* mt940Parts(lineCount: number): Generator<string> {
  const entryCount = Math.floor(lineCount / 2);
  let written = 0;
  let statementNo = 0;
  while (written < entryCount) {
    statementNo += 1;
    const count = Math.min(ENTRIES_PER_STATEMENT, entryCount - written);
    let closingMinor = 0n;
    let parts: string[] = [`:20:BENCH${statementNo}\r\n:25:DE89370400440532013000\r\n:28C:${statementNo}/1\r\n:60F:C250101EUR0,00\r\n`];
    for (let offset = 0; offset < count; offset += 1) {
      const index = written + offset;
      const { text, minor } = amountOf(index);
      const credit = index % 2 === 0;
      closingMinor += credit ? minor : -minor;
      parts.push(`:61:2501020102${credit ? 'C' : 'D'}${text.replace('.', ',')}NTRFPLAT-${index}//B${index}\r\n:86:payment ${index}\r\n`);
      if (parts.length >= ENTRIES_PER_WRITE) {
        yield parts.join('');
        parts = [];
      }
    }
    const closingAbs = closingMinor < 0n ? -closingMinor : closingMinor;
    parts.push(`:62F:${closingMinor < 0n ? 'D' : 'C'}250102EUR${closingAbs / 100n},${(closingAbs % 100n).toString().padStart(2, '0')}\r\n-\r\n`);
    yield parts.join('');
    written += count;
  }
}

interface BenchResult {
  readonly label: string;
  readonly entries: number;
  readonly rejected: number;
  readonly seconds: number;
  /** CPU time of this process (user + system): on a shared machine it says more than wall time. */
  readonly cpuSeconds: number;
  readonly megabytes: number;
}

async function measure(label: string, path: string): Promise<BenchResult> {
  const megabytes = statSync(path).size / (1024 * 1024);
  const startedAt = process.hrtime.bigint();
  const cpuAtStart = process.cpuUsage();
  let entries = 0;
  let rejected = 0;
  for await (const record of readStatementFile(path)) {
    if (record.kind === 'entry') entries += 1;
    else if (record.kind === 'rejected') rejected += 1;
  }
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  const cpu = process.cpuUsage(cpuAtStart);
  return { label, entries, rejected, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, megabytes };
}

function report(result: BenchResult): void {
  const entriesPerSecond = Math.round(result.entries / result.seconds);
  const verdict = entriesPerSecond >= TARGET_ENTRIES_PER_SECOND ? 'ok' : 'BELOW TARGET';
  process.stdout.write(
    `${result.label.padEnd(8)} ${String(result.entries).padStart(9)} entries ${String(result.rejected).padStart(6)} rejected ` +
      `${result.megabytes.toFixed(1).padStart(8)} MB ${result.seconds.toFixed(2).padStart(7)} s ` +
      `${String(entriesPerSecond).padStart(8)} entries/s ${(result.megabytes / result.seconds).toFixed(1).padStart(6)} MB/s  [${verdict}]  ` +
      `cpu ${result.cpuSeconds.toFixed(2)} s = ${Math.round(result.entries / result.cpuSeconds)} entries/cpu-s, ` +
      `${Math.round((result.megabytes * 1024 * 1024) / Math.max(1, result.entries))} bytes/entry\n`,
  );
}

async function main(): Promise<void> {
  process.stdout.write(
    `bench:parse ${ENTRY_COUNT} entries, load average ${loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')} on ${availableParallelism()} cores\n`,
  );
  const directory = mkdtempSync(join(tmpdir(), 'recon-parse-bench-'));
  try {
    const camtPath = join(directory, 'bench.camt053.xml');
    await writeStreamed(camtPath, camtParts(ENTRY_COUNT));
    report(await measure('camt.053', camtPath));
    rmSync(camtPath);

    const mt940Path = join(directory, 'bench.mt940.sta');
    await writeStreamed(mt940Path, mt940Parts(ENTRY_COUNT));
    try {
      report(await measure('mt940', mt940Path));
    } catch (error: unknown) {
      process.stdout.write(`mt940    skipped: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  // maxRSS is in kilobytes.
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`peak RSS ${peakRssMb.toFixed(0)} MB (target < ${TARGET_RSS_MB} MB) [${peakRssMb < TARGET_RSS_MB ? 'ok' : 'ABOVE TARGET'}]\n`);
  // The machine is shared: the load at the end says whether the wall-clock figures above were taken on a busy one.
  process.stdout.write(
    `load average at the end ${loadavg()
      .map((load) => load.toFixed(2))
      .join(' ')}\n`,
  );
}

void main().catch((error: unknown) => {
  process.stderr.write(`bench:parse failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
