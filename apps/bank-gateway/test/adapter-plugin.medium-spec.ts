import { TEST_KEYS, type TestIsolation } from '@recon/testing';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import request from 'supertest';
import { startMetricsOnlyTelemetry } from '@recon/observability';
import { createBankGatewayApp } from '../src/bank-gateway.app';
import { loadBankGatewayConfig, loadGatewaySettings } from '../src/bank-gateway.config';
import { GatewayTestApp } from './gateway-test-app';

const PIPE_BANK = path.join(__dirname, 'fixtures', 'adapters', 'pipe-bank.adapter.js');
const SAMPLE = fs.readFileSync(path.join(__dirname, 'fixtures', 'statement-e.pipe-bank.txt'), 'utf8');
const WAIT_MS_MAX = 15_000;

/** A third-party adapter named in GATEWAY_ADAPTER_MODULES, loaded at boot and used by a connection's scheduled pull. */
describe('bank-gateway with a third-party adapter module', () => {
  let gateway: GatewayTestApp;
  let isolation: TestIsolation;
  let http: ReturnType<typeof request>;
  let admin: Client;

  const asIntegrator = (test: request.Test) => test.set('X-Api-Key', TEST_KEYS.integrator);
  const rows = async <T>(sql: string, params: unknown[] = []) => (await admin.query(sql.replaceAll('{s}', isolation.schema), params)).rows as T[];
  const waitFor = async (what: string, condition: () => Promise<boolean>) => {
    const started = Date.now();
    while (!(await condition())) {
      if (Date.now() - started > WAIT_MS_MAX) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    gateway = await GatewayTestApp.start({ env: { GATEWAY_PULL_BACKOFF_MS: '100', GATEWAY_ADAPTER_MODULES: PIPE_BANK } });
    ({ isolation, http, admin } = gateway);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('does not start with a module that is not an adapter, and says which and why', async () => {
    const env = isolation.env({ GATEWAY_ADAPTER_MODULES: `${PIPE_BANK},${__filename.replace(/\.ts$/, '.missing.js')}` });
    await expect(createBankGatewayApp(loadBankGatewayConfig(env), startMetricsOnlyTelemetry(), { settings: loadGatewaySettings(env) })).rejects.toThrow(
      /^GATEWAY_ADAPTER_MODULES: adapter module .*adapter-plugin\.medium-spec\.missing\.js: no such file/,
    );
  });

  it('refuses a connection naming an adapter that is not loaded', async () => {
    const response = await asIntegrator(http.post('/v1/connections'))
      .send({ name: 'nowhere-bank', bankId: 'NOWHEREXXX', custodyAccount: 'NL91ABNA0417164300', transport: { kind: 'adapter', adapter: 'nowhere' } })
      .expect(400);
    expect(response.body).toMatchObject({
      error: 'CONNECTION.UNKNOWN_ADAPTER',
      message: "no adapter 'nowhere' is loaded (GATEWAY_ADAPTER_MODULES gives pipe-bank)",
    });
  });

  it("pulls through the adapter's fetch, parses with its parse, and takes each file once", async () => {
    const connection = {
      name: 'pipe-bank-eur',
      bankId: 'PIPEBANKXXX',
      custodyAccount: 'NL91ABNA0417164300',
      transport: { kind: 'adapter', adapter: 'pipe-bank', options: { files: JSON.stringify({ '2025-01-06.txt': SAMPLE }) } },
    };
    const saved = await asIntegrator(http.post('/v1/connections')).send(connection).expect(201);
    const connectionId = saved.body.connectionId as string;
    await asIntegrator(http.post(`/v1/connections/${connectionId}/pull`)).expect(202);
    await waitFor('the adapter file', async () => (await rows('SELECT 1 FROM {s}.raw_files WHERE connection_id = $1', [connectionId])).length === 1);
    const [file] = await rows<{ file_id: string; source: string; file_name: string }>(
      'SELECT file_id, source, file_name FROM {s}.raw_files WHERE connection_id = $1',
      [connectionId],
    );
    expect(file).toMatchObject({ source: 'adapter', file_name: '2025-01-06.txt' });
    const lines = (await http.get(`/v1/files/${file!.file_id}/lines`).set('X-Api-Key', TEST_KEYS.ops).expect(200)).body.lines as Record<string, unknown>[];
    expect(lines.map((line) => [line.lineNo, line.amount, line.bankRef])).toEqual([
      [2, '120.00', 'PB0106A'],
      [3, '-20.50', 'PB0106B'],
    ]);
    const quarantine = (await http.get(`/v1/quarantine?file=${file!.file_id}`).set('X-Api-Key', TEST_KEYS.ops).expect(200)).body.items;
    expect(quarantine).toEqual([expect.objectContaining({ lineNo: 4, reason: 'not <date>|<amount>|<reference>|<text>', account: 'NL91ABNA0417164300' })]);
    const statement = (await rows<{ format: string }>('SELECT format FROM {s}.statements WHERE file_id = $1', [file!.file_id]))[0];
    expect(statement?.format).toBe('csv:pipe-bank');

    // Pulled again: the adapter asks alreadyFetched and yields nothing new.
    await asIntegrator(http.post(`/v1/connections/${connectionId}/pull`)).expect(202);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await rows('SELECT 1 FROM {s}.raw_files WHERE connection_id = $1', [connectionId])).toHaveLength(1);

    // A reprocess of its file is read by the adapter again (the library does not know this dialect).
    const reprocessed = await asIntegrator(http.post(`/v1/files/${file!.file_id}/reprocess`))
      .send({})
      .expect(200);
    expect(reprocessed.body.parse).toMatchObject({ format: 'csv:pipe-bank', duplicates: 2, rejected: 1 });
  });
});
