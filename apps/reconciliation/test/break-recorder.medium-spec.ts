import type { ReconBreak } from '@recon/matching';
import { AuditRecorder } from '@recon/platform';
import { isolate, type TestIsolation } from '@recon/testing';
import { Client } from 'pg';
import { BreakRecorder, SERVICE_ACTOR } from '../src/breaks/application/break-recorder';
import { migrateReconciliation } from '../src/reconciliation.app';
import { loadReconciliationConfig } from '../src/reconciliation.config';

const ACCOUNT = 'DE44500105175407324931';
const DAY = '2025-03-04';
const NOW = new Date('2025-03-04T22:00:00.000Z');

/**
 * BreakRecorder on the real Postgres: the breaks a run opens set-wise supersede the open breaks their items were
 * in, with the closed and audit events of each written before the new breaks' events; `closeAll` closes many breaks
 * with the rows and events `close` writes for each.
 */
describe(BreakRecorder.name, () => {
  let isolation: TestIsolation;
  let client: Client;
  let sut: BreakRecorder;
  let idCount = 0;

  const found = (type: ReconBreak['type'], ledger: string[], bank: string[]): ReconBreak => ({
    type,
    category: 'data_sync',
    severity: 'medium',
    currency: 'EUR',
    amount: '12.30',
    ledger,
    bank,
    reason: `${type} of ${[...ledger, ...bank].join(', ')}`,
    account: ACCOUNT,
    valueDate: DAY,
  });
  const context = { bankAccount: ACCOUNT, businessDate: DAY };
  const outboxAfter = async (position: number) =>
    (
      await client.query<{ at: string; subject: string; payload: Record<string, unknown> }>(
        'SELECT position::text AS at, subject, payload FROM outbox_messages WHERE position > $1 ORDER BY outbox_messages.position',
        [position],
      )
    ).rows;
  const lastPosition = async () =>
    Number((await client.query<{ last: string }>('SELECT coalesce(max(position), 0)::text AS last FROM outbox_messages')).rows[0]!.last);
  const breakOf = async (breakId: string) =>
    (
      await client.query<{
        status: string;
        resolution_code: string | null;
        resolution_note: string | null;
        resolved_by: string | null;
        closed_at: Date | null;
      }>('SELECT status, resolution_code, resolution_note, resolved_by, closed_at FROM breaks WHERE break_id = $1', [breakId])
    ).rows[0];

  beforeAll(async () => {
    isolation = isolate('recon_breaks');
    const config = loadReconciliationConfig(isolation.env({}));
    await migrateReconciliation(config);
    client = new Client({ connectionString: isolation.databaseUrl, options: `-c search_path=${isolation.schema}` });
    await client.connect();
    // Increasing ids, so the order of the ids a test expects is the order they were taken in.
    const ids = { uuid: () => `0190a8e2-0000-7000-8000-${(idCount += 1).toString(16).padStart(12, '0')}` };
    const clock = { now: () => NOW };
    sut = new BreakRecorder(new AuditRecorder(config, clock, ids), clock, ids);
    await client.query(
      `INSERT INTO ledger_items (entry_id, bank_account, currency, amount_minor, value_date, source, received_at)
       SELECT 'L' || n, $1, 'EUR', 1230, $2, 'event', $3 FROM generate_series(1, 9) n`,
      [ACCOUNT, DAY, NOW],
    );
    await client.query(
      `INSERT INTO bank_items (line_id, item_ref, file_id, statement_id, line_no, bank_account, currency, amount_minor, effective_date, reversal, ref_keys, received_at)
       SELECT gen_random_uuid(), 'B' || n, gen_random_uuid(), 'STMT-0304', n, $1, 'EUR', 1230, $2, false, '{}', $3 FROM generate_series(1, 9) n`,
      [ACCOUNT, DAY, NOW],
    );
  });

  afterAll(async () => {
    await client?.end();
    await isolation?.cleanup();
  });

  it('openAll closes the open breaks the new breaks take the items of, and writes their events first', async () => {
    const [l1, b1, l2, l3] = await sut.openAll(
      client,
      [
        found('missing_in_bank', ['L1'], []),
        found('missing_in_ledger', [], ['B1']),
        found('missing_in_bank', ['L2'], []),
        found('missing_in_bank', ['L3'], []),
      ],
      context,
    );
    const before = await lastPosition();

    const opened = await sut.openAll(
      client,
      [found('amount_mismatch', ['L1'], ['B1']), found('missing_in_bank', ['L3'], []), found('amount_mismatch', ['L2'], ['B2'])],
      { ...context, businessDate: '2025-03-05' },
    );

    expect(opened[0]).toBeDefined();
    expect(opened[1]).toBeUndefined(); // exactly the items of an open break: that break stands
    expect(opened[2]).toBeDefined();
    for (const [old, now] of [
      [l1, opened[0]],
      [b1, opened[0]],
      [l2, opened[2]],
    ]) {
      expect(await breakOf(old!)).toEqual({
        status: 'closed',
        resolution_code: 'superseded',
        resolution_note: `the same items are now in break ${now!} (amount_mismatch)`,
        resolved_by: SERVICE_ACTOR.id,
        closed_at: NOW,
      });
    }
    expect((await breakOf(l3!))!.status).toBe('open');
    const itemBreaks = await client.query<{ id: string; break_id: string }>(
      `SELECT entry_id AS id, break_id::text FROM ledger_items WHERE break_id IS NOT NULL
       UNION ALL SELECT item_ref, break_id::text FROM bank_items WHERE break_id IS NOT NULL ORDER BY 1`,
    );
    expect(itemBreaks.rows).toEqual([
      { id: 'B1', break_id: opened[0] },
      { id: 'B2', break_id: opened[2] },
      { id: 'L1', break_id: opened[0] },
      { id: 'L2', break_id: opened[2] },
      { id: 'L3', break_id: l3 },
    ]);
    const events = await outboxAfter(before);
    expect(events.map((event) => [event.subject, event.payload.breakId ?? (event.payload.entity as { id: string }).id])).toEqual([
      ['recon.break.closed', l1],
      ['audit.reconciliation.break.close', l1],
      ['recon.break.closed', b1],
      ['audit.reconciliation.break.close', b1],
      ['recon.break.closed', l2],
      ['audit.reconciliation.break.close', l2],
      ['recon.break.opened', opened[0]],
      ['audit.reconciliation.break.open', opened[0]],
      ['recon.break.opened', opened[2]],
      ['audit.reconciliation.break.open', opened[2]],
    ]);
    expect(events[0]!.payload).toEqual({
      breakId: l1,
      closedAt: NOW.toISOString(),
      status: 'closed',
      resolutionCode: 'superseded',
      closedBy: SERVICE_ACTOR.id,
      note: `the same items are now in break ${opened[0]!} (amount_mismatch)`,
    });
  });

  it('closeAll closes each break once, with the rows and events close writes, and leaves a closed break as it is', async () => {
    const [first, second, third] = (await sut.openAll(
      client,
      [found('missing_in_bank', ['L7'], []), found('missing_in_bank', ['L8'], []), found('missing_in_bank', ['L9'], [])],
      context,
    )) as string[];
    expect(await sut.close(client, third!, { status: 'resolved', resolutionCode: 'written_off', actor: { id: 'ops-1', roles: ['ops'] }, role: 'ops' })).toBe(
      true,
    );
    const before = await lastPosition();

    const closed = await sut.closeAll(client, [
      {
        breakId: second!,
        status: 'closed',
        resolutionCode: 'late_partner',
        note: 'matched late',
        actor: SERVICE_ACTOR,
        matchId: '0190a8e2-0000-7000-8000-ffffffffffff',
      },
      { breakId: third!, status: 'closed', resolutionCode: 'late_partner', actor: SERVICE_ACTOR },
      { breakId: first!, status: 'resolved', resolutionCode: 'explained', note: 'n'.repeat(2_100), actor: { id: 'ops-2', roles: ['ops'] }, role: 'ops' },
      { breakId: second!, status: 'closed', resolutionCode: 'late_partner', actor: SERVICE_ACTOR },
    ]);

    expect(closed).toEqual([true, false, true, false]);
    expect(await breakOf(second!)).toEqual({
      status: 'closed',
      resolution_code: 'late_partner',
      resolution_note: 'matched late',
      resolved_by: 'reconciliation',
      closed_at: NOW,
    });
    expect(await breakOf(first!)).toEqual({
      status: 'resolved',
      resolution_code: 'explained',
      resolution_note: 'n'.repeat(2_000),
      resolved_by: 'ops-2',
      closed_at: NOW,
    });
    expect((await breakOf(third!))!.resolution_code).toBe('written_off');
    const events = await outboxAfter(before);
    expect(events.map((event) => event.subject)).toEqual([
      'recon.break.closed',
      'audit.reconciliation.break.close',
      'recon.break.closed',
      'audit.reconciliation.break.resolve',
    ]);
    expect(events[0]!.payload).toEqual({
      breakId: second,
      closedAt: NOW.toISOString(),
      status: 'closed',
      resolutionCode: 'late_partner',
      closedBy: 'reconciliation',
      note: 'matched late',
      matchId: '0190a8e2-0000-7000-8000-ffffffffffff',
    });
    expect(events[3]!.payload).toMatchObject({
      actor: { id: 'ops-2', role: 'ops' },
      entity: { type: 'break', id: first },
      details: { resolutionCode: 'explained', note: 'n'.repeat(500) },
    });
    expect(await sut.close(client, first!, { status: 'closed', resolutionCode: 'again', actor: SERVICE_ACTOR })).toBe(false);
    expect(await lastPosition()).toBe(Number(events.at(-1)!.at));
  });
});
