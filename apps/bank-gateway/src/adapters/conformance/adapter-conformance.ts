import { bankLineReceivedV1Schema, bankStatementReceivedV1Schema } from '@recon/contracts';
import type { CanonicalRecord } from '@recon/statement-formats';
import { z } from 'zod';
import type { BankAdapter, ParseOptions } from '../bank-adapter.port';

/** Records read from one sample at most: a conformance sample is small. */
export const CONFORMANCE_RECORDS_MAX = 1_000_000;
export const HOSTILE_MUTATIONS_PER_SAMPLE_DEFAULT = 24;
/** One parse of a (mutated) sample must finish within this, or the adapter hangs on hostile input. */
export const PARSE_TIMEOUT_MS = 10_000;
const PROBLEMS_LISTED_MAX = 3;
const PLACEHOLDER_ID = '00000000-0000-4000-8000-000000000000';
const PLACEHOLDER_INSTANT = '2025-01-01T00:00:00.000Z';

export interface ConformanceSample {
  readonly name: string;
  readonly content: Buffer;
}

export interface ConformanceCheck {
  readonly sample: string;
  readonly check: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface ConformanceOptions {
  readonly mutationsPerSample?: number;
  readonly seed?: number;
}

const rejectedSchema = z
  .object({ kind: z.literal('rejected'), lineNo: z.number().int().min(0), reason: z.string().min(1).max(2_000), raw: z.string() })
  .strict();

/**
 * Runs an adapter over sample files and checks it against the canonical contract and hostile input:
 *
 * - interface: capabilities(), detect(), parse() and fetch() exist; capabilities name the adapter;
 * - detect: recognises each sample;
 * - parse: every record is a canonical `statement`, `entry` or `rejected` record (the same contract schemas the
 *   gateway enforces before publishing), no `null` fields, each entry after its statement, at least one statement;
 * - deterministic: parsing twice gives the same records;
 * - hostile: mutated samples (truncated, bytes flipped, lines deleted, duplicated, garbage inserted, empty, huge
 *   line) never crash other than with UnreadableStatementError, never hang, still give canonical records, and an
 *   insertion never loses lines: entries + rejected records ≥ the sample's entries + rejected (every line
 *   accounted for: a line the adapter cannot read must come out as a `rejected` record, not vanish; an appended
 *   200 KiB line, longer than any format's line, must add one).
 */
export async function checkAdapterConformance(
  adapter: BankAdapter,
  samples: readonly ConformanceSample[],
  options: ConformanceOptions = {},
): Promise<ConformanceCheck[]> {
  const checks: ConformanceCheck[] = [];
  const add = (sample: string, check: string, problems: readonly string[], okDetail: string) =>
    checks.push({ sample, check, passed: problems.length === 0, detail: problems.length === 0 ? okDetail : problems.slice(0, PROBLEMS_LISTED_MAX).join('; ') });

  const missing = (['capabilities', 'detect', 'parse', 'fetch'] as const).filter(
    (method) => typeof (adapter as unknown as Record<string, unknown>)[method] !== 'function',
  );
  let name = '?';
  if (missing.length === 0) {
    try {
      name = adapter.capabilities().name;
    } catch (error) {
      missing.push(`capabilities() threw ${describe(error)}` as never);
    }
  }
  add(
    '(module)',
    'interface',
    missing.map((method) => `missing ${method}()`),
    `adapter '${name}'`,
  );
  if (missing.length > 0) return checks;

  const random = mulberry32(options.seed ?? 20_250_101);
  for (const sample of samples) {
    let detected: ReturnType<BankAdapter['detect']>;
    try {
      detected = adapter.detect(sample.content.subarray(0, 64 * 1024));
      add(
        sample.name,
        'detect',
        detected === undefined ? ['not recognised'] : [],
        detected === undefined ? '' : `${detected.format}${detected.encoding === undefined ? '' : ` (${detected.encoding})`}`,
      );
    } catch (error) {
      add(sample.name, 'detect', [`threw ${describe(error)}`], '');
    }
    const parseOptions: ParseOptions = { format: detected?.format ?? 'auto', encoding: 'auto' };
    const first = await runParse(adapter, sample.content, parseOptions);
    if (first.error !== undefined || first.unreadable) {
      add(sample.name, 'canonical records', [first.error ?? `the sample is unreadable as a whole: ${first.unreadableReason ?? ''}`], '');
      continue;
    }
    const problems = recordProblems(first.records);
    if (!first.records.some((record) => record.kind === 'statement')) problems.push(`no statement record (${first.records.length} record(s) in all)`);
    const knownProblems = new Set(problems.map(withoutRecordNumber));
    const counts = countsOf(first.records);
    add(sample.name, 'canonical records', problems, `${counts.statements} statement(s), ${counts.entries} entries, ${counts.rejected} rejected`);
    const second = await runParse(adapter, sample.content, parseOptions);
    add(
      sample.name,
      'deterministic',
      second.error !== undefined
        ? [second.error]
        : JSON.stringify(second.records) === JSON.stringify(first.records)
          ? []
          : ['a second parse gave other records'],
      'same records twice',
    );

    const hostileProblems: string[] = [];
    const mutations = mutationsOf(sample.content, options.mutationsPerSample ?? HOSTILE_MUTATIONS_PER_SAMPLE_DEFAULT, random);
    let unreadable = 0;
    for (const mutation of mutations) {
      for (const format of [parseOptions.format, 'auto'] as const) {
        const result = await runParse(adapter, mutation.content, { format, encoding: 'auto' });
        if (result.unreadable) {
          unreadable += 1;
          continue;
        }
        if (result.error !== undefined) {
          hostileProblems.push(`${mutation.label} (${format}): ${result.error}`);
          continue;
        }
        // Problems the sample itself has are reported once, under `canonical records`, not again per mutation.
        const mutatedProblems = recordProblems(result.records).filter((problem) => !knownProblems.has(withoutRecordNumber(problem)));
        if (mutatedProblems.length > 0) hostileProblems.push(`${mutation.label} (${format}): ${mutatedProblems[0]}`);
        if (mutation.additive) {
          const mutated = countsOf(result.records);
          // A line longer than any format allows cannot be part of a record: it must come out rejected.
          const accountedBefore = counts.entries + counts.rejected + (mutation.addsUnreadableLine ? 1 : 0);
          if (mutated.entries + mutated.rejected < accountedBefore) {
            hostileProblems.push(
              `${mutation.label} (${format}): ${accountedBefore - mutated.entries - mutated.rejected} line(s) not accounted for (${mutated.entries} entries + ${mutated.rejected} rejected < ${accountedBefore} of the sample)`,
            );
          }
        }
      }
    }
    add(
      sample.name,
      'hostile input',
      hostileProblems,
      `${mutations.length * 2} mutated parses, ${unreadable} unreadable as a whole, no crash, every line accounted`,
    );
  }
  return checks;
}

interface ParseRun {
  readonly records: CanonicalRecord[];
  readonly unreadable: boolean;
  readonly unreadableReason?: string;
  readonly error?: string;
}

async function runParse(adapter: BankAdapter, content: Buffer, options: ParseOptions): Promise<ParseRun> {
  const records: CanonicalRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), PARSE_TIMEOUT_MS);
  });
  const work = (async () => {
    for await (const record of adapter.parse(content, options)) {
      records.push(record);
      if (records.length > CONFORMANCE_RECORDS_MAX) throw new Error(`more than ${CONFORMANCE_RECORDS_MAX} records`);
    }
    return 'done' as const;
  })();
  try {
    const outcome = await Promise.race([work, timeout]);
    if (outcome === 'timeout') return { records, unreadable: false, error: `no result within ${PARSE_TIMEOUT_MS} ms` };
    return { records, unreadable: false };
  } catch (error) {
    // By name, not instanceof: an adapter compiled separately has its own copy of the error class.
    if (error instanceof Error && error.name === 'UnreadableStatementError')
      return { records, unreadable: true, unreadableReason: error.message.slice(0, 200) };
    return { records, unreadable: false, error: `threw ${describe(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

function recordProblems(records: readonly CanonicalRecord[]): string[] {
  const problems: string[] = [];
  const statements = new Map<string, string>();
  for (const [index, record] of records.entries()) {
    const at = `record ${index + 1} (${String((record as { kind?: unknown }).kind)})`;
    if (JSON.stringify(record).includes(':null')) problems.push(`${at}: a field is null (fields a format lacks are omitted)`);
    if (record.kind === 'statement') {
      const { kind: _kind, ...fields } = record;
      const result = bankStatementReceivedV1Schema.safeParse({
        ...fields,
        fileId: PLACEHOLDER_ID,
        receivedAt: PLACEHOLDER_INSTANT,
        entryCount: 0,
        rejectedCount: 0,
      });
      if (!result.success) problems.push(`${at}: ${issuesText(result.error.issues)}`);
      statements.set(record.statementId, record.account);
    } else if (record.kind === 'entry') {
      const { kind: _kind, ...fields } = record;
      const account = statements.get(record.statementId);
      if (account === undefined) problems.push(`${at}: entry of statement '${record.statementId}' before (or without) its statement record`);
      const result = bankLineReceivedV1Schema.safeParse({
        ...fields,
        fileId: PLACEHOLDER_ID,
        lineId: PLACEHOLDER_ID,
        account: account ?? 'unknown',
        receivedAt: PLACEHOLDER_INSTANT,
      });
      if (!result.success) problems.push(`${at}: ${issuesText(result.error.issues)}`);
    } else if (record.kind === 'rejected') {
      const result = rejectedSchema.safeParse(record);
      if (!result.success) problems.push(`${at}: ${issuesText(result.error.issues)}`);
    } else {
      problems.push(`${at}: kind is not statement, entry or rejected`);
    }
    if (problems.length >= PROBLEMS_LISTED_MAX) break;
  }
  return problems;
}

function withoutRecordNumber(problem: string): string {
  return problem.replace(/^record \d+ /, 'record ');
}

function countsOf(records: readonly CanonicalRecord[]) {
  let statements = 0;
  let entries = 0;
  let rejected = 0;
  for (const record of records) {
    if (record.kind === 'statement') statements += 1;
    else if (record.kind === 'entry') entries += 1;
    else rejected += 1;
  }
  return { statements, entries, rejected };
}

interface Mutation {
  readonly label: string;
  readonly content: Buffer;
  /** The original bytes are all still there, in order: no line may be lost. */
  readonly additive: boolean;
  /** The mutation adds a line no parser can take as data, which must be reported as rejected. */
  readonly addsUnreadableLine?: boolean;
}

/** Deterministic (seeded) hostile variants of a sample. */
export function mutationsOf(content: Buffer, count: number, random: () => number): Mutation[] {
  const lines = splitLines(content);
  const pick = (length: number) => Math.floor(random() * length);
  const join = (parts: readonly Buffer[]) => Buffer.concat(parts);
  const mutations: Mutation[] = [
    { label: 'empty file', content: Buffer.alloc(0), additive: false },
    { label: 'byte-order mark only', content: Buffer.from([0xef, 0xbb, 0xbf]), additive: false },
    {
      label: 'huge line appended',
      content: join([content, Buffer.from('\n'), Buffer.alloc(200 * 1024, 0x41), Buffer.from('\n')]),
      additive: true,
      addsUnreadableLine: true,
    },
  ];
  const kinds = ['truncate', 'flip', 'delete line', 'duplicate line', 'insert garbage line', 'swap lines'] as const;
  for (let index = 0; mutations.length < count; index += 1) {
    const kind = kinds[index % kinds.length]!;
    if (kind === 'truncate') {
      const at = pick(content.length);
      mutations.push({ label: `truncated at byte ${at}`, content: content.subarray(0, at), additive: false });
    } else if (kind === 'flip') {
      const at = pick(content.length);
      const flipped = Buffer.from(content);
      flipped[at] = (flipped[at] ?? 0) ^ (1 + pick(255));
      mutations.push({ label: `byte ${at} flipped`, content: flipped, additive: false });
    } else if (lines.length > 1) {
      const at = pick(lines.length);
      if (kind === 'delete line') mutations.push({ label: `line ${at + 1} deleted`, content: join(lines.filter((_, line) => line !== at)), additive: false });
      else if (kind === 'duplicate line')
        mutations.push({ label: `line ${at + 1} duplicated`, content: join([...lines.slice(0, at + 1), lines[at]!, ...lines.slice(at + 1)]), additive: true });
      else if (kind === 'insert garbage line') {
        const garbage = Buffer.from(Array.from({ length: 1 + pick(80) }, () => pick(256)).map((byte) => (byte === 0x0a || byte === 0x0d ? 0x20 : byte)));
        mutations.push({
          label: `garbage line before line ${at + 1}`,
          content: join([...lines.slice(0, at), garbage, Buffer.from('\n'), ...lines.slice(at)]),
          additive: true,
        });
      } else {
        const other = pick(lines.length);
        const swapped = [...lines];
        [swapped[at], swapped[other]] = [swapped[other]!, swapped[at]!];
        mutations.push({ label: `lines ${at + 1} and ${other + 1} swapped`, content: join(swapped), additive: false });
      }
    } else {
      mutations.push({
        label: `truncated at byte ${Math.floor(content.length / 2)}`,
        content: content.subarray(0, Math.floor(content.length / 2)),
        additive: false,
      });
    }
  }
  return mutations;
}

/** Lines with their terminators, so that joining them gives the bytes back. */
function splitLines(content: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let start = 0;
  for (let index = 0; index < content.length; index += 1) {
    if (content[index] === 0x0a) {
      lines.push(content.subarray(start, index + 1));
      start = index + 1;
    }
  }
  if (start < content.length) lines.push(content.subarray(start));
  return lines;
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function issuesText(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 2)
    .map((issue) => `${issue.path.map(String).join('.') || '(record)'}: ${issue.message}`)
    .join('; ');
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : String(error).slice(0, 200);
}

/** The table `npm run adapter:check` prints. */
export function formatConformanceTable(checks: readonly ConformanceCheck[]): string {
  const header = ['sample', 'check', 'result', 'detail'];
  const rows = checks.map((check) => [check.sample, check.check, check.passed ? 'PASS' : 'FAIL', check.detail]);
  const widths = header.slice(0, 3).map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const render = (row: readonly string[]) => [...row.slice(0, 3).map((cell, column) => cell.padEnd(widths[column]!)), row[3]].join('  ').trimEnd();
  const failed = checks.filter((check) => !check.passed).length;
  return (
    [render(header), ...rows.map(render), '', failed === 0 ? `all ${checks.length} checks passed` : `${failed} of ${checks.length} checks FAILED`].join('\n') +
    '\n'
  );
}
