import type { JetStreamManager } from '@nats-io/jetstream';
import { streamNameFor } from '@recon/messaging';
import { TEST_KEYS, type TestIsolation } from '@recon/testing';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import request from 'supertest';
import { GatewayTestApp } from './gateway-test-app';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, 'fixtures', name));
const UPLOAD_BYTES_MAX = 64 * 1024;
const WAIT_MS_MAX = 10_000;

describe('bank-gateway ingestion over HTTP', () => {
  let gateway: GatewayTestApp;
  let isolation: TestIsolation;
  let http: ReturnType<typeof request>;
  let admin: Client;
  let jsm: JetStreamManager;

  const upload = (content: Buffer | string, query = '', key: string = TEST_KEYS.integrator, contentType = 'application/octet-stream') =>
    http
      .post(`/v1/statements${query}`)
      .set('X-Api-Key', key)
      .set('Content-Type', contentType)
      .send(Buffer.isBuffer(content) ? content : Buffer.from(content));
  const get = (url: string) => http.get(url).set('X-Api-Key', TEST_KEYS.ops);
  const count = async (sql: string, params: unknown[] = []) => Number((await admin.query(sql.replaceAll('{s}', isolation.schema), params)).rows[0].count);
  const bankMessages = async () => {
    const info = await jsm.streams.info(streamNameFor(isolation.namespace, 'BANK'));
    return info.state.messages;
  };
  const outboxPending = () => count(`SELECT count(*) FROM {s}.outbox_messages WHERE published_at IS NULL`);
  const waitForRelay = async () => {
    const started = Date.now();
    while ((await outboxPending()) > 0) {
      if (Date.now() - started > WAIT_MS_MAX) throw new Error('the outbox relay did not publish in time');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const auditActions = async () =>
    (await admin.query(`SELECT payload->>'action' AS action FROM ${isolation.schema}.outbox_messages WHERE subject LIKE 'audit.%' ORDER BY position`)).rows.map(
      (row) => row.action as string,
    );

  beforeAll(async () => {
    gateway = await GatewayTestApp.start({ env: { GATEWAY_UPLOAD_BYTES_MAX: String(UPLOAD_BYTES_MAX), GATEWAY_PULL_ENABLED: 'false' } });
    ({ isolation, http, admin, jsm } = gateway);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  describe('authentication, roles and limits', () => {
    it('refuses a missing credential with 401 and a reading role with 403', async () => {
      await http.post('/v1/statements').set('Content-Type', 'application/octet-stream').send(fixture('statement-b.mt940')).expect(401);
      await upload(fixture('statement-b.mt940'), '', TEST_KEYS.auditor).expect(403);
      await http.get('/v1/files').expect(401);
      await http.post('/v1/connections').set('X-Api-Key', TEST_KEYS.ops).send({}).expect(403);
      expect(await count('SELECT count(*) FROM {s}.raw_files')).toBe(0);
    });

    it('refuses a file over GATEWAY_UPLOAD_BYTES_MAX with 413, raw and multipart', async () => {
      const big = Buffer.alloc(UPLOAD_BYTES_MAX + 1, 0x41);
      const raw = await upload(big).expect(413);
      expect(raw.body).toMatchObject({ statusCode: 413, error: 'payload_too_large' });
      const multipart = await http.post('/v1/statements').set('X-Api-Key', TEST_KEYS.integrator).attach('file', big, 'big.txt').expect(413);
      expect(multipart.body.error).toBe('payload_too_large');
      expect(await count('SELECT count(*) FROM {s}.raw_files')).toBe(0);
    });

    it('refuses an empty body, an unknown format option and an unknown connection with 400', async () => {
      expect((await upload(Buffer.alloc(0)).expect(400)).body.message).toMatch(/no statement file/);
      expect((await upload(fixture('statement-b.mt940'), '?format=mt999').expect(400)).body.message).toMatch(/format/);
      expect((await upload(fixture('statement-b.mt940'), '?connection=nope').expect(400)).body.error).toBe('CONNECTION.NOT_FOUND');
      await http.post('/v1/statements').set('X-Api-Key', TEST_KEYS.integrator).field('other', 'x').expect(400);
    });
  });

  describe('upload', () => {
    let camtFileId: string;

    it('stores a camt.053 file whole, persists its lines and publishes bank.line.received once per line', async () => {
      const content = fixture('statement-a.camt053.xml');
      const response = await upload(content, '?fileName=a.xml', TEST_KEYS.integrator, 'application/xml').expect(201);
      expect(response.body).toMatchObject({
        duplicate: false,
        sizeBytes: content.length,
        parse: { format: 'camt.053', statements: 1, accepted: 3, duplicates: 0, held: 0, rejected: 0 },
      });
      camtFileId = response.body.fileId;
      const stored = await get(`/v1/files/${camtFileId}/content`).expect(200);
      expect(Buffer.compare(stored.body as Buffer, content)).toBe(0);
      const lines = await get(`/v1/files/${camtFileId}/lines`).expect(200);
      expect(lines.body.lines.map((line: { lineNo: number; amount: string }) => [line.lineNo, line.amount])).toEqual([
        [1, '100.00'],
        [2, '-22.30'],
        [3, '0.00'],
      ]);
      await waitForRelay();
      expect(await bankMessages()).toBe(4);
      expect(await count(`SELECT count(*) FROM {s}.outbox_messages WHERE subject = 'bank.line.received'`)).toBe(3);
      const [event] = (
        await admin.query(`SELECT payload FROM ${isolation.schema}.outbox_messages WHERE subject = 'bank.line.received' ORDER BY position LIMIT 1`)
      ).rows;
      expect(event.payload).toMatchObject({
        fileId: camtFileId,
        account: 'DE89370400440532013000',
        statementId: 'GW-STMT-001',
        lineNo: 1,
        amount: '100.00',
        endToEndId: 'PLAT-D-1',
      });
      expect(await auditActions()).toContain('bank-gateway.file.ingest');
    });

    it('recognises the same bytes delivered again: 200, the same file id, no new lines or events', async () => {
      const again = await upload(fixture('statement-a.camt053.xml')).expect(200);
      expect(again.body).toMatchObject({ fileId: camtFileId, duplicate: true });
      expect(await count('SELECT count(*) FROM {s}.raw_files')).toBe(1);
      expect(await count('SELECT count(*) FROM {s}.statement_lines')).toBe(3);
      await waitForRelay();
      expect(await bankMessages()).toBe(4);
      expect(await auditActions()).toContain('bank-gateway.file.receive-duplicate');
    });

    it('raises a finding for another file claiming the same statement, and holds its lines unpublished', async () => {
      const changed = fixture('statement-a.camt053.xml')
        .toString('utf8')
        .replace('<Amt Ccy="EUR">22.30</Amt>', '<Amt Ccy="EUR">23.30</Amt>')
        .replace('1077.70', '1076.70');
      const response = await upload(changed).expect(201);
      expect(response.body.parse).toMatchObject({ accepted: 0, held: 3, duplicates: 0 });
      expect(response.body.parse.findings).toEqual([
        expect.objectContaining({ kind: 'conflicting_statement', otherFileId: camtFileId, statementId: 'GW-STMT-001', sequence: '1' }),
      ]);
      const findings = await get('/v1/findings').expect(200);
      expect(findings.body.findings).toHaveLength(1);
      expect(findings.body.findings[0]).toMatchObject({ fileId: response.body.fileId, otherFileId: camtFileId, account: 'DE89370400440532013000' });
      const lines = await get(`/v1/files/${response.body.fileId}/lines`).expect(200);
      expect(lines.body.lines.every((line: { heldByFindingId?: string }) => line.heldByFindingId === findings.body.findings[0].findingId)).toBe(true);
      expect((await get(`/v1/files/${camtFileId}/lines`).expect(200)).body.lines[1].amount).toBe('-22.30');
      await waitForRelay();
      expect(await bankMessages()).toBe(4);
      expect(await auditActions()).toContain('bank-gateway.finding.raise');

      const findingId = findings.body.findings[0].findingId as string;
      const resolve = (key: string, body: object) => http.post(`/v1/findings/${findingId}/resolve`).set('X-Api-Key', key).send(body);
      await resolve(TEST_KEYS.auditor, { resolution: 'dismissed', reason: 'x' }).expect(403);
      await resolve(TEST_KEYS.ops, { resolution: 'ignored', reason: 'x' }).expect(400);
      expect((await resolve(TEST_KEYS.ops, { resolution: 'dismissed', reason: 'bank confirmed a test send' }).expect(201)).body).toMatchObject({
        findingId,
        resolution: 'dismissed',
      });
      expect((await resolve(TEST_KEYS.ops, { resolution: 'acknowledged', reason: 'again' }).expect(409)).body.error).toBe('FINDING.ALREADY_RESOLVED');
      expect((await get('/v1/findings?status=resolved').expect(200)).body.findings).toEqual([
        expect.objectContaining({ findingId, resolvedBy: 'dev-ops', resolutionReason: 'bank confirmed a test send' }),
      ]);
      expect((await get('/v1/findings?status=open').expect(200)).body.findings).toEqual([]);
      expect(await auditActions()).toContain('bank-gateway.finding.resolve');
    });

    it('quarantines the lines it cannot read with reason, raw text and line number (multipart upload)', async () => {
      const response = await http
        .post('/v1/statements')
        .set('X-Api-Key', TEST_KEYS.service)
        .attach('file', fixture('statement-b.mt940'), 'b.mt940')
        .expect(201);
      expect(response.body.parse).toMatchObject({ format: 'mt940', accepted: 2, rejected: 1 });
      const quarantine = await get(`/v1/quarantine?file=${response.body.fileId}`).expect(200);
      expect(quarantine.body.items).toEqual([
        expect.objectContaining({
          fileId: response.body.fileId,
          lineNo: 9,
          raw: ':61:2501030103C1X,00NTRFBROKEN//GW940REF3',
          reason: expect.stringMatching(/decimal comma/),
        }),
      ]);
      const file = await get(`/v1/files/${response.body.fileId}`).expect(200);
      expect(file.body).toMatchObject({ fileName: 'b.mt940', lineCount: 2, openQuarantineCount: 1 });
      expect(await auditActions()).toContain('bank-gateway.quarantine.add');
    });

    it('gives one owner when the same file, or two conflicting files, arrive at the same time', async () => {
      const csv = fixture('statement-c.generic.csv');
      const same = await Promise.all([upload(csv), upload(csv)]);
      expect(same.map((response) => response.status).sort()).toEqual([200, 201]);
      expect(new Set(same.map((response) => response.body.fileId)).size).toBe(1);
      expect(await count('SELECT count(*) FROM {s}.statement_lines WHERE file_id = $1', [same[0]!.body.fileId])).toBe(2);

      const base = fixture('statement-a.camt053.xml').toString('utf8').replace('GW-STMT-001', 'GW-STMT-002');
      const variants = [base, base.replace('<Amt Ccy="EUR">100.00</Amt>', '<Amt Ccy="EUR">100.01</Amt>')];
      const racing = await Promise.all(variants.map((content) => upload(content).expect(201)));
      const parses = racing.map((response) => response.body.parse as { accepted: number; held: number; findings: unknown[] });
      expect(parses.map((parse) => [parse.accepted, parse.held]).sort()).toEqual([
        [0, 3],
        [3, 0],
      ]);
      expect(parses.flatMap((parse) => parse.findings)).toHaveLength(1);
    });

    it('quarantines a statement header that breaks the contract together with its entries', async () => {
      const longAccount = fixture('statement-b.mt940')
        .toString('utf8')
        .replace(':20:GW940-0001', ':20:GW940-LONG')
        .replace(':25:NL91ABNA0417164300', `:25:${'9'.repeat(70)}`);
      const response = await upload(longAccount).expect(201);
      expect(response.body.parse).toMatchObject({ statements: 1, accepted: 0, rejected: 4 });
      const page = (await get(`/v1/quarantine?file=${response.body.fileId}`).expect(200)).body.items as { lineNo: number; reason: string }[];
      const items = [...page].sort((a, b) => a.lineNo - b.lineNo);
      expect(items.map((item) => item.lineNo)).toEqual([0, 5, 7, 9]);
      expect(items[0]!.reason).toMatch(/^statement header 'GW940-LONG' refused: account: .*64/);
      expect(items[1]!.reason).toMatch(/^its statement header was refused/);
    });

    it('stores an unreadable file and answers 422 with its id', async () => {
      const response = await upload('this is not a bank statement\n', '', TEST_KEYS.integrator, 'text/plain').expect(422);
      expect(response.body).toMatchObject({ error: 'FILE.UNREADABLE', duplicate: false, message: expect.stringMatching(/not a recognised bank statement/) });
      expect((await get(`/v1/files/${response.body.fileId}`).expect(200)).body.parses[0].unreadableReason).toMatch(/not a recognised/);
      expect(await auditActions()).toContain('bank-gateway.file.unreadable');
    });
  });

  describe('reprocess', () => {
    it('re-parses a stored file with another CSV profile: no duplicates, quarantine resolved, only new lines published', async () => {
      await waitForRelay();
      const before = await bankMessages();
      const first = await upload(fixture('statement-d.two-profiles.csv'), '?format=csv:generic', TEST_KEYS.integrator, 'text/csv').expect(201);
      const fileId = first.body.fileId as string;
      expect(first.body.parse).toMatchObject({ accepted: 1, rejected: 1 });
      await waitForRelay();
      // The statement, its line, and bank.line.rejected for the line the generic profile cannot read.
      expect(await bankMessages()).toBe(before + 3);

      const same = await http.post(`/v1/files/${fileId}/reprocess`).set('X-Api-Key', TEST_KEYS.integrator).send({}).expect(200);
      expect(same.body.parse).toMatchObject({ accepted: 0, duplicates: 1, rejected: 1, resolved: 0 });
      expect((await get(`/v1/quarantine?file=${fileId}`).expect(200)).body.items).toHaveLength(1);

      const fixed = await http.post(`/v1/files/${fileId}/reprocess`).set('X-Api-Key', TEST_KEYS.integrator).send({ profile: 'us-debit-credit' }).expect(200);
      expect(fixed.body.parse).toMatchObject({ accepted: 1, duplicates: 1, rejected: 0, resolved: 1 });
      expect((await get(`/v1/quarantine?file=${fileId}`).expect(200)).body.items).toHaveLength(0);
      expect((await get(`/v1/quarantine?file=${fileId}&status=resolved`).expect(200)).body.items).toEqual([
        expect.objectContaining({ lineNo: 3, resolvedByParseId: fixed.body.parse.parseId }),
      ]);
      const lines = (await get(`/v1/files/${fileId}/lines`).expect(200)).body.lines;
      expect(lines.map((line: { lineNo: number; amount: string }) => [line.lineNo, line.amount])).toEqual([
        [2, '10.00'],
        [3, '-5.25'],
      ]);

      await http.post(`/v1/files/${fileId}/reprocess`).set('X-Api-Key', TEST_KEYS.integrator).send({ profile: 'us-debit-credit' }).expect(200);
      expect(await count('SELECT count(*) FROM {s}.statement_lines WHERE file_id = $1', [fileId])).toBe(2);
      await waitForRelay();
      // One more line, and the statement header of the second profile (another statement id).
      expect(await count(`SELECT count(*) FROM {s}.outbox_messages WHERE subject = 'bank.line.received' AND payload->>'fileId' = $1`, [fileId])).toBe(2);
      expect(await auditActions()).toEqual(expect.arrayContaining(['bank-gateway.file.reprocess', 'bank-gateway.quarantine.resolve']));
      await http.post(`/v1/files/${fileId}/reprocess`).set('X-Api-Key', TEST_KEYS.auditor).send({}).expect(403);
      await http.post(`/v1/files/${fileId}/reprocess`).set('X-Api-Key', TEST_KEYS.integrator).send({ format: 'nope' }).expect(400);
      await http.post('/v1/files/0190a0a0-0000-7000-8000-000000000000/reprocess').set('X-Api-Key', TEST_KEYS.integrator).send({}).expect(404);
    });

    it('pages files and quarantine with a cursor', async () => {
      const page = await get('/v1/files?limit=2').expect(200);
      expect(page.body.files).toHaveLength(2);
      const next = await get(`/v1/files?limit=2&after=${page.body.nextAfter}`).expect(200);
      expect(next.body.files[0].fileId < page.body.files[1].fileId).toBe(true);
      await get('/v1/quarantine?limit=0').expect(400);
    });
  });
});
