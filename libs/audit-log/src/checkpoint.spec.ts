import { AuditLogErrorCode } from './audit-log.errors';
import { formatCheckpointBody, openCheckpoint, parseCheckpointBody, signCheckpoint } from './checkpoint';
import { hashFromHex } from './hash';
import { openNote, parseNote, signNote } from './signed-note';
import { computeKeyId, generateSigningKey, keyIdToHex, parsePublicKeyPem, parseSignerKey, parseVerifierKey, parseVerifierKeyFile } from './signing-key';

/** The known-answer test of golang.org/x/mod/sumdb/note (note_test.go and its package documentation). */
const GO_SIGNER_KEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';
const GO_VERIFIER_KEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

const ORIGIN = 'recon.example/audit';
const ROOT = hashFromHex('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
const seed = (byte: number): Uint8Array => new Uint8Array(32).fill(byte);

describe('signed note', () => {
  it('signs byte for byte as the Go reference implementation does (Ed25519 is deterministic)', () => {
    expect(signNote(GO_TEXT, [parseSignerKey(GO_SIGNER_KEY)])).toBe(GO_NOTE);
  });

  it('opens the Go reference note with the published verifier key', () => {
    expect(openNote(GO_NOTE, [parseVerifierKey(GO_VERIFIER_KEY)])).toEqual({ text: GO_TEXT, verifiedBy: [{ name: 'PeterNeumann', keyIdHex: 'c74f20a3' }] });
  });

  it('refuses the note when one character of the text changes', () => {
    expect(() => openNote(GO_NOTE.replace('cryptography', 'cryptographY'), [parseVerifierKey(GO_VERIFIER_KEY)])).toThrow(
      expect.objectContaining({ code: AuditLogErrorCode.BadSignature }),
    );
  });

  it('refuses a note signed only by keys it does not know, and names them', () => {
    const other = generateSigningKey('Other', { seed: seed(7) });
    expect(() => openNote(GO_NOTE, [parseVerifierKey(other.verifierKey)])).toThrow('no signature by a trusted key (signed by PeterNeumann+c74f20a3)');
  });

  it('ignores unknown cosignatures but still needs the known one to verify', () => {
    const witness = parseSignerKey(generateSigningKey('witness.example', { seed: seed(9) }).signerKey);
    const note = signNote(GO_TEXT, [parseSignerKey(GO_SIGNER_KEY), witness]);
    expect(openNote(note, [parseVerifierKey(GO_VERIFIER_KEY)]).verifiedBy).toEqual([{ name: 'PeterNeumann', keyIdHex: 'c74f20a3' }]);
    expect(parseNote(note).signatures.map((signature) => signature.name)).toEqual(['PeterNeumann', 'witness.example']);
  });

  it.each([
    ['no blank line', GO_TEXT],
    ['no signature', `${GO_TEXT}\n`],
    ['a line that is not a signature', `${GO_TEXT}\nsignature\n`],
    ['a signature that is not base64', `${GO_TEXT}\n\u2014 PeterNeumann !!!!\n`],
    ['a control character in the text', `a\u0007b\n\n\u2014 PeterNeumann x08go/ZJ\n`],
  ])('refuses a malformed note: %s', (_, message) => {
    expect(() => parseNote(message)).toThrow(expect.objectContaining({ code: AuditLogErrorCode.NoteMalformed }));
  });
});

describe('signing keys', () => {
  it('derives the published key id of the Go reference key', () => {
    const verifier = parseVerifierKey(GO_VERIFIER_KEY);
    expect(keyIdToHex(computeKeyId('PeterNeumann', verifier.publicKey))).toBe('c74f20a3');
  });

  it.each([
    ['a wrong key id', 'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'key id that does not match'],
    ['another name', 'PeterNeumanN+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'key id that does not match'],
    ['a short key', 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10', 'not base64'],
    ['no separators', 'PeterNeumann', 'has the form'],
    ['a space in the name', 'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', 'not a valid key name'],
  ])('refuses a verifier key with %s', (_, text, message) => {
    expect(() => parseVerifierKey(text)).toThrow(message);
  });

  it('generates a key pair whose signer and verifier work together, in both public formats', () => {
    const sut = generateSigningKey(ORIGIN);
    const note = signNote('hello\n', [parseSignerKey(sut.signerKey)]);
    expect(sut.verifierKey.startsWith(`${ORIGIN}+${sut.keyIdHex}+`)).toBe(true);
    expect(openNote(note, [parseVerifierKey(sut.verifierKey)]).verifiedBy).toEqual([{ name: ORIGIN, keyIdHex: sut.keyIdHex }]);
    expect(openNote(note, [parsePublicKeyPem(sut.publicKeyPem)]).verifiedBy).toEqual([{ name: ORIGIN, keyIdHex: sut.keyIdHex }]);
  });

  it('generates the same key from the same seed and a different one otherwise', () => {
    expect(generateSigningKey('a', { seed: seed(1) })).toEqual(generateSigningKey('a', { seed: seed(1) }));
    expect(generateSigningKey('a', { seed: seed(1) }).verifierKey).not.toBe(generateSigningKey('a', { seed: seed(2) }).verifierKey);
  });

  it('reads key files with several keys, comments and PEM blocks', () => {
    const first = generateSigningKey(ORIGIN, { seed: seed(1) });
    const second = generateSigningKey(ORIGIN, { seed: seed(2) });
    const keys = parseVerifierKeyFile(`# audit log keys\n${first.verifierKey}\n\n${second.publicKeyPem}`);
    expect(keys.map((key) => key.name)).toEqual([undefined, ORIGIN]);
  });

  it('refuses a key file holding a private key', () => {
    expect(() => parseVerifierKeyFile(`${GO_SIGNER_KEY}\n`)).toThrow('signer (private) key');
    expect(() => parseVerifierKeyFile('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')).toThrow('not a PUBLIC KEY');
    expect(() => parseVerifierKeyFile('# nothing\n')).toThrow('holds no key');
  });
});

describe('checkpoint', () => {
  const key = generateSigningKey(ORIGIN, { seed: seed(3) });
  const checkpoint = { origin: ORIGIN, size: 8, rootHash: ROOT, extensions: [] };

  it('writes the C2SP tlog-checkpoint body', () => {
    expect(formatCheckpointBody(checkpoint)).toBe(`${ORIGIN}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`);
  });

  it('round-trips through signing and opening', () => {
    const note = signCheckpoint(checkpoint, [parseSignerKey(key.signerKey)]);
    const sut = openCheckpoint(note, [parseVerifierKey(key.verifierKey)]);
    expect(sut).toMatchObject({ origin: ORIGIN, size: 8, extensions: [], verifiedBy: [{ name: ORIGIN, keyIdHex: key.keyIdHex }] });
    expect(Buffer.from(sut.rootHash).equals(Buffer.from(ROOT))).toBe(true);
  });

  it('keeps old checkpoints verifiable after a key rotation, selecting the key by its id', () => {
    const oldKey = generateSigningKey(ORIGIN, { seed: seed(4) });
    const newKey = generateSigningKey(ORIGIN, { seed: seed(5) });
    const before = signCheckpoint({ ...checkpoint, size: 7 }, [parseSignerKey(oldKey.signerKey)]);
    const during = signCheckpoint(checkpoint, [parseSignerKey(oldKey.signerKey), parseSignerKey(newKey.signerKey)]);
    const after = signCheckpoint({ ...checkpoint, size: 9 }, [parseSignerKey(newKey.signerKey)]);
    const keys = [parseVerifierKey(oldKey.verifierKey), parseVerifierKey(newKey.verifierKey)];
    expect(openCheckpoint(before, keys).verifiedBy.map((by) => by.keyIdHex)).toEqual([oldKey.keyIdHex]);
    expect(openCheckpoint(during, keys).verifiedBy.map((by) => by.keyIdHex)).toEqual([oldKey.keyIdHex, newKey.keyIdHex]);
    expect(openCheckpoint(after, keys).verifiedBy.map((by) => by.keyIdHex)).toEqual([newKey.keyIdHex]);
    expect(() => openCheckpoint(after, [keys[0]!])).toThrow(expect.objectContaining({ code: AuditLogErrorCode.UnknownKey }));
  });

  it('refuses a checkpoint whose size was changed after signing', () => {
    const note = signCheckpoint(checkpoint, [parseSignerKey(key.signerKey)]).replace('\n8\n', '\n9\n');
    expect(() => openCheckpoint(note, [parseVerifierKey(key.verifierKey)])).toThrow(expect.objectContaining({ code: AuditLogErrorCode.BadSignature }));
  });

  it.each([
    ['a leading zero in the size', `${ORIGIN}\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`],
    ['a short root hash', `${ORIGIN}\n8\nXcnaeacG\n`],
    ['no root hash', `${ORIGIN}\n8\n`],
    ['an empty origin', `\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n`],
  ])('refuses a body with %s', (_, body) => {
    expect(() => parseCheckpointBody(body)).toThrow(expect.objectContaining({ code: AuditLogErrorCode.CheckpointMalformed }));
  });
});
