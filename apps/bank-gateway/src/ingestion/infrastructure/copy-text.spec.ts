import { copyTextRow, jsonWithoutNul } from './copy-text';

describe(copyTextRow.name, () => {
  it('escapes what COPY text format treats specially and writes NULL as \\N', () => {
    expect(copyTextRow(['a\tb', 'line\nbreak\r', 'back\\slash', null, undefined, 12, 34n])).toBe('a\\tb\tline\\nbreak\\r\tback\\\\slash\t\\N\t\\N\t12\t34\n');
  });

  it('replaces NUL, which Postgres text cannot hold', () => {
    expect(copyTextRow(['a\u0000b'])).toBe('a\uFFFDb\n');
  });
});

describe(jsonWithoutNul.name, () => {
  it('replaces escaped NUL characters in JSON strings but keeps an escaped backslash before u0000 text', () => {
    expect(JSON.parse(jsonWithoutNul({ raw: 'a\u0000b' }))).toEqual({ raw: 'a\uFFFDb' });
    expect(JSON.parse(jsonWithoutNul({ raw: 'a\\u0000b' }))).toEqual({ raw: 'a\\u0000b' });
  });
});
