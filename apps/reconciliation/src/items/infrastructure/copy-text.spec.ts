import { Readable } from 'node:stream';
import { CopyRow, readCopy, readCopyIdSet } from './copy-text';

/** What a row callback reads of every field: NULL, text, and the repeated text (which must equal the text). */
interface FieldRead {
  readonly isNull: boolean;
  readonly text: string | undefined;
  readonly repeated: string | undefined;
}

async function readAll(chunks: readonly Buffer[], columns: number): Promise<FieldRead[][]> {
  const rows: FieldRead[][] = [];
  await readCopy(Readable.from(chunks), columns, (row) => {
    const fields: FieldRead[] = [];
    for (let field = 0; field < columns; field += 1) fields.push({ isNull: row.isNull(field), text: row.text(field), repeated: row.repeated(field) });
    rows.push(fields);
  });
  return rows;
}

/** The same bytes cut into chunks at the given offsets. */
function cutAt(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let start = 0;
  for (const offset of [...offsets, bytes.length]) {
    chunks.push(Buffer.from(bytes.subarray(start, offset)));
    start = offset;
  }
  return chunks;
}

// Three columns; escapes, NULLs, an escaped `\N` (text, not NULL), multi-byte UTF-8 of 2, 3 and 4 bytes, empty text.
const COPY_TEXT = [
  'a1\tEUR\tplain',
  'a2\tEUR\t\\N',
  'a3\tEUR\ttab\\there\\\\back\\nnl\\rcr',
  'a4\t\\N\t\\\\N',
  'a5\tMüller–Straße ✓ 😀\t',
  'a6\tMüller–Straße ✓ 😀\t\\b\\f\\v\\101\\x41',
  'a7\tUSD\tend',
].join('\n');
const EXPECTED_TEXT: (string | undefined)[][] = [
  ['a1', 'EUR', 'plain'],
  ['a2', 'EUR', undefined],
  ['a3', 'EUR', 'tab\there\\back\nnl\rcr'],
  ['a4', undefined, '\\N'],
  ['a5', 'Müller–Straße ✓ 😀', ''],
  ['a6', 'Müller–Straße ✓ 😀', '\b\f\vAA'],
  ['a7', 'USD', 'end'],
];

describe(readCopy.name, () => {
  const bytes = Buffer.from(`${COPY_TEXT}\n`, 'utf8');

  it('reads NULLs, backslash escapes and UTF-8 text, in one chunk', async () => {
    const rows = await readAll([bytes], 3);
    expect(rows.map((fields) => fields.map((field) => field.text))).toEqual(EXPECTED_TEXT);
    expect(rows.map((fields) => fields.map((field) => field.repeated))).toEqual(EXPECTED_TEXT);
    expect(rows.map((fields) => fields.map((field) => field.isNull))).toEqual(EXPECTED_TEXT.map((fields) => fields.map((text) => text === undefined)));
  });

  it('reads the same rows wherever the chunks are cut: inside a row, inside an escape, inside a multi-byte character', async () => {
    for (let offset = 1; offset < bytes.length; offset += 1) {
      expect(await readAll(cutAt(bytes, [offset]), 3)).toEqual(await readAll([bytes], 3));
    }
    // Every byte a chunk of its own: a row spans many chunks.
    const oneByteChunks = cutAt(
      bytes,
      Array.from({ length: bytes.length - 1 }, (_, index) => index + 1),
    );
    expect((await readAll(oneByteChunks, 3)).map((fields) => fields.map((field) => field.text))).toEqual(EXPECTED_TEXT);
  });

  it('refuses a row with too few or too many fields, and output that ends inside a row', async () => {
    await expect(readAll([Buffer.from('a\tb\n')], 3)).rejects.toThrow('COPY row has 2 fields, expected 3');
    await expect(readAll([Buffer.from('a\tb\tc\td\n')], 3)).rejects.toThrow('COPY row has more than 3 fields');
    await expect(readAll([Buffer.from('a\tb\tc\nd\te')], 3)).rejects.toThrow('COPY output ended inside a row');
  });

  it('reads a row whose only field is empty', async () => {
    expect((await readAll([Buffer.from('\n\\N\n')], 1)).map(([field]) => field!.text)).toEqual(['', undefined]);
  });
});

describe(readCopyIdSet.name, () => {
  it('holds the ids of a one-column COPY, wherever the chunks are cut, and nothing else', async () => {
    const ids = ['0190a000-0000-7000-8000-000000000001', 'L-ä-2', '付款-3', ''];
    const text = Buffer.from(ids.map((id) => `${id}\n`).join(''), 'utf8');
    for (const size of [1, 2, 5, text.length]) {
      const chunks = Array.from({ length: Math.ceil(text.length / size) }, (_, index) => text.subarray(index * size, (index + 1) * size));
      const set = await readCopyIdSet(Readable.from(chunks));
      expect(set.size).toBe(4);
      expect(ids.every((id) => set.has(id))).toBe(true);
      expect(set.has('L-ä')).toBe(false);
    }
  });

  it('unescapes ids with what COPY escapes in them, and refuses a NULL or output that ends inside a row', async () => {
    const set = await readCopyIdSet(Readable.from([Buffer.from('a\\\\b\ntab\\there\nplain\n')]));
    expect([set.size, set.has('a\\b'), set.has('tab\there'), set.has('plain'), set.has('a\\\\b')]).toEqual([3, true, true, true, false]);
    await expect(readCopyIdSet(Readable.from([Buffer.from('a\\\\b\n\\N\n')]))).rejects.toThrow('holds a NULL');
    await expect(readCopyIdSet(Readable.from([Buffer.from('a\\\\b\nc')]))).rejects.toThrow('ended inside a row');
    await expect(readCopyIdSet(Readable.from([Buffer.from('a\nc')]))).rejects.toThrow('the last id is not followed by an LF');
  });
});

describe(CopyRow.name, () => {
  const rowOf = (line: string, columns: number): CopyRow => {
    const sut = new CopyRow(columns);
    const buffer = Buffer.from(line, 'utf8');
    sut.set(buffer, 0, buffer.length);
    return sut;
  };

  it('reads integers of any length exactly, signed', () => {
    const sut = rowOf('0\t-29306994\t123456789012345\t-9007199254740993\t123456789012345678901234567890\t42\t-7', 7);
    expect([0, 1, 2, 3, 4].map((field) => sut.bigint(field))).toEqual([0n, -29306994n, 123456789012345n, -9007199254740993n, 123456789012345678901234567890n]);
    expect(sut.int(5)).toBe(42);
    expect(sut.int(6)).toBe(-7);
  });

  it('refuses a field that is not an integer as BigInt does', () => {
    const sut = rowOf('1.5\t\\N\t-', 3);
    expect(() => sut.bigint(0)).toThrow(SyntaxError);
    expect(() => sut.bigint(1)).toThrow(SyntaxError);
    expect(() => sut.bigint(2)).toThrow(SyntaxError);
  });

  it('reads booleans', () => {
    const sut = rowOf('t\tf', 2);
    expect(sut.isTrue(0)).toBe(true);
    expect(sut.isTrue(1)).toBe(false);
  });

  it('decodes a repeated value once while its bytes stay the same, and again when they change', () => {
    const values = ['EUR', 'EUR', 'EUR', 'USD', 'USD', '\\N', 'USD', 'UST', 'a\\tb', 'a\\tb', 'Müller', 'Müller', 'Müllex'];
    const sut = new CopyRow(1);
    const decode = jest.spyOn(Buffer.prototype, 'toString');
    try {
      const texts = values.map((value) => {
        const buffer = Buffer.from(`${value}\n`, 'utf8');
        sut.set(buffer, 0, buffer.length - 1);
        return sut.repeated(0);
      });
      expect(texts).toEqual(['EUR', 'EUR', 'EUR', 'USD', 'USD', undefined, 'USD', 'UST', 'a\tb', 'a\tb', 'Müller', 'Müller', 'Müllex']);
      // EUR, USD, UST, a\tb, Müller, Müllex: a NULL between two equal values does not make the second one new.
      expect(decode).toHaveBeenCalledTimes(6);
    } finally {
      decode.mockRestore();
    }
  });

  it('keeps a repeated value when a longer one of another column is read between', () => {
    const sut = new CopyRow(2);
    const texts: (string | undefined)[] = [];
    for (const line of ['EUR\tshort', 'EUR\ta value longer than the sixty-four bytes kept at first for a previous value', 'EUR\tshort']) {
      const buffer = Buffer.from(line, 'utf8');
      sut.set(buffer, 0, buffer.length);
      texts.push(sut.repeated(0), sut.repeated(1));
    }
    expect(texts).toEqual(['EUR', 'short', 'EUR', 'a value longer than the sixty-four bytes kept at first for a previous value', 'EUR', 'short']);
  });
});
