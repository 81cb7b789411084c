import assert from 'node:assert/strict';
import { Inject, Injectable } from '@nestjs/common';
import { hashesEqual, MerkleFrontier, rootHashFromReader, signCheckpoint } from '@recon/audit-log';
import type { SqlExecutor } from '@recon/persistence';
import type { AuditSettings } from '../../audit.config';
import { AUDIT_SETTINGS } from '../../audit.tokens';
import { AuditLogPgRepository, type StoredCheckpoint } from '../infrastructure/audit-log.pg.repository';

/**
 * Signs checkpoints with every current signing key (two during a rotation's overlap) and stores them. The log
 * signs at most one root per tree size: a second request for a size returns the stored checkpoint.
 */
@Injectable()
export class CheckpointSigner {
  constructor(
    private readonly repository: AuditLogPgRepository,
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
  ) {}

  /** Signs `rootHash` as the root of the first `treeSize` records (the caller computed it, e.g. from the frontier). */
  async signAt(executor: SqlExecutor, treeSize: number, rootHash: Uint8Array, signedAt: Date): Promise<StoredCheckpoint> {
    const existing = await this.repository.checkpointOfSize(executor, treeSize);
    if (existing !== undefined) {
      assert.ok(hashesEqual(existing.rootHash, rootHash), `the log already signed another root for size ${treeSize}`);
      return existing;
    }
    const note = signCheckpoint({ origin: this.settings.origin, size: treeSize, rootHash, extensions: [] }, this.settings.signers);
    return this.repository.insertCheckpoint(executor, { treeSize, rootHash, note, signedAt });
  }

  /** The checkpoint of an earlier (or the current) size, signed now from the node store if the log has none yet. */
  async ensureAt(executor: SqlExecutor, treeSize: number, signedAt: Date): Promise<StoredCheckpoint> {
    const existing = await this.repository.checkpointOfSize(executor, treeSize);
    if (existing !== undefined) return existing;
    const rootHash = await rootHashFromReader(this.repository.nodeReader(executor), treeSize);
    return this.signAt(executor, treeSize, rootHash, signedAt);
  }

  /** Signs the current head if it has records no checkpoint covers; under the head lock, like an append. */
  async signHead(executor: SqlExecutor, signedAt: Date): Promise<StoredCheckpoint | undefined> {
    const head = await this.repository.lockHead(executor);
    const latest = await this.repository.latestCheckpoint(executor);
    if (head.treeSize === 0 || (latest !== undefined && latest.treeSize >= head.treeSize)) return undefined;
    return this.signAt(executor, head.treeSize, MerkleFrontier.fromState(head.treeSize, head.frontier).rootHash(), signedAt);
  }
}
