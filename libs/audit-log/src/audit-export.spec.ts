import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { type AuditEvent, auditEventLeafHash } from './audit-event';
import { AUDIT_EXPORT_LINE_BYTES_MAX, type ExportFailureReason, verifyExport, type VerifyExportOptions } from './audit-export';
import { signCheckpoint } from './checkpoint';
import { AuditLogSequencer } from './audit-log-record';
import { hashToHex } from './hash';
import { MemoryMerkleTree } from './merkle-tree';
import { parseSignerKey, parseVerifierKey } from './signing-key';
import { buildTestLog, TEST_ORIGIN, testExportText, testSigningKey } from './testing/audit-log.fixtures';

const KEY = testSigningKey(1);
const TRUSTED_KEYS: VerifyExportOptions = { publicKeys: [parseVerifierKey(KEY.verifierKey)] };
// 12 records, checkpoints after 0, 4, 9 and 12 records, and a consistency proof from each earlier checkpoint.
const LOG = buildTestLog(12, [0, 4, 9, 12]);
const EXPORT = testExportText(LOG, { consistencyFrom: [4, 9] });

const linesOf = (text: string): string[] => text.split('\n').slice(0, -1);
const textOf = (lines: readonly string[]): string => `${lines.join('\n')}\n`;
const recordLineIndex = (lines: readonly string[], seq: number): number => lines.findIndex((line) => line.startsWith(`{"kind":"record","seq":${seq},`));
const editRecord = (text: string, seq: number, edit: (record: { seq: number; leafHash: string; event: Record<string, unknown> }) => void): string => {
  const lines = linesOf(text);
  const index = recordLineIndex(lines, seq);
  const record = JSON.parse(lines[index]!) as { seq: number; leafHash: string; event: Record<string, unknown> };
  edit(record);
  lines[index] = JSON.stringify({ kind: 'record', ...record });
  return textOf(lines);
};
const rehash = (record: { leafHash: string; event: unknown }): void => {
  record.leafHash = hashToHex(auditEventLeafHash(record.event));
};

async function expectFailure(text: string, reason: ExportFailureReason, seq?: number, options: VerifyExportOptions = TRUSTED_KEYS): Promise<string> {
  const result = await verifyExport(text, options);
  if (result.ok) throw new Error(`expected ${reason}, but the export verified`);
  expect(result.failure.reason).toBe(reason);
  if (seq !== undefined) expect(result.failure.seq).toBe(seq);
  return result.failure.message;
}

describe(verifyExport.name, () => {
  it('verifies an untouched export and summarises what it checked', async () => {
    const result = await verifyExport(EXPORT, TRUSTED_KEYS);
    expect(result).toEqual({
      ok: true,
      summary: {
        origin: TEST_ORIGIN,
        recordCount: 12,
        checkpoints: [0, 4, 9, 12].map((size) => ({ size, rootHashHex: hashToHex(LOG.tree.rootHash(size)), signedBy: [`${TEST_ORIGIN}+${KEY.keyIdHex}`] })),
        consistencyProofsVerified: 2,
        trustedCheckpoint: undefined,
        keysUsed: 'given',
        rootHashHex: hashToHex(LOG.tree.rootHash()),
      },
    });
  });

  it('reads the export line by line from an async source', async () => {
    async function* stream(): AsyncGenerator<string> {
      yield* linesOf(EXPORT);
    }
    expect((await verifyExport(stream(), TRUSTED_KEYS)).ok).toBe(true);
  });

  it('falls back to the keys the export names, and says so', async () => {
    const result = await verifyExport(EXPORT);
    expect(result.ok && result.summary.keysUsed).toBe('embedded');
  });

  describe('tampering', () => {
    it('finds one changed byte in an event, naming the record', async () => {
      const tampered = EXPORT.replace('"id":"E-6"', '"id":"E-7"');
      expect(await expectFailure(tampered, 'leaf-hash-mismatch', 6)).toMatch(/^record seq 6: the event hashes to [0-9a-f]{64}, the record says/);
    });

    it('finds one changed byte in a stated leaf hash', async () => {
      const lines = linesOf(EXPORT);
      const index = recordLineIndex(lines, 2);
      const hash = LOG.records[2]!.leafHash;
      const flipped = hashToHex(hash).replace(/^./, (digit) => (digit === '0' ? '1' : '0'));
      lines[index] = lines[index]!.replace(hashToHex(hash), flipped);
      await expectFailure(textOf(lines), 'leaf-hash-mismatch', 2);
    });

    it('finds an event changed together with its leaf hash, by the signed root, naming the range since the last good checkpoint', async () => {
      const tampered = editRecord(EXPORT, 6, (record) => {
        record.event['actor'] = { id: 'someone-else', role: 'finance_ops' };
        rehash(record);
      });
      expect(await expectFailure(tampered, 'root-mismatch', 4)).toContain('records seq 4..8 give');
    });

    it('finds a deleted record', async () => {
      const lines = linesOf(EXPORT);
      lines.splice(recordLineIndex(lines, 5), 1);
      expect(await expectFailure(textOf(lines), 'seq-gap', 5)).toBe('record seq 6 where seq 5 was expected: record seq 5 is missing, or records were moved');
    });

    it('finds a deleted record when the later ones were renumbered to hide the gap', async () => {
      const lines = linesOf(EXPORT);
      lines.splice(recordLineIndex(lines, 5), 1);
      const renumbered = lines.map((line) =>
        line.replace(/^\{"kind":"record","seq":(\d+),/, (match, seq: string) => (Number(seq) > 5 ? `{"kind":"record","seq":${Number(seq) - 1},` : match)),
      );
      await expectFailure(textOf(renumbered), 'root-mismatch', 4);
    });

    it('finds an inserted record', async () => {
      const lines = linesOf(EXPORT);
      const index = recordLineIndex(lines, 3);
      lines.splice(index + 1, 0, lines[index]!);
      expect(await expectFailure(textOf(lines), 'seq-out-of-order', 3)).toContain('a record was inserted, repeated or moved');
    });

    it('finds an inserted record when the later ones were renumbered to make room', async () => {
      const extra = JSON.stringify({ kind: 'record', seq: 3, leafHash: hashToHex(auditEventLeafHash(LOG.records[0]!.event)), event: LOG.records[0]!.event });
      const lines = linesOf(EXPORT).map((line) =>
        line.replace(/^\{"kind":"record","seq":(\d+),/, (match, seq: string) => (Number(seq) >= 3 ? `{"kind":"record","seq":${Number(seq) + 1},` : match)),
      );
      lines.splice(recordLineIndex(lines, 4), 0, extra);
      await expectFailure(textOf(lines), 'root-mismatch', 0);
    });

    it('finds two swapped record lines', async () => {
      const lines = linesOf(EXPORT);
      const first = recordLineIndex(lines, 1);
      const second = recordLineIndex(lines, 2);
      [lines[first], lines[second]] = [lines[second]!, lines[first]!];
      await expectFailure(textOf(lines), 'seq-gap', 1);
    });

    it('finds two swapped events whose seq numbers were kept in place', async () => {
      const lines = linesOf(EXPORT);
      const first = JSON.parse(lines[recordLineIndex(lines, 10)]!) as { event: unknown; leafHash: string };
      const second = JSON.parse(lines[recordLineIndex(lines, 11)]!) as { event: unknown; leafHash: string };
      lines[recordLineIndex(lines, 10)] = JSON.stringify({ kind: 'record', seq: 10, leafHash: second.leafHash, event: second.event });
      lines[recordLineIndex(lines, 11)] = JSON.stringify({ kind: 'record', seq: 11, leafHash: first.leafHash, event: first.event });
      expect(await expectFailure(textOf(lines), 'root-mismatch', 9)).toContain('records seq 9..11');
    });

    it('finds a truncated tail by the header', async () => {
      const lines = linesOf(EXPORT);
      expect(await expectFailure(textOf(lines.slice(0, recordLineIndex(lines, 10))), 'truncated', 10)).toBe(
        'the header announces 12 records, but the export ends after 10',
      );
    });

    it('finds a truncated tail by a checkpoint that promised more records', async () => {
      const lines = linesOf(EXPORT);
      const checkpointLine = lines.findIndex((line) => line.includes('\\n12\\n'));
      const cut = [...lines.slice(0, recordLineIndex(lines, 11)), lines[checkpointLine]!];
      expect(await expectFailure(textOf(cut), 'truncated', 11)).toContain('covers records up to seq 11, but the export ends after 11 records');
    });

    it('finds a tail cut back to an earlier checkpoint, header and all, with the checkpoint the auditor kept', async () => {
      const earlier = testExportText(buildTestLog(9, [0, 4, 9]));
      expect((await verifyExport(earlier, TRUSTED_KEYS)).ok).toBe(true);
      const kept = LOG.notes[3]!;
      expect(await expectFailure(earlier, 'truncated', 9, { ...TRUSTED_KEYS, trustedCheckpoint: kept })).toContain(
        'your trusted checkpoint has size 12, but the export holds only 9 records',
      );
    });

    it('finds a history rewritten and re-signed with the log key, with the checkpoint the auditor kept', async () => {
      const kept = LOG.notes[2]!; // size 9
      const events = LOG.records.map((record) => record.event);
      const forged = signedLogOf(events.map((event, seq) => (seq === 7 ? { ...event, action: 'reverse' } : event)));
      // The forgery is internally consistent and signed by the (stolen) log key...
      expect((await verifyExport(forged, TRUSTED_KEYS)).ok).toBe(true);
      // ...but does not extend what the auditor saw.
      expect(await expectFailure(forged, 'inconsistent-with-trusted-checkpoint', 0, { ...TRUSTED_KEYS, trustedCheckpoint: kept })).toBe(
        `your trusted checkpoint of size 9 has root ${hashToHex(LOG.tree.rootHash(9))}, but this export's records seq 0..8 give ${hashToHex(MemoryMerkleTree.fromLeafHashes(events.map((event, seq) => auditEventLeafHash(seq === 7 ? { ...event, action: 'reverse' } : event))).rootHash(9))}: the log was rewritten since you kept that checkpoint`,
      );
    });

    it('accepts an export that extends the checkpoint the auditor kept', async () => {
      const result = await verifyExport(EXPORT, { ...TRUSTED_KEYS, trustedCheckpoint: LOG.notes[1]! });
      expect(result.ok && result.summary.trustedCheckpoint?.size).toBe(4);
    });

    it('finds a changed byte in a checkpoint signature', async () => {
      const lines = linesOf(EXPORT);
      const index = lines.findIndex((line) => line.includes('\\n9\\n'));
      const { note } = JSON.parse(lines[index]!) as { note: string };
      const signature = Buffer.from(note.slice(note.lastIndexOf(' ') + 1, -1), 'base64');
      signature[20]! ^= 0x01; // past the 4-byte key id: the Ed25519 signature itself
      lines[index] = JSON.stringify({ kind: 'checkpoint', note: `${note.slice(0, note.lastIndexOf(' ') + 1)}${signature.toString('base64')}\n` });
      expect(await expectFailure(textOf(lines), 'bad-signature')).toBe(`checkpoint: the signature by key ${TEST_ORIGIN}+${KEY.keyIdHex} does not verify`);
    });

    it('finds a checkpoint whose root was replaced without the key', async () => {
      const lines = linesOf(EXPORT);
      const index = lines.findIndex((line) => line.includes('\\n12\\n'));
      const root = Buffer.from(LOG.tree.rootHash()).toString('base64');
      const other = Buffer.from(LOG.tree.rootHash(11)).toString('base64');
      lines[index] = lines[index]!.replace(root, other).replace('\\n12\\n', '\\n11\\n');
      await expectFailure(textOf(lines), 'bad-signature');
    });

    it('finds a checkpoint signed by a key the auditor does not trust', async () => {
      const intruder = testSigningKey(66);
      const forged = testExportText(buildTestLog(12, [0, 4, 9, 12], () => [intruder]));
      expect(await expectFailure(forged, 'unknown-key')).toContain(`no signature by a trusted key (signed by ${TEST_ORIGIN}+${intruder.keyIdHex})`);
    });

    it('finds records that no checkpoint covers', async () => {
      const unsigned = testExportText({ ...LOG, notes: LOG.notes.slice(0, 3) });
      const lines = linesOf(unsigned);
      const extra = LOG.records
        .slice(9)
        .map((record) => JSON.stringify({ kind: 'record', seq: record.seq, leafHash: hashToHex(record.leafHash), event: record.event }));
      lines.splice(recordLineIndex(lines, 8) + 2, 0, ...extra);
      const header = JSON.parse(lines[0]!) as Record<string, unknown>;
      lines[0] = JSON.stringify({ ...header, treeSize: 12 });
      expect(await expectFailure(textOf(lines), 'unsigned-records', 9)).toBe('records seq 9..11 are not covered by any signed checkpoint');
    });

    it('finds a changed consistency proof', async () => {
      const lines = linesOf(EXPORT);
      const index = lines.findIndex((line) => line.startsWith('{"kind":"consistency","fromSize":4'));
      lines[index] = lines[index]!.replace(/"proof":\["(.)/, (_, digit: string) => `"proof":["${digit === 'a' ? 'b' : 'a'}`);
      expect(await expectFailure(textOf(lines), 'consistency-proof-invalid')).toBe('the consistency proof from size 4 to 12 does not verify');
    });

    it('finds an event that hashes right but breaks the schema', async () => {
      const tampered = editRecord(EXPORT, 3, (record) => {
        record.event['injected'] = 'field';
        rehash(record);
      });
      expect(await expectFailure(tampered, 'event-invalid', 3)).toContain('record seq 3: event.: Unrecognized key');
    });

    it('finds a checkpoint of another log', async () => {
      const lines = linesOf(EXPORT);
      const index = lines.findIndex((line) => line.includes('\\n12\\n'));
      const note = signCheckpoint({ origin: 'other.example/log', size: 12, rootHash: LOG.tree.rootHash(), extensions: [] }, [parseSignerKey(KEY.signerKey)]);
      lines[index] = JSON.stringify({ kind: 'checkpoint', note });
      expect(await expectFailure(textOf(lines), 'origin-mismatch')).toBe(`checkpoint of log 'other.example/log' in an export of '${TEST_ORIGIN}'`);
    });

    it('finds two signed checkpoints of one size with different roots', async () => {
      const lines = linesOf(EXPORT);
      const index = lines.findIndex((line) => line.includes('\\n12\\n'));
      const forked = signCheckpoint({ origin: TEST_ORIGIN, size: 12, rootHash: LOG.tree.rootHash(11), extensions: [] }, [parseSignerKey(KEY.signerKey)]);
      lines.splice(index + 1, 0, JSON.stringify({ kind: 'checkpoint', note: forked }));
      expect(await expectFailure(textOf(lines), 'root-mismatch')).toContain('(equivocation)');
    });

    it('finds an export that no checkpoint vouches for', async () => {
      await expectFailure(testExportText(buildTestLog(0, [])), 'no-checkpoint');
    });

    it.each([
      ['an unknown line kind', '{"kind":"bogus"}', 'malformed-line'],
      ['a line that is not JSON', '{"kind":"record",', 'malformed-line'],
      ['a line longer than the limit', JSON.stringify({ kind: 'record', pad: 'x'.repeat(AUDIT_EXPORT_LINE_BYTES_MAX) }), 'too-large'],
    ])('finds %s', async (_, extra, reason) => {
      const lines = linesOf(EXPORT);
      lines.splice(3, 0, extra);
      await expectFailure(textOf(lines), reason as ExportFailureReason);
    });

    it('refuses a file that is not an export', async () => {
      await expectFailure('hello\n', 'not-an-export');
      await expectFailure('', 'not-an-export');
      await expectFailure('{"kind":"header","format":"recon-audit-export","formatVersion":2}\n', 'not-an-export');
    });
  });

  describe('the example of docs/audit-log.md', () => {
    const fixture = (name: string): string => readFileSync(path.join(__dirname, '..', 'test-fixtures', name), 'utf8');

    it('verifies with its key and the checkpoint of size 2 an auditor kept', async () => {
      const result = await verifyExport(fixture('example-export.jsonl'), {
        publicKeys: [parseVerifierKey(fixture('example.pub'))],
        trustedCheckpoint: fixture('example-checkpoint-2.txt'),
      });
      expect(result.ok && result.summary.rootHashHex).toBe('0250cc9545bd01d5125bca084ee0e665ffae755ad8ec256e1b06fbb2b56d29ef');
    });

    it('writes each event as the exact bytes its leaf hash covers, checkable with any SHA-256 tool', () => {
      for (const line of linesOf(fixture('example-export.jsonl')).filter((text) => text.startsWith('{"kind":"record"'))) {
        const eventBytes = Buffer.from(line.slice(line.indexOf('"event":') + '"event":'.length, -1), 'utf8');
        const leafHash = createHash('sha256').update(Buffer.of(0)).update(eventBytes).digest('hex');
        expect(line).toContain(`"leafHash":"${leafHash}"`);
      }
    });
  });

  describe('key rotation', () => {
    const oldKey = testSigningKey(1);
    const newKey = testSigningKey(2);
    // Old key alone, then both during the overlap, then the new key alone.
    const rotated = testExportText(buildTestLog(12, [4, 9, 12], (size) => (size <= 4 ? [oldKey] : size <= 9 ? [oldKey, newKey] : [newKey])));

    it('verifies checkpoints of both keys when given both', async () => {
      const result = await verifyExport(rotated, { publicKeys: [parseVerifierKey(oldKey.verifierKey), parseVerifierKey(newKey.verifierKey)] });
      expect(result.ok && result.summary.checkpoints.map((checkpoint) => checkpoint.signedBy.length)).toEqual([1, 2, 1]);
    });

    it('cannot vouch for the old checkpoints with the new key alone', async () => {
      await expectFailure(rotated, 'unknown-key', undefined, { publicKeys: [parseVerifierKey(newKey.verifierKey)] });
    });
  });

  describe('properties', () => {
    const logArbitrary = fc
      .integer({ min: 1, max: 24 })
      .chain((size) => fc.record({ size: fc.constant(size), cuts: fc.uniqueArray(fc.integer({ min: 0, max: size - 1 }), { maxLength: 4 }) }));
    const build = ({ size, cuts }: { size: number; cuts: number[] }): string => {
      const sizes = [...cuts, size].sort((left, right) => left - right);
      return testExportText(buildTestLog(size, sizes), { consistencyFrom: cuts.filter((cut) => cut > 0) });
    };

    it('verifies every untouched export', async () => {
      await fc.assert(
        fc.asyncProperty(logArbitrary, async (log) => {
          expect((await verifyExport(build(log), TRUSTED_KEYS)).ok).toBe(true);
        }),
        { numRuns: 30 },
      );
    });

    it('fails on any single changed character in a record, checkpoint or proof line', async () => {
      await fc.assert(
        fc.asyncProperty(logArbitrary, fc.nat(), fc.nat(), fc.constantFrom(...'0aAz:",{}9 -.\\'), async (log, pickLine, pickChar, replacement) => {
          const lines = linesOf(build(log));
          const lineIndex = 1 + (pickLine % (lines.length - 1)); // the header is informational, not signed
          const line = lines[lineIndex]!;
          const charIndex = pickChar % line.length;
          fc.pre(line[charIndex] !== replacement);
          lines[lineIndex] = line.slice(0, charIndex) + replacement + line.slice(charIndex + 1);
          expect((await verifyExport(textOf(lines), TRUSTED_KEYS)).ok).toBe(false);
        }),
        { numRuns: 200 },
      );
    });

    it('fails when any record is deleted, any two records are swapped, or the tail is cut', async () => {
      await fc.assert(
        fc.asyncProperty(logArbitrary, fc.nat(), fc.nat(), async (log, pickA, pickB) => {
          const lines = linesOf(build(log));
          const seqA = pickA % log.size;
          const seqB = pickB % log.size;

          const deleted = [...lines];
          deleted.splice(recordLineIndex(deleted, seqA), 1);
          expect((await verifyExport(textOf(deleted), TRUSTED_KEYS)).ok).toBe(false);

          if (seqA !== seqB) {
            const swapped = [...lines];
            const [a, b] = [recordLineIndex(swapped, seqA), recordLineIndex(swapped, seqB)];
            [swapped[a], swapped[b]] = [swapped[b]!, swapped[a]!];
            expect((await verifyExport(textOf(swapped), TRUSTED_KEYS)).ok).toBe(false);
          }

          expect((await verifyExport(textOf(lines.slice(0, recordLineIndex(lines, seqA))), TRUSTED_KEYS)).ok).toBe(false);
        }),
        { numRuns: 100 },
      );
    });
  });
});

/** A log of exactly these events with one checkpoint at its end, signed by the log's own key. */
function signedLogOf(events: readonly AuditEvent[]): string {
  const sequencer = AuditLogSequencer.start(TEST_ORIGIN);
  const records = events.map((event) => sequencer.append(event));
  const note = sequencer.signCheckpoint([parseSignerKey(KEY.signerKey)]);
  return testExportText({ records, notes: [note], tree: MemoryMerkleTree.fromLeafHashes(records.map((record) => record.leafHash)) });
}
