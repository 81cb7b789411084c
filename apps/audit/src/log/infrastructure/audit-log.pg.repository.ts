import assert from 'node:assert/strict';
import { Injectable } from '@nestjs/common';
import { type AuditLogRecord, HASH_BYTES, type MerkleNodeReader, perfectSubtreesOf, type TreeNodeId } from '@recon/audit-log';
import { queryRows, type SqlExecutor } from '@recon/persistence';

/** One stored record as exports and searches read it: the canonical event text, verbatim. */
export interface StoredRecord {
  readonly seq: number;
  readonly leafHash: Uint8Array;
  readonly eventJson: string;
}

export interface LogHead {
  readonly treeSize: number;
  /** The frontier's perfect-subtree roots, largest first. */
  readonly frontier: readonly Uint8Array[];
}

export interface StoredCheckpoint {
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  readonly note: string;
  readonly signedAt: Date;
}

/** Nodes a store returns per query: proofs need at most ~2·log2(n), so this is generous. */
export const NODES_PER_READ_MAX = 256;

interface HeadRow {
  tree_size: string;
  frontier_hashes: Buffer;
}

interface CheckpointRow {
  tree_size: string;
  root_hash: Buffer;
  note: string;
  signed_at: Date;
}

/**
 * The log's tables (migration 0001): audit_records, merkle_nodes and checkpoints only ever grow; log_head is the
 * one row every append locks. Every method runs on the caller's executor, inside the caller's transaction.
 */
@Injectable()
export class AuditLogPgRepository {
  /** Locks the head row until the transaction ends: appends and head checkpoints are serialised across instances. */
  async lockHead(executor: SqlExecutor): Promise<LogHead> {
    return headOf(await queryRows<HeadRow>(executor, 'SELECT tree_size, frontier_hashes FROM log_head WHERE singleton FOR UPDATE'));
  }

  async readHead(executor: SqlExecutor): Promise<LogHead> {
    return headOf(await queryRows<HeadRow>(executor, 'SELECT tree_size, frontier_hashes FROM log_head WHERE singleton'));
  }

  /**
   * Locks the head row until the transaction ends (appends and head checkpoints are serialised across
   * instances) and looks the event id up in the same round trip.
   */
  async lockHeadFor(executor: SqlExecutor, eventId: string): Promise<LogHead & { readonly existingSeq: number | undefined }> {
    const rows = await queryRows<HeadRow & { existing_seq: string | null }>(
      executor,
      'SELECT h.tree_size, h.frontier_hashes, (SELECT seq FROM audit_records WHERE event_id = $1) AS existing_seq FROM log_head h WHERE h.singleton FOR UPDATE OF h',
      [eventId],
    );
    const existing = rows[0]?.existing_seq;
    return { ...headOf(rows), existingSeq: existing === null || existing === undefined ? undefined : toSafeNumber(existing) };
  }

  /**
   * Locks the head row until the transaction ends and looks a batch's event ids up in the same round trip:
   * returns the seq of every one already in the log.
   */
  async lockHeadForAll(executor: SqlExecutor, eventIds: readonly string[]): Promise<LogHead & { readonly existingSeqs: ReadonlyMap<string, number> }> {
    const rows = await queryRows<HeadRow & { existing: { event_id: string; seq: string }[] | null }>(
      executor,
      `SELECT h.tree_size, h.frontier_hashes,
              (SELECT json_agg(json_build_object('event_id', event_id, 'seq', seq::text)) FROM audit_records WHERE event_id = ANY($1::text[])) AS existing
         FROM log_head h WHERE h.singleton FOR UPDATE OF h`,
      [eventIds],
    );
    const existing = rows[0]?.existing ?? [];
    return { ...headOf(rows), existingSeqs: new Map(existing.map((row) => [row.event_id, toSafeNumber(row.seq)])) };
  }

  /** A batch of consecutive records, the Merkle nodes their appends completed and the new head, in one statement. */
  async appendRecords(
    executor: SqlExecutor,
    appends: readonly { record: AuditLogRecord; eventJson: string; nodes: readonly { id: TreeNodeId; hash: Uint8Array }[] }[],
    head: LogHead,
    appendedAt: Date,
  ): Promise<void> {
    if (appends.length === 0) return;
    const nodes = appends.flatMap((append) => append.nodes);
    assert.ok(
      appends.every((append) => append.nodes.length > 0),
      'an append completes at least its leaf',
    );
    const events = appends.map((append) => append.record.event);
    await executor.query(
      `WITH records AS (
         INSERT INTO audit_records
           (seq, event_id, event_type, service, occurred_at, actor_id, actor_role, action, entity_type, entity_id, event_json, leaf_hash, appended_at)
         SELECT r.*, $13::timestamptz FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[],
                                                  $9::text[], $10::text[], $11::text[], $12::bytea[]) AS r),
       nodes AS (
         INSERT INTO merkle_nodes (level, node_index, hash) SELECT * FROM unnest($14::smallint[], $15::bigint[], $16::bytea[]))
       UPDATE log_head SET tree_size = $17, frontier_hashes = $18, updated_at = $13 WHERE singleton`,
      [
        appends.map((append) => append.record.seq),
        events.map((event) => event.eventId),
        events.map((event) => event.type),
        events.map((event) => event.service),
        events.map((event) => event.occurredAt),
        events.map((event) => event.actor.id),
        events.map((event) => event.actor.role),
        events.map((event) => event.action),
        events.map((event) => event.entity.type),
        events.map((event) => event.entity.id),
        appends.map((append) => append.eventJson),
        appends.map((append) => Buffer.from(append.record.leafHash)),
        appendedAt,
        nodes.map((node) => node.id.level),
        nodes.map((node) => node.id.index),
        nodes.map((node) => Buffer.from(node.hash)),
        head.treeSize,
        Buffer.concat(head.frontier.map((hash) => Buffer.from(hash))),
      ],
    );
  }

  /** The record, the Merkle nodes its append completed and the new head, in one statement (one round trip). */
  async appendRecord(
    executor: SqlExecutor,
    append: { record: AuditLogRecord; eventJson: string; nodes: readonly { id: TreeNodeId; hash: Uint8Array }[]; head: LogHead; appendedAt: Date },
  ): Promise<void> {
    const { record, nodes, head } = append;
    const { event } = record;
    assert.ok(nodes.length > 0, 'an append completes at least its leaf');
    await executor.query(
      `WITH record AS (
         INSERT INTO audit_records
           (seq, event_id, event_type, service, occurred_at, actor_id, actor_role, action, entity_type, entity_id, event_json, leaf_hash, appended_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)),
       nodes AS (
         INSERT INTO merkle_nodes (level, node_index, hash) SELECT * FROM unnest($14::smallint[], $15::bigint[], $16::bytea[]))
       UPDATE log_head SET tree_size = $17, frontier_hashes = $18, updated_at = $13 WHERE singleton`,
      [
        record.seq,
        event.eventId,
        event.type,
        event.service,
        event.occurredAt,
        event.actor.id,
        event.actor.role,
        event.action,
        event.entity.type,
        event.entity.id,
        append.eventJson,
        Buffer.from(record.leafHash),
        append.appendedAt,
        nodes.map((node) => node.id.level),
        nodes.map((node) => node.id.index),
        nodes.map((node) => Buffer.from(node.hash)),
        head.treeSize,
        Buffer.concat(head.frontier.map((hash) => Buffer.from(hash))),
      ],
    );
  }

  /** Reads perfect-subtree hashes in one query; a missing node is a broken store, not a user error. */
  nodeReader(executor: SqlExecutor): MerkleNodeReader {
    return {
      readNodes: async (ids) => {
        if (ids.length === 0) return [];
        assert.ok(ids.length <= NODES_PER_READ_MAX, `at most ${NODES_PER_READ_MAX} nodes per read`);
        const rows = await queryRows<{ level: number; node_index: string; hash: Buffer }>(
          executor,
          `SELECT n.level, n.node_index, n.hash
             FROM unnest($1::smallint[], $2::bigint[]) AS wanted (level, node_index)
             JOIN merkle_nodes n USING (level, node_index)`,
          [ids.map((id) => id.level), ids.map((id) => id.index)],
        );
        const byId = new Map(rows.map((row) => [`${row.level}/${row.node_index}`, new Uint8Array(row.hash)]));
        return ids.map((id) => {
          const hash = byId.get(`${id.level}/${id.index}`);
          if (hash === undefined) throw new Error(`merkle node ${id.level}/${id.index} is missing from the store`);
          return hash;
        });
      },
    };
  }

  async latestCheckpoint(executor: SqlExecutor): Promise<StoredCheckpoint | undefined> {
    const rows = await queryRows<CheckpointRow>(executor, 'SELECT tree_size, root_hash, note, signed_at FROM checkpoints ORDER BY tree_size DESC LIMIT 1');
    return rows[0] === undefined ? undefined : checkpointOf(rows[0]);
  }

  async checkpointOfSize(executor: SqlExecutor, treeSize: number): Promise<StoredCheckpoint | undefined> {
    const rows = await queryRows<CheckpointRow>(executor, 'SELECT tree_size, root_hash, note, signed_at FROM checkpoints WHERE tree_size = $1', [treeSize]);
    return rows[0] === undefined ? undefined : checkpointOf(rows[0]);
  }

  async listCheckpoints(executor: SqlExecutor, filter: { afterSize: number; sizeMax: number; limit: number }): Promise<StoredCheckpoint[]> {
    const rows = await queryRows<CheckpointRow>(
      executor,
      'SELECT tree_size, root_hash, note, signed_at FROM checkpoints WHERE tree_size > $1 AND tree_size <= $2 ORDER BY tree_size LIMIT $3',
      [filter.afterSize, filter.sizeMax, filter.limit],
    );
    return rows.map(checkpointOf);
  }

  /** Inserts unless a checkpoint of that size exists (the log signs one root per size); returns the stored one. */
  async insertCheckpoint(executor: SqlExecutor, checkpoint: StoredCheckpoint): Promise<StoredCheckpoint> {
    await executor.query('INSERT INTO checkpoints (tree_size, root_hash, note, signed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING', [
      checkpoint.treeSize,
      Buffer.from(checkpoint.rootHash),
      checkpoint.note,
      checkpoint.signedAt,
    ]);
    const stored = await this.checkpointOfSize(executor, checkpoint.treeSize);
    assert.ok(stored !== undefined, 'a checkpoint just inserted is readable');
    return stored;
  }

  async appendedAtOf(executor: SqlExecutor, seq: number): Promise<Date | undefined> {
    const rows = await queryRows<{ appended_at: Date }>(executor, 'SELECT appended_at FROM audit_records WHERE seq = $1', [seq]);
    return rows[0]?.appended_at;
  }

  /** Records with seq in (afterSeq, endSeq), in seq order, at most `limit`. */
  async readRecords(executor: SqlExecutor, afterSeq: number, endSeq: number, limit: number): Promise<StoredRecord[]> {
    const rows = await queryRows<{ seq: string; leaf_hash: Buffer; event_json: string }>(
      executor,
      'SELECT seq, leaf_hash, event_json FROM audit_records WHERE seq > $1 AND seq < $2 ORDER BY seq LIMIT $3',
      [afterSeq, endSeq, limit],
    );
    return rows.map((row) => ({ seq: toSafeNumber(row.seq), leafHash: new Uint8Array(row.leaf_hash), eventJson: row.event_json }));
  }

  /** The number of records by the records themselves: the highest seq + 1 (seq is gap-free when nobody tampered). */
  async recordsEnd(executor: SqlExecutor): Promise<number> {
    const rows = await queryRows<{ end_seq: string }>(executor, 'SELECT coalesce(max(seq) + 1, 0) AS end_seq FROM audit_records');
    return toSafeNumber(rows[0]?.end_seq ?? '0');
  }

  /** The frontier the node store holds for `treeSize`. */
  async frontierFromNodes(executor: SqlExecutor, treeSize: number): Promise<readonly Uint8Array[]> {
    if (treeSize === 0) return [];
    return this.nodeReader(executor).readNodes(perfectSubtreesOf({ start: 0, end: treeSize }));
  }
}

function headOf(rows: HeadRow[]): LogHead {
  const row = rows[0];
  assert.ok(row !== undefined, 'log_head has its one row (migration 0001 inserts it)');
  const bytes = row.frontier_hashes;
  assert.equal(bytes.length % HASH_BYTES, 0, 'log_head.frontier_hashes is a whole number of hashes');
  const frontier: Uint8Array[] = [];
  for (let offset = 0; offset < bytes.length; offset += HASH_BYTES) frontier.push(new Uint8Array(bytes.subarray(offset, offset + HASH_BYTES)));
  return { treeSize: toSafeNumber(row.tree_size), frontier };
}

function checkpointOf(row: CheckpointRow): StoredCheckpoint {
  return { treeSize: toSafeNumber(row.tree_size), rootHash: new Uint8Array(row.root_hash), note: row.note, signedAt: row.signed_at };
}

/** bigint columns arrive as strings; seq and sizes stay far below 2^53. */
export function toSafeNumber(text: string | number): number {
  const value = Number(text);
  assert.ok(Number.isSafeInteger(value) && value >= 0, `'${String(text)}' is not a non-negative safe integer`);
  return value;
}
