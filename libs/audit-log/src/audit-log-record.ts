import assert from 'node:assert/strict';
import { type AuditEvent, validateAuditEvent } from './audit-event';
import { type Checkpoint, signCheckpoint } from './checkpoint';
import { hashLeaf } from './hash';
import { MerkleFrontier, type TreeNodeId } from './merkle-tree';
import type { NoteSigner } from './signing-key';

/**
 * One entry of the log. `seq` is the RFC 6962 leaf index: 0-based and gap-free, so record `seq` is leaf `seq` of
 * every tree of size > seq, and a proof for it is addressed by the same number.
 */
export interface AuditLogRecord {
  readonly seq: number;
  readonly event: AuditEvent;
  readonly leafHash: Uint8Array;
}

/**
 * Appends events to a log in memory: assigns seq, computes leaf hashes, keeps the Merkle frontier, signs
 * checkpoints. The audit service wraps the same steps in its database transaction, persisting each completed
 * subtree node that `onNodeCompleted` reports so it can answer proofs later.
 */
export class AuditLogSequencer {
  private constructor(
    readonly origin: string,
    private readonly frontier: MerkleFrontier,
  ) {}

  static start(origin: string, frontier: MerkleFrontier = MerkleFrontier.empty()): AuditLogSequencer {
    return new AuditLogSequencer(origin, frontier);
  }

  get size(): number {
    return this.frontier.size;
  }

  append(input: unknown, onNodeCompleted?: (id: TreeNodeId, hash: Uint8Array) => void): AuditLogRecord {
    const { event, canonicalBytes } = validateAuditEvent(input);
    const record = { seq: this.frontier.size, event, leafHash: hashLeaf(canonicalBytes) };
    this.frontier.append(record.leafHash, onNodeCompleted);
    assert.equal(this.frontier.size, record.seq + 1);
    return record;
  }

  checkpoint(): Checkpoint {
    return { origin: this.origin, size: this.frontier.size, rootHash: this.frontier.rootHash(), extensions: [] };
  }

  signCheckpoint(signers: readonly NoteSigner[]): string {
    return signCheckpoint(this.checkpoint(), signers);
  }
}
