import fc from 'fast-check';
import { CanonicalJsonError, canonicalizeJson } from './canonical-json';

describe(canonicalizeJson.name, () => {
  it('writes the example of RFC 8785 section 3.2.2 (literals, numbers, string escapes, no whitespace)', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    expect(canonicalizeJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts members by UTF-16 code units as in RFC 8785 section 3.2.3', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalizeJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
  ])('writes the IEEE 754 number %s as %s (RFC 8785 appendix B)', (bits, text) => {
    expect(canonicalizeJson(Buffer.from(bits, 'hex').readDoubleBE(0))).toBe(text);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a lone surrogate', '\ud800'],
    ['a lone surrogate in a key', { '\udc00': 1 }],
    ['a bigint', 1n],
    ['a Date', new Date(0)],
    ['a function', () => 1],
  ])('refuses %s', (_, value) => {
    expect(() => canonicalizeJson(value)).toThrow(CanonicalJsonError);
  });

  it('refuses a lone surrogate in a key every time it meets it, naming the object that holds it', () => {
    for (let round = 0; round < 2; round += 1) expect(() => canonicalizeJson({ a: { '\udc00': 1 } })).toThrow('$.a: string has a lone surrogate');
    expect(
      canonicalizeJson([
        { b: 1, a: 2 },
        { a: 3, b: 4 },
      ]),
    ).toBe('[{"a":2,"b":1},{"a":3,"b":4}]');
  });

  it('leaves out undefined members, as JSON does', () => {
    expect(canonicalizeJson({ b: 1, a: undefined })).toBe('{"b":1}');
  });

  it('is stable: re-parsing and re-canonicalizing gives the same text, whatever the member order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalizeJson(value);
        expect(canonicalizeJson(JSON.parse(text))).toBe(text);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});
