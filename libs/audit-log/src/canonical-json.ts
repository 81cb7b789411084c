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
  return encode(value, []);
}

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return Buffer.from(canonicalizeJson(value), 'utf8');
}

/** Any surrogate code unit; the exact pairing check runs only on the rare strings that have one. */
const SURROGATE_PATTERN = /[\ud800-\udfff]/;

/** `path` holds the keys and indices above `value`, turned into text only for an error message. */
function encode(value: unknown, path: (string | number)[]): string {
  if (path.length > CANONICAL_JSON_DEPTH_MAX) fail(path, `nested deeper than ${CANONICAL_JSON_DEPTH_MAX} levels`);
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) fail(path, `${String(value)} is not a JSON number`);
      // ECMAScript Number::toString, which RFC 8785 adopts; -0 becomes "0" as the RFC requires.
      return JSON.stringify(value);
    case 'string':
      assertWellFormed(value, path);
      return JSON.stringify(value);
    case 'object':
      return Array.isArray(value) ? encodeArray(value, path) : encodeObject(value as Record<string, unknown>, path);
    default:
      return fail(path, `a ${typeof value} is not a JSON value`);
  }
}

function encodeArray(items: readonly unknown[], path: (string | number)[]): string {
  let out = '[';
  for (let index = 0; index < items.length; index += 1) {
    path.push(index);
    out += (index === 0 ? '' : ',') + encode(items[index], path);
    path.pop();
  }
  return `${out}]`;
}

function encodeObject(object: Record<string, unknown>, path: (string | number)[]): string {
  const prototype = Object.getPrototypeOf(object) as unknown;
  if (prototype !== Object.prototype && prototype !== null) fail(path, 'only plain objects are JSON values');
  let out = '{';
  let first = true;
  // Default sort compares UTF-16 code units, the order RFC 8785 section 3.2.3 prescribes.
  for (const key of Object.keys(object).sort()) {
    const member = object[key];
    // Absent and undefined mean the same in JSON: the member is not written.
    if (member === undefined) continue;
    const quoted = quotedKey(key, path);
    path.push(key);
    out += `${first ? '' : ','}${quoted}:${encode(member, path)}`;
    path.pop();
    first = false;
  }
  return `${out}}`;
}

function assertWellFormed(text: string, path: (string | number)[]): void {
  if (!SURROGATE_PATTERN.test(text)) return;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) fail(path, 'string has a lone surrogate');
      i += 1;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      fail(path, 'string has a lone surrogate');
    }
  }
}

function fail(path: readonly (string | number)[], message: string): never {
  const where = path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${part}`)).join('');
  throw new CanonicalJsonError(`$${where}: ${message}`);
}

/** Member names repeat across the objects of a state (and across states): each is checked and quoted once. */
const QUOTED_KEYS = new Map<string, string>();
const QUOTED_KEYS_MAX = 4_096;
const QUOTED_KEY_LENGTH_MAX = 64;

function quotedKey(key: string, path: (string | number)[]): string {
  const known = QUOTED_KEYS.get(key);
  if (known !== undefined) return known;
  assertWellFormed(key, path);
  const quoted = JSON.stringify(key);
  if (key.length <= QUOTED_KEY_LENGTH_MAX && QUOTED_KEYS.size < QUOTED_KEYS_MAX) QUOTED_KEYS.set(key, quoted);
  return quoted;
}
