import { defaultRuleSet } from '@recon/matching';
import { DEVELOPMENT_API_KEYS } from '@recon/config';
import type { SqlExecutor, TransactionRunner } from '@recon/persistence';
import { type Clock, TRANSACTIONS } from '@recon/platform';
import { TEST_KEYS } from '@recon/testing';
import type request from 'supertest';
import { ActiveRuleSetProvider } from '../src/rules/application/active-rule-set';
import { RuleSetsPgRepository } from '../src/rules/infrastructure/rule-sets.pg.repository';
import { bankLine, movement } from './recon-events.fixture';
import { eventually, ReconTestApp } from './recon-test-app';

const ACCOUNT = 'DE44500105175407324931';
const CUSTODY_ID = 'custody-rules-eur';
const DAY = '2025-03-04';
/** An identity holding both ops and approver: four eyes must still stop it activating its own version. */
const BOTH_ROLES_KEY = 'alice-both-roles-key-0002';

/** ref-exact with 0.10 of amount tolerance: a pair sharing its reference 0.05 apart matches instead of being an amount_mismatch. */
const TOLERANT_YAML = `# amounts within ten cents pair by reference (bank charges deducted in flight)
version: tolerant-1
defaults:
  amountToleranceMinor: 0
  valueDateToleranceDays: 2
ignoredReferences: [NOTPROVIDED, NONREF, NONE, N/A, NA]
explainedDebitCodes: [CHRG, FEES, COMM, INTR, NCHG, NCOM, NINT, TAXE]
rules:
  - type: ref-exact
    amountToleranceMinor: 10
  - type: ref-in-text
  - type: ref-truncated
  - type: batch
  - type: amount-date
`;
/** The same rule set, written as JSON in another order and with the defaults spelt out: the same rulesHash. */
const TOLERANT_JSON = JSON.stringify({
  rules: [
    { type: 'ref-exact', amountToleranceMinor: '10', id: 'ref-exact' },
    { type: 'ref-in-text' },
    { type: 'ref-truncated', truncatedLengths: [35, 16] },
    { type: 'batch' },
    { type: 'amount-date', onlyWithoutReference: true },
  ],
  explainedDebitCodes: ['CHRG', 'FEES', 'COMM', 'INTR', 'NCHG', 'NCOM', 'NINT', 'TAXE'],
  ignoredReferences: ['NOTPROVIDED', 'NONREF', 'NONE', 'N/A', 'NA'],
  criticalAmountMajor: 10000,
  version: 'tolerant-1',
});
/** Only exact references: a pair found only in the bank's free text is lost. */
const STRICT_JSON = JSON.stringify({ version: 'strict-1', rules: [{ type: 'ref-exact' }] });

/**
 * Versioned rule sets over the real Postgres and NATS: stored from YAML or JSON, refused with the path of what is
 * wrong, idempotent by content, immutable, previewed against a stored day, activated under four eyes, audited, and
 * used at once by continuous matching and runs.
 */
describe('reconciliation: rule set versions', () => {
  let harness: ReconTestApp;
  let api: ReturnType<typeof request>;

  const as = (key: string, test: request.Test) => test.set('X-Api-Key', key);
  const postRules = (key: string, body: string, contentType: string) => as(key, api.post('/v1/rules/versions').set('Content-Type', contentType).send(body));
  const rows = <T>(sql: string, params: unknown[] = []) => harness.rows<T>(sql, params);
  const count = (sql: string, params: unknown[] = []) => harness.count(sql, params);
  const auditSubjects = async () =>
    (await rows<{ subject: string }>(`SELECT subject FROM outbox_messages WHERE subject LIKE 'audit.reconciliation.rules.%' ORDER BY position`)).map(
      (row) => row.subject,
    );
  const entryIdOf = (transaction: ReturnType<typeof movement>) =>
    `${transaction.transactionId}:${transaction.lines.findIndex((l) => l.accountKind === 'custody') + 1}`;
  const line = (lineNo: number, amount: string, extra: Record<string, unknown>) =>
    bankLine({ account: ACCOUNT, currency: 'EUR', statementId: 'STMT-RULES-1', lineNo, amount, valueDate: DAY, bookingDate: DAY, ...extra });
  /** Publishes a ledger movement and its bank line and waits until both are stored (their batches committed, matching included). */
  const publishPair = async (transaction: ReturnType<typeof movement>, bank: ReturnType<typeof bankLine>) => {
    await harness.events.transactionPosted(transaction);
    await harness.events.lineReceived(bank);
    await eventually(
      async () =>
        (await count('SELECT count(*) FROM ledger_items WHERE entry_id = $1', [entryIdOf(transaction)])) === 1 &&
        (await count('SELECT count(*) FROM bank_items WHERE line_id = $1', [bank.lineId])) === 1
          ? true
          : undefined,
      'both items stored',
    );
  };
  const matchOf = async (entryId: string) =>
    (
      await rows<{ rule: string; ledger_ids: string[]; bank_ids: string[] }>('SELECT rule, ledger_ids, bank_ids FROM matches WHERE $1 = ANY(ledger_ids)', [
        entryId,
      ])
    )[0];

  // The day already stored: a pair 0.05 apart sharing its reference (an amount_mismatch under the built-in rules), a
  // pair found only in the bank's text (ref-in-text), and an exact pair.
  const shortPair = movement({
    custodyAccountId: CUSTODY_ID,
    kind: 'deposit',
    amount: '200.00',
    currency: 'EUR',
    valueDate: DAY,
    reference: 'RULES-P1-000001',
  });
  const textPair = movement({
    custodyAccountId: CUSTODY_ID,
    kind: 'withdrawal',
    amount: '50.00',
    currency: 'EUR',
    valueDate: DAY,
    reference: 'RULES-P2-000002',
  });
  const exactPair = movement({
    custodyAccountId: CUSTODY_ID,
    kind: 'deposit',
    amount: '100.00',
    currency: 'EUR',
    valueDate: DAY,
    reference: 'RULES-P3-000003',
  });

  beforeAll(async () => {
    // Ledger and gateway unreachable (a closed port): runs complete with warnings, their matching is what is tested.
    harness = await ReconTestApp.start({
      prefix: 'recon_rules',
      env: { API_KEYS: `${DEVELOPMENT_API_KEYS},${BOTH_ROLES_KEY}=alice:ops|approver`, NATS_REQUEST_TIMEOUT_MS: '500' },
      settings: {
        RECON_SCHEDULER_ENABLED: 'false',
        RECON_GRACE_DAYS_DEFAULT: '0',
        RECON_LEDGER_URL: 'http://127.0.0.1:9',
        RECON_GATEWAY_URL: 'http://127.0.0.1:9',
        RECON_HTTP_TIMEOUT_MS: '500',
      },
      custody: { accountId: CUSTODY_ID, bankAccount: ACCOUNT, currency: 'EUR' },
    });
    api = harness.api;
    await publishPair(shortPair, line(1, '199.95', { bankRef: 'RB1', endToEndId: 'RULES-P1-000001' }));
    await publishPair(textPair, line(2, '-50.00', { bankRef: 'RB2', remittance: 'payout rules p2 000002 thank you' }));
    await publishPair(exactPair, line(3, '100.00', { bankRef: 'RB3', endToEndId: 'RULES-P3-000003' }));
  });

  afterAll(async () => {
    await harness?.close();
  });

  it('matches with the built-in rule set until a version is activated', async () => {
    expect(await matchOf(entryIdOf(shortPair))).toBeUndefined();
    expect(await matchOf(entryIdOf(textPair))).toMatchObject({ rule: 'ref-in-text', bank_ids: ['RB2'] });
    expect(await matchOf(entryIdOf(exactPair))).toMatchObject({ rule: 'ref-exact', bank_ids: ['RB3'] });
    const listed = (await as(TEST_KEYS.auditor, api.get('/v1/rules/versions')).expect(200)).body;
    expect(listed).toEqual({
      active: { version: 'default-1', rulesHash: defaultRuleSet().rulesHash, builtIn: true, activatedAt: null, activatedBy: null },
      versions: [
        {
          version: 'default-1',
          rulesHash: defaultRuleSet().rulesHash,
          sourceFormat: 'built-in',
          createdAt: null,
          createdBy: null,
          builtIn: true,
          active: true,
        },
      ],
    });
  });

  it('documents the endpoints in the OpenAPI document', async () => {
    const openApi = (await api.get('/docs/openapi.json').expect(200)).body as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(openApi.paths)).toEqual(
      expect.arrayContaining([
        '/v1/rules/versions',
        '/v1/rules/versions/{version}',
        '/v1/rules/versions/{version}/preview',
        '/v1/rules/versions/{version}/activate',
      ]),
    );
    expect(Object.keys(openApi.paths['/v1/rules/versions']!.post as Record<string, unknown>)).toContain('requestBody');
  });

  it('refuses callers without a credential (401) or without an allowed role (403)', async () => {
    await api.get('/v1/rules/versions').expect(401);
    await api.post('/v1/rules/versions').set('Content-Type', 'application/yaml').send(TOLERANT_YAML).expect(401);
    await postRules(TEST_KEYS.auditor, TOLERANT_YAML, 'application/yaml').expect(403);
    await postRules(TEST_KEYS.integrator, TOLERANT_YAML, 'application/yaml').expect(403);
    await as(TEST_KEYS.integrator, api.get('/v1/rules/versions')).expect(403);
    await as(TEST_KEYS.ops, api.post('/v1/rules/versions/default-1/activate')).expect(403);
    await as(TEST_KEYS.service, api.post('/v1/rules/versions/default-1/activate')).expect(403);
    expect(await count('SELECT count(*) FROM rule_set_versions')).toBe(0);
    expect(await auditSubjects()).toEqual([]);
  });

  it('refuses bad input with a 400 naming what is wrong, and stores nothing', async () => {
    const invalid = async (body: string, contentType: string) => (await postRules(TEST_KEYS.ops, body, contentType).expect(400)).body;
    expect(await invalid(TOLERANT_YAML.replace('valueDateToleranceDays: 2', 'valueDateToleranceDays: -1'), 'application/yaml')).toEqual({
      statusCode: 400,
      error: 'RULES.INVALID',
      message: 'rule set at defaults.valueDateToleranceDays: Too small: expected number to be >=0',
    });
    expect((await invalid(TOLERANT_YAML.replace('type: batch', 'type: fuzzy'), 'text/yaml')).message).toMatch(/^rule set at rules\.3\.type: /);
    expect((await invalid(TOLERANT_YAML.replace('  - type: batch\n', '  - type: batch\n    colour: blue\n'), 'application/yaml')).message).toMatch(
      /^rule set at rules\.3: Unrecognized key: "colour"/,
    );
    expect((await invalid('{"version": "broken-1", "rules": [', 'application/json')).message).toMatch(/^rule set is not valid YAML\/JSON: /);
    expect((await invalid(JSON.stringify({ version: 'no rules', rules: [{ type: 'ref-exact' }] }), 'application/json')).message).toMatch(
      /^rule set at version: 'no rules' is not a version name/,
    );
    expect((await invalid('', 'application/yaml')).message).toMatch(/^rule set: /);
    const unsupported = await postRules(TEST_KEYS.ops, TOLERANT_YAML, 'application/octet-stream').expect(415);
    expect(unsupported.body).toMatchObject({ error: 'RULES.UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('application/yaml') });
    await postRules(TEST_KEYS.ops, `${TOLERANT_YAML}# ${'x'.repeat(1024 * 1024)}\n`, 'application/yaml').expect(413);
    await as(TEST_KEYS.ops, api.get('/v1/rules/versions/no%20such')).expect(400);
    expect((await as(TEST_KEYS.ops, api.get('/v1/rules/versions/no-such-1')).expect(404)).body.error).toBe('RULES.NOT_FOUND');
    expect(await count('SELECT count(*) FROM rule_set_versions')).toBe(0);
  });

  it('stores versions from YAML and JSON; the same content again is idempotent, other content under the same name a conflict', async () => {
    const created = await postRules(TEST_KEYS.ops, TOLERANT_YAML, 'application/yaml').expect(201);
    expect(created.body).toEqual({
      version: 'tolerant-1',
      rulesHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      sourceFormat: 'yaml',
      createdAt: expect.any(String),
      createdBy: 'dev-ops',
      builtIn: false,
      active: false,
    });
    const strict = await postRules(TEST_KEYS.ops, STRICT_JSON, 'application/json; charset=utf-8').expect(201);
    expect(strict.body).toMatchObject({ version: 'strict-1', sourceFormat: 'json', createdBy: 'dev-ops' });

    // The same rules again, as JSON written otherwise and by someone else: nothing stored, the original answered.
    const again = await postRules(TEST_KEYS.ops2, TOLERANT_JSON, 'application/json').expect(200);
    expect(again.body).toEqual(created.body);
    const conflict = await postRules(TEST_KEYS.ops, TOLERANT_YAML.replace('amountToleranceMinor: 10', 'amountToleranceMinor: 20'), 'application/yaml').expect(
      409,
    );
    expect(conflict.body).toMatchObject({
      error: 'RULES.VERSION_CONFLICT',
      message: expect.stringContaining("version 'tolerant-1' is already stored with other content"),
    });
    const builtInName = await postRules(TEST_KEYS.ops, TOLERANT_YAML.replace('version: tolerant-1', 'version: default-1'), 'application/yaml').expect(409);
    expect(builtInName.body.message).toContain("built-in rule set's name");

    const stored = (await as(TEST_KEYS.auditor, api.get('/v1/rules/versions/tolerant-1')).expect(200)).body;
    expect(stored).toMatchObject({ version: 'tolerant-1', rulesHash: created.body.rulesHash, active: false });
    expect(stored.ruleSet.rules[0]).toEqual({ id: 'ref-exact', type: 'ref-exact', amountToleranceMinor: '10', valueDateToleranceDays: 2 });
    expect(stored.ruleSet.rules[2]).toMatchObject({ type: 'ref-truncated', truncatedLengths: [16, 35] });
    const [row] = await rows<{ canonical_json: string; rules_hash: string; hash_of_text: string }>(
      `SELECT canonical_json, rules_hash, encode(sha256(convert_to(canonical_json, 'UTF8')), 'hex') AS hash_of_text FROM rule_set_versions WHERE version = 'tolerant-1'`,
    );
    expect(row!.hash_of_text).toBe(row!.rules_hash);
    expect(JSON.parse(row!.canonical_json)).toEqual(stored.ruleSet);

    const listed = (await as(TEST_KEYS.ops, api.get('/v1/rules/versions')).expect(200)).body;
    expect(listed.versions.map((version: { version: string }) => version.version)).toEqual(['strict-1', 'tolerant-1', 'default-1']);
    expect(listed.active.version).toBe('default-1');
    expect(await auditSubjects()).toEqual(['audit.reconciliation.rules.create', 'audit.reconciliation.rules.create']);
    const [audit] = await rows<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM outbox_messages WHERE subject = 'audit.reconciliation.rules.create' ORDER BY position LIMIT 1`,
    );
    expect(audit!.payload).toMatchObject({
      action: 'reconciliation.rules.create',
      actor: { id: 'dev-ops', role: 'ops' },
      entity: { type: 'rule_set', id: 'tolerant-1' },
      afterHash: expect.any(String),
      details: { version: 'tolerant-1', rulesHash: created.body.rulesHash, sourceFormat: 'yaml' },
    });
  });

  it('keeps stored versions immutable, in the database too', async () => {
    await expect(harness.admin.query(`UPDATE rule_set_versions SET created_by = 'mallory' WHERE version = 'tolerant-1'`)).rejects.toThrow(/append-only/);
    await expect(harness.admin.query(`DELETE FROM rule_set_versions WHERE version = 'strict-1'`)).rejects.toThrow(/append-only/);
    await expect(
      harness.admin.query(
        `INSERT INTO rule_set_activations (activation_id, version, version_created_by, activated_at, activated_by) VALUES (gen_random_uuid(), 'tolerant-1', 'dev-ops', now(), 'dev-ops')`,
      ),
    ).rejects.toThrow(/rule_set_activations_four_eyes/);
  });

  it('previews a version against the stored day: the matches it gains and loses and the breaks of each, writing nothing', async () => {
    const matchesBefore = await count('SELECT count(*) FROM matches');
    const outboxBefore = await count('SELECT count(*) FROM outbox_messages');
    const tolerant = (await as(TEST_KEYS.approver, api.get(`/v1/rules/versions/tolerant-1/preview?account=${ACCOUNT}&businessDate=${DAY}`)).expect(200)).body;
    expect(tolerant).toMatchObject({
      custodyAccount: ACCOUNT,
      businessDate: DAY,
      active: { version: 'default-1' },
      candidate: { version: 'tolerant-1' },
      inputs: { ledgerItems: 3, bankItems: 3 },
      counts: { gained: 1, lost: 0, ruleChanged: 0 },
      gained: [{ rule: 'ref-exact', ledger: [entryIdOf(shortPair)], bank: ['RB1'] }],
      lost: [],
      matchGroups: { active: 2, candidate: 3 },
    });
    expect(tolerant.matchRate.active).toBeCloseTo(4 / 6, 5);
    expect(tolerant.matchRate.candidate).toBe(1);
    expect(tolerant.breaksByType.active.amount_mismatch).toBe(1);
    expect(tolerant.breaksByType.candidate.amount_mismatch).toBe(0);
    expect(tolerant.breaksByType.delta.amount_mismatch).toBe(-1);

    const strict = (await as(TEST_KEYS.ops, api.get(`/v1/rules/versions/strict-1/preview?account=${ACCOUNT}&businessDate=${DAY}`)).expect(200)).body;
    expect(strict).toMatchObject({
      counts: { gained: 0, lost: 1 },
      lost: [{ rule: 'ref-in-text', ledger: [entryIdOf(textPair)], bank: ['RB2'] }],
    });
    const breaksAdded = Object.values(strict.breaksByType.delta as Record<string, number>).reduce((sum, delta) => sum + delta, 0);
    expect(breaksAdded).toBeGreaterThan(0);
    expect(strict.breaksByType.delta.amount_mismatch).toBe(0);
    // Another day holds nothing: an empty preview, not an error.
    const empty = (await as(TEST_KEYS.ops, api.get(`/v1/rules/versions/strict-1/preview?account=${ACCOUNT}&businessDate=2025-03-05`)).expect(200)).body;
    expect(empty).toMatchObject({ inputs: { ledgerItems: 0, bankItems: 0 }, counts: { gained: 0, lost: 0 } });
    await as(TEST_KEYS.ops, api.get(`/v1/rules/versions/strict-1/preview?account=${ACCOUNT}&businessDate=2025-02-30`)).expect(400);
    await as(TEST_KEYS.ops, api.get(`/v1/rules/versions/strict-1/preview?businessDate=${DAY}`)).expect(400);
    await as(TEST_KEYS.ops, api.get(`/v1/rules/versions/missing-1/preview?account=${ACCOUNT}&businessDate=${DAY}`)).expect(404);
    expect(await count('SELECT count(*) FROM matches')).toBe(matchesBefore);
    expect(await count('SELECT count(*) FROM outbox_messages')).toBe(outboxBefore);
  });

  it('four eyes: the creator of a version cannot activate it, even holding approver', async () => {
    await postRules(BOTH_ROLES_KEY, STRICT_JSON.replace('strict-1', 'alice-1'), 'application/json').expect(201);
    const refused = await as(BOTH_ROLES_KEY, api.post('/v1/rules/versions/alice-1/activate')).expect(403);
    expect(refused.body).toMatchObject({ error: 'RULES.FOUR_EYES', message: expect.stringContaining('created by alice') });
    await as(TEST_KEYS.approver, api.post('/v1/rules/versions/missing-1/activate')).expect(404);
    expect(await count('SELECT count(*) FROM rule_set_activations')).toBe(0);
    expect(await auditSubjects()).not.toContain('audit.reconciliation.rules.change');
  });

  it('activation by another person changes what continuous matching and runs match, and is audited as rules.change', async () => {
    const tolerantHash = (await as(TEST_KEYS.ops, api.get('/v1/rules/versions/tolerant-1')).expect(200)).body.rulesHash as string;
    // Before: a new pair 0.08 apart is not matched by the built-in rules.
    const before = movement({ custodyAccountId: CUSTODY_ID, kind: 'deposit', amount: '300.00', currency: 'EUR', valueDate: DAY, reference: 'RULES-P4-000004' });
    await publishPair(before, line(4, '299.92', { bankRef: 'RB4', endToEndId: 'RULES-P4-000004' }));
    expect(await matchOf(entryIdOf(before))).toBeUndefined();

    const activated = await as(TEST_KEYS.approver, api.post('/v1/rules/versions/tolerant-1/activate')).expect(200);
    expect(activated.body).toEqual({
      changed: true,
      active: { version: 'tolerant-1', rulesHash: tolerantHash, builtIn: false, activatedAt: expect.any(String), activatedBy: 'dev-approver' },
    });
    const again = await as(TEST_KEYS.admin, api.post('/v1/rules/versions/tolerant-1/activate')).expect(200);
    expect(again.body).toMatchObject({ changed: false, active: { version: 'tolerant-1', activatedBy: 'dev-approver' } });
    expect((await as(TEST_KEYS.auditor, api.get('/v1/rules/versions')).expect(200)).body.active).toMatchObject({ version: 'tolerant-1' });

    const changes = await rows<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM outbox_messages WHERE subject = 'audit.reconciliation.rules.change' ORDER BY position`,
    );
    expect(changes).toHaveLength(1);
    expect(changes[0]!.payload).toMatchObject({
      actor: { id: 'dev-approver', role: 'approver' },
      entity: { type: 'rule_set', id: 'tolerant-1' },
      beforeHash: expect.any(String),
      afterHash: expect.any(String),
      details: {
        version: 'tolerant-1',
        rulesHash: tolerantHash,
        previousVersion: 'default-1',
        previousRulesHash: defaultRuleSet().rulesHash,
        createdBy: 'dev-ops',
      },
    });

    // After: the same shape of pair matches at once, by the tolerant ref-exact.
    const after = movement({ custodyAccountId: CUSTODY_ID, kind: 'deposit', amount: '400.00', currency: 'EUR', valueDate: DAY, reference: 'RULES-P5-000005' });
    await publishPair(after, line(5, '399.93', { bankRef: 'RB5', endToEndId: 'RULES-P5-000005' }));
    expect(await matchOf(entryIdOf(after))).toEqual({ rule: 'ref-exact', ledger_ids: [entryIdOf(after)], bank_ids: ['RB5'] });

    // The run matches the pairs left over from before, and records the active version.
    const run = (await as(TEST_KEYS.ops, api.post('/v1/runs').send({ custodyAccount: ACCOUNT, businessDate: DAY })).expect(201)).body;
    expect(run.run).toMatchObject({ rulesVersion: 'tolerant-1', rulesHash: tolerantHash });
    expect(run.counts).toMatchObject({ matchGroups: 2, matchesByRule: { 'ref-exact': { groups: 2 } } });
    expect(await matchOf(entryIdOf(shortPair))).toMatchObject({ rule: 'ref-exact', bank_ids: ['RB1'] });
    expect(await matchOf(entryIdOf(before))).toMatchObject({ rule: 'ref-exact', bank_ids: ['RB4'] });
  });

  it('another instance picks up an activation within its recheck interval, with one cheap query per interval', async () => {
    let nowMs = Date.parse('2026-01-01T00:00:00Z');
    const clock: Clock = { now: () => new Date(nowMs) };
    const other = new ActiveRuleSetProvider(defaultRuleSet(), new RuleSetsPgRepository(), clock, 5_000);
    const db = harness.app.get<TransactionRunner>(TRANSACTIONS);
    let queries = 0;
    const current = () =>
      db.transaction((executor) => {
        const counting: SqlExecutor = { query: (sql, params) => ((queries += 1), executor.query(sql, params)) };
        return other.current(counting);
      });
    expect((await current()).ruleSet.version).toBe('tolerant-1');
    const afterFirstRead = queries;
    nowMs += 4_999;
    expect((await current()).ruleSet.version).toBe('tolerant-1');
    expect(queries).toBe(afterFirstRead);

    // Back to the built-in rule set through the API (this instance): stored as a version of the service's own, then activated.
    const back = (await as(TEST_KEYS.approver, api.post('/v1/rules/versions/default-1/activate')).expect(200)).body;
    expect(back.active).toMatchObject({ version: 'default-1', builtIn: true, activatedBy: 'dev-approver' });
    expect((await current()).ruleSet.version).toBe('tolerant-1'); // still inside its interval: no query, the old set
    expect(queries).toBe(afterFirstRead);
    nowMs += 2;
    const picked = await current();
    expect(picked.ruleSet).toEqual(defaultRuleSet());
    expect(picked).toMatchObject({ exactAmounts: true, toleranceDays: 2, activation: { activated_by: 'dev-approver' } });
    expect(queries).toBeLessThanOrEqual(afterFirstRead + 2); // the latest activation, then the version's text once

    const [builtIn] = await rows<{ created_by: string; source_format: string }>(
      `SELECT created_by, source_format FROM rule_set_versions WHERE version = 'default-1'`,
    );
    expect(builtIn).toEqual({ created_by: 'reconciliation', source_format: 'built-in' });
    expect((await auditSubjects()).slice(-2)).toEqual(['audit.reconciliation.rules.create', 'audit.reconciliation.rules.change']);
    const activations = await rows<{ version: string; previous_version: string | null }>(
      'SELECT version, previous_version FROM rule_set_activations ORDER BY activation_no',
    );
    expect(activations).toEqual([
      { version: 'tolerant-1', previous_version: null },
      { version: 'default-1', previous_version: 'tolerant-1' },
    ]);
  });
});
