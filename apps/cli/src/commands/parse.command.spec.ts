import * as path from 'node:path';
import { recon } from '../testing/run-recon';
import { registerParseCommand } from './parse.command';

const FIXTURES = path.resolve(__dirname, '../../../../libs/statement-formats/test-fixtures/camt');

describe(registerParseCommand.name, () => {
  it('prints the CONTRACT example as JSONL, keys in order, and exits 0', async () => {
    const run = await recon('parse', path.join(FIXTURES, 'camt053-v08-contract-example.xml'));

    expect(run.exitCode).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(
      '{"kind":"statement","format":"camt.053","statementId":"STMT-2025-001","account":"DE89370400440532013000","currency":"EUR","sequence":"1",' +
        '"from":"2025-01-02","to":"2025-01-02","openingBalance":{"amount":"1000.00","date":"2025-01-01"},"closingBalance":{"amount":"1077.70","date":"2025-01-02"}}',
    );
    expect(lines[1]).toBe(
      '{"kind":"entry","statementId":"STMT-2025-001","lineNo":1,"amount":"-22.30","currency":"EUR","bookingDate":"2025-01-02","valueDate":"2025-01-02",' +
        '"bankRef":"2025010200017","endToEndId":"PLAT-W-000123","customerRef":"PLAT-W-000123","bankTxCode":"PMNT/ICDT/ESCT","counterpartyName":"Jane Doe",' +
        '"counterpartyAccount":"FR7630006000011234567890189","remittance":"withdrawal PLAT-W-000123","reversal":false}',
    );
    expect(lines).toHaveLength(3);
  });

  it('exits 1 and says how many lines were rejected', async () => {
    const run = await recon('parse', path.join(FIXTURES, 'camt053-v04-excess-precision.xml'));

    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('"kind":"rejected","lineNo":3,"reason":"entry 3: entry amount: amount \'18.155\' has more than 2 decimal places for EUR"');
    expect(run.stderr).toMatch(/1 line\(s\) rejected\n$/);
  });

  it('exits 2 on truncated XML', async () => {
    const run = await recon('parse', path.join(FIXTURES, 'camt053-v08-truncated.xml'));

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('the XML is truncated');
  });

  it('exits 2 when the file is not the claimed format', async () => {
    const run = await recon('parse', '--format', 'camt.052', path.join(FIXTURES, 'camt053-v08-contract-example.xml'));

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('the file is camt.053, not camt.052 as claimed');
  });

  it.each([
    ['--format', 'pdf'],
    ['--encoding', 'ebcdic'],
  ])('exits 2 on an unknown %s value', async (option, value) => {
    const run = await recon('parse', option, value, path.join(FIXTURES, 'camt053-v08-contract-example.xml'));

    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain(`unknown ${option} '${value}'`);
  });

  it('exits 2 on a missing file', async () => {
    expect((await recon('parse', path.join(FIXTURES, 'absent.xml'))).exitCode).toBe(2);
  });

  it('reads an ISO-8859-1 document by its declaration, and a forced encoding overrides it', async () => {
    const file = path.join(FIXTURES, 'camt052-v13-latin1.xml');

    const auto = await recon('parse', file);
    const forced = await recon('parse', '--encoding', 'utf8', file);

    expect(auto.stdout).toContain('"counterpartyName":"Max Müller"');
    expect(forced.stdout).toContain('"counterpartyName":"Max M\ufffdller"');
  });

  it('prints batch transactions and reversals', async () => {
    const run = await recon('parse', path.join(FIXTURES, 'camt054-v02-batch-and-reversal.xml'));

    expect(run.stdout).toContain(
      '"customerRef":"PLAT-BATCH-77","reversal":false,"transactions":[{"amount":"-100.00","endToEndId":"E2E-1","customerRef":"E2E-1"}',
    );
    expect(run.stdout).toContain('"amount":"9.99","currency":"EUR","bookingDate":"2025-01-02","reversal":true}');
  });

  it('with --check reports statement findings on stderr and exits 1', async () => {
    const run = await recon('parse', '--check', path.join(FIXTURES, 'camt052-v13-latin1.xml'));

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('balance_does_not_add_up');
  });
});
