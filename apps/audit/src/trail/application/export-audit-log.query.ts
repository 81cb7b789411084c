import { Inject, Injectable } from '@nestjs/common';
import {
  AUDIT_EXPORT_CHECKPOINTS_MAX,
  AUDIT_EXPORT_FORMAT,
  AUDIT_EXPORT_FORMAT_VERSION,
  type AuditExportHeader,
  generateConsistencyProof,
  hashToHex,
} from '@recon/audit-log';
import type { TransactionRunner } from '@recon/persistence';
import { CLOCK, type Clock, TRANSACTIONS } from '@recon/platform';
import { z } from 'zod';
import type { AuditSettings } from '../../audit.config';
import { AUDIT_SETTINGS } from '../../audit.tokens';
import { CheckpointSigner } from '../../log/application/checkpoint-signer';
import { AuditLogPgRepository, type StoredCheckpoint } from '../../log/infrastructure/audit-log.pg.repository';

export const EXPORT_RECORDS_PER_READ = 1_000;

export const exportAuditLogSchema = z
  .object({
    /** Exports always start at seq 0: a root cannot be checked without every leaf before it. */
    fromSeq: z.coerce.number().int().min(0).max(0, 'an export starts at seq 0 (a signed root covers every record before it)').default(0),
    /** The last record to export; the whole log by default. */
    toSeq: z.coerce.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).optional(),
    /** The tree size you verified last time: the export then carries a consistency proof from it. */
    knownSize: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();

export type ExportAuditLogRequest = z.output<typeof exportAuditLogSchema>;

export class ExportRangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportRangeError';
  }
}

export interface PreparedExport {
  readonly treeSize: number;
  readonly lines: AsyncGenerator<string>;
}

/**
 * The JSONL export of docs/audit-log.md section 4 (the format `auditExportLines` writes, byte for byte on an intact
 * log, which a test checks), streamed from the database in batches of EXPORT_RECORDS_PER_READ records.
 *
 * It writes what the database holds, faithfully: the stored canonical event text and the stored leaf hash, each
 * record under its stored seq, each checkpoint after the records it covers. It does not repair, renumber or
 * refuse anything, because the export is the auditor's evidence: a record changed, removed, inserted or swapped
 * in the database by someone bypassing the service must reach `recon audit verify` as it is, to be named there.
 * (auditExportLines asserts a well-formed log, so it cannot be the writer here.)
 */
@Injectable()
export class ExportAuditLogQuery {
  constructor(
    private readonly repository: AuditLogPgRepository,
    private readonly checkpointSigner: CheckpointSigner,
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Resolves the range and signs its end if no checkpoint has that size yet; the lines are read lazily. */
  async prepare(request: ExportAuditLogRequest): Promise<PreparedExport> {
    const now = this.clock.now();
    const { treeSize, checkpoints, consistencyProofs } = await this.db.transaction(async (executor) => {
      const head = await this.repository.readHead(executor);
      const size = request.toSeq === undefined ? head.treeSize : request.toSeq + 1;
      if (size > head.treeSize) throw new ExportRangeError(`toSeq ${request.toSeq} is beyond the log's last record (seq ${head.treeSize - 1})`);
      if (request.knownSize !== undefined && request.knownSize > size)
        throw new ExportRangeError(`knownSize ${request.knownSize} is beyond the export's ${size} records`);
      await this.checkpointSigner.ensureAt(executor, size, now);
      const stored = await this.repository.listCheckpoints(executor, { afterSize: -1, sizeMax: size, limit: AUDIT_EXPORT_CHECKPOINTS_MAX });
      const reader = this.repository.nodeReader(executor);
      const proofs: { fromSize: number; toSize: number; proof: Uint8Array[] }[] = [];
      const previousSize = stored.at(-2)?.treeSize;
      for (const fromSize of new Set([previousSize, request.knownSize])) {
        if (fromSize === undefined || fromSize === 0 || fromSize >= size) continue;
        proofs.push({ fromSize, toSize: size, proof: await generateConsistencyProof(reader, fromSize, size) });
      }
      return { treeSize: size, checkpoints: stored, consistencyProofs: proofs };
    });
    return { treeSize, lines: this.lines(treeSize, checkpoints, consistencyProofs, now) };
  }

  private async *lines(
    treeSize: number,
    checkpoints: readonly StoredCheckpoint[],
    consistencyProofs: readonly { fromSize: number; toSize: number; proof: Uint8Array[] }[],
    exportedAt: Date,
  ): AsyncGenerator<string> {
    const header: AuditExportHeader = {
      kind: 'header',
      format: AUDIT_EXPORT_FORMAT,
      formatVersion: AUDIT_EXPORT_FORMAT_VERSION,
      origin: this.settings.origin,
      treeSize,
      leafHash: 'rfc9162-sha256-rfc8785',
      verifierKeys: [...this.settings.signingVerifierKeys, ...this.settings.previousVerifierKeys],
      exportedAt: exportedAt.toISOString(),
    };
    yield JSON.stringify(header);
    let checkpointIndex = 0;
    // A checkpoint follows the record that completes it; with records missing it follows the last one before.
    const checkpointsCoveredBy = function* (recordsSeen: number): Generator<string> {
      while (checkpointIndex < checkpoints.length && checkpoints[checkpointIndex]!.treeSize <= recordsSeen) {
        yield JSON.stringify({ kind: 'checkpoint', note: checkpoints[checkpointIndex]!.note });
        checkpointIndex += 1;
      }
    };
    yield* checkpointsCoveredBy(0);
    let afterSeq = -1;
    for (;;) {
      const batch = await this.db.transaction((executor) => this.repository.readRecords(executor, afterSeq, treeSize, EXPORT_RECORDS_PER_READ));
      for (const record of batch) {
        yield `{"kind":"record","seq":${record.seq},"leafHash":"${hashToHex(record.leafHash)}","event":${record.eventJson}}`;
        yield* checkpointsCoveredBy(record.seq + 1);
      }
      if (batch.length < EXPORT_RECORDS_PER_READ) break;
      afterSeq = batch.at(-1)!.seq;
    }
    yield* checkpointsCoveredBy(Number.MAX_SAFE_INTEGER);
    for (const entry of consistencyProofs) {
      yield JSON.stringify({ kind: 'consistency', fromSize: entry.fromSize, toSize: entry.toSize, proof: entry.proof.map(hashToHex) });
    }
  }
}
