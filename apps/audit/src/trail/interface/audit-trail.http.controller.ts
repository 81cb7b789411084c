import { once } from 'node:events';
import { Controller, Get, Inject, NotFoundException, Query, Res, UnprocessableEntityException } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { type Actor, CurrentActor, effectiveRole, Roles } from '@recon/auth';
import type { Role } from '@recon/config';
import type { TransactionRunner } from '@recon/persistence';
import { AuditRecorder, LOGGER, TRANSACTIONS } from '@recon/platform';
import type { Logger } from '@recon/observability';
import type { Response } from 'express';
import { z } from 'zod';
import type { AuditSettings } from '../../audit.config';
import { AUDIT_SETTINGS } from '../../audit.tokens';
import { AuditProofsQuery, consistencyProofSchema, inclusionProofSchema, listCheckpointsSchema, ProofRangeError } from '../application/audit-proofs.query';
import { ExportAuditLogQuery, exportAuditLogSchema, ExportRangeError } from '../application/export-audit-log.query';
import { SearchAuditEventsQuery, searchAuditEventsSchema } from '../application/search-audit-events.query';

const AUDITOR_ROLES: Role[] = ['auditor', 'admin'];
/** Export lines are gathered into chunks of about this size before each write to the socket. */
const EXPORT_CHUNK_BYTES = 64 * 1024;
const emptyQuerySchema = z.object({}).strict();

function rangeError(error: unknown): never {
  if (error instanceof ExportRangeError || error instanceof ProofRangeError) {
    throw new UnprocessableEntityException({ statusCode: 422, error: 'AUDIT.RANGE', message: error.message });
  }
  throw error;
}

/**
 * The auditors' API. Every request is itself recorded in the audit trail (audit.audit.<action>) before it is
 * answered: who searched for what, who exported how much. Those records reach the log through the outbox and the
 * AUDIT stream like any other service's.
 */
@ApiTags('audit')
@Controller('v1')
export class AuditTrailHttpController {
  constructor(
    private readonly search: SearchAuditEventsQuery,
    private readonly exporter: ExportAuditLogQuery,
    private readonly proofs: AuditProofsQuery,
    private readonly audit: AuditRecorder,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  @Get('events')
  @Roles(...AUDITOR_ROLES)
  @ApiOperation({ summary: 'Search audit events by time range (occurredAt), actor, entity, type or action; seq order, cursor afterSeq' })
  async events(@CurrentActor() actor: Actor, @Query() query: unknown) {
    const filter = searchAuditEventsSchema.parse(query);
    await this.record(actor, 'search', { ...filter });
    return this.search.execute(filter);
  }

  @Get('export')
  @Roles(...AUDITOR_ROLES)
  @ApiProduces('application/x-ndjson')
  @ApiOperation({
    summary: 'The log from seq 0 to toSeq as a verifiable JSONL export (records, signed checkpoints, consistency proofs): check it with `recon audit verify`',
  })
  async export(@CurrentActor() actor: Actor, @Query() query: unknown, @Res() response: Response): Promise<void> {
    const request = exportAuditLogSchema.parse(query);
    const prepared = await this.exporter.prepare(request).catch(rangeError);
    await this.record(actor, 'export', {
      fromSeq: 0,
      treeSize: prepared.treeSize,
      ...(request.knownSize === undefined ? {} : { knownSize: request.knownSize }),
    });
    response
      .status(200)
      .type('application/x-ndjson; charset=utf-8')
      .setHeader('Content-Disposition', `attachment; filename="audit-export-0-${prepared.treeSize}.jsonl"`);
    try {
      let chunk = '';
      for await (const line of prepared.lines) {
        chunk += `${line}\n`;
        if (chunk.length >= EXPORT_CHUNK_BYTES) {
          if (!response.write(chunk)) await once(response, 'drain');
          chunk = '';
        }
      }
      response.end(chunk);
    } catch (error) {
      // Headers are gone: the only honest signal left is a cut connection (the verifier reports a truncated file).
      this.logger.error({ error: String(error) }, 'audit export failed while streaming');
      response.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  }

  @Get('proofs/inclusion')
  @Roles(...AUDITOR_ROLES)
  @ApiOperation({ summary: 'RFC 9162 inclusion proof of record seq in the tree of treeSize (default: the latest checkpoint)' })
  async inclusion(@CurrentActor() actor: Actor, @Query() query: unknown) {
    const request = inclusionProofSchema.parse(query);
    await this.record(actor, 'proof.inclusion', { ...request });
    return this.proofs.inclusion(request).catch(rangeError);
  }

  @Get('proofs/consistency')
  @Roles(...AUDITOR_ROLES)
  @ApiOperation({ summary: 'RFC 9162 consistency proof that the tree of size from is a prefix of the tree of size to (default: the latest checkpoint)' })
  async consistency(@CurrentActor() actor: Actor, @Query() query: unknown) {
    const request = consistencyProofSchema.parse(query);
    await this.record(actor, 'proof.consistency', { ...request });
    return this.proofs.consistency(request).catch(rangeError);
  }

  @Get('checkpoints')
  @Roles(...AUDITOR_ROLES)
  @ApiOperation({ summary: 'Signed checkpoints in size order; cursor afterSize' })
  async checkpoints(@CurrentActor() actor: Actor, @Query() query: unknown) {
    const request = listCheckpointsSchema.parse(query);
    await this.record(actor, 'checkpoint.list', { ...request });
    return this.proofs.checkpoints(request);
  }

  @Get('checkpoints/latest')
  @Roles(...AUDITOR_ROLES)
  @ApiOperation({ summary: 'The latest signed checkpoint: keep its note and pass it to `recon audit verify --checkpoint` next time' })
  async latestCheckpoint(@CurrentActor() actor: Actor, @Query() query: unknown) {
    emptyQuerySchema.parse(query);
    await this.record(actor, 'checkpoint.read', {});
    const latest = await this.proofs.latestCheckpoint();
    if (latest === undefined) throw new NotFoundException({ statusCode: 404, error: 'AUDIT.NO_CHECKPOINT', message: 'the log has no checkpoint yet' });
    return latest;
  }

  @Get('keys')
  @Roles(...AUDITOR_ROLES)
  @ApiOperation({ summary: "The log's verifier keys: current signing keys and retired ones (old checkpoints stay verifiable)" })
  async keys(@CurrentActor() actor: Actor, @Query() query: unknown) {
    emptyQuerySchema.parse(query);
    await this.record(actor, 'keys.read', {});
    return {
      origin: this.settings.origin,
      signing: this.settings.signingVerifierKeys,
      previous: this.settings.previousVerifierKeys,
      /** Every key, one per line: save as the key file for `recon audit verify --key`. */
      keyFile: [...this.settings.signingVerifierKeys, ...this.settings.previousVerifierKeys].map((key) => `${key}\n`).join(''),
      insecureDevelopmentKey: this.settings.usesDevelopmentKey,
    };
  }

  private async record(actor: Actor, action: string, details: Record<string, unknown>): Promise<void> {
    await this.db.transaction((executor) =>
      this.audit.record(executor, {
        actor,
        role: effectiveRole(actor, AUDITOR_ROLES),
        action,
        entity: { type: 'audit-log', id: this.settings.origin },
        details,
      }),
    );
  }
}
