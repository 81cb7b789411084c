import { bankLineReceivedV1Schema } from '@recon/contracts';
import { TEST_KEYS, type TestIsolation } from '@recon/testing';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import request from 'supertest';
import { PUBLISHED_LINES_FETCH_ROWS } from '../src/ingestion/application/published-lines.query';
import { GatewayTestApp } from './gateway-test-app';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, 'fixtures', name)).toString('utf8');
const MT940_ACCOUNT = 'NL91ABNA0417164300';
const CAMT_ACCOUNT = 'DE89370400440532013000';
/** More lines of one day than two cursor pages hold. */
const BULK_LINES = 2 * PUBLISHED_LINES_FETCH_ROWS + 137;

/** An MT940 statement of MT940_ACCOUNT; each entry `[valueDate YYMMDD, bookingDate MMDD, amount]`. */
function mt940(reference: string, entries: readonly [string, string, string][]): string {
  return [
    `:20:${reference}`,
    `:25:${MT940_ACCOUNT}`,
    ':28C:7/1',
    ':60F:C250102EUR0,00',
    ...entries.flatMap(([value, booking, amount], index) => [
      `:61:${value}${booking}C${amount}NTRF${reference}-${index + 1}//${reference}-B${index + 1}`,
      `:86:line ${index + 1}`,
    ]),
    ':62F:C250103EUR0,00',
    '',
  ].join('\n');
}

/** GET /v1/lines: the published lines of an account and business day, streamed (reconciliation's completeness check). */
describe('bank-gateway: published lines of an account and day', () => {
  let gateway: GatewayTestApp;
  let isolation: TestIsolation;
  let http: ReturnType<typeof request>;
  let admin: Client;

  const upload = (content: string) =>
    http.post('/v1/statements').set('X-Api-Key', TEST_KEYS.integrator).set('Content-Type', 'application/octet-stream').send(Buffer.from(content)).expect(201);
  const rows = async <T>(sql: string, params: unknown[] = []) => (await admin.query(sql.replaceAll('{s}', isolation.schema), params)).rows as T[];
  /** The stream, parsed: every line before the last, and the last (the end marker). */
  const dayLines = async (account: string, date: string, key: string = TEST_KEYS.service) => {
    const response = await http
      .get(`/v1/lines?account=${account}&date=${date}`)
      .set('X-Api-Key', key)
      .buffer(true)
      .parse((res, callback) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => callback(null, text));
      })
      .expect(200)
      .expect('content-type', /application\/x-ndjson/);
    const parsed = (response.body as string)
      .split('\n')
      .filter((text) => text.length > 0)
      .map((text) => JSON.parse(text) as Record<string, unknown>);
    return { lines: parsed.slice(0, -1), end: parsed.at(-1) };
  };

  beforeAll(async () => {
    gateway = await GatewayTestApp.start({ env: { GATEWAY_PULL_ENABLED: 'false' } });
    ({ isolation, http, admin } = gateway);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('lists every line booked on the day, value-dated on it, or both, each once, as published; not other days or accounts', async () => {
    await upload(
      mt940('DAY-A', [
        ['250103', '0103', '1,00'], // booked and value-dated on the 3rd
        ['250102', '0103', '2,00'], // booked on the 3rd, back-valued to the 2nd
        ['250103', '0102', '3,00'], // booked on the 2nd, value-dated the 3rd
        ['250104', '0104', '4,00'], // another day
        ['250102', '0102', '5,00'], // another day
      ]),
    );
    await upload(fixture('statement-a.camt053.xml')); // another account
    const { lines, end } = await dayLines(MT940_ACCOUNT, '2025-01-03');
    expect(lines.map((line) => line.amount).sort()).toEqual(['1.00', '2.00', '3.00']);
    expect(end).toEqual({ end: true, lines: 3 });
    // Exactly the payload bank.line.received carried for each line.
    const published = await rows<{ payload: Record<string, unknown> }>(`SELECT payload FROM {s}.outbox_messages WHERE subject = 'bank.line.received'`);
    for (const line of lines) {
      expect(bankLineReceivedV1Schema.safeParse(line).success).toBe(true);
      expect(published.map((event) => event.payload)).toContainEqual(line);
    }
    expect((await dayLines(MT940_ACCOUNT, '2025-01-02')).lines.map((line) => line.amount).sort()).toEqual(['2.00', '3.00', '5.00']);
    expect((await dayLines(MT940_ACCOUNT, '2024-12-31')).end).toEqual({ end: true, lines: 0 });
    expect((await dayLines(CAMT_ACCOUNT, '2025-01-02')).lines).toHaveLength(3);
  });

  it('streams a day of more lines than a cursor page without repeating or losing one', async () => {
    await upload(
      mt940(
        'DAY-BULK',
        Array.from({ length: BULK_LINES }, (_, index) => ['250105', '0105', `${index + 1},00`] as [string, string, string]),
      ),
    );
    const { lines, end } = await dayLines(MT940_ACCOUNT, '2025-01-05');
    expect(end).toEqual({ end: true, lines: BULK_LINES });
    const ids = lines.map((line) => line.lineId as string);
    expect(new Set(ids).size).toBe(BULK_LINES);
    expect(new Set(lines.map((line) => line.amount))).toEqual(new Set(Array.from({ length: BULK_LINES }, (_, index) => `${index + 1}.00`)));
  });

  it('leaves out held lines, and retracted ones once another version is accepted (whose lines it then lists)', async () => {
    const original = fixture('statement-a.camt053.xml').replace('GW-STMT-001', 'GW-STMT-DAY');
    const first = (await upload(original)).body.fileId as string;
    const second = await upload(original.replace('<Amt Ccy="EUR">22.30</Amt>', '<Amt Ccy="EUR">23.30</Amt>').replace('1077.70', '1076.70'));
    expect(second.body.parse).toMatchObject({ accepted: 0, held: 3 });
    const ofDay = async () => (await dayLines(CAMT_ACCOUNT, '2025-01-02')).lines.filter((line) => line.statementId === 'GW-STMT-DAY');
    expect((await ofDay()).map((line) => line.fileId)).toEqual([first, first, first]);
    await http
      .post(`/v1/findings/${second.body.parse.findings[0].findingId as string}/resolve`)
      .set('X-Api-Key', TEST_KEYS.approver)
      .send({ resolution: 'accept_new', reason: 'the bank corrected entry 2' })
      .expect(201);
    const accepted = await ofDay();
    expect(accepted.map((line) => line.fileId)).toEqual([second.body.fileId, second.body.fileId, second.body.fileId]);
    expect(accepted.map((line) => line.amount).sort()).toEqual(['-23.30', '0.00', '100.00']);
  });

  it('validates its input, checks the role and records who read which day', async () => {
    await http.get(`/v1/lines?account=${MT940_ACCOUNT}&date=2025-01-03`).expect(401);
    await http.get(`/v1/lines?account=${MT940_ACCOUNT}&date=2025-01-03`).set('X-Api-Key', TEST_KEYS.approver).expect(403);
    await http.get(`/v1/lines?account=${MT940_ACCOUNT}&date=2025-02-30`).set('X-Api-Key', TEST_KEYS.service).expect(400);
    await http.get(`/v1/lines?date=2025-01-03`).set('X-Api-Key', TEST_KEYS.service).expect(400);
    await http.get(`/v1/lines?account=${MT940_ACCOUNT}&date=2025-01-03&limit=5`).set('X-Api-Key', TEST_KEYS.service).expect(400);
    await dayLines(MT940_ACCOUNT, '2025-01-03', TEST_KEYS.auditor);
    const audited = await rows<{ payload: { action: string; actor: { role: string }; details: Record<string, unknown> } }>(
      `SELECT payload FROM {s}.outbox_messages WHERE subject = 'audit.bank-gateway.lines.export' ORDER BY position`,
    );
    expect(audited.at(-1)?.payload).toMatchObject({
      action: 'bank-gateway.lines.export',
      actor: expect.objectContaining({ role: 'auditor' }),
      details: { account: MT940_ACCOUNT, date: '2025-01-03' },
    });
    expect(audited.filter((event) => event.payload.actor.role === 'service').length).toBeGreaterThanOrEqual(5);
  });
});
