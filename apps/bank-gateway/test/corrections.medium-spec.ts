import type { JetStreamManager } from '@nats-io/jetstream';
import { streamNameFor } from '@recon/messaging';
import { TEST_KEYS, type TestIsolation } from '@recon/testing';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import request from 'supertest';
import { GatewayTestApp } from './gateway-test-app';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, 'fixtures', name));
const WAIT_MS_MAX = 10_000;

/** Corrections: a new version of a statement accepted over the published one, and quarantined lines announced. */
describe('bank-gateway corrections (accept_new, bank.line.retracted, bank.line.rejected)', () => {
  let gateway: GatewayTestApp;
  let isolation: TestIsolation;
  let http: ReturnType<typeof request>;
  let admin: Client;
  let jsm: JetStreamManager;

  const upload = (content: Buffer | string, query = '') =>
    http
      .post(`/v1/statements${query}`)
      .set('X-Api-Key', TEST_KEYS.integrator)
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.isBuffer(content) ? content : Buffer.from(content));
  const get = (url: string) => http.get(url).set('X-Api-Key', TEST_KEYS.ops);
  const rows = async <T>(sql: string, params: unknown[] = []) => (await admin.query(sql.replaceAll('{s}', isolation.schema), params)).rows as T[];
  const outbox = (subject: string) =>
    rows<{ message_id: string; payload: Record<string, unknown> }>(`SELECT message_id, payload FROM {s}.outbox_messages WHERE subject = $1 ORDER BY position`, [
      subject,
    ]);
  const resolve = (findingId: string, key: string, body: object) => http.post(`/v1/findings/${findingId}/resolve`).set('X-Api-Key', key).send(body);
  const waitForRelay = async () => {
    const started = Date.now();
    while ((await rows<{ count: string }>(`SELECT count(*) FROM {s}.outbox_messages WHERE published_at IS NULL`))[0]!.count !== '0') {
      if (Date.now() - started > WAIT_MS_MAX) throw new Error('the outbox relay did not publish in time');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const auditOf = async (action: string) =>
    rows<{ payload: { details: Record<string, unknown>; actor: { id: string; role: string } } }>(
      `SELECT payload FROM {s}.outbox_messages WHERE subject LIKE 'audit.%' AND payload->>'action' = $1 ORDER BY position`,
      [action],
    );

  beforeAll(async () => {
    gateway = await GatewayTestApp.start({ env: { GATEWAY_PULL_ENABLED: 'false' } });
    ({ isolation, http, admin, jsm } = gateway);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('accept_new retracts the published version and publishes the held one, once, in one transaction', async () => {
    const original = fixture('statement-a.camt053.xml').toString('utf8').replace('GW-STMT-001', 'GW-STMT-ACC');
    const first = await upload(original).expect(201);
    const firstId = first.body.fileId as string;
    const firstLines = (await get(`/v1/files/${firstId}/lines`).expect(200)).body.lines as { lineId: string; lineNo: number }[];
    expect(firstLines).toHaveLength(3);

    const corrected = original.replace('<Amt Ccy="EUR">22.30</Amt>', '<Amt Ccy="EUR">23.30</Amt>').replace('1077.70', '1076.70');
    const second = await upload(corrected).expect(201);
    const secondId = second.body.fileId as string;
    expect(second.body.parse).toMatchObject({ accepted: 0, held: 3 });
    const findingId = second.body.parse.findings[0].findingId as string;
    const receivedBefore = (await outbox('bank.line.received')).length;

    // Publishing a second version of money needs an approver (or admin), with a reason.
    expect((await resolve(findingId, TEST_KEYS.ops, { resolution: 'accept_new', reason: 'x' }).expect(403)).body.error).toBe('FINDING.ROLE_REQUIRED');
    expect((await resolve(findingId, TEST_KEYS.integrator, { resolution: 'accept_new', reason: 'x' }).expect(403)).body.error).toBe('FINDING.ROLE_REQUIRED');
    await resolve(findingId, TEST_KEYS.approver, { resolution: 'accept_new', reason: ' ' }).expect(400);
    expect((await resolve(findingId, TEST_KEYS.approver, { resolution: 'dismissed', reason: 'x' }).expect(403)).body.error).toBe('FINDING.ROLE_REQUIRED');

    const accepted = await resolve(findingId, TEST_KEYS.approver, { resolution: 'accept_new', reason: 'the bank corrected entry 2' }).expect(201);
    expect(accepted.body).toMatchObject({
      findingId,
      resolution: 'accept_new',
      alreadyResolved: false,
      retractedFileId: firstId,
      retractedLines: 3,
      releasedLines: 3,
    });

    const retracted = await outbox('bank.line.retracted');
    expect(retracted).toHaveLength(1);
    expect(retracted[0]!.payload).toMatchObject({
      findingId,
      fileId: firstId,
      account: 'DE89370400440532013000',
      statementId: 'GW-STMT-ACC',
      sequence: '1',
      part: 1,
      parts: 1,
      replacedByFileId: secondId,
      reason: 'the bank corrected entry 2',
      retractedBy: 'dev-approver',
    });
    expect([...(retracted[0]!.payload.lineIds as string[])].sort()).toEqual(firstLines.map((line) => line.lineId).sort());
    const released = (await outbox('bank.line.received')).slice(receivedBefore);
    expect(released.map((event) => event.payload.fileId)).toEqual([secondId, secondId, secondId]);
    expect(released.map((event) => event.payload.amount).sort()).toEqual(['-23.30', '0.00', '100.00']);
    expect((await outbox('bank.statement.received')).filter((event) => event.payload.fileId === secondId)).toEqual([
      expect.objectContaining({ payload: expect.objectContaining({ statementId: 'GW-STMT-ACC', entryCount: 3, rejectedCount: 0 }) }),
    ]);

    // Both versions stay stored; the listing says which is which.
    const oldLines = (await get(`/v1/files/${firstId}/lines`).expect(200)).body.lines as Record<string, unknown>[];
    expect(oldLines.every((line) => line.retractedByFindingId === findingId && line.heldByFindingId === undefined)).toBe(true);
    const newLines = (await get(`/v1/files/${secondId}/lines`).expect(200)).body.lines as Record<string, unknown>[];
    expect(newLines.every((line) => line.releasedByFindingId === findingId && line.heldByFindingId === undefined)).toBe(true);
    expect((await get(`/v1/files/${firstId}`).expect(200)).body).toMatchObject({
      retractedLineCount: 3,
      statements: [expect.objectContaining({ retractedByFindingId: findingId })],
    });
    expect((await get('/v1/findings?status=resolved').expect(200)).body.findings).toEqual([
      expect.objectContaining({
        findingId,
        resolution: 'accept_new',
        resolvedBy: 'dev-approver',
        retractedFileId: firstId,
        retractedLines: 3,
        releasedLines: 3,
      }),
    ]);
    const [audit] = await auditOf('bank-gateway.finding.resolve');
    expect(audit!.payload).toMatchObject({
      actor: { id: 'dev-approver', role: 'approver' },
      details: { resolution: 'accept_new', retractedFileId: firstId, retractedLines: 3, releasedLines: 3 },
    });

    // A retry answers the same outcome and writes nothing; another resolution is refused.
    const eventsBefore = (await rows<{ count: string }>('SELECT count(*) FROM {s}.outbox_messages'))[0]!.count;
    expect((await resolve(findingId, TEST_KEYS.approver, { resolution: 'accept_new', reason: 'retry' }).expect(201)).body).toMatchObject({
      alreadyResolved: true,
      retractedFileId: firstId,
      retractedLines: 3,
      releasedLines: 3,
    });
    expect((await rows<{ count: string }>('SELECT count(*) FROM {s}.outbox_messages'))[0]!.count).toBe(eventsBefore);
    expect((await resolve(findingId, TEST_KEYS.ops, { resolution: 'dismissed', reason: 'late' }).expect(409)).body.error).toBe('FINDING.ALREADY_RESOLVED');

    // The accepted version is now the statement of record: a third version is held against it, not the retracted one.
    const third = await upload(corrected.replace('<Amt Ccy="EUR">100.00</Amt>', '<Amt Ccy="EUR">100.01</Amt>')).expect(201);
    expect(third.body.parse).toMatchObject({ accepted: 0, held: 3, findings: [expect.objectContaining({ otherFileId: secondId })] });
    // Reprocessing the retracted file publishes nothing again.
    const reprocessed = await http.post(`/v1/files/${firstId}/reprocess`).set('X-Api-Key', TEST_KEYS.integrator).send({}).expect(200);
    expect(reprocessed.body.parse).toMatchObject({ accepted: 0, duplicates: 3 });

    await waitForRelay();
    const stream = await jsm.streams.info(streamNameFor(isolation.namespace, 'BANK'));
    // 2 statements + 6 lines + 1 retraction reached JetStream (the held third version did not).
    expect(stream.state.messages).toBe(9);
  });

  it('accept_new of an unexpected-account finding publishes the held lines and retracts nothing', async () => {
    const connection = {
      name: 'acme-accept',
      bankId: 'COBADEFFXXX',
      custodyAccount: 'DE02120300000000202051',
      format: 'auto',
      encoding: 'auto',
      transport: { kind: 'upload' },
    };
    await http.post('/v1/connections').set('X-Api-Key', TEST_KEYS.integrator).send(connection).expect(201);
    const response = await upload(fixture('statement-b.mt940'), '?connection=acme-accept').expect(201);
    expect(response.body.parse).toMatchObject({ accepted: 0, held: 2, findings: [expect.objectContaining({ kind: 'unexpected_account' })] });
    const findingId = response.body.parse.findings[0].findingId as string;
    const accepted = await resolve(findingId, TEST_KEYS.admin, { resolution: 'accept_new', reason: 'the connection also serves this account' }).expect(201);
    expect(accepted.body).toMatchObject({ resolution: 'accept_new', retractedLines: 0, releasedLines: 2 });
    expect(accepted.body.retractedFileId).toBeUndefined();
    expect((await outbox('bank.line.retracted')).filter((event) => event.payload.findingId === findingId)).toEqual([]);
    expect((await outbox('bank.line.received')).filter((event) => event.payload.fileId === response.body.fileId)).toHaveLength(2);
    // Its quarantined line was announced when the file arrived, with the statement it sat in.
    expect((await outbox('bank.line.rejected')).filter((event) => event.payload.fileId === response.body.fileId)).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({
          lineNo: 9,
          account: 'NL91ABNA0417164300',
          currency: 'EUR',
          statementId: 'GW940-0001',
          raw: ':61:2501030103C1X,00NTRFBROKEN//GW940REF3',
          reason: expect.stringMatching(/decimal comma/),
        }),
      }),
    ]);
    expect((await get('/v1/quarantine?status=open').expect(200)).body.items).toEqual(
      expect.arrayContaining([expect.objectContaining({ fileId: response.body.fileId, account: 'NL91ABNA0417164300', currency: 'EUR' })]),
    );
  });

  it('clips the raw text of bank.line.rejected to the contract in UTF-16 units, never splitting a surrogate pair', async () => {
    const emoji = '\u{1F600}'.repeat(600); // 600 characters for Postgres, 1,200 UTF-16 units for the contract
    const csv = `date,amount,currency,account,description\n2025-01-04,10.00,EUR,DE02120300000000202051,ok\n2025-01-04,${emoji},EUR,DE02120300000000202051,bad\n`;
    const response = await upload(csv, '?format=csv:generic').expect(201);
    expect(response.body.parse).toMatchObject({ accepted: 1, rejected: 1 });
    const [event] = (await outbox('bank.line.rejected')).filter((item) => item.payload.fileId === response.body.fileId);
    const raw = event!.payload.raw as string;
    // '2025-01-04,' is 11 units, so unit 1,000 would split a pair: the pair is left out whole.
    expect(raw.length).toBe(999);
    expect(raw.endsWith('\u{1F600}')).toBe(true);
  });

  it('publishes bank.line.rejected once per quarantined line, and bank.line.rejection-resolved when a reprocess reads it', async () => {
    const first = await upload(fixture('statement-d.two-profiles.csv'), '?format=csv:generic').expect(201);
    const fileId = first.body.fileId as string;
    expect(first.body.parse).toMatchObject({ accepted: 1, rejected: 1 });
    const rejected = (await outbox('bank.line.rejected')).filter((event) => event.payload.fileId === fileId);
    expect(rejected).toHaveLength(1);
    const [quarantined] = (await get(`/v1/quarantine?file=${fileId}`).expect(200)).body.items as { quarantineId: string; lineNo: number }[];
    expect(rejected[0]!.payload).toMatchObject({ quarantineId: quarantined!.quarantineId, lineNo: 3, parseId: first.body.parse.parseId });

    // Still unreadable with the same profile: no second event.
    await http.post(`/v1/files/${fileId}/reprocess`).set('X-Api-Key', TEST_KEYS.integrator).send({}).expect(200);
    expect((await outbox('bank.line.rejected')).filter((event) => event.payload.fileId === fileId)).toHaveLength(1);
    expect((await outbox('bank.line.rejection-resolved')).filter((event) => event.payload.fileId === fileId)).toHaveLength(0);

    const fixed = await http.post(`/v1/files/${fileId}/reprocess`).set('X-Api-Key', TEST_KEYS.integrator).send({ profile: 'us-debit-credit' }).expect(200);
    expect(fixed.body.parse).toMatchObject({ resolved: 1 });
    expect((await outbox('bank.line.rejection-resolved')).filter((event) => event.payload.fileId === fileId)).toEqual([
      expect.objectContaining({
        payload: expect.objectContaining({ quarantineId: quarantined!.quarantineId, lineNo: 3, resolvedByParseId: fixed.body.parse.parseId }),
      }),
    ]);
    await waitForRelay();
  });
});
