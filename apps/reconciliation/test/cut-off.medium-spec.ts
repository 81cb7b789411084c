import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { CLOCK, type Clock } from '@recon/platform';
import { TEST_KEYS, TEST_REDIS_URL } from '@recon/testing';
import { type Job, Queue } from 'bullmq';
import type { Client } from 'pg';
import request from 'supertest';
import { RECON_QUEUE_NAME } from '../src/runs/infrastructure/recon-jobs';
import { bankLine, type ReconEventPublisher } from './recon-events.fixture';
import { eventually, ReconTestApp } from './recon-test-app';

/** A bank whose business day ends at 02:00 Berlin time, closing the calendar day before. */
const NIGHT_ACCOUNT = 'DE02120300000000202051';
/** An account left on the defaults (18:00 UTC, closing its own day): its behaviour must not change. */
const EVENING_ACCOUNT = 'DE02500105170137075030';

/** The calendar date at an instant in a zone, worked out here independently of the service's own function. */
function dateIn(instant: Date, timeZone: string): string {
  return instant.toLocaleDateString('sv-SE', { timeZone });
}

function dayBefore(isoDate: string): string {
  return new Date(Date.parse(`${isoDate}T12:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
}

/** The ledger's export and the gateway's file lines, both empty: the runs only need to complete. */
function emptyLedgerAndGateway(): http.Server {
  return http.createServer((req, res) => {
    if (req.url?.startsWith('/v1/exports/ledger.csv')) {
      res.writeHead(200, { 'content-type': 'text/csv' }).end('entry_id,account,amount,currency,value_date,reference\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"lines":[]}');
  });
}

describe('reconciliation: cut-off after midnight', () => {
  let harness: ReconTestApp;
  let app: NestExpressApplication;
  let api: ReturnType<typeof request>;
  let admin: Client;
  let events: ReconEventPublisher;
  let queue: Queue;
  const server = emptyLedgerAndGateway();

  const as = (key: string, test: request.Test) => test.set('X-Api-Key', key);
  const rows = async <T>(sql: string, params: unknown[] = []) => (await admin.query(sql, params)).rows as T[];
  const schedulerOf = async (account: string) => (await queue.getJobSchedulers()).find((scheduler) => scheduler.key === `nightly:${account}`);
  const delayedJobOf = (key: string) =>
    eventually(
      async () => (await queue.getDelayed()).find((job: Job) => job.repeatJobKey === key || job.id?.startsWith(`repeat:${key}:`)),
      `the next ${key} job`,
    );
  const finishedRun = (runId: string) =>
    eventually(async () => {
      const [run] = await rows<{ business_date: string; status: string; trigger: string; result: Record<string, unknown> | null; error: string | null }>(
        `SELECT to_char(business_date, 'YYYY-MM-DD') AS business_date, status, trigger, result, error FROM runs WHERE run_id = $1`,
        [runId],
      );
      return run !== undefined && run.status !== 'running' ? run : undefined;
    }, `run ${runId}`);
  /** Promotes the job a scheduler created for its next slot, so the worker runs it now as it would at the slot. */
  const runScheduledNow = async (key: string, trigger: 'schedule' | 'sweep') => {
    const before = new Set((await rows<{ run_id: string }>(`SELECT run_id FROM runs WHERE trigger = $1`, [trigger])).map((row) => row.run_id));
    const job = await delayedJobOf(key);
    const slot = new Date(job.opts.prevMillis ?? job.timestamp + job.delay);
    await job.promote();
    const runIds = await eventually(async () => {
      const now = (await rows<{ run_id: string }>(`SELECT run_id FROM runs WHERE trigger = $1`, [trigger]))
        .map((row) => row.run_id)
        .filter((id) => !before.has(id));
      return now.length > 0 ? now : undefined;
    }, `a ${trigger} run`);
    return { slot, runs: await Promise.all(runIds.map(finishedRun)) };
  };

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    harness = await ReconTestApp.start({
      env: { NATS_REQUEST_TIMEOUT_MS: '500' },
      settings: { RECON_LEDGER_URL: url, RECON_GATEWAY_URL: url, RECON_PENDING_SWEEP_INTERVAL_MS: '3600000' },
    });
    ({ app, api, admin, events } = harness);
    queue = new Queue(RECON_QUEUE_NAME, { connection: { url: TEST_REDIS_URL }, prefix: harness.isolation.redisKeyPrefix.replace(/:+$/, '') });
  });

  afterAll(async () => {
    await queue?.close();
    await harness?.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('accepts closesPreviousDay only for a cut-off after midnight, and only from admin', async () => {
    const url = `/v1/accounts/${NIGHT_ACCOUNT}/settings`;
    const night = { graceDays: 2, cutOff: '02:00', timeZone: 'Europe/Berlin', closesPreviousDay: true };
    await api.put(url).send(night).expect(401);
    await as(TEST_KEYS.ops, api.put(url).send(night)).expect(403);
    const evening = (await as(TEST_KEYS.admin, api.put(url).send({ ...night, cutOff: '18:00' })).expect(400)).body;
    expect(JSON.stringify(evening)).toContain('a cut-off that closes the previous day is after midnight and before 12:00');
    await as(TEST_KEYS.admin, api.put(url).send({ ...night, closesPreviousDay: 'yes' })).expect(400);
    expect(await rows('SELECT * FROM reconciliation_accounts')).toEqual([]);

    const saved = (await as(TEST_KEYS.admin, api.put(url).send(night)).expect(200)).body;
    expect(saved).toEqual({ bankAccount: NIGHT_ACCOUNT, ...night });
    expect((await as(TEST_KEYS.auditor, api.get(url)).expect(200)).body).toEqual(saved);
    expect(await schedulerOf(NIGHT_ACCOUNT)).toMatchObject({ pattern: '0 2 * * *', tz: 'Europe/Berlin' });
    const [audit] = await rows<{ payload: { after: unknown } }>(`SELECT payload FROM outbox_messages WHERE subject = 'audit.reconciliation.account.configure'`);
    expect(JSON.stringify(audit)).toContain('"closesPreviousDay":true');
    // The database refuses the combination too, whatever writes it.
    await expect(admin.query(`UPDATE reconciliation_accounts SET cut_off = '18:00' WHERE bank_account = $1`, [NIGHT_ACCOUNT])).rejects.toThrow(
      /reconciliation_accounts_previous_day_cut_off/,
    );
  });

  it("the nightly job at a 02:00 cut-off closes the day before the slot's date in the account's zone", async () => {
    const { slot, runs } = await runScheduledNow(`nightly:${NIGHT_ACCOUNT}`, 'schedule');
    // The slot is 02:00 Berlin time on its date; that date's day before is the business day closed.
    expect(slot.toLocaleTimeString('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit' })).toBe('02:00');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ trigger: 'schedule', business_date: dayBefore(dateIn(slot, 'Europe/Berlin')) });
    expect(runs[0]!.status).toMatch(/^completed/);
  });

  it('an account on the defaults still closes the date of its 18:00 UTC slot', async () => {
    await events.custodyAccountOpened({ accountId: 'custody-evening', bankAccount: EVENING_ACCOUNT, currency: 'EUR' });
    await eventually(async () => ((await schedulerOf(EVENING_ACCOUNT)) === undefined ? undefined : true), 'the evening account scheduled');
    expect((await as(TEST_KEYS.ops, api.get(`/v1/accounts/${EVENING_ACCOUNT}/settings`)).expect(200)).body).toMatchObject({
      cutOff: '18:00',
      timeZone: 'UTC',
      closesPreviousDay: false,
    });
    const { slot, runs } = await runScheduledNow(`nightly:${EVENING_ACCOUNT}`, 'schedule');
    expect(runs[0]).toMatchObject({ trigger: 'schedule', business_date: dateIn(slot, 'UTC') });
  });

  it('the grace sweep keeps the previous day in progress until the after-midnight cut-off', async () => {
    // A bank line of 1 January with no ledger partner; grace 2 days: pending while the business day is before 3 January.
    await events.lineReceived(
      bankLine({ account: NIGHT_ACCOUNT, currency: 'EUR', statementId: 'STMT-NIGHT', lineNo: 1, amount: '42.00', valueDate: '2025-01-01', bankRef: 'N1' }),
    );
    await eventually(async () => ((await rows('SELECT 1 FROM bank_items')).length === 1 ? true : undefined), 'the bank line stored');
    const clock = app.get<Clock>(CLOCK);
    const systemNow = clock.now.bind(clock);
    try {
      // 00:30 in Berlin on 3 January: the bank's 2 January is still open until 02:00.
      clock.now = () => new Date('2025-01-02T23:30:00.000Z');
      const before = await runScheduledNow('sweep', 'sweep');
      expect(before.runs).toEqual([expect.objectContaining({ business_date: '2025-01-02', error: null })]);
      expect(before.runs[0]!.result).toMatchObject({ counts: { pendingItemsInGrace: 1, breaksOpened: 0 } });
      // 02:00 in Berlin: 2 January is closed, 3 January in progress, the grace window of the line is over.
      clock.now = () => new Date('2025-01-03T01:00:00.000Z');
      const after = await runScheduledNow('sweep', 'sweep');
      expect(after.runs).toEqual([expect.objectContaining({ business_date: '2025-01-03', error: null })]);
      expect(after.runs[0]!.result).toMatchObject({ counts: { pendingItemsInGrace: 0, breaksOpened: 1 } });
    } finally {
      clock.now = systemNow;
    }
    expect(await rows(`SELECT type, bank_ids FROM breaks`)).toEqual([{ type: 'missing_in_ledger', bank_ids: ['N1'] }]);
  });
});
