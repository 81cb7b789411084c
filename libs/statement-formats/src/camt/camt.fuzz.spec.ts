import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { type CanonicalRecord, UnreadableStatementError } from '../canonical';
import { decodeBuffer } from '../decode/decode-stream';
import { detectEncoding } from '../decode/encoding-detection';
import { collect } from '../parser.port';
import { parseStatementBytes } from '../read-statement';
import { camtDocument, standardRecord } from '../../test-fixtures/camt-builder';
import { type CamtParseOptions, STATEMENT_HEADER_REASON_PREFIX, parseCamt } from './camt.parser';

/**
 * Property tests over thousands of mutated camt files (byte flips, truncation, element deletion and
 * duplication, hostile insertions) built from the project's fixtures and, when present, the shared corpora:
 * no exception other than UnreadableStatementError, no hang, and every `Ntry` of a file that parses is
 * accounted for by exactly one `entry` or `rejected` record.
 */
const RUNS_PER_PROPERTY = 1_500;
const PARSE_TIME_MAX_MS = 2_000;
const CORPORA_SAMPLES_MAX = 12;
const CORPORA_SAMPLE_BYTES_MAX = 64 * 1024;

function fixtureSeeds(): Buffer[] {
  const seeds: Buffer[] = [];
  for (const [kind, version] of [
    ['053', 2],
    ['053', 8],
    ['052', 6],
    ['054', 4],
    ['054', 13],
  ] as const) {
    seeds.push(Buffer.from(camtDocument({ kind, version, records: [standardRecord(), standardRecord({ id: 'STMT-2', electronicSequence: '2' })] })));
  }
  seeds.push(
    Buffer.from(
      camtDocument({
        kind: '053',
        version: 8,
        records: [
          standardRecord({
            entries: [
              {
                amount: '300.00',
                indicator: 'DBIT',
                reversal: true,
                batchPaymentInformationId: 'B',
                transactions: [
                  { amount: '100.00', endToEndId: 'E1' },
                  { amount: '200.00', endToEndId: 'E2' },
                ],
              },
            ],
          }),
        ],
      }),
    ),
  );
  const fixturesDir = path.resolve(__dirname, '../../test-fixtures/camt');
  for (const name of fs.readdirSync(fixturesDir)) seeds.push(fs.readFileSync(path.join(fixturesDir, name)));
  return seeds;
}

function corporaSeeds(): Buffer[] {
  const seeds = allCorporaSamples().filter((sample) => sample.length <= CORPORA_SAMPLE_BYTES_MAX);
  // A spread of samples keeps the run time bounded while covering every origin.
  const step = Math.max(1, Math.floor(seeds.length / CORPORA_SAMPLES_MAX));
  return seeds.filter((_seed, index) => index % step === 0).slice(0, CORPORA_SAMPLES_MAX);
}

/** Every camt sample of the shared corpora (none when the folder is absent). */
function allCorporaSamples(): Buffer[] {
  const corporaDir = process.env.RECON_CORPORA_DIR ?? path.resolve(__dirname, '../../../../../shared/corpora');
  const seeds: Buffer[] = [];
  for (const folder of ['camt052', 'camt053', 'camt054']) {
    const formatDir = path.join(corporaDir, folder);
    if (!fs.existsSync(formatDir)) continue;
    for (const origin of fs.readdirSync(formatDir).sort()) {
      const originDir = path.join(formatDir, origin);
      if (!fs.statSync(originDir).isDirectory()) continue;
      for (const name of fs.readdirSync(originDir).sort()) {
        const file = path.join(originDir, name);
        if (/(\.json|\.md|\.pydata|LICENSE.*)$/.test(name) || !fs.statSync(file).isFile()) continue;
        seeds.push(fs.readFileSync(file));
      }
    }
  }
  return seeds;
}

const SEEDS = [...fixtureSeeds(), ...corporaSeeds()];

/** Spans `<X ...>...</X>` of the document, found naively (nested same-name elements may give odd spans: fine for fuzzing). */
function elementSpan(text: string, openIndex: number): [number, number] | undefined {
  const match = /^<([A-Za-z][\w.:-]*)/.exec(text.slice(openIndex, openIndex + 80));
  if (match === null) return undefined;
  const close = text.indexOf(`</${match[1]!}>`, openIndex);
  if (close < 0) return undefined;
  return [openIndex, close + match[1]!.length + 3];
}

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly byte: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'delete-element'; readonly at: number }
  | { readonly kind: 'duplicate-element'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly snippet: string };

const HOSTILE_SNIPPETS = [
  '<!DOCTYPE Document [<!ENTITY a "aaaaaaaaaa">]>',
  '&a;',
  '<![CDATA[<Ntry>]]>',
  '<!-- <Ntry> -->',
  `${'<X>'.repeat(70)}${'</X>'.repeat(70)}`,
  '<Ntry><Amt Ccy="EUR">1.001</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts></Ntry>',
  '<Ntry/>',
  '<Amt Ccy="XXX">1e5</Amt>',
  '\u0000',
  '<?xml version="1.0"?>',
];

function applyMutation(seed: Buffer, mutation: Mutation): Buffer {
  const at = Math.floor(mutation.at * seed.length);
  switch (mutation.kind) {
    case 'flip': {
      const copy = Buffer.from(seed);
      copy[Math.min(at, copy.length - 1)] = mutation.byte;
      return copy;
    }
    case 'truncate':
      return seed.subarray(0, at);
    case 'delete-element':
    case 'duplicate-element': {
      const text = seed.toString('latin1');
      const openIndex = text.indexOf('<', at);
      const span = openIndex < 0 ? undefined : elementSpan(text, openIndex);
      if (span === undefined) return seed;
      const element = text.slice(span[0], span[1]);
      const replaced = mutation.kind === 'delete-element' ? '' : element + element;
      return Buffer.from(text.slice(0, span[0]) + replaced + text.slice(span[1]), 'latin1');
    }
    case 'insert': {
      const text = seed.toString('latin1');
      const gap = text.indexOf('>', at);
      const position = gap < 0 ? text.length : gap + 1;
      return Buffer.concat([seed.subarray(0, position), Buffer.from(mutation.snippet, 'utf8'), seed.subarray(position)]);
    }
  }
}

const fraction = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });
// Structure-preserving mutations weigh more: byte flips and truncation mostly break well-formedness, and
// only well-formed results exercise the entry accounting.
const mutationArbitrary: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fraction, byte: fc.integer({ min: 0, max: 255 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fraction }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('delete-element' as const), at: fraction }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('duplicate-element' as const), at: fraction }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('insert' as const), at: fraction, snippet: fc.constantFrom(...HOSTILE_SNIPPETS) }) },
);

/** Entry elements of a well-formed camt text; comments and CDATA are blanked first so they do not count. */
function countEntryElements(text: string): number {
  const visible = text.replace(/<!--[\s\S]*?-->/g, '').replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '');
  return (visible.match(/<(?:[A-Za-z_][\w.-]*:)?Ntry(?=[\s>/])/g) ?? []).length;
}

async function parseOrRefuse(bytes: Buffer): Promise<CanonicalRecord[] | 'unreadable'> {
  try {
    return await collect(parseStatementBytes(bytes));
  } catch (error: unknown) {
    if (error instanceof UnreadableStatementError) return 'unreadable';
    throw error;
  }
}

async function* textChunks(text: string, chunkLength: number): AsyncGenerator<string> {
  for (let offset = 0; offset < text.length; offset += chunkLength) yield text.slice(offset, offset + chunkLength);
}

/** Records, or the refusal's message: the saxes reader (the parser before XmlTokenizer) is the oracle. */
async function camtOutcome(text: string, chunkLength: number, xmlReader: CamtParseOptions['xmlReader']): Promise<CanonicalRecord[] | { refused: string }> {
  try {
    return await collect(parseCamt(textChunks(text, chunkLength), { xmlReader }));
  } catch (error: unknown) {
    if (error instanceof UnreadableStatementError) return { refused: error.message };
    throw error;
  }
}

function assertEveryEntryAccountedFor(bytes: Buffer, records: readonly CanonicalRecord[]): void {
  const lineNos: number[] = [];
  for (const record of records) {
    if (record.kind === 'entry') lineNos.push(record.lineNo);
    else if (record.kind === 'rejected' && !record.reason.startsWith(STATEMENT_HEADER_REASON_PREFIX)) lineNos.push(record.lineNo);
  }
  lineNos.sort((left, right) => left - right);
  const expectedCount = countEntryElements(bytes.toString('latin1'));
  expect(lineNos).toEqual(Array.from({ length: expectedCount }, (_unused, index) => index + 1));
}

describe('camt parser under mutation', () => {
  it('has seeds from the fixtures (and the corpora when present)', () => {
    expect(SEEDS.length).toBeGreaterThanOrEqual(fixtureSeeds().length);
  });

  it('every seed parses and accounts for every entry', async () => {
    for (const seed of SEEDS) {
      const result = await parseOrRefuse(seed);
      if (result !== 'unreadable') assertEveryEntryAccountedFor(seed, result);
    }
  });

  it('never throws anything but UnreadableStatementError, never hangs, and accounts for every entry', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: SEEDS.length - 1 }),
        fc.array(mutationArbitrary, { minLength: 1, maxLength: 2 }),
        async (seedIndex, mutations) => {
          const bytes = mutations.reduce((current, mutation) => applyMutation(current, mutation), SEEDS[seedIndex]!);
          const startedAtMs = Date.now();
          const result = await parseOrRefuse(bytes);
          expect(Date.now() - startedAtMs).toBeLessThan(PARSE_TIME_MAX_MS);
          if (result !== 'unreadable') assertEveryEntryAccountedFor(bytes, result);
        },
      ),
      { numRuns: RUNS_PER_PROPERTY * 2 },
    );
  }, 120_000);

  it('reads every fixture and corpus sample exactly as the saxes reader does', async () => {
    for (const sample of [...fixtureSeeds(), ...allCorporaSamples()]) {
      const text = decodeBuffer(sample, detectEncoding(sample).encoding);
      const expected = await camtOutcome(text, text.length + 1, 'saxes');
      for (const chunkLength of [text.length + 1, 4096, 97]) expect(await camtOutcome(text, chunkLength, 'tokenizer')).toEqual(expected);
    }
  });

  it('reads every mutated file exactly as the saxes reader does, whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: SEEDS.length - 1 }),
        fc.array(mutationArbitrary, { minLength: 1, maxLength: 2 }),
        fc.integer({ min: 1, max: 4096 }),
        async (seedIndex, mutations, chunkLength) => {
          const text = mutations.reduce((current, mutation) => applyMutation(current, mutation), SEEDS[seedIndex]!).toString('utf8');
          const expected = await camtOutcome(text, text.length + 1, 'saxes');
          const actual = await camtOutcome(text, chunkLength, 'tokenizer');
          if (Array.isArray(expected)) expect(actual).toEqual(expected);
          // Both refuse; the wording may differ where saxes reads further before noticing (a DOCTYPE's body).
          else expect(actual).toEqual({ refused: expect.any(String) });
        },
      ),
      { numRuns: RUNS_PER_PROPERTY },
    );
  }, 120_000);

  it('survives arbitrary bytes behind a camt head', async () => {
    const head = Buffer.from('<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><Stmt>');
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2_000 }), async (tail) => {
        const result = await parseOrRefuse(Buffer.concat([head, Buffer.from(tail)]));
        expect(result === 'unreadable' || Array.isArray(result)).toBe(true);
      }),
      { numRuns: RUNS_PER_PROPERTY },
    );
  }, 120_000);
});
