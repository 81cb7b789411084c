import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CanonicalRecord } from '@recon/statement-formats';
import type { BankAdapter, ParseOptions } from '../bank-adapter.port';
import { UploadAdapter } from '../upload.adapter';
import { checkAdapterConformance, formatConformanceTable, mutationsOf } from './adapter-conformance';

const FIXTURES = path.resolve(__dirname, '../../../test/fixtures');
const samples = ['statement-a.camt053.xml', 'statement-b.mt940'].map((name) => ({ name, content: fs.readFileSync(path.join(FIXTURES, name)) }));

/** The upload adapter with one defect injected into its parse. */
function brokenAdapter(defect: (records: AsyncIterable<CanonicalRecord>, content: Buffer) => AsyncIterable<unknown>): BankAdapter {
  const sut = new UploadAdapter();
  return {
    capabilities: () => ({ name: 'broken', transports: [], formats: ['*'] }),
    fetch: () => sut.fetch(),
    detect: (head) => sut.detect(head),
    parse: (content: Buffer, options: ParseOptions) => defect(sut.parse(content, options), content) as AsyncIterable<CanonicalRecord>,
  };
}

describe(checkAdapterConformance.name, () => {
  it('passes the built-in upload adapter on camt.053 and MT940 samples', async () => {
    const checks = await checkAdapterConformance(new UploadAdapter(), samples, { mutationsPerSample: 12 });
    expect(checks.filter((check) => !check.passed)).toEqual([]);
    expect(checks.map((check) => check.check)).toEqual([
      'interface',
      ...['detect', 'canonical records', 'deterministic', 'hostile input'].flatMap((check) => [check]),
      'detect',
      'canonical records',
      'deterministic',
      'hostile input',
    ]);
    expect(formatConformanceTable(checks)).toMatch(/all 9 checks passed/);
  });

  it('fails an adapter that drops the lines it cannot read', async () => {
    const sut = brokenAdapter(async function* (records) {
      for await (const record of records) if (record.kind !== 'rejected') yield record;
    });
    const checks = await checkAdapterConformance(sut, samples.slice(1), { mutationsPerSample: 12 });
    expect(checks.find((check) => check.check === 'hostile input')).toMatchObject({ passed: false, detail: expect.stringMatching(/not accounted for/) });
  });

  it('fails an adapter that crashes on hostile input or emits money as numbers and nulls', async () => {
    const crashing = brokenAdapter(async function* (records, content) {
      if (content.length < 10) throw new TypeError('cannot read properties of undefined');
      yield* records;
    });
    const crashChecks = await checkAdapterConformance(crashing, samples.slice(1), { mutationsPerSample: 6 });
    expect(crashChecks.find((check) => check.check === 'hostile input')?.detail).toMatch(/empty file \(mt940\): threw TypeError/);

    const sloppy = brokenAdapter(async function* (records) {
      for await (const record of records) yield record.kind === 'entry' ? { ...record, amount: 150, bankRef: null } : record;
    });
    const sloppyChecks = await checkAdapterConformance(sloppy, samples.slice(1), { mutationsPerSample: 3 });
    const canonical = sloppyChecks.find((check) => check.check === 'canonical records');
    expect(canonical).toMatchObject({ passed: false });
    expect(canonical?.detail).toMatch(/null/);
    expect(canonical?.detail).toMatch(/amount/);
  });

  it('fails a module that is not an adapter', async () => {
    const checks = await checkAdapterConformance({ parse: () => undefined } as unknown as BankAdapter, samples);
    expect(checks).toEqual([expect.objectContaining({ check: 'interface', passed: false, detail: expect.stringMatching(/missing capabilities\(\)/) })]);
  });

  it('mutates deterministically for a seed', () => {
    const seeded = (seed: number) => {
      let state = seed;
      return () => (state = (state * 16_807) % 2_147_483_647) / 2_147_483_647;
    };
    const first = mutationsOf(samples[1]!.content, 20, seeded(7)).map((mutation) => mutation.label);
    expect(mutationsOf(samples[1]!.content, 20, seeded(7)).map((mutation) => mutation.label)).toEqual(first);
    expect(first).toHaveLength(20);
    expect(first).toEqual(expect.arrayContaining(['empty file', expect.stringMatching(/duplicated/), expect.stringMatching(/garbage line/)]));
  });
});
