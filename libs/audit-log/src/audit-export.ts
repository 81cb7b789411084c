import assert from 'node:assert/strict';
import { auditEventLeafHash, auditEventSchema } from './audit-event';
import type { AuditLogRecord } from './audit-log-record';
import { AuditLogError, AuditLogErrorCode } from './audit-log.errors';
import { CanonicalJsonError, canonicalizeJson } from './canonical-json';
import { openCheckpoint, parseCheckpointBody, type VerifiedCheckpoint } from './checkpoint';
import { EMPTY_TREE_HASH, HASH_BYTES, hashesEqual, hashFromHex, hashToHex, isHexHash } from './hash';
import { foldSubtreeHashes, MerkleFrontier, perfectSubtreesOf, TREE_SIZE_MAX, verifyConsistency } from './merkle-tree';
import { parseNote } from './signed-note';
import { type NoteVerifierKey, parseVerifierKey } from './signing-key';

/**
 * The export: JSONL, one object a line, documented in docs/audit-log.md.
 *
 *   {"kind":"header","format":"recon-audit-export","formatVersion":1,"origin":...,"treeSize":N,...}
 *   {"kind":"record","seq":0,"leafHash":"<hex>","event":{...}}          seq 0 .. N-1, in order
 *   {"kind":"checkpoint","note":"<signed checkpoint note>"}             right after the record seq size-1
 *   {"kind":"consistency","fromSize":m,"toSize":n,"proof":["<hex>",...]} optional, after the records
 */
export const AUDIT_EXPORT_FORMAT = 'recon-audit-export';
export const AUDIT_EXPORT_FORMAT_VERSION = 1;
export const AUDIT_EXPORT_LINE_BYTES_MAX = 1024 * 1024;
export const AUDIT_EXPORT_RECORDS_MAX = 100_000_000;
export const AUDIT_EXPORT_CHECKPOINTS_MAX = 1_000_000;
export const AUDIT_EXPORT_CONSISTENCY_PROOFS_MAX = 10_000;
/** A proof has at most about 2 log2(n) nodes; 128 covers any tree size up to 2^53 with room. */
export const PROOF_NODES_MAX = 128;

export interface AuditExportHeader {
  readonly kind: 'header';
  readonly format: typeof AUDIT_EXPORT_FORMAT;
  readonly formatVersion: typeof AUDIT_EXPORT_FORMAT_VERSION;
  readonly origin: string;
  readonly treeSize: number;
  readonly leafHash: 'rfc9162-sha256-rfc8785';
  /** The keys the log signed with, for information: an auditor verifies with keys obtained independently. */
  readonly verifierKeys: readonly string[];
  readonly exportedAt: string;
}

export interface ConsistencyProofEntry {
  readonly fromSize: number;
  readonly toSize: number;
  readonly proof: readonly Uint8Array[];
}

export interface AuditExportInput {
  readonly origin: string;
  readonly exportedAt: string;
  readonly verifierKeys?: readonly string[];
  /** In seq order from 0; records past the last checkpoint are not exported (they are not signed yet). */
  readonly records: Iterable<AuditLogRecord>;
  /** Signed checkpoint notes of this log, in increasing size. */
  readonly checkpoints: readonly string[];
  readonly consistencyProofs?: readonly ConsistencyProofEntry[];
}

/** Writes an export line by line (a generator, so the service can stream millions of records). */
export function* auditExportLines(input: AuditExportInput): Generator<string> {
  const sizes = input.checkpoints.map((note) => parseCheckpointBody(parseNote(note).text).size);
  sizes.forEach((size, i) => assert.ok(i === 0 || size >= sizes[i - 1]!, 'checkpoints must be in increasing size'));
  const treeSize = sizes.at(-1) ?? 0;
  const header: AuditExportHeader = {
    kind: 'header',
    format: AUDIT_EXPORT_FORMAT,
    formatVersion: AUDIT_EXPORT_FORMAT_VERSION,
    origin: input.origin,
    treeSize,
    leafHash: 'rfc9162-sha256-rfc8785',
    verifierKeys: [...(input.verifierKeys ?? [])],
    exportedAt: input.exportedAt,
  };
  yield JSON.stringify(header);
  let next = 0;
  let checkpointIndex = 0;
  const flushCheckpoints = function* (): Generator<string> {
    while (checkpointIndex < sizes.length && sizes[checkpointIndex] === next) {
      yield JSON.stringify({ kind: 'checkpoint', note: input.checkpoints[checkpointIndex] });
      checkpointIndex += 1;
    }
  };
  yield* flushCheckpoints();
  for (const record of input.records) {
    if (next >= treeSize) break;
    assert.equal(record.seq, next, 'records must come in seq order from 0');
    // The event is written in its canonical form, so the bytes on the line are the bytes the leaf hash covers.
    yield `{"kind":"record","seq":${record.seq},"leafHash":"${hashToHex(record.leafHash)}","event":${canonicalizeJson(record.event)}}`;
    next += 1;
    yield* flushCheckpoints();
  }
  assert.equal(next, treeSize, `the last checkpoint has size ${treeSize} but only ${next} records were given`);
  for (const entry of input.consistencyProofs ?? []) {
    yield JSON.stringify({ kind: 'consistency', fromSize: entry.fromSize, toSize: entry.toSize, proof: entry.proof.map(hashToHex) });
  }
}

export type ExportFailureReason =
  | 'not-an-export'
  | 'malformed-line'
  | 'seq-gap'
  | 'seq-out-of-order'
  | 'leaf-hash-mismatch'
  | 'event-invalid'
  | 'checkpoint-malformed'
  | 'bad-signature'
  | 'unknown-key'
  | 'origin-mismatch'
  | 'root-mismatch'
  | 'truncated'
  | 'unsigned-records'
  | 'no-checkpoint'
  | 'consistency-proof-invalid'
  | 'trusted-checkpoint-malformed'
  | 'trusted-checkpoint-unverified'
  | 'inconsistent-with-trusted-checkpoint'
  | 'too-large';

export interface ExportFailure {
  readonly reason: ExportFailureReason;
  /** 1-based line of the export where the failure was found (absent for end-of-file findings). */
  readonly lineNo: number | undefined;
  /** The first record that is (or may be) bad; with seqEnd, the range one of whose records is bad. */
  readonly seq: number | undefined;
  readonly seqEnd: number | undefined;
  readonly message: string;
}

export interface VerifiedCheckpointSummary {
  readonly size: number;
  readonly rootHashHex: string;
  readonly signedBy: readonly string[];
}

export interface ExportSummary {
  readonly origin: string | undefined;
  readonly recordCount: number;
  readonly checkpoints: readonly VerifiedCheckpointSummary[];
  readonly consistencyProofsVerified: number;
  readonly trustedCheckpoint: VerifiedCheckpointSummary | undefined;
  /** 'given' when the caller's keys were used, 'embedded' when only the export's own header named them. */
  readonly keysUsed: 'given' | 'embedded';
  readonly rootHashHex: string | undefined;
}

export type VerifyExportResult =
  { readonly ok: true; readonly summary: ExportSummary } | { readonly ok: false; readonly failure: ExportFailure; readonly summary: ExportSummary };

export interface VerifyExportOptions {
  /** Trusted verifier keys (old and new during rotation). Without any, the keys in the export's header are used. */
  readonly publicKeys?: readonly NoteVerifierKey[];
  /** A checkpoint note the auditor kept from earlier: the export must extend it. */
  readonly trustedCheckpoint?: string;
}

type Lines = string | Iterable<string> | AsyncIterable<string>;

class ExportFailed extends Error {
  constructor(readonly failure: ExportFailure) {
    super(failure.message);
  }
}

/** 32 bytes per leaf in one growing buffer: the roots of earlier sizes are recomputed from it when needed. */
class LeafHashBuffer {
  private bytes = Buffer.alloc(HASH_BYTES * 1024);
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(hash: Uint8Array): void {
    if ((this.count + 1) * HASH_BYTES > this.bytes.length) {
      const grown = Buffer.alloc(this.bytes.length * 2);
      this.bytes.copy(grown);
      this.bytes = grown;
    }
    this.bytes.set(hash, this.count * HASH_BYTES);
    this.count += 1;
  }

  rootOfPrefix(size: number): Uint8Array {
    assert.ok(size <= this.count);
    if (size === 0) return EMPTY_TREE_HASH;
    return foldSubtreeHashes(perfectSubtreesOf({ start: 0, end: size }).map((id) => this.subtree(id.level, id.index)));
  }

  private subtree(level: number, index: number): Uint8Array {
    const frontier = MerkleFrontier.empty();
    const width = 2 ** level;
    for (let i = index * width; i < (index + 1) * width; i += 1) frontier.append(this.bytes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES));
    return frontier.rootHash();
  }
}

/**
 * Checks an export completely: every record's leaf hash against its event, seq continuity, every checkpoint's
 * signature and its root against the records, every consistency proof, coverage of all records by a signed
 * checkpoint, and consistency with the checkpoint the auditor kept. Stops at the first failure in file order.
 */
export async function verifyExport(source: Lines, options: VerifyExportOptions = {}): Promise<VerifyExportResult> {
  const state = new ExportVerification(options);
  try {
    let lineNo = 0;
    for await (const line of linesOf(source)) {
      lineNo += 1;
      state.acceptLine(line, lineNo);
    }
    state.finish();
    return { ok: true, summary: state.summary() };
  } catch (error: unknown) {
    if (error instanceof ExportFailed) return { ok: false, failure: error.failure, summary: state.summary() };
    throw error;
  }
}

async function* linesOf(source: Lines): AsyncGenerator<string> {
  if (typeof source === 'string') {
    const lines = source.split('\n');
    if (lines.at(-1) === '') lines.pop();
    yield* lines;
    return;
  }
  yield* source;
}

class ExportVerification {
  private header: AuditExportHeader | undefined;
  private keys: readonly NoteVerifierKey[] = [];
  private keysUsed: 'given' | 'embedded' = 'given';
  private readonly frontier = MerkleFrontier.empty();
  private readonly leaves = new LeafHashBuffer();
  private readonly checkpoints: VerifiedCheckpointSummary[] = [];
  /** Signed checkpoints whose records have not all arrived yet, with the line that carried them. */
  private readonly pending: { checkpoint: VerifiedCheckpoint; lineNo: number }[] = [];
  private readonly rootsBySize = new Map<number, Uint8Array>();
  private readonly proofs: { entry: ConsistencyProofEntry; lineNo: number }[] = [];
  private trusted: VerifiedCheckpoint | undefined;
  private trustedChecked = false;
  private consistencyProofsVerified = 0;
  /** The largest size whose root a signed checkpoint has confirmed: records below it are proven. */
  private provenSize = 0;
  private sawTrailingBlank = false;

  constructor(private readonly options: VerifyExportOptions) {}

  acceptLine(rawLine: string, lineNo: number): void {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (line === '') {
      this.sawTrailingBlank = true;
      return;
    }
    if (this.sawTrailingBlank) this.fail('malformed-line', lineNo, undefined, 'a blank line in the middle of the export');
    // A UTF-16 unit is at most 3 UTF-8 bytes: count bytes only for lines that could be over the limit.
    if (line.length * 3 > AUDIT_EXPORT_LINE_BYTES_MAX && Buffer.byteLength(line, 'utf8') > AUDIT_EXPORT_LINE_BYTES_MAX)
      this.fail(this.header ? 'too-large' : 'not-an-export', lineNo, undefined, `line is longer than ${AUDIT_EXPORT_LINE_BYTES_MAX} bytes`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.fail(this.header ? 'malformed-line' : 'not-an-export', lineNo, undefined, 'the line is not JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      this.fail(this.header ? 'malformed-line' : 'not-an-export', lineNo, undefined, 'the line is not a JSON object');
    const object = value as Record<string, unknown>;
    if (this.header === undefined) {
      this.acceptHeader(object, lineNo);
      return;
    }
    switch (object['kind']) {
      case 'record':
        this.acceptRecord(object, lineNo);
        return;
      case 'checkpoint':
        this.acceptCheckpoint(object, lineNo);
        return;
      case 'consistency':
        this.acceptConsistency(object, lineNo);
        return;
      case 'header':
        this.fail('malformed-line', lineNo, undefined, 'a second header');
        break;
      default:
        this.fail('malformed-line', lineNo, undefined, `unknown line kind ${JSON.stringify(object['kind'])?.slice(0, 40) ?? 'undefined'}`);
    }
  }

  finish(): void {
    if (this.header === undefined) this.fail('not-an-export', undefined, undefined, 'the export is empty');
    const count = this.frontier.size;
    const missing = this.pending[0];
    if (missing !== undefined) {
      this.fail(
        'truncated',
        missing.lineNo,
        count,
        `the checkpoint of size ${missing.checkpoint.size} covers records up to seq ${missing.checkpoint.size - 1}, but the export ends after ${count} records: the tail was cut off`,
      );
    }
    if (this.trusted !== undefined && !this.trustedChecked) {
      this.fail(
        'truncated',
        undefined,
        count,
        `your trusted checkpoint has size ${this.trusted.size}, but the export holds only ${count} records: the log was cut short or rolled back`,
      );
    }
    if (count < this.header.treeSize)
      this.fail('truncated', undefined, count, `the header announces ${this.header.treeSize} records, but the export ends after ${count}`);
    if (count > this.header.treeSize)
      this.fail('unsigned-records', undefined, this.header.treeSize, `the header announces ${this.header.treeSize} records, but the export holds ${count}`);
    if (this.checkpoints.length === 0)
      this.fail('no-checkpoint', undefined, undefined, 'the export has no signed checkpoint, so nothing vouches for its records');
    if (this.provenSize < count) {
      this.fail('unsigned-records', undefined, this.provenSize, `records seq ${this.provenSize}..${count - 1} are not covered by any signed checkpoint`);
    }
    for (const { entry, lineNo } of this.proofs) this.checkConsistency(entry, lineNo);
  }

  summary(): ExportSummary {
    const trusted = this.trusted;
    return {
      origin: this.header?.origin,
      recordCount: this.frontier.size,
      checkpoints: [...this.checkpoints],
      consistencyProofsVerified: this.consistencyProofsVerified,
      trustedCheckpoint: trusted === undefined ? undefined : summarize(trusted),
      keysUsed: this.keysUsed,
      rootHashHex: this.header === undefined ? undefined : hashToHex(this.frontier.rootHash()),
    };
  }

  private acceptHeader(object: Record<string, unknown>, lineNo: number): void {
    if (object['kind'] !== 'header' || object['format'] !== AUDIT_EXPORT_FORMAT) {
      this.fail('not-an-export', lineNo, undefined, `the first line is not a ${AUDIT_EXPORT_FORMAT} header`);
    }
    if (object['formatVersion'] !== AUDIT_EXPORT_FORMAT_VERSION) {
      this.fail(
        'not-an-export',
        lineNo,
        undefined,
        `format version ${String(object['formatVersion'])} is not supported (this verifier reads version ${AUDIT_EXPORT_FORMAT_VERSION})`,
      );
    }
    const origin = object['origin'];
    const treeSize = object['treeSize'];
    const verifierKeys = object['verifierKeys'] ?? [];
    if (typeof origin !== 'string' || origin === '') this.fail('not-an-export', lineNo, undefined, 'the header has no origin');
    if (typeof treeSize !== 'number' || !Number.isSafeInteger(treeSize) || treeSize < 0 || treeSize > AUDIT_EXPORT_RECORDS_MAX) {
      this.fail('not-an-export', lineNo, undefined, `the header's treeSize is not an integer from 0 to ${AUDIT_EXPORT_RECORDS_MAX}`);
    }
    if (!Array.isArray(verifierKeys) || !verifierKeys.every((key) => typeof key === 'string'))
      this.fail('not-an-export', lineNo, undefined, "the header's verifierKeys is not a list of strings");
    this.header = { ...(object as unknown as AuditExportHeader), origin, treeSize, verifierKeys: verifierKeys as string[] };

    const given = this.options.publicKeys ?? [];
    if (given.length > 0) {
      this.keys = given;
    } else {
      this.keysUsed = 'embedded';
      try {
        this.keys = (verifierKeys as string[]).map(parseVerifierKey);
      } catch (error: unknown) {
        this.fail('not-an-export', lineNo, undefined, `the header's verifier key is malformed: ${messageOf(error)}`);
      }
    }
    if (this.options.trustedCheckpoint !== undefined) this.openTrusted(this.options.trustedCheckpoint, origin);
  }

  private openTrusted(note: string, origin: string): void {
    try {
      this.trusted = openCheckpoint(note, this.keys);
    } catch (error: unknown) {
      const malformed =
        error instanceof AuditLogError && (error.code === AuditLogErrorCode.NoteMalformed || error.code === AuditLogErrorCode.CheckpointMalformed);
      this.fail(
        malformed ? 'trusted-checkpoint-malformed' : 'trusted-checkpoint-unverified',
        undefined,
        undefined,
        `your trusted checkpoint: ${messageOf(error)}`,
      );
    }
    if (this.trusted.origin !== origin) {
      this.fail('origin-mismatch', undefined, undefined, `your trusted checkpoint is of log '${this.trusted.origin}', the export of '${origin}'`);
    }
    if (this.trusted.size === 0) this.checkTrusted();
  }

  private acceptRecord(object: Record<string, unknown>, lineNo: number): void {
    const expected = this.frontier.size;
    const seq = object['seq'];
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)
      this.fail('malformed-line', lineNo, expected, `record has no valid seq (expected seq ${expected})`);
    if (seq > expected) {
      this.fail(
        'seq-gap',
        lineNo,
        expected,
        `record seq ${seq} where seq ${expected} was expected: record ${seq === expected + 1 ? `seq ${expected} is` : `seqs ${expected}..${seq - 1} are`} missing, or records were moved`,
      );
    }
    if (seq < expected)
      this.fail('seq-out-of-order', lineNo, seq, `record seq ${seq} where seq ${expected} was expected: a record was inserted, repeated or moved`);
    if (expected >= AUDIT_EXPORT_RECORDS_MAX) this.fail('too-large', lineNo, seq, `an export holds at most ${AUDIT_EXPORT_RECORDS_MAX} records`);
    const stated = object['leafHash'];
    if (typeof stated !== 'string' || !isHexHash(stated))
      this.fail('malformed-line', lineNo, seq, `record seq ${seq} has no leafHash of 64 lower-case hex digits`);
    if (!('event' in object)) this.fail('malformed-line', lineNo, seq, `record seq ${seq} has no event`);
    let computed: Uint8Array;
    try {
      computed = auditEventLeafHash(object['event']);
    } catch (error: unknown) {
      if (!(error instanceof CanonicalJsonError)) throw error;
      this.fail('event-invalid', lineNo, seq, `record seq ${seq}: ${error.message}`);
    }
    if (!hashesEqual(computed, hashFromHex(stated))) {
      this.fail(
        'leaf-hash-mismatch',
        lineNo,
        seq,
        `record seq ${seq}: the event hashes to ${hashToHex(computed)}, the record says ${stated}: the event or its hash was changed`,
      );
    }
    const parsed = auditEventSchema.safeParse(object['event']);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.fail('event-invalid', lineNo, seq, `record seq ${seq}: event.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    this.frontier.append(computed);
    this.leaves.push(computed);
    this.afterAppend();
  }

  private afterAppend(): void {
    const count = this.frontier.size;
    while (this.pending.length > 0 && this.pending[0]!.checkpoint.size === count) {
      const { checkpoint, lineNo } = this.pending.shift()!;
      this.checkRoot(checkpoint, lineNo);
    }
    if (this.trusted !== undefined && this.trusted.size === count) this.checkTrusted();
  }

  private acceptCheckpoint(object: Record<string, unknown>, lineNo: number): void {
    const note = object['note'];
    if (typeof note !== 'string') this.fail('malformed-line', lineNo, undefined, 'checkpoint line has no note');
    if (this.checkpoints.length + this.pending.length >= AUDIT_EXPORT_CHECKPOINTS_MAX)
      this.fail('too-large', lineNo, undefined, `an export holds at most ${AUDIT_EXPORT_CHECKPOINTS_MAX} checkpoints`);
    let checkpoint: VerifiedCheckpoint;
    try {
      checkpoint = openCheckpoint(note, this.keys);
    } catch (error: unknown) {
      if (!(error instanceof AuditLogError)) throw error;
      const reason =
        error.code === AuditLogErrorCode.BadSignature ? 'bad-signature' : error.code === AuditLogErrorCode.UnknownKey ? 'unknown-key' : 'checkpoint-malformed';
      const hint = this.keysUsed === 'embedded' ? ' (checked with the keys the export names; pass your own keys)' : '';
      this.fail(reason, lineNo, undefined, `checkpoint: ${error.message}${hint}`);
    }
    if (checkpoint.origin !== this.header!.origin) {
      this.fail('origin-mismatch', lineNo, undefined, `checkpoint of log '${checkpoint.origin}' in an export of '${this.header!.origin}'`);
    }
    if (checkpoint.size > this.frontier.size) {
      this.pending.push({ checkpoint, lineNo });
      this.pending.sort((left, right) => left.checkpoint.size - right.checkpoint.size);
    } else {
      this.checkRoot(checkpoint, lineNo);
    }
  }

  private checkRoot(checkpoint: VerifiedCheckpoint, lineNo: number): void {
    const computed = this.rootAt(checkpoint.size);
    if (!hashesEqual(computed, checkpoint.rootHash)) {
      if (this.checkpoints.some((verified) => verified.size === checkpoint.size)) {
        this.fail(
          'root-mismatch',
          lineNo,
          undefined,
          `two signed checkpoints of size ${checkpoint.size} have different roots: the log signed two histories (equivocation)`,
        );
      }
      // Records below the largest size already confirmed are proven; the change is among the ones after it.
      const from = Math.min(this.provenBelow(checkpoint.size), Math.max(checkpoint.size - 1, 0));
      this.fail(
        'root-mismatch',
        lineNo,
        from,
        `the checkpoint of size ${checkpoint.size} signs root ${hashToHex(checkpoint.rootHash)}, but records seq ${from}..${checkpoint.size - 1} give ${hashToHex(computed)}: one of them was changed, inserted, removed or moved`,
        checkpoint.size - 1,
      );
    }
    this.rootsBySize.set(checkpoint.size, computed);
    this.provenSize = Math.max(this.provenSize, checkpoint.size);
    this.checkpoints.push(summarize(checkpoint));
  }

  private checkTrusted(): void {
    const trusted = this.trusted!;
    this.trustedChecked = true;
    const computed = this.rootAt(trusted.size);
    if (!hashesEqual(computed, trusted.rootHash)) {
      const from = Math.min(this.provenBelow(trusted.size), Math.max(trusted.size - 1, 0));
      this.fail(
        'inconsistent-with-trusted-checkpoint',
        undefined,
        from,
        `your trusted checkpoint of size ${trusted.size} has root ${hashToHex(trusted.rootHash)}, but this export's records seq ${from}..${trusted.size - 1} give ${hashToHex(computed)}: the log was rewritten since you kept that checkpoint`,
        trusted.size - 1,
      );
    }
  }

  private acceptConsistency(object: Record<string, unknown>, lineNo: number): void {
    const { fromSize, toSize, proof } = object;
    const isSize = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= TREE_SIZE_MAX;
    if (!isSize(fromSize) || !isSize(toSize) || fromSize > toSize)
      this.fail('malformed-line', lineNo, undefined, 'consistency line needs sizes fromSize <= toSize');
    if (!Array.isArray(proof) || proof.length > PROOF_NODES_MAX || !proof.every((node) => typeof node === 'string' && isHexHash(node))) {
      this.fail('malformed-line', lineNo, undefined, `consistency proof is not a list of at most ${PROOF_NODES_MAX} hex hashes`);
    }
    if (this.proofs.length >= AUDIT_EXPORT_CONSISTENCY_PROOFS_MAX)
      this.fail('too-large', lineNo, undefined, `an export holds at most ${AUDIT_EXPORT_CONSISTENCY_PROOFS_MAX} consistency proofs`);
    this.proofs.push({ entry: { fromSize, toSize, proof: (proof as string[]).map(hashFromHex) }, lineNo });
  }

  /** Verifies a proof line with the RFC 9162 algorithm against roots the records (and signatures) established. */
  private checkConsistency(entry: ConsistencyProofEntry, lineNo: number): void {
    const count = this.frontier.size;
    if (entry.toSize > count)
      this.fail('consistency-proof-invalid', lineNo, undefined, `consistency proof to size ${entry.toSize} is beyond the ${count} records exported`);
    if (!verifyConsistency(entry.fromSize, entry.toSize, entry.proof, this.rootAt(entry.fromSize), this.rootAt(entry.toSize))) {
      this.fail('consistency-proof-invalid', lineNo, undefined, `the consistency proof from size ${entry.fromSize} to ${entry.toSize} does not verify`);
    }
    this.consistencyProofsVerified += 1;
  }

  private rootAt(size: number): Uint8Array {
    if (size === this.frontier.size) return this.frontier.rootHash();
    const known = this.rootsBySize.get(size);
    if (known !== undefined) return known;
    const root = this.leaves.rootOfPrefix(size);
    this.rootsBySize.set(size, root);
    return root;
  }

  private provenBelow(size: number): number {
    let proven = 0;
    for (const checkpoint of this.checkpoints) if (checkpoint.size <= size) proven = Math.max(proven, checkpoint.size);
    return proven;
  }

  private fail(reason: ExportFailureReason, lineNo: number | undefined, seq: number | undefined, message: string, seqEnd?: number): never {
    throw new ExportFailed({ reason, lineNo, seq, seqEnd, message });
  }
}

function summarize(checkpoint: VerifiedCheckpoint): VerifiedCheckpointSummary {
  return { size: checkpoint.size, rootHashHex: hashToHex(checkpoint.rootHash), signedBy: checkpoint.verifiedBy.map((by) => `${by.name}+${by.keyIdHex}`) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
