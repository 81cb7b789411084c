import { Inject, Injectable } from '@nestjs/common';
import { generateConsistencyProof, generateInclusionProof, hashToHex, rootHashFromReader } from '@recon/audit-log';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import { TRANSACTIONS } from '@recon/platform';
import { z } from 'zod';
import { AuditLogPgRepository, type StoredCheckpoint } from '../../log/infrastructure/audit-log.pg.repository';

export const CHECKPOINTS_PAGE_SIZE_MAX = 1_000;
const size = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const inclusionProofSchema = z
  .object({
    seq: size,
    /** The tree the proof is for; the latest checkpoint's size by default, so the root is a signed one. */
    treeSize: size.min(1).optional(),
  })
  .strict();

export const consistencyProofSchema = z
  .object({
    from: size,
    /** The latest checkpoint's size by default. */
    to: size.optional(),
  })
  .strict();

export const listCheckpointsSchema = z
  .object({
    afterSize: z.coerce.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).default(-1),
    limit: z.coerce.number().int().min(1).max(CHECKPOINTS_PAGE_SIZE_MAX).default(100),
  })
  .strict();

export class ProofRangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProofRangeError';
  }
}

export interface CheckpointView {
  readonly treeSize: number;
  readonly rootHash: string;
  readonly signedAt: string;
  /** The signed note (C2SP tlog-checkpoint); keep it to check later exports against (`--checkpoint`). */
  readonly note: string;
}

export function checkpointView(checkpoint: StoredCheckpoint): CheckpointView {
  return { treeSize: checkpoint.treeSize, rootHash: hashToHex(checkpoint.rootHash), signedAt: checkpoint.signedAt.toISOString(), note: checkpoint.note };
}

/** RFC 9162 proofs from the node store (one batched read each), and the signed checkpoints. */
@Injectable()
export class AuditProofsQuery {
  constructor(
    private readonly repository: AuditLogPgRepository,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
  ) {}

  async inclusion(request: z.output<typeof inclusionProofSchema>) {
    return this.db.transaction(async (executor) => {
      const treeSize = request.treeSize ?? (await this.latestSize(executor));
      await this.assertWithinLog(executor, treeSize);
      if (request.seq >= treeSize) throw new ProofRangeError(`seq ${request.seq} is not in a tree of size ${treeSize}`);
      const reader = this.repository.nodeReader(executor);
      const [leafHash] = await reader.readNodes([{ level: 0, index: request.seq }]);
      const proof = await generateInclusionProof(reader, request.seq, treeSize);
      const rootHash = await rootHashFromReader(reader, treeSize);
      const checkpoint = await this.repository.checkpointOfSize(executor, treeSize);
      const event = await queryRows<{ event_json: string }>(executor, 'SELECT event_json FROM audit_records WHERE seq = $1', [request.seq]);
      return {
        seq: request.seq,
        treeSize,
        leafHash: hashToHex(leafHash!),
        proof: proof.map(hashToHex),
        rootHash: hashToHex(rootHash),
        checkpoint: checkpoint === undefined ? undefined : checkpointView(checkpoint),
        event: event[0] === undefined ? undefined : (JSON.parse(event[0].event_json) as unknown),
      };
    });
  }

  async consistency(request: z.output<typeof consistencyProofSchema>) {
    return this.db.transaction(async (executor) => {
      const toSize = request.to ?? (await this.latestSize(executor));
      await this.assertWithinLog(executor, toSize);
      if (request.from > toSize) throw new ProofRangeError(`from ${request.from} is larger than to ${toSize}`);
      const reader = this.repository.nodeReader(executor);
      const proof = await generateConsistencyProof(reader, request.from, toSize);
      const fromCheckpoint = await this.repository.checkpointOfSize(executor, request.from);
      const toCheckpoint = await this.repository.checkpointOfSize(executor, toSize);
      return {
        fromSize: request.from,
        toSize,
        proof: proof.map(hashToHex),
        fromRootHash: hashToHex(await rootHashFromReader(reader, request.from)),
        toRootHash: hashToHex(await rootHashFromReader(reader, toSize)),
        fromCheckpoint: fromCheckpoint === undefined ? undefined : checkpointView(fromCheckpoint),
        toCheckpoint: toCheckpoint === undefined ? undefined : checkpointView(toCheckpoint),
      };
    });
  }

  async checkpoints(request: z.output<typeof listCheckpointsSchema>) {
    const checkpoints = await this.db.transaction((executor) =>
      this.repository.listCheckpoints(executor, { afterSize: request.afterSize, sizeMax: Number.MAX_SAFE_INTEGER, limit: request.limit }),
    );
    return { checkpoints: checkpoints.map(checkpointView), nextAfterSize: checkpoints.length === request.limit ? checkpoints.at(-1)?.treeSize : undefined };
  }

  async latestCheckpoint(): Promise<CheckpointView | undefined> {
    const latest = await this.db.transaction((executor) => this.repository.latestCheckpoint(executor));
    return latest === undefined ? undefined : checkpointView(latest);
  }

  private async latestSize(executor: Parameters<AuditLogPgRepository['readHead']>[0]): Promise<number> {
    const latest = await this.repository.latestCheckpoint(executor);
    if (latest === undefined) throw new ProofRangeError('the log has no checkpoint yet: name the tree size');
    return latest.treeSize;
  }

  private async assertWithinLog(executor: Parameters<AuditLogPgRepository['readHead']>[0], treeSize: number): Promise<void> {
    const head = await this.repository.readHead(executor);
    if (treeSize > head.treeSize) throw new ProofRangeError(`tree size ${treeSize} is beyond the log's ${head.treeSize} records`);
  }
}
