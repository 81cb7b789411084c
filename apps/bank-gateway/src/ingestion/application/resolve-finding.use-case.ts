import { Inject, Injectable } from '@nestjs/common';
import type { Actor } from '@recon/auth';
import type { Role } from '@recon/config';
import { AuditRecorder, CLOCK, type Clock, TRANSACTIONS } from '@recon/platform';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import { z } from 'zod';

export const REASON_LENGTH_MAX = 1_000;

export const resolveFindingSchema = z
  .object({
    /** `dismissed`: the second delivery is wrong or irrelevant. `acknowledged`: understood and handled elsewhere (e.g. with the bank). */
    resolution: z.enum(['dismissed', 'acknowledged']),
    reason: z.string().trim().min(1).max(REASON_LENGTH_MAX),
  })
  .strict();

export type ResolveFindingInput = z.output<typeof resolveFindingSchema>;

export type ResolveFindingResult =
  | { readonly ok: true; readonly findingId: string; readonly resolution: string; readonly resolvedAt: string }
  | { readonly ok: false; readonly code: 'FINDING.NOT_FOUND' | 'FINDING.ALREADY_RESOLVED'; readonly message: string };

/**
 * Closes a finding after review, once. Held lines stay held and unpublished: releasing a second version of money
 * already published needs a retraction event the contracts do not have yet.
 */
@Injectable()
export class ResolveFindingUseCase {
  constructor(
    @Inject(TRANSACTIONS) private readonly transactions: TransactionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly audit: AuditRecorder,
  ) {}

  async execute(actor: Actor, role: Role | undefined, findingId: string, input: ResolveFindingInput): Promise<ResolveFindingResult> {
    return this.transactions.transaction(async (executor) => {
      const [finding] = await queryRows<{ kind: string; file_id: string; resolved_at: Date | null }>(
        executor,
        'SELECT kind, file_id, resolved_at FROM findings WHERE finding_id = $1 FOR UPDATE',
        [findingId],
      );
      if (finding === undefined) return { ok: false, code: 'FINDING.NOT_FOUND', message: `no finding ${findingId}` };
      if (finding.resolved_at !== null)
        return { ok: false, code: 'FINDING.ALREADY_RESOLVED', message: `finding ${findingId} was resolved at ${finding.resolved_at.toISOString()}` };
      const resolvedAt = this.clock.now();
      await executor.query('UPDATE findings SET resolved_at = $2, resolved_by = $3, resolution = $4, resolution_reason = $5 WHERE finding_id = $1', [
        findingId,
        resolvedAt,
        actor.id,
        input.resolution,
        input.reason,
      ]);
      await this.audit.record(executor, {
        actor,
        role,
        action: 'finding.resolve',
        entity: { type: 'finding', id: findingId },
        after: { findingId, resolution: input.resolution, reason: input.reason },
        details: { kind: finding.kind, fileId: finding.file_id, resolution: input.resolution, reason: input.reason },
      });
      return { ok: true, findingId, resolution: input.resolution, resolvedAt: resolvedAt.toISOString() };
    });
  }
}
