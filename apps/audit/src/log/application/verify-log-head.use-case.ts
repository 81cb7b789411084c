import { Injectable } from '@nestjs/common';
import { hashesEqual } from '@recon/audit-log';
import type { SqlExecutor } from '@recon/persistence';
import { AuditLogPgRepository } from '../infrastructure/audit-log.pg.repository';

export class LogHeadMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LogHeadMismatchError';
  }
}

/**
 * log_head is bookkeeping derived from the log (its size and Merkle frontier). Before appending anything the
 * service checks it against the records and the node store, and refuses to run on a head that disagrees:
 * appending on top of a damaged head would extend a tree nobody signed.
 */
@Injectable()
export class VerifyLogHeadUseCase {
  constructor(private readonly repository: AuditLogPgRepository) {}

  async execute(executor: SqlExecutor): Promise<{ treeSize: number }> {
    const head = await this.repository.readHead(executor);
    const recordsEnd = await this.repository.recordsEnd(executor);
    if (recordsEnd !== head.treeSize) {
      throw new LogHeadMismatchError(
        `log_head says ${head.treeSize} records but audit_records ends at seq ${recordsEnd - 1}: the log was changed outside the service`,
      );
    }
    const stored = await this.repository.frontierFromNodes(executor, head.treeSize);
    const agrees = stored.length === head.frontier.length && stored.every((hash, index) => hashesEqual(hash, head.frontier[index]!));
    if (!agrees)
      throw new LogHeadMismatchError(`log_head's Merkle frontier for size ${head.treeSize} differs from merkle_nodes: the log was changed outside the service`);
    return { treeSize: head.treeSize };
  }
}
