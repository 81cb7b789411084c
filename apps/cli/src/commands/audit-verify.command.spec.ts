import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { auditExportLines, AuditLogSequencer, MemoryMerkleTree, parseSignerKey } from '@recon/audit-log';
import { recon } from '../testing/run-recon';
import { keyFileBaseName, registerAuditVerifyCommand } from './audit-verify.command';

const ORIGIN = 'recon.test/audit';

function event(index: number): Record<string, unknown> {
  return {
    eventId: `evt-${index}`,
    type: 'audit.reconciliation.break.resolved',
    service: 'reconciliation',
    occurredAt: `2025-01-02T10:00:${String(index % 60).padStart(2, '0')}.000Z`,
    actor: { id: `user-${index % 3}`, role: 'finance_ops' },
    action: 'resolve',
    entity: { type: 'break', id: `BRK-${index}` },
  };
}

/** Writes an export of `size` events signed with the key file at `signerKeyFile`, checkpoints at `sizes`. */
function writeExport(file: string, signerKeyFile: string, size: number, sizes: readonly number[]): string[] {
  const signer = parseSignerKey(readFileSync(signerKeyFile, 'utf8'));
  const sequencer = AuditLogSequencer.start(ORIGIN);
  const tree = new MemoryMerkleTree();
  const records = [];
  const notes: string[] = [];
  for (let i = 0; i < size; i += 1) {
    const record = sequencer.append(event(i));
    records.push(record);
    tree.append(record.leafHash);
    if (sizes.includes(sequencer.size)) notes.push(sequencer.signCheckpoint([signer]));
  }
  const consistencyProofs = sizes.slice(0, -1).map((fromSize) => ({ fromSize, toSize: size, proof: tree.consistencyProof(fromSize, size) }));
  const verifierKeys = [readFileSync(signerKeyFile.replace(/\.key$/, '.pub'), 'utf8').trim()];
  const lines = [...auditExportLines({ origin: ORIGIN, exportedAt: '2025-01-03T00:00:00.000Z', verifierKeys, records, checkpoints: notes, consistencyProofs })];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return notes;
}

describe(registerAuditVerifyCommand.name, () => {
  let dir: string;
  let keyBase: string;
  let notes: string[];
  let exportFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'recon-audit-'));
    const keygen = await recon('audit', 'keygen', '--name', ORIGIN, '--out', path.join(dir, 'keys'));
    expect(keygen.exitCode).toBe(0);
    keyBase = path.join(dir, 'keys', keyFileBaseName(ORIGIN));
    exportFile = path.join(dir, 'export.jsonl');
    notes = writeExport(exportFile, `${keyBase}.key`, 20, [5, 12, 20]);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('keygen', () => {
    it('writes the secret key readable by its owner only, and both public formats', () => {
      expect(statSync(`${keyBase}.key`).mode & 0o777).toBe(0o600);
      expect(readFileSync(`${keyBase}.key`, 'utf8')).toMatch(/^PRIVATE\+KEY\+recon\.test\/audit\+[0-9a-f]{8}\+/);
      expect(readFileSync(`${keyBase}.pub`, 'utf8')).toMatch(/^recon\.test\/audit\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}\n$/);
      expect(readFileSync(`${keyBase}.pub.pem`, 'utf8')).toContain('-----BEGIN PUBLIC KEY-----');
    });

    it('refuses to overwrite an existing key', async () => {
      const run = await recon('audit', 'keygen', '--name', ORIGIN, '--out', path.join(dir, 'keys'));
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(/^recon: cannot write key files under .*EEXIST/);
    });

    it('refuses a key name with a space', async () => {
      expect((await recon('audit', 'keygen', '--name', 'bad name', '--out', dir)).exitCode).toBe(2);
    });
  });

  describe('verify', () => {
    it('verifies an intact export with the verifier key and prints a summary', async () => {
      const run = await recon('audit', 'verify', exportFile, '--key', `${keyBase}.pub`);
      expect(run).toMatchObject({ exitCode: 0, stderr: '' });
      expect(run.stdout).toContain(`audit export OK: ${exportFile}`);
      expect(run.stdout).toContain('records         20 (seq 0..19), every leaf hash recomputed from its event');
      expect(run.stdout).toContain('checkpoints     3 signatures verified and roots matched (sizes 5, 12, 20)');
      expect(run.stdout).toContain('consistency     2 proofs verified');
    });

    it('accepts the PEM key as well, and a checkpoint the auditor kept', async () => {
      const kept = path.join(dir, 'kept-checkpoint.txt');
      writeFileSync(kept, notes[1]!);
      const run = await recon('audit', 'verify', exportFile, '--key', `${keyBase}.pub.pem`, '--checkpoint', kept);
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toMatch(/your checkpoint size 12, root [0-9a-f]{64}: this export extends it/);
    });

    it('names the first bad record and exits 1 when one byte of an event changed', async () => {
      const tampered = path.join(dir, 'tampered.jsonl');
      writeFileSync(tampered, readFileSync(exportFile, 'utf8').replace('"BRK-7"', '"BRK-8"'));
      const run = await recon('audit', 'verify', tampered, '--key', `${keyBase}.pub`);
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toContain('FIRST FAILURE   leaf-hash-mismatch at record seq 7 (line 10)');
      expect(run.stderr).toMatch(
        /^recon: audit export .* failed verification at record seq 7 \(line 10\): leaf-hash-mismatch: record seq 7: the event hashes to/,
      );
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
    });

    it('exits 1 when the tail was cut back and the auditor kept a later checkpoint', async () => {
      const shorter = path.join(dir, 'shorter.jsonl');
      writeExport(shorter, `${keyBase}.key`, 12, [5, 12]);
      const kept = path.join(dir, 'kept-20.txt');
      writeFileSync(kept, notes[2]!);
      const run = await recon('audit', 'verify', shorter, '--key', `${keyBase}.pub`, '--checkpoint', kept);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('truncated: your trusted checkpoint has size 20, but the export holds only 12 records');
    });

    it('exits 1 when the checkpoints were signed by another key', async () => {
      const otherKeys = path.join(dir, 'other-keys');
      expect((await recon('audit', 'keygen', '--name', ORIGIN, '--out', otherKeys)).exitCode).toBe(0);
      const run = await recon('audit', 'verify', exportFile, '--key', path.join(otherKeys, `${keyFileBaseName(ORIGIN)}.pub`));
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('unknown-key: checkpoint: no signature by a trusted key');
    });

    it('verifies with several keys given for a rotation', async () => {
      const otherKeys = path.join(dir, 'rotation-keys');
      expect((await recon('audit', 'keygen', '--name', ORIGIN, '--out', otherKeys)).exitCode).toBe(0);
      const run = await recon('audit', 'verify', exportFile, '--key', path.join(otherKeys, `${keyFileBaseName(ORIGIN)}.pub`), '--key', `${keyBase}.pub`);
      expect(run.exitCode).toBe(0);
    });

    it('warns when no key is given and checks against the keys the export names', async () => {
      const run = await recon('audit', 'verify', exportFile);
      expect(run.exitCode).toBe(0);
      expect(run.stdout).toContain('(keys named by the export itself)');
      expect(run.stderr).toMatch(/^recon: warning: no --key given/);
    });

    it.each([
      ['a missing export', (): string[] => ['audit', 'verify', path.join(dir, 'missing.jsonl')], /cannot read export/],
      ['a missing key file', (): string[] => ['audit', 'verify', exportFile, '--key', path.join(dir, 'missing.pub')], /cannot read --key/],
      ['a private key given as --key', (): string[] => ['audit', 'verify', exportFile, '--key', `${keyBase}.key`], /signer \(private\) key/],
      ['a file that is not an export', (): string[] => ['audit', 'verify', `${keyBase}.pub`, '--key', `${keyBase}.pub`], /not-an-export/],
      [
        'a checkpoint file that is not a checkpoint',
        (): string[] => ['audit', 'verify', exportFile, '--key', `${keyBase}.pub`, '--checkpoint', `${keyBase}.pub`],
        /trusted-checkpoint-malformed/,
      ],
    ])('exits 2 for %s', async (_, args, message) => {
      const run = await recon(...args());
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toMatch(message);
    });
  });
});
