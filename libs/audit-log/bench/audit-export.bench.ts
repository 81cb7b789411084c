/**
 * Measures the audit log at scale: appending events (canonical JSON, leaf hash, frontier), writing an export
 * with checkpoints and consistency proofs, and verifying it as `recon audit verify` does.
 *
 *   node bin/run.js libs/audit-log/bench/audit-export.bench.ts [records] [out.jsonl] [keys dir]
 *
 * With an output path it also leaves the export and its verifier key on disk for a manual CLI run.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { auditExportLines, AuditLogSequencer, generateSigningKey, MemoryMerkleTree, parseSignerKey, parseVerifierKey, verifyExport } from '../src';

const BENCH_RECORDS_MAX = 5_000_000;
const CHECKPOINT_INTERVAL_RECORDS = 10_000;
const ORIGIN = 'recon.bench/audit';

async function main(): Promise<void> {
  const recordCount = Number(process.argv[2] ?? '100000');
  if (!Number.isSafeInteger(recordCount) || recordCount < 1 || recordCount > BENCH_RECORDS_MAX) throw new Error(`records must be 1..${BENCH_RECORDS_MAX}`);
  const outFile = process.argv[3];
  const key = generateSigningKey(ORIGIN, { seed: new Uint8Array(32).fill(42) });
  const signer = parseSignerKey(key.signerKey);

  let started = process.hrtime.bigint();
  const sequencer = AuditLogSequencer.start(ORIGIN);
  const tree = new MemoryMerkleTree();
  const records = [];
  const notes: string[] = [];
  for (let i = 0; i < recordCount; i += 1) {
    const record = sequencer.append({
      eventId: `evt-${i}`,
      type: 'audit.ledger.transaction.posted',
      service: 'ledger',
      occurredAt: new Date(Date.UTC(2025, 0, 2) + i * 1000).toISOString(),
      actor: { id: `user-${i % 97}`, role: 'finance_ops' },
      action: 'post',
      entity: { type: 'transaction', id: `TX-${i}` },
      afterHash: 'ab'.repeat(32),
      requestId: `req-${i}`,
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      details: { amount: `${i}.00`, currency: 'EUR' },
    });
    tree.append(record.leafHash);
    records.push(record);
    if (sequencer.size % CHECKPOINT_INTERVAL_RECORDS === 0 || sequencer.size === recordCount) notes.push(sequencer.signCheckpoint([signer]));
  }
  report('append (validate, canonicalize, hash, frontier, checkpoints)', recordCount, started);

  started = process.hrtime.bigint();
  const firstSize = Math.max(1, Math.floor(recordCount / 3));
  const lines = [
    ...auditExportLines({
      origin: ORIGIN,
      exportedAt: '2025-01-03T00:00:00.000Z',
      verifierKeys: [key.verifierKey],
      records,
      checkpoints: notes,
      consistencyProofs: [{ fromSize: firstSize, toSize: recordCount, proof: tree.consistencyProof(firstSize, recordCount) }],
    }),
  ];
  report('export lines', recordCount, started);
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(`export size ${(Buffer.byteLength(text) / 1024 / 1024).toFixed(1)} MiB, ${notes.length} checkpoints\n`);

  started = process.hrtime.bigint();
  const result = await verifyExport(lines, { publicKeys: [parseVerifierKey(key.verifierKey)] });
  report(`verify (ok=${result.ok})`, recordCount, started);
  process.stdout.write(`heap used ${(process.memoryUsage().heapUsed / 1024 / 1024).toFixed(0)} MiB\n`);

  if (outFile !== undefined) {
    writeFileSync(outFile, text);
    const keyFile = path.join(path.dirname(outFile), 'bench.pub');
    writeFileSync(keyFile, `${key.verifierKey}\n`);
    writeFileSync(path.join(path.dirname(outFile), 'bench-checkpoint.txt'), notes[0]!);
    process.stdout.write(`wrote ${outFile} and ${keyFile}\n`);
  }
}

function report(what: string, count: number, started: bigint): void {
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`${what}: ${count} records in ${elapsedMs.toFixed(0)} ms (${((count / elapsedMs) * 1000).toFixed(0)} records/s)\n`);
}

void main();
