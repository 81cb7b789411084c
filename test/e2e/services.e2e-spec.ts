import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import * as path from 'node:path';
import { isolate, TEST_KEYS, type TestIsolation } from '@recon/testing';

const ROOT_DIR = path.resolve(__dirname, '../..');
const START_TIMEOUT_MS = 30_000;

const SERVICES = [
  { name: 'ledger', schema: 'ledger', checks: { postgres: 'up', nats: 'up' } },
  { name: 'bank-gateway', schema: 'bank_gateway', checks: { postgres: 'up', nats: 'up', redis: 'up' } },
  { name: 'reconciliation', schema: 'reconciliation', checks: { postgres: 'up', nats: 'up', redis: 'up' } },
  { name: 'audit', schema: 'audit', checks: { postgres: 'up', nats: 'up' } },
] as const;

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  return port;
}

async function waitForReady(url: string, child: ChildProcess, output: () => string): Promise<Response> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}: ${output()}`);
    try {
      const response = await fetch(url);
      if (response.status === 200) return response;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not ready within ${START_TIMEOUT_MS} ms: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.each(SERVICES)('the $name service as a process', ({ name, schema, checks }) => {
  let isolation: TestIsolation;
  let child: ChildProcess;
  let baseUrl: string;
  let output = '';

  beforeAll(async () => {
    isolation = isolate(schema);
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [path.join(ROOT_DIR, 'bin/run.js'), `apps/${name}/src/main.ts`], {
      cwd: ROOT_DIR,
      env: { ...process.env, ...isolation.env({ HTTP_PORT: String(port), LOG_LEVEL: 'info' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitForReady(`${baseUrl}/health/ready`, child, () => output);
  });

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    await isolation?.cleanup();
  });

  it('is ready with every dependency it uses', async () => {
    const response = await fetch(`${baseUrl}/health/ready`);
    expect(await response.json()).toEqual({ status: 'ok', checks });
  });

  it('serves OpenAPI and guards everything else', async () => {
    expect((await fetch(`${baseUrl}/docs/openapi.json`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${baseUrl}/metrics`, { headers: { 'X-Api-Key': TEST_KEYS.integrator } })).status).toBe(403);
    const metrics = await fetch(`${baseUrl}/metrics`, { headers: { 'X-Api-Key': TEST_KEYS.service } });
    expect(metrics.status).toBe(200);
  });

  it('logs structured JSON and stops cleanly on SIGTERM', async () => {
    const firstLine = output.split('\n').find((line) => line.startsWith('{'));
    expect(JSON.parse(firstLine ?? '{}')).toMatchObject({ service: name, level: 'info' });
    child.kill('SIGTERM');
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    // Nest closes the application (relay, connections) and then re-raises the signal it handled.
    expect(code === 0 || signal === 'SIGTERM').toBe(true);
    expect(output).not.toMatch(/"level":"(error|fatal)"/);
  });
});
