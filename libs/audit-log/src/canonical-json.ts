/**
 * RFC 8785 JSON Canonicalization Scheme (JCS).
 *
 * Why not the `canonicalize` package: version 4 is ESM-only and its `exports` map has no `require` condition, so
 * neither our CommonJS build nor jest can load it. The algorithm is short and fully specified, so it lives here,
 * tested against the RFC's own examples:
 * - numbers are written as ECMAScript's Number.prototype.toString does (RFC 8785 section 3.2.2.3), which is what
 *   JSON.stringify emits for finite numbers; NaN and the infinities are refused;
 * - strings are written as JSON.stringify writes them (minimal escapes, `\u00xx` in lower case for other
 *   control characters), which is RFC 8785 section 3.2.2.2; lone surrogates are refused;
 * - object members are sorted by the UTF-16 code units of their names (section 3.2.3), which is the default
 *   order of Array.prototype.sort on strings;
 * - no whitespace.
 */

/** Deep nesting is refused rather than overflowing the stack on a hostile export. */
export const CANONICAL_JSON_DEPTH_MAX = 64;

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export class CanonicalJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CanonicalJsonError';
  }
}

export function canonicalizeJson(value: unknown): string {
  return encode(value, 0, '$');
}

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(canonicalizeJson(value), 'utf8'));
}

function encode(value: unknown, depth: number, where: string): string {
  if (depth > CANONICAL_JSON_DEPTH_MAX) throw new CanonicalJsonError(`${where}: nested deeper than ${CANONICAL_JSON_DEPTH_MAX} levels`);
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`${where}: ${String(value)} is not a JSON number`);
      // Object.is(-0) serialises as "0" per RFC 8785, and JSON.stringify(-0) is "0" already.
      return JSON.stringify(value);
    case 'string':
      assertWellFormed(value, where);
      return JSON.stringify(value);
    case 'object':
      return Array.isArray(value) ? encodeArray(value, depth, where) : encodeObject(value as Record<string, unknown>, depth, where);
    default:
      throw new CanonicalJsonError(`${where}: a ${typeof value} is not a JSON value`);
  }
}

function encodeArray(items: readonly unknown[], depth: number, where: string): string {
  const parts = items.map((item, index) => encode(item, depth + 1, `${where}[${index}]`));
  return `[${parts.join(',')}]`;
}

function encodeObject(object: Record<string, unknown>, depth: number, where: string): string {
  const prototype = Object.getPrototypeOf(object) as unknown;
  if (prototype !== Object.prototype && prototype !== null) {
    throw new CanonicalJsonError(`${where}: only plain objects are JSON values`);
  }
  const parts: string[] = [];
  for (const key of Object.keys(object).sort()) {
    const member = object[key];
    // Absent and undefined mean the same in JSON: the member is not written.
    if (member === undefined) continue;
    assertWellFormed(key, where);
    parts.push(`${JSON.stringify(key)}:${encode(member, depth + 1, `${where}.${key}`)}`);
  }
  return `{${parts.join(',')}}`;
}

function assertWellFormed(text: string, where: string): void {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) throw new CanonicalJsonError(`${where}: string has a lone surrogate`);
      i += 1;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      throw new CanonicalJsonError(`${where}: string has a lone surrogate`);
    }
  }
}
