import * as path from 'node:path';
import { runAdapterCheck, UsageError } from './adapter-check';

const ROOT = path.resolve(__dirname, '../../..');
const FIXTURES = path.join(ROOT, 'apps/bank-gateway/test/fixtures');

describe(runAdapterCheck.name, () => {
  it('prints a pass table and returns 0 for a conforming adapter module', async () => {
    let output = '';
    const code = await runAdapterCheck(
      [path.join(ROOT, 'apps/bank-gateway/src/adapters/upload.adapter.ts'), path.join(FIXTURES, 'statement-b.mt940'), '--mutations', '6'],
      (text) => (output += text),
    );
    expect(output).toMatch(/statement-b\.mt940\s+hostile input\s+PASS/);
    expect(output).toMatch(/all 5 checks passed/);
    expect(code).toBe(0);
  });

  it('refuses bad usage', async () => {
    await expect(runAdapterCheck([], () => undefined)).rejects.toThrow(UsageError);
    await expect(runAdapterCheck(['nope.ts', path.join(FIXTURES, 'statement-b.mt940')], () => undefined)).rejects.toThrow(/no such file/);
    await expect(
      runAdapterCheck([path.join(ROOT, 'apps/bank-gateway/src/bank-gateway.tokens.ts'), path.join(FIXTURES, 'statement-b.mt940')], () => undefined),
    ).rejects.toThrow(/exports no adapter/);
    await expect(runAdapterCheck([path.join(ROOT, 'apps/bank-gateway/src/adapters/upload.adapter.ts'), 'missing.xml'], () => undefined)).rejects.toThrow(
      /sample missing\.xml/,
    );
  });
});
