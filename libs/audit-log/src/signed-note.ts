import { AuditLogError, AuditLogErrorCode } from './audit-log.errors';
import { decodeBase64Strict, isValidKeyName, keyIdToHex, type NoteSigner, type NoteVerifierKey } from './signing-key';

/**
 * C2SP signed-note: a UTF-8 text ending in a newline, a blank line, then one signature line per signer:
 *
 *     <text lines>\n
 *     \n
 *     — <key name> <base64(key id (4 bytes, big-endian) || signature)>\n
 *
 * The signature is over the text bytes, final newline included. Signatures by keys the verifier does not know
 * are ignored (a note may carry cosignatures by witnesses); a signature by a known key that fails is an error,
 * and at least one known key must have signed.
 */
export const NOTE_BYTES_MAX = 64 * 1024;
export const NOTE_SIGNATURES_MAX = 100;
const SIGNATURE_LINE_PREFIX = '\u2014 ';
const KEY_ID_BYTES = 4;

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Uint8Array;
}

export interface ParsedNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface OpenedNote {
  readonly text: string;
  /** The signatures that verified, by known keys. */
  readonly verifiedBy: readonly { readonly name: string; readonly keyIdHex: string }[];
}

export function signNote(text: string, signers: readonly NoteSigner[]): string {
  assertNoteText(text);
  if (signers.length === 0) throw noteError('a note needs at least one signer');
  const message = Buffer.from(text, 'utf8');
  const lines = signers.map((signer) => {
    const keyId = Buffer.alloc(KEY_ID_BYTES);
    keyId.writeUInt32BE(signer.keyId, 0);
    const blob = Buffer.concat([keyId, signer.sign(message)]).toString('base64');
    return `${SIGNATURE_LINE_PREFIX}${signer.name} ${blob}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

export function parseNote(message: string): ParsedNote {
  if (Buffer.byteLength(message, 'utf8') > NOTE_BYTES_MAX) throw noteError(`a signed note is at most ${NOTE_BYTES_MAX} bytes`);
  // The text may not contain the separator; the last blank line starts the signatures.
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw noteError('a signed note has a blank line between its text and its signatures');
  const text = message.slice(0, split + 1);
  assertNoteText(text);
  const signatureBlock = message.slice(split + 2);
  if (signatureBlock === '' || !signatureBlock.endsWith('\n')) throw noteError('the signature lines of a note end with a newline');
  const signatureLines = signatureBlock.slice(0, -1).split('\n');
  if (signatureLines.length > NOTE_SIGNATURES_MAX) throw noteError(`a note carries at most ${NOTE_SIGNATURES_MAX} signatures`);
  return { text, signatures: signatureLines.map(parseSignatureLine) };
}

/** Verifies a note against a set of keys (several during and after a key rotation). */
export function openNote(message: string, verifiers: readonly NoteVerifierKey[]): OpenedNote {
  const note = parseNote(message);
  const textBytes = Buffer.from(note.text, 'utf8');
  const verifiedBy: { name: string; keyIdHex: string }[] = [];
  const unknown: string[] = [];
  for (const signature of note.signatures) {
    const candidates = verifiers.filter((verifier) => verifier.matches(signature.name, signature.keyId));
    const label = `${signature.name}+${keyIdToHex(signature.keyId)}`;
    if (candidates.length === 0) {
      unknown.push(label);
      continue;
    }
    if (!candidates.some((verifier) => verifier.verify(textBytes, signature.signature))) {
      throw new AuditLogError(AuditLogErrorCode.BadSignature, `the signature by key ${label} does not verify`);
    }
    if (!verifiedBy.some((seen) => `${seen.name}+${seen.keyIdHex}` === label)) verifiedBy.push({ name: signature.name, keyIdHex: keyIdToHex(signature.keyId) });
  }
  if (verifiedBy.length === 0) {
    throw new AuditLogError(AuditLogErrorCode.UnknownKey, `no signature by a trusted key (signed by ${unknown.join(', ') || 'nobody'})`);
  }
  return { text: note.text, verifiedBy };
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_LINE_PREFIX)) throw noteError(`signature line '${line.slice(0, 80)}' does not start with '— '`);
  const rest = line.slice(SIGNATURE_LINE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) throw noteError(`signature line '${line.slice(0, 80)}' has no signature after the key name`);
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) throw noteError(`signature line names an invalid key '${name.slice(0, 80)}'`);
  const blob = decodeBase64Strict(rest.slice(space + 1));
  if (blob === undefined || blob.length <= KEY_ID_BYTES) throw noteError(`the signature by '${name}' is not base64 of a key id and a signature`);
  const keyId = Buffer.from(blob).readUInt32BE(0);
  return { name, keyId, signature: blob.subarray(KEY_ID_BYTES) };
}

function assertNoteText(text: string): void {
  if (text === '' || !text.endsWith('\n')) throw noteError('the text of a note ends with a newline');
  if (text.includes('\n\n') || text.startsWith('\n')) throw noteError('the text of a note has no blank lines');
  // Control characters other than newline would let two notes look alike on a terminal yet differ in bytes.
  if (/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text)) throw noteError('the text of a note has control characters');
  if (Buffer.from(text, 'utf8').toString('utf8') !== text) throw noteError('the text of a note is not valid UTF-8');
}

function noteError(message: string): AuditLogError {
  return new AuditLogError(AuditLogErrorCode.NoteMalformed, message);
}
