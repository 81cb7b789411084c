import { TEST_KEYS, type TestIsolation } from '@recon/testing';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import { Server as SshServer, utils as sshUtils } from 'ssh2';
import request from 'supertest';
import { GatewayTestApp } from './gateway-test-app';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, 'fixtures', name));
const WAIT_MS_MAX = 15_000;
const EVERY_SECOND = '* * * * * *';
const BANK_TOKEN = 'bank-token-for-tests-only';
const SFTP_PASSWORD = 'sftp-password-for-tests-only';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface BankFile {
  readonly content: Buffer;
  readonly modifiedSeconds: number;
}

/** A bank's HTTPS endpoint: a JSON listing and the files, behind a bearer token, with a self-signed certificate. */
async function startHttpsBank(directory: string) {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      path.join(directory, 'key.pem'),
      '-out',
      path.join(directory, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  const files = new Map<string, BankFile>();
  const downloads = new Map<string, number>();
  let failuresToServe = 0;
  const server: HttpsServer = createHttpsServer(
    { key: fs.readFileSync(path.join(directory, 'key.pem')), cert: fs.readFileSync(path.join(directory, 'cert.pem')) },
    (req, res) => {
      if (req.headers.authorization !== `Bearer ${BANK_TOKEN}`) {
        res.writeHead(401).end();
        return;
      }
      if (failuresToServe > 0) {
        failuresToServe -= 1;
        res.writeHead(503).end();
        return;
      }
      if (req.url === '/statements/') {
        const listing = [...files.entries()].map(([name, file]) => ({ name, size: file.content.length, modified: String(file.modifiedSeconds) }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ files: listing }));
        return;
      }
      const name = decodeURIComponent((req.url ?? '').replace('/statements/', ''));
      const file = files.get(name);
      if (file === undefined) {
        res.writeHead(404).end();
        return;
      }
      if (req.method === 'GET') downloads.set(name, (downloads.get(name) ?? 0) + 1);
      res
        .writeHead(200, { 'content-type': 'application/octet-stream', 'last-modified': new Date(file.modifiedSeconds * 1000).toUTCString() })
        .end(file.content);
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    files,
    downloads,
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/statements/`,
    failNext: (count: number) => (failuresToServe = count),
  };
}

/** A bank's SFTP server in process (ssh2's Server): one directory, password login, counts downloads. */
async function startSftpBank() {
  const hostKey = sshUtils.generateKeyPairSync('ed25519');
  const files = new Map<string, BankFile>();
  const downloads = new Map<string, number>();
  const { STATUS_CODE } = sshUtils.sftp;
  const attrsOf = (file: BankFile) => ({ mode: 0o100644, uid: 0, gid: 0, size: file.content.length, atime: file.modifiedSeconds, mtime: file.modifiedSeconds });
  const server = new SshServer({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (context) => {
      if (context.method === 'password' && context.username === 'acme' && context.password === SFTP_PASSWORD) context.accept();
      else context.reject(['password']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          const handles = new Map<number, { kind: 'dir'; listed: boolean } | { kind: 'file'; name: string }>();
          let nextHandle = 1;
          const handleOf = (buffer: Buffer) => handles.get(buffer.readUInt32BE(0));
          const newHandle = (value: { kind: 'dir'; listed: boolean } | { kind: 'file'; name: string }) => {
            const id = nextHandle++;
            handles.set(id, value);
            const buffer = Buffer.alloc(4);
            buffer.writeUInt32BE(id);
            return buffer;
          };
          sftp.on('REALPATH', (reqid, requested) => sftp.name(reqid, [{ filename: requested === '.' ? '/' : requested, longname: '', attrs: {} as never }]));
          sftp.on('STAT', (reqid, requested) => {
            const file = files.get(path.posix.basename(requested));
            if (requested === '/outbox' || requested === '/') sftp.attrs(reqid, { mode: 0o40755, uid: 0, gid: 0, size: 0, atime: 0, mtime: 0 });
            else if (file === undefined) sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
            else sftp.attrs(reqid, attrsOf(file));
          });
          sftp.on('LSTAT', (reqid, requested) => sftp.emit('STAT', reqid, requested));
          sftp.on('OPENDIR', (reqid, requested) => {
            if (requested !== '/outbox') sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
            else sftp.handle(reqid, newHandle({ kind: 'dir', listed: false }));
          });
          sftp.on('READDIR', (reqid, handle) => {
            const state = handleOf(handle);
            if (state?.kind !== 'dir' || state.listed) return sftp.status(reqid, STATUS_CODE.EOF);
            state.listed = true;
            sftp.name(
              reqid,
              [...files.entries()].map(([name, file]) => ({
                filename: name,
                longname: `-rw-r--r--    1 0        0        ${file.content.length} Jan  1 00:00 ${name}`,
                attrs: attrsOf(file),
              })),
            );
          });
          sftp.on('OPEN', (reqid, filename) => {
            const name = path.posix.basename(filename);
            if (!files.has(name)) return sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE);
            downloads.set(name, (downloads.get(name) ?? 0) + 1);
            sftp.handle(reqid, newHandle({ kind: 'file', name }));
          });
          sftp.on('FSTAT', (reqid, handle) => {
            const state = handleOf(handle);
            const file = state?.kind === 'file' ? files.get(state.name) : undefined;
            if (file === undefined) sftp.status(reqid, STATUS_CODE.FAILURE);
            else sftp.attrs(reqid, attrsOf(file));
          });
          sftp.on('READ', (reqid, handle, offset, length) => {
            const state = handleOf(handle);
            const file = state?.kind === 'file' ? files.get(state.name) : undefined;
            if (file === undefined) return sftp.status(reqid, STATUS_CODE.FAILURE);
            if (offset >= file.content.length) return sftp.status(reqid, STATUS_CODE.EOF);
            sftp.data(reqid, file.content.subarray(offset, offset + length));
          });
          sftp.on('CLOSE', (reqid, handle) => {
            handles.delete(handle.readUInt32BE(0));
            sftp.status(reqid, STATUS_CODE.OK);
          });
        });
      });
    });
    client.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, files, downloads, port: (server.address() as AddressInfo).port };
}

describe('bank-gateway scheduled pulls', () => {
  let gateway: GatewayTestApp;
  let isolation: TestIsolation;
  let http: ReturnType<typeof request>;
  let admin: Client;
  let directory: string;
  let https: Awaited<ReturnType<typeof startHttpsBank>>;
  let sftp: Awaited<ReturnType<typeof startSftpBank>>;

  const asIntegrator = (test: request.Test) => test.set('X-Api-Key', TEST_KEYS.integrator);
  const count = async (sql: string, params: unknown[] = []) => Number((await admin.query(sql.replaceAll('{s}', isolation.schema), params)).rows[0].count);
  const filesOf = (connectionId: string) => count('SELECT count(*) FROM {s}.raw_files WHERE connection_id = $1', [connectionId]);
  const waitFor = async (what: string, condition: () => Promise<boolean>) => {
    const started = Date.now();
    while (!(await condition())) {
      if (Date.now() - started > WAIT_MS_MAX) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };

  beforeAll(async () => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-pull-'));
    https = await startHttpsBank(directory);
    sftp = await startSftpBank();
    gateway = await GatewayTestApp.start({
      env: { GATEWAY_PULL_BACKOFF_MS: '100', GATEWAY_FETCH_TIMEOUT_MS: '5000' },
      secretEnvironment: { BANK_TOKEN, SFTP_PASSWORD },
    });
    ({ isolation, http, admin } = gateway);
  });

  afterAll(async () => {
    await gateway?.close();
    https?.server.close();
    sftp?.server.close();
    fs.rmSync(directory, { recursive: true, force: true });
  });

  describe('connections', () => {
    const valid = () => ({
      name: 'acme-https',
      bankId: 'COBADEFFXXX',
      custodyAccount: 'DE89370400440532013000',
      format: 'auto',
      transport: { kind: 'https', mode: 'listing', url: 'https://bank.example/statements/' },
      secretRef: 'env:BANK_TOKEN',
    });

    it('refuses inline credentials, malformed references and wrong roles', async () => {
      const inline = await asIntegrator(http.post('/v1/connections'))
        .send({ ...valid(), transport: { kind: 'sftp', host: 'h', path: '/x', username: 'u', password: 'hunter2' } })
        .expect(400);
      expect(inline.body).toMatchObject({ error: 'CONNECTION.INLINE_SECRET', message: expect.stringMatching(/transport\.password/) });
      expect(
        (
          await asIntegrator(http.post('/v1/connections'))
            .send({ ...valid(), secretRef: 'hunter2' })
            .expect(400)
        ).body.message,
      ).toMatch(/secretRef/);
      expect(
        (
          await asIntegrator(http.post('/v1/connections'))
            .send({ ...valid(), transport: { kind: 'https', url: 'https://u:p@bank.example/' } })
            .expect(400)
        ).body.message,
      ).toMatch(/credentials/);
      expect(
        (
          await asIntegrator(http.post('/v1/connections'))
            .send({ ...valid(), schedule: { cron: 'every day' } })
            .expect(400)
        ).body.message,
      ).toMatch(/cron/);
      await http.post('/v1/connections').set('X-Api-Key', TEST_KEYS.ops).send(valid()).expect(403);
      await http.get('/v1/connections').set('X-Api-Key', TEST_KEYS.auditor).expect(403);
    });

    it('creates, replaces by name and lists connections, audited, with the secret only as a reference', async () => {
      const created = await asIntegrator(http.post('/v1/connections')).send(valid()).expect(201);
      expect(created.body).toMatchObject({ name: 'acme-https', secretRef: 'env:BANK_TOKEN', transport: { kind: 'https', mode: 'listing' } });
      const replaced = await http
        .post('/v1/connections')
        .set('X-Api-Key', TEST_KEYS.admin)
        .send({ ...valid(), csvProfile: 'generic' })
        .expect(200);
      expect(replaced.body).toMatchObject({ connectionId: created.body.connectionId, format: 'csv:generic' });
      const listed = await asIntegrator(http.get('/v1/connections')).expect(200);
      expect(listed.body.connections.map((connection: { name: string }) => connection.name)).toEqual(['acme-https']);
      expect(JSON.stringify(listed.body)).not.toContain(BANK_TOKEN);
      expect(
        await count(
          `SELECT count(*) FROM {s}.outbox_messages WHERE subject IN ('audit.bank-gateway.connection.create', 'audit.bank-gateway.connection.update')`,
        ),
      ).toBe(2);
    });
  });

  it('pulls a new file over HTTPS on schedule exactly once (private CA per connection, bearer secret by reference)', async () => {
    const created = await asIntegrator(http.post('/v1/connections'))
      .send({
        name: 'bank-https',
        bankId: 'COBADEFFXXX',
        custodyAccount: 'DE89370400440532013000',
        schedule: { cron: EVERY_SECOND, timeZone: 'Europe/Berlin' },
        transport: { kind: 'https', mode: 'listing', url: https.url },
        secretRef: 'env:BANK_TOKEN',
        caCertificateRef: `file:${path.join(directory, 'cert.pem')}`,
      })
      .expect(201);
    const connectionId = created.body.connectionId as string;
    await sleep(1_500);
    expect(await filesOf(connectionId)).toBe(0);
    https.files.set('2025-01-02.xml', { content: fixture('statement-a.camt053.xml'), modifiedSeconds: 1_735_800_000 });
    await waitFor('the HTTPS file', async () => (await filesOf(connectionId)) === 1);
    await sleep(2_500);
    expect(https.downloads.get('2025-01-02.xml')).toBe(1);
    expect(await filesOf(connectionId)).toBe(1);
    expect(
      await count(`SELECT count(*) FROM {s}.statement_lines l JOIN {s}.raw_files f USING (file_id) WHERE f.connection_id = $1 AND f.source = 'https'`, [
        connectionId,
      ]),
    ).toBe(3);
    expect(
      await count(
        `SELECT count(*) FROM {s}.outbox_messages WHERE subject = 'audit.bank-gateway.file.ingest' AND payload->'actor'->>'id' = 'bank-gateway:scheduler'`,
      ),
    ).toBe(1);
  });

  it('retries a failed pull with back-off (pull now)', async () => {
    // The scheduled HTTPS connection stops pulling (schedule removed), so the new file is this connection's alone.
    const unscheduled = await asIntegrator(http.post('/v1/connections'))
      .send({
        name: 'bank-https',
        bankId: 'COBADEFFXXX',
        custodyAccount: 'DE89370400440532013000',
        transport: { kind: 'https', mode: 'listing', url: https.url },
        secretRef: 'env:BANK_TOKEN',
        caCertificateRef: `file:${path.join(directory, 'cert.pem')}`,
      })
      .expect(200);
    expect(unscheduled.body.schedule).toBeUndefined();
    await sleep(1_200);
    const created = await asIntegrator(http.post('/v1/connections'))
      .send({
        name: 'bank-https-now',
        bankId: 'COBADEFFXXX',
        custodyAccount: 'NL91ABNA0417164300',
        transport: { kind: 'https', mode: 'listing', url: https.url },
        secretRef: 'env:BANK_TOKEN',
        caCertificateRef: `file:${path.join(directory, 'cert.pem')}`,
      })
      .expect(201);
    const connectionId = created.body.connectionId as string;
    https.files.set('2025-01-03.mt940', { content: fixture('statement-b.mt940'), modifiedSeconds: 1_735_900_000 });
    https.failNext(2);
    await asIntegrator(http.post(`/v1/connections/${connectionId}/pull`)).expect(202);
    await waitFor('the retried pull', async () => (await filesOf(connectionId)) === 1);
    expect(https.downloads.get('2025-01-03.mt940')).toBe(1);
  });

  it('pulls a single-URL HTTPS file once per version (Last-Modified), however often it runs', async () => {
    https.files.set('latest.csv', { content: fixture('statement-d.two-profiles.csv'), modifiedSeconds: 1_736_100_000 });
    const created = await asIntegrator(http.post('/v1/connections'))
      .send({
        name: 'bank-https-file',
        bankId: 'COBADEFFXXX',
        custodyAccount: 'DE75512108001245126199',
        format: 'csv:us-debit-credit',
        transport: { kind: 'https', mode: 'file', url: `${https.url}latest.csv` },
        secretRef: 'env:BANK_TOKEN',
        caCertificateRef: `file:${path.join(directory, 'cert.pem')}`,
      })
      .expect(201);
    const connectionId = created.body.connectionId as string;
    await asIntegrator(http.post(`/v1/connections/bank-https-file/pull`)).expect(202);
    await waitFor('the single-URL file', async () => (await filesOf(connectionId)) === 1);
    await asIntegrator(http.post(`/v1/connections/${connectionId}/pull`)).expect(202);
    await sleep(1_000);
    expect(https.downloads.get('latest.csv')).toBe(1);
    expect(await count(`SELECT count(*) FROM {s}.statement_lines l JOIN {s}.raw_files f USING (file_id) WHERE f.connection_id = $1`, [connectionId])).toBe(2);
    const newer = Buffer.concat([fixture('statement-d.two-profiles.csv'), Buffer.from('2025-01-06,,1.00,,EUR,DE75512108001245126199,GWDC3,fee\n')]);
    https.files.set('latest.csv', { content: newer, modifiedSeconds: 1_736_200_000 });
    await asIntegrator(http.post(`/v1/connections/${connectionId}/pull`)).expect(202);
    await waitFor('the new version', async () => (await filesOf(connectionId)) === 2);
    expect(https.downloads.get('latest.csv')).toBe(2);
  });

  it('pulls a new file over SFTP on schedule exactly once (password by reference)', async () => {
    const created = await asIntegrator(http.post('/v1/connections'))
      .send({
        name: 'bank-sftp',
        bankId: 'ABNANL2A',
        custodyAccount: 'DE02120300000000202051',
        format: 'csv:generic',
        schedule: { cron: EVERY_SECOND },
        transport: { kind: 'sftp', host: '127.0.0.1', port: sftp.port, path: '/outbox', username: 'acme' },
        secretRef: 'env:SFTP_PASSWORD',
      })
      .expect(201);
    const connectionId = created.body.connectionId as string;
    await sleep(1_500);
    expect(await filesOf(connectionId)).toBe(0);
    sftp.files.set('statement-c.csv', { content: fixture('statement-c.generic.csv'), modifiedSeconds: 1_736_000_000 });
    await waitFor('the SFTP file', async () => (await filesOf(connectionId)) === 1);
    await sleep(2_500);
    expect(sftp.downloads.get('statement-c.csv')).toBe(1);
    expect(await filesOf(connectionId)).toBe(1);
    expect(await count(`SELECT count(*) FROM {s}.quarantine WHERE connection_id = $1`, [connectionId])).toBe(1);
    expect(await count(`SELECT count(*) FROM {s}.fetched_files WHERE connection_id = $1`, [connectionId])).toBe(1);
  });

  it('holds a statement of another account delivered over a connection, as a finding', async () => {
    const otherAccount = fixture('statement-b.mt940').toString('utf8').replace(':20:GW940-0001', ':20:GW940-0002');
    const response = await asIntegrator(http.post('/v1/statements?connection=bank-sftp&format=mt940'))
      .set('Content-Type', 'text/plain')
      .send(otherAccount)
      .expect(201);
    expect(response.body.parse).toMatchObject({ accepted: 0, held: 2 });
    expect(response.body.parse.findings).toEqual([
      expect.objectContaining({ kind: 'unexpected_account', account: 'NL91ABNA0417164300', message: expect.stringMatching(/serves DE02120300000000202051/) }),
    ]);
    expect(await count(`SELECT count(*) FROM {s}.findings WHERE kind = 'unexpected_account'`)).toBe(1);
  });
});
