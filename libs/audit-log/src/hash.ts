import { hash as oneShotHash } from 'node:crypto';

/** SHA-256 digests are 32 bytes; every hash in the log (leaf, node, root) has this length. */
export const HASH_BYTES = 32;

/** RFC 6962 / RFC 9162 domain separation: a leaf hash and an interior node hash can never collide. */
const LEAF_HASH_PREFIX = Uint8Array.of(0x00);
const NODE_HASH_PREFIX = Uint8Array.of(0x01);

const HEX_HASH_PATTERN = /^[0-9a-f]{64}$/;

export function sha256(...parts: readonly Uint8Array[]): Uint8Array {
  // One-shot hashing skips the Hash object per call, which dominates for 65-byte node inputs.
  const input = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return new Uint8Array(oneShotHash('sha256', input, 'buffer'));
}

/** MTH({}) of RFC 9162 section 2.1.1: the hash of the empty string. */
export const EMPTY_TREE_HASH: Uint8Array = sha256();

/** Leaf hash of RFC 9162 section 2.1.1: SHA-256(0x00 || leaf bytes). */
export function hashLeaf(leafBytes: Uint8Array): Uint8Array {
  return sha256(LEAF_HASH_PREFIX, leafBytes);
}

/** Interior node hash of RFC 9162 section 2.1.1: SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_HASH_PREFIX, left, right);
}

export function hashesEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let i = 0; i < left.length; i += 1) if (left[i] !== right[i]) return false;
  return true;
}

export function isHash(value: Uint8Array): boolean {
  return value.length === HASH_BYTES;
}

export function hashToHex(hash: Uint8Array): string {
  return Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength).toString('hex');
}

/** Lower-case hex only, exactly 64 digits: one spelling per hash, so that exports compare byte for byte. */
export function hashFromHex(text: string): Uint8Array {
  if (!HEX_HASH_PATTERN.test(text)) {
    throw new HashFormatError(`'${text.slice(0, 80)}' is not a SHA-256 hash (64 lower-case hex digits)`);
  }
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export function isHexHash(text: string): boolean {
  return HEX_HASH_PATTERN.test(text);
}

export class HashFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HashFormatError';
  }
}
