import fc from 'fast-check';
import { heldTailLength } from './csv-byte-rows';
import { InputFileError } from './input-error';
import { readLedgerColumns, readLedgerFile } from './ledger-file.reader';

/**
 * The byte-level CSV reader against the text reader it replaces (`textReader: true`, decoding and `csvRows`):
 * on generated ledgers and on the same files corrupted byte by byte, in any chunking, both must give the same
 * entries or the same error, word for word (line, column and problem).
 */
async function* chunksOf(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let start = 0; start < bytes.length; start += size) yield bytes.subarray(start, start + size);
}

type Outcome = { items: unknown[] } | { error: string };

async function columnsOutcome(bytes: Buffer, chunkSize: number, textReader: boolean, keepDescriptive: boolean): Promise<Outcome> {
  try {
    const columns = await readLedgerColumns(chunksOf(bytes, chunkSize), 'csv', 'ledger', { textReader, keepDescriptive });
    return { items: Array.from({ length: columns.length }, (_, index) => columns.item(index)) };
  } catch (error: unknown) {
    if (error instanceof InputFileError) return { error: error.message };
    throw error;
  }
}

async function itemsOutcome(bytes: Buffer, chunkSize: number, textReader: boolean): Promise<Outcome> {
  try {
    return { items: await readLedgerFile(chunksOf(bytes, chunkSize), 'csv', 'ledger', { textReader }) };
  } catch (error: unknown) {
    if (error instanceof InputFileError) return { error: error.message };
    throw error;
  }
}

async function expectSameOutcome(bytes: Buffer, chunkSize: number): Promise<Outcome> {
  const expected = await columnsOutcome(bytes, chunkSize, true, true);
  expect(await columnsOutcome(bytes, chunkSize, false, true)).toEqual(expected);
  expect(await columnsOutcome(bytes, chunkSize, false, false)).toEqual(await columnsOutcome(bytes, chunkSize, true, false));
  expect(await itemsOutcome(bytes, chunkSize, false)).toEqual(await itemsOutcome(bytes, chunkSize, true));
  return expected;
}

const COLUMNS = [
  'entry_id',
  'account',
  'amount',
  'currency',
  'value_date',
  'reference',
  'sub_account',
  'booking_date',
  'description',
  'kind',
  'batch_reference',
];
const TEXTS = [
  '',
  ' ',
  'x',
  'PLAT-D-1',
  ' padded ',
  'a,b',
  'say "hi"',
  'two\nlines',
  'cr\r\nlf',
  '\u00a0nbsp\u00a0',
  '\u3000wide',
  'Ünïcödé',
  '😀 emoji',
  '\uFEFFbom',
  'tab\t',
  'é'.repeat(200),
  'y'.repeat(300),
];
const POOLS: Record<string, readonly string[]> = {
  entry_id: ['L1', 'L2', 'L3', 'L4', 'L5', ' L6 ', 'Ä7', '', 'L"8', 'ß'.repeat(200), 'z'.repeat(257)],
  account: ['DE89370400440532013000', 'DE89 3704', ' A ', '', 'Ωmega'],
  amount: [
    '12.30',
    '-0.05',
    '+7',
    '1000',
    '-0',
    '00012.1',
    '12.345',
    '12.300',
    '1e5',
    '',
    ' 5.00',
    '.5',
    '5.',
    '123456789012345.67',
    '9999999999999.99',
    '99999999999999999999',
    '1'.repeat(41),
    '٣',
  ],
  currency: ['EUR', 'eur', 'JPY', 'BHD', 'EUX', '', ' EUR', 'ＥUR'],
  value_date: ['2025-01-02', '2025-01-03', '2025-02-30', '', ' 2025-01-03', '2025-1-2'],
  booking_date: ['', '2025-01-02', '2025-13-01', ' 2025-01-02 '],
  kind: ['', 'deposit', 'withdrawal', ' fee ', 'k'.repeat(257)],
  batch_reference: ['', 'BATCH-1', 'BATCH-2', ' B ', 'b'.repeat(257)],
};

const csvField = (value: string, forceQuotes: boolean): string => (forceQuotes || /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

const ledgerText = fc
  .record({
    columns: fc.oneof(
      { weight: 6, arbitrary: fc.constant(COLUMNS) },
      { weight: 1, arbitrary: fc.shuffledSubarray(COLUMNS, { minLength: 4 }) },
      { weight: 1, arbitrary: fc.constant([...COLUMNS, 'note', 'Amount']) },
    ),
    rows: fc.array(fc.tuple(fc.array(fc.boolean(), { minLength: 13, maxLength: 13 }), fc.integer({ min: 0, max: 2 ** 30 })), { maxLength: 8 }),
    rowEnd: fc.constantFrom('\n', '\r\n', '\r'),
    bom: fc.constantFrom('', '\uFEFF', '\uFEFF\uFEFF'),
    finalEnd: fc.boolean(),
    emptyLines: fc.array(fc.nat(9), { maxLength: 2 }),
    seeds: fc.array(fc.nat(1_000), { minLength: 13, maxLength: 13 }),
  })
  .map(({ columns: header, rows, rowEnd, bom, finalEnd, emptyLines, seeds }) => {
    const columns: readonly string[] = header;
    const lines = [columns.map((name, index) => (index % 3 === 0 ? name.toUpperCase() : name)).join(',')];
    rows.forEach(([quotes, seed], rowIndex) => {
      const values = columns.map((column, index) => {
        const pool = POOLS[column] ?? TEXTS;
        // Mostly valid values (the first of each pool), now and then any.
        const pick = (seed >> index) & 3 ? (rowIndex + seeds[index]!) % Math.min(pool.length, 2) : (seed + seeds[index]!) % pool.length;
        const value = column === 'entry_id' && pick < 2 ? `L${rowIndex}-${seeds[0]! % 7}` : pool[pick]!;
        return csvField(value, quotes[index]!);
      });
      lines.push(values.join(','));
    });
    for (const at of emptyLines) lines.splice(Math.min(at, lines.length), 0, at % 2 === 0 ? '' : '""');
    return bom + lines.join(rowEnd) + (finalEnd ? rowEnd : '');
  });

const CORRUPTING_BYTES = [0x22, 0x2c, 0x0a, 0x0d, 0x20, 0x41, 0x2e, 0x2d, 0xff, 0xc3, 0xe2, 0x82, 0x80, 0xbf, 0xef, 0xbb, 0xed, 0xa0, 0xf0, 0x9f, 0xc0];

const corruption = fc.array(
  fc.record({
    kind: fc.constantFrom('insert', 'replace', 'delete', 'truncate'),
    at: fc.double({ min: 0, max: 1, noNaN: true }),
    byte: fc.constantFrom(...CORRUPTING_BYTES),
  }),
  { minLength: 1, maxLength: 4 },
);

function corrupted(bytes: Buffer, edits: readonly { kind: string; at: number; byte: number }[]): Buffer {
  let out = Buffer.from(bytes);
  for (const { kind, at, byte } of edits) {
    const position = Math.min(out.length, Math.floor(at * out.length));
    if (kind === 'insert') out = Buffer.concat([out.subarray(0, position), Buffer.from([byte]), out.subarray(position)]);
    else if (kind === 'replace' && position < out.length) out[position] = byte;
    else if (kind === 'delete') out = Buffer.concat([out.subarray(0, position), out.subarray(position + 1)]);
    else if (kind === 'truncate') out = out.subarray(0, position);
  }
  return out;
}

describe('readLedgerColumns at the byte level', () => {
  it('reads generated ledgers exactly as the text reader does, in any chunking', async () => {
    let read = 0;
    await fc.assert(
      fc.asyncProperty(ledgerText, fc.integer({ min: 1, max: 80 }), async (text, chunkSize) => {
        const outcome = await expectSameOutcome(Buffer.from(text, 'utf8'), chunkSize);
        if ('items' in outcome) read += 1;
      }),
      { numRuns: 400 },
    );
    // The generator must produce readable files, not only errors, or the comparison proves little.
    expect(read).toBeGreaterThan(40);
  });

  it('refuses corrupted ledgers with the same message as the text reader (line, column, problem)', async () => {
    const messages = new Set<string>();
    await fc.assert(
      fc.asyncProperty(ledgerText, corruption, fc.integer({ min: 1, max: 80 }), async (text, edits, chunkSize) => {
        const outcome = await expectSameOutcome(corrupted(Buffer.from(text, 'utf8'), edits), chunkSize);
        if ('error' in outcome) messages.add(outcome.error.replace(/line \d+/g, 'line N').replace(/'[^']*'/g, "'…'"));
      }),
      { numRuns: 600 },
    );
    expect([...messages].some((message) => message.includes('not valid UTF-8'))).toBe(true);
    expect([...messages].some((message) => message.includes('quote'))).toBe(true);
  });

  it('counts a long row in characters, not bytes, and names its first line when it is too long', async () => {
    const header = `${COLUMNS.join(',')}\n`;
    const wide = Buffer.from(`${header}L1,A,1.00,EUR,2025-01-02,,,,"${'€'.repeat(2_000)}\n${'€'.repeat(9_000)}",,\n`, 'utf8');
    expect(await expectSameOutcome(wide, 4_096)).toEqual({ error: 'ledger line 2, column description: is longer than 2048 characters' });
    const long = Buffer.from(`${header}L1,A,1.00,EUR,2025-01-02,,,,${'d'.repeat(17_000)},,\n`, 'utf8');
    expect(await expectSameOutcome(long, 1_000)).toEqual({ error: 'ledger: the row starting on line 2 is longer than 16384 characters' });
  });

  it('sizes the columns from the file size without changing what is read, whether the estimate is short or long', async () => {
    const rows = Array.from(
      { length: 700 },
      (_, index) => `L${String(index).padStart(5, '0')},A,${index}.5,EUR,2025-01-02,R${index},,,${'d'.repeat(index % 50)},,`,
    );
    const bytes = Buffer.from(`${COLUMNS.join(',')}\n${rows.join('\n')}\n`, 'utf8');
    const expected = await columnsOutcome(bytes, 997, true, false);
    for (const sizeBytes of [bytes.length, Math.floor(bytes.length / 3), bytes.length * 40, 0]) {
      const columns = await readLedgerColumns(chunksOf(bytes, 997), 'csv', 'ledger', { keepDescriptive: false, sizeBytes });
      expect(columns.length).toBe(700);
      expect(columns.entryId.length).toBe(700);
      expect({ items: Array.from({ length: columns.length }, (_, index) => columns.item(index)) }).toEqual(expected);
    }
    const duplicated = Buffer.concat([bytes, Buffer.from(`${rows[3]!}\n`)]);
    await expect(readLedgerColumns(chunksOf(duplicated, 997), 'csv', 'ledger', { sizeBytes: duplicated.length })).rejects.toThrow(
      "ledger line 702, column entry_id: 'L00003' is already used on line 5",
    );
  });

  it('reads a string stream as text, and an empty stream as an empty file', async () => {
    async function* strings(): AsyncGenerator<string> {
      yield `${COLUMNS.join(',')}\nL1,A,1.5,EUR,2025-01-02,R,,,,,\n`;
    }
    const columns = await readLedgerColumns(strings(), 'csv');
    expect(columns.item(0)).toEqual({ entryId: 'L1', account: 'A', amountMinor: 150n, currency: 'EUR', valueDate: '2025-01-02', reference: 'R' });
    expect(await expectSameOutcome(Buffer.alloc(0), 1)).toEqual({ error: 'ledger: the file is empty (no header row)' });
  });
});

describe(heldTailLength.name, () => {
  it('holds back exactly what a streaming TextDecoder holds back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6 }), fc.uint8Array({ minLength: 1, maxLength: 6 }), (head, tail) => {
        const bytes = Buffer.concat([Buffer.from('ab'), head, tail]);
        const decoder = new TextDecoder('utf-8', { fatal: true });
        let decoded: string | undefined;
        try {
          decoded = decoder.decode(bytes, { stream: true });
        } catch {
          decoded = undefined;
        }
        if (decoded === undefined) return;
        const held = heldTailLength(bytes);
        expect(Buffer.from(decoded, 'utf8').length).toBe(bytes.length - held);
      }),
      { numRuns: 2_000 },
    );
  });
});
