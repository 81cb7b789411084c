import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign as cryptoSign, verify as cryptoVerify } from 'node:crypto';
import { AuditLogError, AuditLogErrorCode } from './audit-log.errors';
import { sha256 } from './hash';

/**
 * Ed25519 keys in the formats of C2SP signed-note (golang.org/x/mod/sumdb/note):
 *
 * - verifier key: `<name>+<key id, 8 hex digits>+<base64(0x01 || 32-byte public key)>`
 * - signer key:   `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || 32-byte seed)>`
 * - key id:       the first 4 bytes (big-endian) of SHA-256(name || "\n" || 0x01 || public key)
 *
 * The key id binds the name to the key, so a signature line names the key that made it, and a verifier holding
 * several keys (rotation) picks the right one without trying them all. A PEM (SPKI) Ed25519 public key is
 * accepted too: it carries no name, so it matches any signature whose key id is the one its key makes with the
 * signature's name.
 */
export const ED25519_KEY_TYPE = 0x01;
export const ED25519_PUBLIC_KEY_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
export const KEY_NAME_LENGTH_MAX = 200;
/** A key file is small; refusing big ones keeps a mistaken path (an export, a log) from being parsed as keys. */
export const KEY_FILE_BYTES_MAX = 64 * 1024;
export const KEYS_PER_FILE_MAX = 100;

const SIGNER_KEY_PREFIX = 'PRIVATE+KEY+';
// DER wrappings of raw Ed25519 keys (RFC 8410): SubjectPublicKeyInfo and PKCS #8 with the 32-byte key appended.
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  sign(message: Uint8Array): Uint8Array;
}

export interface NoteVerifierKey {
  /** Undefined for a PEM key, which matches any name whose key id it reproduces. */
  readonly name: string | undefined;
  readonly publicKey: Uint8Array;
  /** The verifier key string (for a PEM key: with the name of the first signature it matched, else undefined). */
  readonly text: string | undefined;
  matches(name: string, keyId: number): boolean;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface GeneratedSigningKey {
  readonly name: string;
  readonly keyIdHex: string;
  /** Secret: `PRIVATE+KEY+...`; whoever holds it can sign checkpoints. */
  readonly signerKey: string;
  /** Public: give it to auditors. */
  readonly verifierKey: string;
  readonly publicKeyPem: string;
}

/** Key names are non-empty, with no whitespace and no '+', as signed-note requires. */
export function isValidKeyName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= KEY_NAME_LENGTH_MAX &&
    !/[\s+]/u.test(name) &&
    !/\p{Cc}/u.test(name) &&
    Buffer.from(name, 'utf8').toString('utf8') === name
  );
}

export function computeKeyId(name: string, publicKey: Uint8Array): number {
  const digest = sha256(Buffer.from(`${name}\n`, 'utf8'), Uint8Array.of(ED25519_KEY_TYPE), publicKey);
  return Buffer.from(digest).readUInt32BE(0);
}

export function keyIdToHex(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

/** A new Ed25519 key pair named `name`; `seed` (32 bytes) makes it deterministic for tests. */
export function generateSigningKey(name: string, options: { seed?: Uint8Array } = {}): GeneratedSigningKey {
  assertKeyName(name);
  const seed = options.seed ?? rawSeedOf(generateKeyPairSync('ed25519').privateKey);
  if (seed.length !== ED25519_PUBLIC_KEY_BYTES) throw new AuditLogError(AuditLogErrorCode.KeyMalformed, 'an Ed25519 seed is 32 bytes');
  const privateKey = privateKeyFromSeed(seed);
  const publicKey = rawPublicKeyOf(createPublicKey(privateKey));
  const keyIdHex = keyIdToHex(computeKeyId(name, publicKey));
  return {
    name,
    keyIdHex,
    signerKey: `${SIGNER_KEY_PREFIX}${name}+${keyIdHex}+${typedKeyBase64(seed)}`,
    verifierKey: `${name}+${keyIdHex}+${typedKeyBase64(publicKey)}`,
    publicKeyPem: createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString(),
  };
}

export function parseSignerKey(text: string): NoteSigner {
  const trimmed = text.trim();
  if (!trimmed.startsWith(SIGNER_KEY_PREFIX)) throw keyError(`a signer key starts with '${SIGNER_KEY_PREFIX}'`);
  const { name, keyId, keyBytes } = splitKey(trimmed.slice(SIGNER_KEY_PREFIX.length), 'signer key');
  const privateKey = privateKeyFromSeed(keyBytes);
  const publicKey = rawPublicKeyOf(createPublicKey(privateKey));
  if (computeKeyId(name, publicKey) !== keyId) throw keyError(`signer key '${name}' has a key id that does not match its key`);
  return { name, keyId, sign: (message) => new Uint8Array(cryptoSign(null, message, privateKey)) };
}

/** Parses `<name>+<key id>+<base64(0x01 || public key)>`. */
export function parseVerifierKey(text: string): NoteVerifierKey {
  const trimmed = text.trim();
  const { name, keyId, keyBytes } = splitKey(trimmed, 'verifier key');
  if (computeKeyId(name, keyBytes) !== keyId) throw keyError(`verifier key '${name}' has a key id that does not match its key`);
  const publicKeyObject = publicKeyFromRaw(keyBytes);
  return {
    name,
    publicKey: keyBytes,
    text: trimmed,
    matches: (signatureName, signatureKeyId) => signatureName === name && signatureKeyId === keyId,
    verify: (message, signature) => verifyEd25519(publicKeyObject, message, signature),
  };
}

/** Parses a PEM `PUBLIC KEY` (SPKI) holding an Ed25519 key. */
export function parsePublicKeyPem(pem: string): NoteVerifierKey {
  let publicKeyObject: KeyObject;
  try {
    publicKeyObject = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    throw keyError('the PEM block is not a public key');
  }
  if (publicKeyObject.asymmetricKeyType !== 'ed25519') throw keyError(`the PEM key is ${publicKeyObject.asymmetricKeyType ?? 'unknown'}, not Ed25519`);
  const publicKey = rawPublicKeyOf(publicKeyObject);
  return {
    name: undefined,
    publicKey,
    text: undefined,
    matches: (signatureName, signatureKeyId) => isValidKeyName(signatureName) && computeKeyId(signatureName, publicKey) === signatureKeyId,
    verify: (message, signature) => verifyEd25519(publicKeyObject, message, signature),
  };
}

/**
 * Reads a key file: PEM public key blocks, or verifier key strings one per line (blank lines and lines starting
 * with '#' are ignored), or both.
 */
export function parseVerifierKeyFile(text: string): NoteVerifierKey[] {
  if (Buffer.byteLength(text, 'utf8') > KEY_FILE_BYTES_MAX) throw keyError(`a key file is at most ${KEY_FILE_BYTES_MAX} bytes`);
  const keys: NoteVerifierKey[] = [];
  const pemBlocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  for (const block of pemBlocks) keys.push(parsePublicKeyPem(block));
  const rest = text.replace(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g, '');
  if (/-----BEGIN /.test(rest)) throw keyError('the key file holds a PEM block that is not a PUBLIC KEY (a private key must never be given to a verifier)');
  for (const line of rest.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    if (trimmed.startsWith(SIGNER_KEY_PREFIX)) throw keyError('the key file holds a signer (private) key; give the verifier key instead');
    keys.push(parseVerifierKey(trimmed));
  }
  if (keys.length === 0) throw keyError('the key file holds no key');
  if (keys.length > KEYS_PER_FILE_MAX) throw keyError(`a key file holds at most ${KEYS_PER_FILE_MAX} keys`);
  return keys;
}

function splitKey(text: string, what: string): { name: string; keyId: number; keyBytes: Uint8Array } {
  const firstPlus = text.indexOf('+');
  const secondPlus = firstPlus < 0 ? -1 : text.indexOf('+', firstPlus + 1);
  if (firstPlus < 0 || secondPlus < 0) throw keyError(`a ${what} has the form <name>+<key id>+<base64 key>`);
  const name = text.slice(0, firstPlus);
  const keyIdHex = text.slice(firstPlus + 1, secondPlus);
  // The base64 part may itself contain '+', so it is everything after the second separator.
  const keyBase64 = text.slice(secondPlus + 1);
  if (!isValidKeyName(name)) throw keyError(`'${name.slice(0, 80)}' is not a valid key name (non-empty, no spaces, no '+')`);
  if (!/^[0-9a-f]{8}$/.test(keyIdHex)) throw keyError(`${what} '${name}': key id '${keyIdHex}' is not 8 lower-case hex digits`);
  const typed = decodeBase64Strict(keyBase64);
  if (typed === undefined) throw keyError(`${what} '${name}': the key is not base64`);
  if (typed[0] !== ED25519_KEY_TYPE) throw keyError(`${what} '${name}': key type ${typed[0] ?? 'none'} is not Ed25519 (1)`);
  const keyBytes = typed.subarray(1);
  if (keyBytes.length !== ED25519_PUBLIC_KEY_BYTES) throw keyError(`${what} '${name}': an Ed25519 key is 32 bytes, got ${keyBytes.length}`);
  return { name, keyId: Number.parseInt(keyIdHex, 16), keyBytes: new Uint8Array(keyBytes) };
}

/** Base64 with padding, and only the spelling Buffer would write back, so that one key has one text. */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (!BASE64_PATTERN.test(text) || text.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? new Uint8Array(bytes) : undefined;
}

function verifyEd25519(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
  return cryptoVerify(null, message, publicKey, signature);
}

function typedKeyBase64(key: Uint8Array): string {
  return Buffer.concat([Uint8Array.of(ED25519_KEY_TYPE), key]).toString('base64');
}

function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function publicKeyFromRaw(publicKey: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
  } catch {
    throw keyError('the bytes are not an Ed25519 public key');
  }
}

function rawSeedOf(privateKey: KeyObject): Uint8Array {
  return new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length));
}

function rawPublicKeyOf(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length));
}

function assertKeyName(name: string): void {
  if (!isValidKeyName(name))
    throw keyError(`'${name.slice(0, 80)}' is not a valid key name (non-empty, at most ${KEY_NAME_LENGTH_MAX} characters, no spaces, no '+')`);
}

function keyError(message: string): AuditLogError {
  return new AuditLogError(AuditLogErrorCode.KeyMalformed, message);
}
