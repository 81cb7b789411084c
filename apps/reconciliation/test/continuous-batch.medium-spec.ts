import { randomUUID } from 'node:crypto';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Client } from 'pg';
import { ReconConsumers } from '../src/matching/interface/recon.consumers';
import { bankLine, movement, type ReconEventPublisher } from './recon-events.fixture';
import { eventually, ReconTestApp } from './recon-test-app';

const ACCOUNT = 'DE02120300000000202051';
const CUSTODY_ID = 'custody-batch-eur';
const DAY = '2025-02-03';

/**
 * Continuous matching in batch mode (one transaction per pull, items inserted, looked up and matched set-wise) over
 * the real Postgres and NATS: many items per batch, exclusivity inside a batch, a failing event that must not hold
 * up its batch, and lines repeated or sharing a name within one batch.
 */
describe('reconciliation: continuous matching in batches', () => {
  let harness: ReconTestApp;
  let app: NestExpressApplication;
  let admin: Client;
  let events: ReconEventPublisher;

  const rows = async <T>(sql: string, params: unknown[] = []) => (await admin.query(sql, params)).rows as T[];
  const count = async (sql: string, params: unknown[] = []) => Number((await admin.query(sql, params)).rows[0].count);
  const consumerStats = () => app.get(ReconConsumers).consumers.map((consumer) => consumer.stats);
  const line = (statementId: string, lineNo: number, amount: string, extra: Record<string, unknown> = {}) =>
    bankLine({ account: ACCOUNT, currency: 'EUR', statementId, lineNo, amount, valueDate: DAY, bookingDate: DAY, ...extra });

  beforeAll(async () => {
    harness = await ReconTestApp.start({
      prefix: 'recon_batch',
      settings: { RECON_SCHEDULER_ENABLED: 'false', RECON_GRACE_DAYS_DEFAULT: '0' },
      custody: { accountId: CUSTODY_ID, bankAccount: ACCOUNT, currency: 'EUR' },
    });
    ({ app, admin, events } = harness);
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('matches many entries and lines handled a batch at a time, each with its own partner and rule', async () => {
    const pairs = 80;
    const transactions = Array.from({ length: pairs }, (_, index) =>
      movement({
        custodyAccountId: CUSTODY_ID,
        kind: index % 2 === 0 ? 'deposit' : 'withdrawal',
        amount: `${300 + index}.25`,
        currency: 'EUR',
        valueDate: DAY,
        reference: `BATCH-REF-${String(index).padStart(4, '0')}`,
      }),
    );
    // Lines first, published at once: they arrive in batches and wait pending; the entries then find them.
    await Promise.all(
      transactions.map((transaction, index) =>
        events.lineReceived(
          line('STMT-BATCH-1', index + 1, `${index % 2 === 0 ? '' : '-'}${300 + index}.25`, {
            bankRef: `BATCH-B${index}`,
            ...(index % 3 === 0 ? { remittance: `settlement batch ref ${String(index).padStart(4, '0')} ok` } : { endToEndId: transaction.reference }),
          }),
        ),
      ),
    );
    await eventually(async () => ((await count('SELECT count(*) FROM bank_items')) === pairs ? true : undefined), 'lines stored');
    await Promise.all(transactions.map((transaction) => events.transactionPosted(transaction)));
    await eventually(async () => ((await count('SELECT count(*) FROM matches')) === pairs ? true : undefined), 'every pair matched');

    const matched = await rows<{ rule: string; ledger_ids: string[]; bank_ids: string[] }>('SELECT rule, ledger_ids, bank_ids FROM matches');
    const byBankRef = new Map(matched.map((match) => [match.bank_ids.join(','), match]));
    transactions.forEach((transaction, index) => {
      const custodyLineNo = transaction.lines.findIndex((entry) => entry.accountKind === 'custody') + 1;
      expect(byBankRef.get(`BATCH-B${index}`)).toEqual({
        rule: index % 3 === 0 ? 'ref-in-text' : 'ref-exact',
        ledger_ids: [`${transaction.transactionId}:${custodyLineNo}`],
        bank_ids: [`BATCH-B${index}`],
      });
    });
    expect(await count('SELECT count(*) FROM ledger_open_items')).toBe(0);
    const [ledger, bank] = consumerStats();
    // Fewer transactions than events: most batches held several.
    expect(ledger!.batchCount + bank!.batchCount).toBeLessThan(2 * pairs);
    expect(ledger!.processedCount).toBeGreaterThanOrEqual(pairs);
    expect(bank!.processedCount).toBeGreaterThanOrEqual(pairs);
  });

  it('inside a batch, an item matched earlier is no candidate for a later one (exclusive, in stream order)', async () => {
    const pending = line('STMT-BATCH-2', 1, '777.77', { bankRef: 'BATCH-TWIN-LINE' });
    await events.lineReceived(pending);
    await eventually(async () => ((await count("SELECT count(*) FROM bank_items WHERE item_ref = 'BATCH-TWIN-LINE'")) === 1 ? true : undefined), 'line');
    // Two entries of the same amount and day, no reference the line carries: the first takes the line by amount and date.
    const [first, second] = [0, 1].map(() =>
      movement({ custodyAccountId: CUSTODY_ID, kind: 'deposit', amount: '777.77', currency: 'EUR', valueDate: DAY, reference: '' }),
    );
    await Promise.all([events.transactionPosted(first!), events.transactionPosted(second!)]);
    await eventually(
      async () =>
        (await count(`SELECT count(*) FROM ledger_items WHERE entry_id = ANY($1::text[])`, [[`${first!.transactionId}:1`, `${second!.transactionId}:1`]])) === 2
          ? true
          : undefined,
      'both entries stored',
    );
    const matches = await rows<{ ledger_ids: string[] }>(`SELECT ledger_ids FROM matches WHERE 'BATCH-TWIN-LINE' = ANY(bank_ids)`);
    expect(matches).toHaveLength(1);
    const [winner] = matches[0]!.ledger_ids;
    expect([`${first!.transactionId}:1`, `${second!.transactionId}:1`]).toContain(winner);
    const loser = winner === `${first!.transactionId}:1` ? `${second!.transactionId}:1` : `${first!.transactionId}:1`;
    expect(await rows('SELECT entry_id FROM ledger_open_items WHERE entry_id = $1', [loser])).toEqual([{ entry_id: loser }]);
    expect(await rows('SELECT match_id FROM ledger_item_matches WHERE entry_id = $1', [loser])).toEqual([]);
  });

  it('an event that cannot be handled yet fails its batch alone: the others are handled at once, it follows when it can', async () => {
    const fallbacksBefore = consumerStats()[0]!.batchFallbackCount;
    const lateAccount = { accountId: 'custody-batch-late', bankAccount: 'DE02500105170137075030', currency: 'EUR' };
    const early = movement({
      custodyAccountId: lateAccount.accountId,
      kind: 'deposit',
      amount: '12.00',
      currency: 'EUR',
      valueDate: DAY,
      reference: 'EARLY-1',
    });
    const others = [0, 1, 2].map((index) =>
      movement({ custodyAccountId: CUSTODY_ID, kind: 'deposit', amount: `4${index}.00`, currency: 'EUR', valueDate: DAY, reference: `OTHER-${index}` }),
    );
    await Promise.all([events.transactionPosted(early), ...others.map((transaction) => events.transactionPosted(transaction))]);
    await eventually(
      async () =>
        (await count(`SELECT count(*) FROM ledger_items WHERE entry_id = ANY($1::text[])`, [others.map((transaction) => `${transaction.transactionId}:1`)])) ===
        3
          ? true
          : undefined,
      'the other entries stored',
    );
    expect(await count(`SELECT count(*) FROM ledger_items WHERE entry_id = $1`, [`${early.transactionId}:1`])).toBe(0);
    await events.custodyAccountOpened(lateAccount);
    await eventually(
      async () => ((await count(`SELECT count(*) FROM ledger_items WHERE entry_id = $1`, [`${early.transactionId}:1`])) === 1 ? true : undefined),
      'the early entry stored once its account is known',
    );
    expect(consumerStats()[0]!.batchFallbackCount).toBeGreaterThan(fallbacksBefore);
    expect(await count('SELECT count(*) FROM dead_letters')).toBe(0);
  });

  it('stores a line repeated under another message id once, and names lines sharing a bankRef within a batch apart', async () => {
    const repeated = line('STMT-BATCH-3', 1, '55.00', { bankRef: 'BATCH-SHARED-REF' });
    const namesake = line('STMT-BATCH-3', 2, '56.00', { bankRef: 'BATCH-SHARED-REF' });
    await Promise.all([events.lineReceived(repeated), events.publish('bank.line.received', repeated, randomUUID()), events.lineReceived(namesake)]);
    const stored = await eventually(async () => {
      const found = await rows<{ line_id: string; item_ref: string }>(
        "SELECT line_id, item_ref FROM bank_items WHERE statement_id = 'STMT-BATCH-3' ORDER BY line_no",
      );
      return found.length === 2 ? found : undefined;
    }, 'both lines stored');
    expect(stored).toEqual([
      { line_id: repeated.lineId, item_ref: 'BATCH-SHARED-REF' },
      { line_id: namesake.lineId, item_ref: 'STMT-BATCH-3:2' },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await count("SELECT count(*) FROM bank_items WHERE statement_id = 'STMT-BATCH-3'")).toBe(2);
  });
});
