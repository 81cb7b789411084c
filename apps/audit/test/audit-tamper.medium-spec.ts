import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type ExportFailure, parseVerifierKeyFile, verifyExport, type VerifyExportResult } from '@recon/audit-log';
import { TRANSACTIONS } from '@recon/platform';
import type { TransactionRunner } from '@recon/persistence';
import { TEST_KEYS } from '@recon/testing';
import type { Test } from 'supertest';
import { runCli } from '../../cli/src/main';
import { DEVELOPMENT_SIGNING_KEY } from '../src/audit.config';
import { LogHeadMismatchError, VerifyLogHeadUseCase } from '../src/log/application/verify-log-head.use-case';
import { type AuditTestEnv, ledgerPostingEvent, startAuditTestEnv } from './audit-test-env';

/**
 * An insider with superuser rights on the database (triggers off, as `session_replication_role = replica` does)
 * changes the log behind the service's back. Every change must be caught by verifying an export offline, naming
 * the first bad record (or, for changes only the signed roots reveal, the range since the last good checkpoint).
 */
const CHECKPOINT_EVERY_EVENTS = 4;
const RECORD_COUNT = 12; // checkpoints at 4, 8 and 12

const textParser: Parameters<Test['parse']>[0] = (response, callback) => {
  const stream = response as unknown as NodeJS.ReadableStream;
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (body += chunk));
  stream.on('end', () => callback(null, body));
};

describe('audit service: tampering in the database is caught by export verification', () => {
  let env: AuditTestEnv;
  let workDir: string;
  let keyFile: string;
  let keptCheckpoint: string;
  const publicKeys = parseVerifierKeyFile(DEVELOPMENT_SIGNING_KEY.verifierKey);

  /** Runs SQL as the insider: superuser, triggers disabled for the transaction. */
  const insider = async (sql: string) => {
    await env.admin.query('BEGIN');
    try {
      await env.admin.query('SET LOCAL session_replication_role = replica');
      await env.admin.query(`SET LOCAL search_path TO ${env.isolation.schema}`);
      await env.admin.query(sql);
      await env.admin.query('COMMIT');
    } catch (error) {
      await env.admin.query('ROLLBACK');
      throw error;
    }
  };

  const exportText = async (query = '') =>
    (await env.http.get(`/v1/export${query}`).set('X-Api-Key', TEST_KEYS.auditor).buffer(true).parse(textParser).expect(200)).body as string;
  const verify = async (text: string, trustedCheckpoint?: string): Promise<VerifyExportResult> =>
    verifyExport(text.trimEnd().split('\n'), { publicKeys, ...(trustedCheckpoint === undefined ? {} : { trustedCheckpoint }) });
  const failureOf = async (text: string, trustedCheckpoint?: string): Promise<ExportFailure> => {
    const result = await verify(text, trustedCheckpoint);
    if (result.ok) throw new Error('the tampered export verified');
    return result.failure;
  };
  const cliVerify = async (text: string, extra: string[] = []) => {
    const file = path.join(workDir, `export-${Date.now()}.jsonl`);
    await writeFile(file, text);
    return runCli(['audit', 'verify', file, '--key', keyFile, ...extra]);
  };

  beforeAll(async () => {
    // No outbox relay: the auditor's own requests stay in the outbox, so the log holds exactly the published events.
    env = await startAuditTestEnv({ everyEvents: CHECKPOINT_EVERY_EVENTS, everyMs: 3_600_000, runOutboxRelay: false });
    workDir = await mkdtemp(path.join(tmpdir(), 'audit-tamper-'));
    keyFile = path.join(workDir, 'log.pub');
    await writeFile(keyFile, `${DEVELOPMENT_SIGNING_KEY.verifierKey}\n`);
    for (let index = 0; index < RECORD_COUNT; index += 1) await env.publish(ledgerPostingEvent(index));
    await env.waitForRecords(RECORD_COUNT);
    const baseline = await exportText();
    expect(await verify(baseline)).toMatchObject({ ok: true, summary: { recordCount: RECORD_COUNT } });
    const checkpointLines = baseline
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { kind: string; note?: string })
      .filter((line) => line.kind === 'checkpoint');
    keptCheckpoint = checkpointLines.at(-1)!.note!;
    for (const table of ['audit_records', 'merkle_nodes', 'checkpoints', 'log_head']) {
      await env.admin.query(`CREATE TABLE ${env.table(`original_${table}`)} AS SELECT * FROM ${env.table(table)}`);
    }
  });

  afterEach(async () => {
    // Put the log back as it was, for the next insider.
    await insider(`
      DELETE FROM audit_records; INSERT INTO audit_records SELECT * FROM original_audit_records;
      DELETE FROM merkle_nodes; INSERT INTO merkle_nodes SELECT * FROM original_merkle_nodes;
      DELETE FROM checkpoints; INSERT INTO checkpoints SELECT * FROM original_checkpoints;
      UPDATE log_head h SET tree_size = o.tree_size, frontier_hashes = o.frontier_hashes FROM original_log_head o`);
    expect((await verify(await exportText())).ok).toBe(true);
  });

  afterAll(async () => {
    await env?.close();
    if (workDir !== undefined) await rm(workDir, { recursive: true, force: true });
  });

  it('an intact export verifies, offline, with the CLI', async () => {
    expect(await cliVerify(await exportText(), ['--checkpoint', await writeKept()])).toBe(0);
  });

  it('one byte of one record changed: leaf-hash-mismatch at that seq', async () => {
    await insider(`UPDATE audit_records SET event_json = replace(event_json, '"TX-0006"', '"TX-0009"') WHERE seq = 6`);
    const text = await exportText();
    expect(await failureOf(text)).toMatchObject({ reason: 'leaf-hash-mismatch', seq: 6 });
    expect(await cliVerify(text)).toBe(1);
  });

  it('one record changed with its leaf hash recomputed: root-mismatch naming the range that holds it', async () => {
    await insider(`UPDATE audit_records SET event_json = replace(event_json, '"TX-0006"', '"TX-0009"') WHERE seq = 6;
                   UPDATE audit_records SET leaf_hash = sha256('\\x00'::bytea || convert_to(event_json, 'UTF8')) WHERE seq = 6`);
    expect(await failureOf(await exportText())).toMatchObject({ reason: 'root-mismatch', seq: 4, seqEnd: 7 });
  });

  it('one record deleted: seq-gap naming the missing seq', async () => {
    await insider('DELETE FROM audit_records WHERE seq = 5');
    expect(await failureOf(await exportText())).toMatchObject({ reason: 'seq-gap', seq: 5 });
  });

  it('one record inserted (the ones after it renumbered, its leaf hash right): root-mismatch naming the range that holds it', async () => {
    await insider(`
      UPDATE audit_records SET seq = seq + 1000000 WHERE seq >= 5;
      UPDATE audit_records SET seq = seq - 999999 WHERE seq >= 1000000;
      INSERT INTO audit_records
        SELECT 5, 'forged-event', event_type, service, occurred_at, 'mallory', actor_role, action, entity_type, entity_id,
               replace(event_json, '"id":"svc-platform"', '"id":"mallory"'), leaf_hash, appended_at
          FROM original_audit_records WHERE seq = 5;
      UPDATE audit_records SET leaf_hash = sha256('\\x00'::bytea || convert_to(event_json, 'UTF8')) WHERE seq = 5`);
    const failure = await failureOf(await exportText());
    expect(failure).toMatchObject({ reason: 'root-mismatch', seq: 4, seqEnd: 7 });
  });

  it('two records swapped: root-mismatch naming the range of the first', async () => {
    await insider(`
      UPDATE audit_records r SET event_json = o.event_json, leaf_hash = o.leaf_hash
        FROM original_audit_records o WHERE (r.seq = 2 AND o.seq = 6) OR (r.seq = 6 AND o.seq = 2)`);
    expect(await failureOf(await exportText())).toMatchObject({ reason: 'root-mismatch', seq: 0, seqEnd: 3 });
  });

  it('the tail cut off: truncated at the first missing seq, and the service refuses its head', async () => {
    await insider('DELETE FROM audit_records WHERE seq >= 9');
    const text = await exportText();
    expect(await failureOf(text)).toMatchObject({ reason: 'truncated', seq: 9 });
    expect(await cliVerify(text)).toBe(1);
    const db = env.app.get<TransactionRunner>(TRANSACTIONS);
    await expect(db.transaction((executor) => env.app.get(VerifyLogHeadUseCase).execute(executor))).rejects.toThrow(LogHeadMismatchError);
  });

  it('the tail cut off together with its checkpoints, nodes and head: only the checkpoint the auditor kept reveals it', async () => {
    await insider(`
      DELETE FROM audit_records WHERE seq >= 8;
      DELETE FROM checkpoints WHERE tree_size > 8;
      DELETE FROM merkle_nodes WHERE (node_index + 1) * (1::bigint << level) > 8;
      UPDATE log_head SET tree_size = 8, frontier_hashes = (SELECT hash FROM merkle_nodes WHERE level = 3 AND node_index = 0)`);
    const text = await exportText();
    const db = env.app.get<TransactionRunner>(TRANSACTIONS);
    await expect(db.transaction((executor) => env.app.get(VerifyLogHeadUseCase).execute(executor))).resolves.toEqual({ treeSize: 8 });
    expect((await verify(text)).ok).toBe(true);
    expect(await failureOf(text, keptCheckpoint)).toMatchObject({ reason: 'truncated', seq: 8 });
    expect(await cliVerify(text, ['--checkpoint', await writeKept()])).toBe(1);
  });

  async function writeKept(): Promise<string> {
    const file = path.join(workDir, 'kept-checkpoint.txt');
    await writeFile(file, keptCheckpoint);
    return file;
  }
});
