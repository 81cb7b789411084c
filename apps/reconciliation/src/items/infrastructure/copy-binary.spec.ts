import { Writable } from 'node:stream';
import fc from 'fast-check';
import { BinaryCopyWriter } from './copy-binary';

type Field =
  | { readonly kind: 'text'; readonly value: string | null }
  | { readonly kind: 'uuid'; readonly value: string }
  | { readonly kind: 'timestamptz'; readonly value: Date }
  | { readonly kind: 'textArray'; readonly value: readonly string[] };

/** The bytes a writer sent, collected from a stream that takes its time draining. */
function sink(): { stream: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      setImmediate(callback);
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

async function writeAll(rows: readonly (readonly Field[])[]): Promise<Buffer> {
  const { stream, bytes } = sink();
  const sut = new BinaryCopyWriter(stream);
  for (const fields of rows) {
    sut.row(fields.length);
    for (const field of fields) {
      if (field.kind === 'text') sut.text(field.value);
      else if (field.kind === 'uuid') sut.uuid(field.value);
      else if (field.kind === 'timestamptz') sut.timestamptz(field.value);
      else sut.textArray(field.value);
    }
    if (sut.full) await sut.flush();
  }
  await sut.end();
  expect(sut.rowCount).toBe(rows.length);
  return bytes();
}

/** A check of the decoder (not jest's `expect`, which costs too much per field of 30,000 rows). */
function check(actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`binary COPY: read ${String(actual)} where ${String(expected)} belongs`);
}

/**
 * The binary COPY format read back as PostgreSQL documents it (sql-copy.html, "Binary Format"; array_recv's layout
 * for text[]), field by field against the kinds written: the reference the writer is checked against.
 */
function decode(bytes: Buffer, kinds: readonly (readonly Field['kind'][])[]): unknown[][] {
  check(bytes.subarray(0, 11).toString('latin1'), 'PGCOPY\n\xff\r\n\0');
  check(bytes.readInt32BE(11), 0); // flags
  let at = 15 + 4 + bytes.readInt32BE(15); // header extension
  const rows: unknown[][] = [];
  for (;;) {
    const count = bytes.readInt16BE(at);
    at += 2;
    if (count === -1) break;
    const row: unknown[] = [];
    const rowKinds = kinds[rows.length]!;
    check(count, rowKinds.length);
    for (const kind of rowKinds) {
      const length = bytes.readInt32BE(at);
      at += 4;
      if (length === -1) {
        row.push(null);
        continue;
      }
      const value = bytes.subarray(at, at + length);
      at += length;
      if (kind === 'text') row.push(value.toString('utf8'));
      else if (kind === 'uuid') row.push(value.toString('hex'));
      else if (kind === 'timestamptz') row.push(new Date(Number(value.readBigInt64BE(0) / 1000n) + Date.UTC(2000, 0, 1)));
      else {
        const dimensions = value.readInt32BE(0);
        check(value.readInt32BE(4), 0); // no NULL element
        check(value.readInt32BE(8), 25); // text
        if (dimensions === 0) {
          check(length, 12);
          row.push([]);
          continue;
        }
        check(dimensions, 1);
        const size = value.readInt32BE(12);
        check(value.readInt32BE(16), 1); // lower bound
        const elements: string[] = [];
        let offset = 20;
        for (let index = 0; index < size; index += 1) {
          const elementLength = value.readInt32BE(offset);
          elements.push(value.subarray(offset + 4, offset + 4 + elementLength).toString('utf8'));
          offset += 4 + elementLength;
        }
        check(offset, length);
        row.push(elements);
      }
    }
    rows.push(row);
  }
  check(at, bytes.length);
  return rows;
}

/** What the decoder gives back for a field: text as UTF-8 round-trips it (a lone surrogate becomes U+FFFD), a uuid as 32 hex digits. */
function expected(field: Field): unknown {
  const utf8 = (value: string): string => Buffer.from(value, 'utf8').toString('utf8');
  if (field.kind === 'text') return field.value === null ? null : utf8(field.value);
  if (field.kind === 'uuid') return field.value.replace(/-/g, '').toLowerCase();
  if (field.kind === 'timestamptz') return field.value;
  return field.value.map(utf8);
}

describe(BinaryCopyWriter.name, () => {
  const text = fc.oneof(
    fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '\\', '"', '\t', '\n', '\r', ',', '{', 'é', '–', '😀', '\u0000') }),
    fc.string({ unit: 'grapheme' }),
    fc.string(),
  );
  const field: fc.Arbitrary<Field> = fc.oneof(
    fc.record({ kind: fc.constant('text' as const), value: fc.option(text, { nil: null }) }),
    fc.record({
      kind: fc.constant('uuid' as const),
      // As Postgres prints it, in capitals, or without its hyphens.
      value: fc
        .tuple(fc.uuid(), fc.constantFrom('lower', 'upper', 'bare'))
        .map(([uuid, form]) => (form === 'lower' ? uuid : form === 'upper' ? uuid.toUpperCase() : uuid.replace(/-/g, ''))),
    }),
    fc.record({
      kind: fc.constant('timestamptz' as const),
      value: fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2999-12-31T23:59:59.999Z'), noInvalidDate: true }),
    }),
    fc.record({ kind: fc.constant('textArray' as const), value: fc.array(text, { maxLength: 4 }) }),
  );

  it('writes every kind of field as the binary format reads back: text of any characters, NULLs, uuids, time stamps, text arrays', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(field, { minLength: 1, maxLength: 6 }), { maxLength: 20 }), async (rows) => {
        const decoded = decode(
          await writeAll(rows),
          rows.map((fields) => fields.map((one) => one.kind)),
        );
        expect(decoded).toEqual(rows.map((fields) => fields.map(expected)));
      }),
      { numRuns: 300 },
    );
  });

  it('writes rows across blocks, fields and arrays longer than a block included', async () => {
    const rows: Field[][] = Array.from({ length: 30_000 }, (_, index) => [
      { kind: 'uuid', value: `0190a8e2-0000-7000-8000-${String(index).padStart(12, '0')}` },
      { kind: 'text', value: 'ref-exact' },
      { kind: 'textArray', value: [`L${index}`] },
      { kind: 'textArray', value: [`B${index}`, 'é"\\'] },
      { kind: 'timestamptz', value: new Date(Date.UTC(2025, 2, 4, 20, 0, 0, index % 1000)) },
    ]);
    rows.push([
      { kind: 'text', value: 'x'.repeat(3 << 20) },
      { kind: 'textArray', value: ['ü'.repeat(1 << 20), 'y'.repeat(2 << 20)] },
    ]);
    const decoded = decode(
      await writeAll(rows),
      rows.map((fields) => fields.map((one) => one.kind)),
    );
    // Compared as JSON: a deep comparison of 30,000 rows takes jest many seconds.
    expect(JSON.stringify(decoded)).toBe(JSON.stringify(rows.map((fields) => fields.map(expected))));
  });

  it('writes a time stamp before 2000 as a negative count, to the millisecond', async () => {
    const { stream, bytes } = sink();
    const sut = new BinaryCopyWriter(stream);
    sut.row(1).timestamptz(new Date('1999-12-31T23:59:59.999Z'));
    await sut.end();
    expect(bytes().readBigInt64BE(19 + 2 + 4)).toBe(-1000n);
  });

  it('refuses a row whose fields do not add up, a value that is not a uuid, an invalid date, and an end inside a row', async () => {
    const { stream } = sink();
    const sut = new BinaryCopyWriter(stream);
    expect(() => sut.text('a')).toThrow('a field written outside a row');
    expect(() => sut.row(0)).toThrow('a row has 1 to 32767 fields, not 0');
    sut.row(2).text('a');
    expect(() => sut.row(1)).toThrow('a new row begun with 1 field(s) of the last one unwritten');
    for (const notUuid of [
      '0190a8e2-0000-7000-8000-00000000000g',
      '0190a8e2-0000-7000-8000+000000000000',
      '0190a8e2000070008000000000000000a',
      'é190a8e2-0000-7000-8000-000000000000',
      '',
    ])
      expect(() => sut.uuid(notUuid)).toThrow('is not a uuid');
    expect(() => sut.timestamptz(new Date(Number.NaN))).toThrow('an invalid Date is not a timestamp');
    await expect(sut.end()).rejects.toThrow('end() inside a row');
    sut.abort(new Error('no more rows'));
    expect(stream.destroyed).toBe(true);
  });

  it('abort destroys the stream and takes the error the server answers the abandoned COPY with', () => {
    const stream = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const sut = new BinaryCopyWriter(stream);
    sut.row(1).text('a');
    sut.abort(new Error('bad row'));
    expect(stream.destroyed).toBe(true);
    // pg-copy-streams emits the server's answer after the stream is destroyed: without a listener it would throw.
    expect(() => stream.emit('error', new Error('COPY from stdin failed: bad row'))).not.toThrow();
  });
});
