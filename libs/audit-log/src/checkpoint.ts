import { AuditLogError, AuditLogErrorCode } from './audit-log.errors';
import { HASH_BYTES } from './hash';
import { TREE_SIZE_MAX } from './merkle-tree';
import { openNote, type OpenedNote, signNote } from './signed-note';
import { decodeBase64Strict, type NoteSigner, type NoteVerifierKey } from './signing-key';

/**
 * C2SP tlog-checkpoint: the body of a signed note, one field a line.
 *
 *     <origin>\n                 the log's identity, e.g. "recon.example/audit"
 *     <tree size>\n              decimal, no leading zeros
 *     <base64 root hash>\n       the RFC 9162 MTH of the first <tree size> leaves
 *     [<extension line>\n]...    optional, opaque to verifiers
 */
export const ORIGIN_LENGTH_MAX = 200;
export const CHECKPOINT_EXTENSIONS_MAX = 16;

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
}

export interface VerifiedCheckpoint extends Checkpoint {
  readonly note: string;
  readonly verifiedBy: OpenedNote['verifiedBy'];
}

export function formatCheckpointBody(checkpoint: Checkpoint): string {
  assertOrigin(checkpoint.origin);
  if (!Number.isSafeInteger(checkpoint.size) || checkpoint.size < 0) throw checkpointError(`tree size ${checkpoint.size} is not a non-negative integer`);
  if (checkpoint.rootHash.length !== HASH_BYTES) throw checkpointError('a root hash is 32 bytes');
  for (const extension of checkpoint.extensions) {
    if (extension === '' || extension.includes('\n')) throw checkpointError('an extension line is non-empty and has no newline');
  }
  const root = Buffer.from(checkpoint.rootHash).toString('base64');
  return [checkpoint.origin, String(checkpoint.size), root, ...checkpoint.extensions].map((line) => `${line}\n`).join('');
}

export function parseCheckpointBody(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw checkpointError('a checkpoint body ends with a newline');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === undefined || sizeText === undefined || rootText === undefined)
    throw checkpointError('a checkpoint has an origin, a tree size and a root hash line');
  assertOrigin(origin);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || Number(sizeText) > TREE_SIZE_MAX) {
    throw checkpointError(`tree size '${sizeText.slice(0, 40)}' is not a decimal number without leading zeros`);
  }
  const rootHash = decodeBase64Strict(rootText);
  if (rootHash === undefined || rootHash.length !== HASH_BYTES) throw checkpointError(`root hash '${rootText.slice(0, 80)}' is not base64 of 32 bytes`);
  if (extensions.length > CHECKPOINT_EXTENSIONS_MAX) throw checkpointError(`a checkpoint has at most ${CHECKPOINT_EXTENSIONS_MAX} extension lines`);
  return { origin, size: Number(sizeText), rootHash, extensions };
}

export function signCheckpoint(checkpoint: Checkpoint, signers: readonly NoteSigner[]): string {
  return signNote(formatCheckpointBody(checkpoint), signers);
}

/** Verifies the signatures, then parses the body; throws AuditLogError naming what is wrong. */
export function openCheckpoint(note: string, verifiers: readonly NoteVerifierKey[]): VerifiedCheckpoint {
  const opened = openNote(note, verifiers);
  return { ...parseCheckpointBody(opened.text), note, verifiedBy: opened.verifiedBy };
}

function assertOrigin(origin: string): void {
  if (origin === '' || origin.length > ORIGIN_LENGTH_MAX || /\s/.test(origin)) {
    throw checkpointError(`origin '${origin.slice(0, 80)}' is not a non-empty line of at most ${ORIGIN_LENGTH_MAX} characters without spaces`);
  }
}

function checkpointError(message: string): AuditLogError {
  return new AuditLogError(AuditLogErrorCode.CheckpointMalformed, message);
}
