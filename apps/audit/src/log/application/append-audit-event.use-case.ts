import assert from 'node:assert/strict';
import { Inject, Injectable } from '@nestjs/common';
import {
  type AuditEvent,
  type AuditLogRecord,
  AuditLogSequencer,
  canonicalizeJson,
  MerkleFrontier,
  type TreeNodeId,
  validateAuditEvent,
} from '@recon/audit-log';
import type { AuditEventRecordedV1 } from '@recon/contracts';
import { CLOCK, type Clock, LOGGER } from '@recon/platform';
import type { Logger } from '@recon/observability';
import type { SqlExecutor } from '@recon/persistence';
import type { AuditSettings } from '../../audit.config';
import { AUDIT_SETTINGS } from '../../audit.tokens';
import { auditEventFromContract } from '../domain/audit-event.mapper';
import { AuditLogPgRepository } from '../infrastructure/audit-log.pg.repository';
import { CheckpointSigner } from './checkpoint-signer';

export interface AppendAuditEventCommand {
  readonly messageId: string;
  /** Logical subject, `audit.<service>.<action>`. */
  readonly subject: string;
  readonly payload: AuditEventRecordedV1;
}

export type AppendOutcome =
  | { readonly appended: true; readonly seq: number; readonly rejected: boolean; readonly checkpointSize: number | undefined }
  | { readonly appended: false; readonly seq: number };

/** The subject of the record the log writes in place of an event it cannot take as it is. */
export const REJECTED_EVENT_TYPE = 'audit.audit.event.reject';
const REJECT_REASON_LENGTH_MAX = 1_000;

/**
 * Appends one audit event: the next seq, its leaf hash, the Merkle nodes it completes, the new head, and a signed
 * checkpoint every AUDIT_CHECKPOINT_EVERY_EVENTS records, all in the caller's (the inbox's) transaction under the
 * head row's lock. An event already in the log (same eventId, e.g. republished under a new message id) is not
 * appended twice. An event the log's schema refuses is never dropped: the log records an `audit.audit.event.reject`
 * event carrying the original payload and the reason, so the trail shows it and nothing is lost.
 */
@Injectable()
export class AppendAuditEventUseCase {
  constructor(
    private readonly repository: AuditLogPgRepository,
    private readonly checkpoints: CheckpointSigner,
    @Inject(AUDIT_SETTINGS) private readonly settings: AuditSettings,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Appends a batch of events in stream order under one head lock, with one statement for all their records and
   * nodes (the consumer's batch mode): the same records, seqs, nodes and checkpoints as appending them one by one.
   * An event already in the log, or twice in the batch, is appended once.
   */
  async executeBatch(executor: SqlExecutor, commands: readonly AppendAuditEventCommand[]): Promise<AppendOutcome[]> {
    if (commands.length === 0) return [];
    const now = this.clock.now();
    const mapped = commands.map((command) => auditEventFromContract(command.subject, command.payload));
    const events = commands.map((command, index) => this.eventOf(command, now, mapped[index]));
    const head = await this.repository.lockHeadForAll(
      executor,
      events.map((event) => event.eventId),
    );
    const seqOf = new Map(head.existingSeqs);
    const frontier = MerkleFrontier.fromState(head.treeSize, head.frontier);
    const sequencer = AuditLogSequencer.start(this.settings.origin, frontier);
    const appends: { record: AuditLogRecord; eventJson: string; nodes: { id: TreeNodeId; hash: Uint8Array }[] }[] = [];
    const due: { size: number; rootHash: Uint8Array }[] = [];
    const outcomes: AppendOutcome[] = [];
    for (const [index, event] of events.entries()) {
      const existingSeq = seqOf.get(event.eventId);
      if (existingSeq !== undefined) {
        outcomes.push({ appended: false, seq: existingSeq });
        continue;
      }
      const nodes: { id: TreeNodeId; hash: Uint8Array }[] = [];
      const expectedSeq = sequencer.size;
      const record = sequencer.append(event, (id, hash) => nodes.push({ id, hash }));
      assert.equal(record.seq, expectedSeq, 'the next seq is the old size');
      assert.equal(nodes[0]?.id.level, 0, 'the first completed node is the leaf');
      seqOf.set(event.eventId, record.seq);
      appends.push({ record, eventJson: canonicalizeJson(record.event), nodes });
      let checkpointSize: number | undefined;
      if (sequencer.size % this.settings.checkpointEveryEvents === 0) {
        due.push({ size: sequencer.size, rootHash: sequencer.checkpoint().rootHash });
        checkpointSize = sequencer.size;
      }
      outcomes.push({
        appended: true,
        seq: record.seq,
        rejected: !mapped[index]!.ok,
        checkpointSize,
      });
    }
    await this.repository.appendRecords(executor, appends, { treeSize: sequencer.size, frontier: frontier.state.nodes }, now);
    for (const checkpoint of due) await this.checkpoints.signAt(executor, checkpoint.size, checkpoint.rootHash, now);
    return outcomes;
  }

  async execute(executor: SqlExecutor, command: AppendAuditEventCommand): Promise<AppendOutcome> {
    const now = this.clock.now();
    const mapped = auditEventFromContract(command.subject, command.payload);
    const event = this.eventOf(command, now, mapped);
    const head = await this.repository.lockHeadFor(executor, event.eventId);
    if (head.existingSeq !== undefined) return { appended: false, seq: head.existingSeq };

    const frontier = MerkleFrontier.fromState(head.treeSize, head.frontier);
    const sequencer = AuditLogSequencer.start(this.settings.origin, frontier);
    const nodes: { id: TreeNodeId; hash: Uint8Array }[] = [];
    const record = sequencer.append(event, (id, hash) => nodes.push({ id, hash }));
    assert.equal(record.seq, head.treeSize, 'the next seq is the old size');
    assert.equal(nodes[0]?.id.level, 0, 'the first completed node is the leaf');
    const newFrontier = frontier.state.nodes;
    assert.deepEqual(newFrontier.at(-1), nodes.at(-1)?.hash, "the last completed node is the frontier's smallest subtree");

    const newHead = { treeSize: sequencer.size, frontier: newFrontier };
    await this.repository.appendRecord(executor, { record, eventJson: canonicalizeJson(record.event), nodes, head: newHead, appendedAt: now });

    let checkpointSize: number | undefined;
    if (sequencer.size % this.settings.checkpointEveryEvents === 0) {
      checkpointSize = (await this.checkpoints.signAt(executor, sequencer.size, sequencer.checkpoint().rootHash, now)).treeSize;
    }
    return { appended: true, seq: record.seq, rejected: !mapped.ok, checkpointSize };
  }

  /** The event the log records for a command: the event itself, or its rejection record when the schema refuses it. */
  private eventOf(command: AppendAuditEventCommand, now: Date, mapped = auditEventFromContract(command.subject, command.payload)): AuditEvent {
    if (mapped.ok) return mapped.event;
    this.logger.error(
      { messageId: command.messageId, subject: command.subject, reason: mapped.reason },
      'audit event refused by the log schema; recorded as audit.audit.event.reject',
    );
    return this.rejectedEvent(command, mapped.reason, now);
  }

  private rejectedEvent(command: AppendAuditEventCommand, reason: string, now: Date): AuditEvent {
    return validateAuditEvent({
      eventId: `${command.payload.eventId}:rejected`,
      type: REJECTED_EVENT_TYPE,
      service: 'audit',
      occurredAt: now.toISOString(),
      actor: { id: 'audit', role: 'system' },
      action: 'event_reject',
      entity: { type: 'event', id: command.payload.eventId },
      details: {
        reason: reason.slice(0, REJECT_REASON_LENGTH_MAX),
        subject: command.subject,
        messageId: command.messageId.slice(0, 200),
        payload: JSON.parse(JSON.stringify(command.payload)) as unknown,
      },
    }).event;
  }
}
