import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  auditExportLines,
  type AuditLogRecord,
  hashFromHex,
  openCheckpoint,
  parseAuditEvent,
  parseVerifierKeyFile,
  verifyConsistency,
  verifyExport,
  verifyInclusion,
} from '@recon/audit-log';
import { streamNameFor } from '@recon/messaging';
import { TEST_ADMIN_URL, TEST_KEYS } from '@recon/testing';
import { Client } from 'pg';
import type { Test } from 'supertest';
import { runCli } from '../../cli/src/main';
import { DEVELOPMENT_SIGNING_KEY } from '../src/audit.config';
import { AuditEventsConsumer } from '../src/log/interface/audit-events.consumer';
import { type AuditTestEnv, eventually, ledgerPostingEvent, startAuditTestEnv } from './audit-test-env';

const CHECKPOINT_EVERY_EVENTS = 5;

/** Supertest buffers unknown content types as binary; the export is text, read as it streams. */
const textParser: Parameters<Test['parse']>[0] = (response, callback) => {
  const stream = response as unknown as NodeJS.ReadableStream;
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (body += chunk));
  stream.on('end', () => callback(null, body));
};

describe('audit service: the log', () => {
  let env: AuditTestEnv;
  let workDir: string;
  const asAuditor = (url: string) => env.http.get(url).set('X-Api-Key', TEST_KEYS.auditor);
  const published = [
    ledgerPostingEvent(0),
    ledgerPostingEvent(1),
    ledgerPostingEvent(2),
    ledgerPostingEvent(3),
    ledgerPostingEvent(4),
    ledgerPostingEvent(5),
    ledgerPostingEvent(6),
  ];

  beforeAll(async () => {
    env = await startAuditTestEnv({ everyEvents: CHECKPOINT_EVERY_EVENTS, everyMs: 3_600_000 });
    workDir = await mkdtemp(path.join(tmpdir(), 'audit-medium-'));
    for (const event of published) await env.publish(event);
    await env.waitForRecords(published.length);
  });

  afterAll(async () => {
    await env?.close();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  const recordsOf = async () =>
    (await env.admin.query(`SELECT seq::int AS seq, event_id, event_type, action, event_json FROM ${env.table('audit_records')} ORDER BY seq`)).rows as {
      seq: number;
      event_id: string;
      event_type: string;
      action: string;
      event_json: string;
    }[];

  it('appends each published event once, in stream order, with gap-free seq from 0', async () => {
    const records = await recordsOf();
    expect(records.slice(0, published.length).map((record) => record.event_id)).toEqual(published.map((event) => event.eventId));
    expect(records.map((record) => record.seq)).toEqual(records.map((_, index) => index));
    const first = records[0]!;
    expect(first.event_type).toBe('audit.ledger.transaction.post');
    expect(first.action).toBe('transaction_post');
    expect(parseAuditEvent(JSON.parse(first.event_json))).toMatchObject({
      service: 'ledger',
      entity: { type: 'transaction', id: 'TX-0000' },
      requestId: 'req-0',
    });
  });

  it('does not append an event twice: not when redelivered under its message id, not when republished under a new one', async () => {
    const before = await env.recordCount();
    const consumer = env.app.get(AuditEventsConsumer);
    const duplicatesBefore = consumer.stats!.duplicateCount;
    const stream = streamNameFor(env.isolation.namespace, 'AUDIT');
    const config = (await env.jsm.streams.info(stream)).config;
    // A short duplicate window lets the same Nats-Msg-Id into the stream twice, as after a relay crash past the window.
    await env.jsm.streams.update(stream, { ...config, duplicate_window: 200 * 1e6 });
    try {
      await new Promise((resolve) => setTimeout(resolve, 400));
      await env.publish(published[0]!);
      await env.publish(published[1]!, '0192f1c4-6b1e-7c6a-9d3f-000000000001');
      expect(await eventually(async () => consumer.stats!.duplicateCount === duplicatesBefore + 1)).toBe(true);
      expect(await eventually(async () => consumer.stats!.processedCount >= published.length + 1)).toBe(true);
    } finally {
      await env.jsm.streams.update(stream, config);
    }
    expect(await env.recordCount()).toBe(before);
  });

  it('signs a checkpoint every AUDIT_CHECKPOINT_EVERY_EVENTS records, verifiable with the published key', async () => {
    const rows = (await env.admin.query(`SELECT tree_size::int AS size, note FROM ${env.table('checkpoints')} ORDER BY tree_size`)).rows as {
      size: number;
      note: string;
    }[];
    expect(rows.map((row) => row.size)).toContain(CHECKPOINT_EVERY_EVENTS);
    const keys = parseVerifierKeyFile(DEVELOPMENT_SIGNING_KEY.verifierKey);
    const checkpoint = openCheckpoint(rows.find((row) => row.size === CHECKPOINT_EVERY_EVENTS)!.note, keys);
    expect(checkpoint.origin).toBe('recon.dev-insecure/audit');
    const keyResponse = await asAuditor('/v1/keys').expect(200);
    expect(keyResponse.body).toMatchObject({
      origin: 'recon.dev-insecure/audit',
      signing: [DEVELOPMENT_SIGNING_KEY.verifierKey],
      insecureDevelopmentKey: true,
    });
  });

  it('exports the log as JSONL that `recon audit verify --key` accepts, byte for byte what auditExportLines writes', async () => {
    const keyFile = path.join(workDir, 'log.pub');
    await writeFile(keyFile, (await asAuditor('/v1/keys').expect(200)).body.keyFile);
    const response = await asAuditor('/v1/export?fromSeq=0').buffer(true).parse(textParser).expect(200);
    expect(response.headers['content-type']).toMatch(/application\/x-ndjson/);
    const text = response.body as string;
    const exportFile = path.join(workDir, 'export.jsonl');
    await writeFile(exportFile, text);
    expect(await runCli(['audit', 'verify', exportFile, '--key', keyFile])).toBe(0);

    const lines = text
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const header = lines[0]!;
    const records: AuditLogRecord[] = lines
      .filter((line) => line.kind === 'record')
      .map((line) => ({ seq: line.seq as number, leafHash: hashFromHex(line.leafHash as string), event: parseAuditEvent(line.event) }));
    expect(records.length).toBe(header.treeSize);
    const expected = [
      ...auditExportLines({
        origin: header.origin as string,
        exportedAt: header.exportedAt as string,
        verifierKeys: header.verifierKeys as string[],
        records,
        checkpoints: lines.filter((line) => line.kind === 'checkpoint').map((line) => line.note as string),
        consistencyProofs: lines
          .filter((line) => line.kind === 'consistency')
          .map((line) => ({ fromSize: line.fromSize as number, toSize: line.toSize as number, proof: (line.proof as string[]).map(hashFromHex) })),
      }),
    ];
    expect(text).toBe(`${expected.join('\n')}\n`);
  });

  it('exports a prefix ending at toSeq with its own checkpoint, and a consistency proof from the size an auditor knew', async () => {
    const keys = parseVerifierKeyFile(DEVELOPMENT_SIGNING_KEY.verifierKey);
    const prefix = (await asAuditor('/v1/export?toSeq=2').buffer(true).parse(textParser).expect(200)).body as string;
    const prefixResult = await verifyExport(prefix.trimEnd().split('\n'), { publicKeys: keys });
    expect(prefixResult).toMatchObject({ ok: true, summary: { recordCount: 3 } });
    const lastCheckpointOfPrefix = JSON.parse(prefix.trimEnd().split('\n').at(-1)!) as { note: string };
    const full = (await asAuditor('/v1/export?knownSize=3').buffer(true).parse(textParser).expect(200)).body as string;
    expect(full).toContain('"kind":"consistency","fromSize":3');
    const fullResult = await verifyExport(full.trimEnd().split('\n'), { publicKeys: keys, trustedCheckpoint: lastCheckpointOfPrefix.note });
    expect(fullResult.ok).toBe(true);
    await asAuditor('/v1/export?fromSeq=2').expect(400);
    await asAuditor('/v1/export?toSeq=100000').expect(422);
  });

  it('serves inclusion and consistency proofs that verify against signed checkpoints', async () => {
    const keys = parseVerifierKeyFile(DEVELOPMENT_SIGNING_KEY.verifierKey);
    const inclusion = (await asAuditor(`/v1/proofs/inclusion?seq=3&treeSize=${CHECKPOINT_EVERY_EVENTS}`).expect(200)).body;
    const signed = openCheckpoint(inclusion.checkpoint.note, keys);
    expect(signed.size).toBe(CHECKPOINT_EVERY_EVENTS);
    const proof = (inclusion.proof as string[]).map(hashFromHex);
    expect(verifyInclusion(3, CHECKPOINT_EVERY_EVENTS, hashFromHex(inclusion.leafHash), proof, signed.rootHash)).toBe(true);
    expect(verifyInclusion(2, CHECKPOINT_EVERY_EVENTS, hashFromHex(inclusion.leafHash), proof, signed.rootHash)).toBe(false);
    expect(inclusion.event).toMatchObject({ eventId: published[3]!.eventId });

    const latest = (await asAuditor('/v1/checkpoints/latest').expect(200)).body;
    const consistency = (await asAuditor(`/v1/proofs/consistency?from=${CHECKPOINT_EVERY_EVENTS}&to=${latest.treeSize}`).expect(200)).body;
    const newer = openCheckpoint(latest.note, keys);
    expect(newer.size).toBeGreaterThan(CHECKPOINT_EVERY_EVENTS);
    expect(verifyConsistency(CHECKPOINT_EVERY_EVENTS, newer.size, (consistency.proof as string[]).map(hashFromHex), signed.rootHash, newer.rootHash)).toBe(
      true,
    );
    expect(verifyConsistency(CHECKPOINT_EVERY_EVENTS, newer.size, (consistency.proof as string[]).map(hashFromHex), newer.rootHash, signed.rootHash)).toBe(
      false,
    );

    await asAuditor('/v1/proofs/inclusion?seq=99&treeSize=5').expect(422);
    const list = (await asAuditor('/v1/checkpoints?limit=1').expect(200)).body;
    expect(list.checkpoints).toHaveLength(1);
    expect(list.nextAfterSize).toBe(list.checkpoints[0].treeSize);
  });

  it('searches by actor, entity, type, time range, with a seq cursor', async () => {
    const byActor = (await asAuditor('/v1/events?actorId=svc-platform&service=ledger').expect(200)).body;
    expect(byActor.events.map((view: { event: { entity: { id: string } } }) => view.event.entity.id)).toEqual(['TX-0001', 'TX-0003', 'TX-0005']);
    const byEntity = (await asAuditor('/v1/events?entityType=transaction&entityId=TX-0004').expect(200)).body;
    expect(byEntity.events).toHaveLength(1);
    expect(byEntity.events[0].seq).toBe(4);
    const byTime = (await asAuditor(`/v1/events?typePrefix=audit.ledger.&from=${published[2]!.occurredAt}&to=${published[4]!.occurredAt}`).expect(200)).body;
    expect(byTime.events.map((view: { seq: number }) => view.seq)).toEqual([2, 3]);
    const page1 = (await asAuditor('/v1/events?type=audit.ledger.transaction.post&limit=4').expect(200)).body;
    expect(page1.nextAfterSeq).toBe(3);
    const page2 = (await asAuditor(`/v1/events?type=audit.ledger.transaction.post&limit=4&afterSeq=${page1.nextAfterSeq}`).expect(200)).body;
    expect(page2.events.map((view: { seq: number }) => view.seq)).toEqual([4, 5, 6]);
    expect(page2.nextAfterSeq).toBeUndefined();
    await asAuditor('/v1/events?limit=100000').expect(400);
    await asAuditor('/v1/events?unknown=1').expect(400);
  });

  it('lets only auditors and admins in, and records every auditor request in the log itself', async () => {
    await env.http.get('/v1/events').expect(401);
    await env.http.get('/v1/events').set('X-Api-Key', TEST_KEYS.ops).expect(403);
    await env.http.get('/v1/export').set('X-Api-Key', TEST_KEYS.service).expect(403);
    await env.http.get('/v1/events?actorId=nobody').set('X-Api-Key', TEST_KEYS.admin).expect(200);
    const recorded = await eventually(async () => {
      const rows = (
        await env.admin.query(`SELECT event_json FROM ${env.table('audit_records')} WHERE event_type = 'audit.audit.search' AND actor_id = 'dev-admin'`)
      ).rows;
      return rows.length === 1;
    });
    expect(recorded).toBe(true);
    const exportsOf = async () =>
      (await env.admin.query(`SELECT actor_id, actor_role FROM ${env.table('audit_records')} WHERE event_type = 'audit.audit.export'`)).rows;
    expect(await eventually(async () => (await exportsOf()).length >= 1)).toBe(true);
    expect((await exportsOf())[0]).toEqual({ actor_id: 'dev-auditor', actor_role: 'auditor' });
  });

  it('records an event the log schema refuses as audit.audit.event.reject, carrying the original', async () => {
    const refused = ledgerPostingEvent(100, { entity: { type: 'Transaction Type', id: 'TX-0100' } });
    await env.publish(refused);
    const found = await eventually(
      async () => (await env.admin.query(`SELECT 1 FROM ${env.table('audit_records')} WHERE entity_id = $1`, [refused.eventId])).rows.length === 1,
    );
    expect(found).toBe(true);
    const row = (await env.admin.query(`SELECT event_type, event_json FROM ${env.table('audit_records')} WHERE entity_id = $1`, [refused.eventId])).rows[0];
    expect(row.event_type).toBe('audit.audit.event.reject');
    const event = JSON.parse(row.event_json);
    expect(event.details.payload).toMatchObject({ eventId: refused.eventId, entity: { type: 'Transaction Type' } });
    expect(event.details.reason).toMatch(/entity\.type/);
  });

  it('is append-only for the service role: no UPDATE, DELETE or TRUNCATE of the log, nodes or checkpoints', async () => {
    const service = new Client({ connectionString: env.isolation.databaseUrl });
    await service.connect();
    try {
      await service.query(`SET search_path TO ${env.isolation.schema}`);
      for (const table of ['audit_records', 'merkle_nodes', 'checkpoints']) {
        await expect(
          service.query(
            `UPDATE ${table} SET ${table === 'checkpoints' ? 'note' : table === 'merkle_nodes' ? 'level' : 'actor_id'} = ${table === 'merkle_nodes' ? 'level' : "'x'"}`,
          ),
        ).rejects.toThrow(/permission denied/);
        await expect(service.query(`DELETE FROM ${table}`)).rejects.toThrow(/permission denied/);
        await expect(service.query(`TRUNCATE ${table}`)).rejects.toThrow(/permission denied/);
      }
      await expect(service.query('DELETE FROM log_head')).rejects.toThrow(/permission denied/);
    } finally {
      await service.end();
    }
    // The owner (or anyone granted more) is stopped by the triggers.
    const owner = new Client({ connectionString: TEST_ADMIN_URL });
    await owner.connect();
    try {
      await expect(owner.query(`UPDATE ${env.table('audit_records')} SET actor_id = 'mallory' WHERE seq = 0`)).rejects.toThrow(/append-only: UPDATE refused/);
      await expect(owner.query(`DELETE FROM ${env.table('audit_records')} WHERE seq = 0`)).rejects.toThrow(/append-only: DELETE refused/);
      await expect(owner.query(`TRUNCATE ${env.table('audit_records')}`)).rejects.toThrow(/append-only: TRUNCATE refused/);
      await expect(owner.query(`DELETE FROM ${env.table('checkpoints')}`)).rejects.toThrow(/append-only/);
    } finally {
      await owner.end();
    }
  });
  it('appends a burst in batches (one transaction each): each event once, in stream order, every checkpoint, an export that verifies', async () => {
    const consumer = env.app.get(AuditEventsConsumer);
    const batchesBefore = consumer.stats!.batchCount;
    const burst = Array.from({ length: 23 }, (_, index) => ledgerPostingEvent(100 + index));
    // Published back to back (several land in one batch); one event is republished under a new message id inside the burst.
    await Promise.all(
      [...burst.slice(0, 10), burst[3]!, ...burst.slice(10)].map((event, index) => env.publish(event, index === 10 ? randomUUID() : event.eventId)),
    );
    const ids = burst.map((event) => event.eventId);
    const appended = async () =>
      (await env.admin.query(`SELECT event_id FROM ${env.table('audit_records')} WHERE event_id = ANY($1::text[]) ORDER BY seq`, [ids])).rows.map(
        (row: { event_id: string }) => row.event_id,
      );
    expect(
      await eventually(async () => (await appended()).length === burst.length && consumer.stats!.processedCount + consumer.stats!.duplicateCount > 0),
    ).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await appended()).toEqual(ids);
    expect(consumer.stats!.batchCount - batchesBefore).toBeLessThan(burst.length);
    const size = await env.recordCount();
    const records = (await env.admin.query(`SELECT seq::int AS seq FROM ${env.table('audit_records')} ORDER BY seq`)).rows.map(
      (row: { seq: number }) => row.seq,
    );
    expect(records).toEqual(records.map((_, index) => index));
    const signed = (await env.admin.query(`SELECT tree_size::int AS size FROM ${env.table('checkpoints')}`)).rows.map((row: { size: number }) => row.size);
    for (let multiple = CHECKPOINT_EVERY_EVENTS; multiple <= size; multiple += CHECKPOINT_EVERY_EVENTS) expect(signed).toContain(multiple);
    const keyFile = path.join(workDir, 'burst.pub');
    await writeFile(keyFile, (await asAuditor('/v1/keys').expect(200)).body.keyFile);
    const exportFile = path.join(workDir, 'burst.jsonl');
    await writeFile(exportFile, (await asAuditor('/v1/export?fromSeq=0').buffer(true).parse(textParser).expect(200)).body as string);
    expect(await runCli(['audit', 'verify', exportFile, '--key', keyFile])).toBe(0);
  });
});
