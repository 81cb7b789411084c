import { type AuditEvent } from '../audit-event';
import { auditExportLines, type ConsistencyProofEntry } from '../audit-export';
import { type AuditLogRecord, AuditLogSequencer } from '../audit-log-record';
import { MemoryMerkleTree } from '../merkle-tree';
import { generateSigningKey, type GeneratedSigningKey, parseSignerKey } from '../signing-key';

/** Synthetic logs for tests: deterministic keys and events, checkpoints at chosen sizes. */
export const TEST_ORIGIN = 'recon.test/audit';

export function testSigningKey(seedByte: number, name = TEST_ORIGIN): GeneratedSigningKey {
  return generateSigningKey(name, { seed: new Uint8Array(32).fill(seedByte) });
}

export function testEvent(index: number): AuditEvent {
  return {
    eventId: `evt-${String(index).padStart(6, '0')}`,
    type: index % 3 === 0 ? 'audit.ledger.transaction.posted' : 'audit.reconciliation.break.resolved',
    service: index % 3 === 0 ? 'ledger' : 'reconciliation',
    occurredAt: new Date(Date.UTC(2025, 0, 2, 10, 0, index)).toISOString(),
    actor: { id: `user-${index % 5}`, role: index % 2 === 0 ? 'finance_ops' : 'system' },
    action: index % 3 === 0 ? 'post' : 'resolve',
    entity: { type: index % 3 === 0 ? 'transaction' : 'break', id: `E-${index}` },
    afterHash: (index % 16).toString(16).repeat(64),
    requestId: `req-${index}`,
    details: { amount: `${index}.00`, currency: 'EUR' },
  };
}

export interface TestLog {
  readonly records: readonly AuditLogRecord[];
  readonly notes: readonly string[];
  readonly tree: MemoryMerkleTree;
}

/**
 * A log of `size` events with a checkpoint at each of `checkpointSizes`, each signed by the key given for it (by
 * default one key signs all).
 */
export function buildTestLog(
  size: number,
  checkpointSizes: readonly number[],
  signersFor: (checkpointSize: number) => readonly GeneratedSigningKey[] = () => [testSigningKey(1)],
): TestLog {
  const sequencer = AuditLogSequencer.start(TEST_ORIGIN);
  const tree = new MemoryMerkleTree();
  const records: AuditLogRecord[] = [];
  const notes: string[] = [];
  const sign = (): void => {
    if (checkpointSizes.includes(sequencer.size)) notes.push(sequencer.signCheckpoint(signersFor(sequencer.size).map((key) => parseSignerKey(key.signerKey))));
  };
  sign();
  for (let i = 0; i < size; i += 1) {
    const record = sequencer.append(testEvent(i));
    tree.append(record.leafHash);
    records.push(record);
    sign();
  }
  return { records, notes, tree };
}

export function testExportText(log: TestLog, options: { consistencyFrom?: readonly number[]; verifierKeys?: readonly string[] } = {}): string {
  const last = log.tree.size;
  const consistencyProofs: ConsistencyProofEntry[] = (options.consistencyFrom ?? []).map((fromSize) => ({
    fromSize,
    toSize: last,
    proof: log.tree.consistencyProof(fromSize, last),
  }));
  const lines = auditExportLines({
    origin: TEST_ORIGIN,
    exportedAt: '2025-01-03T00:00:00.000Z',
    verifierKeys: options.verifierKeys ?? [testSigningKey(1).verifierKey],
    records: log.records,
    checkpoints: log.notes,
    consistencyProofs,
  });
  return `${[...lines].join('\n')}\n`;
}
