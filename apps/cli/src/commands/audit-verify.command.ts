import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { access, constants, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import {
  AuditLogError,
  type ExportFailure,
  type ExportSummary,
  generateSigningKey,
  isValidKeyName,
  KEY_FILE_BYTES_MAX,
  NOTE_BYTES_MAX,
  type NoteVerifierKey,
  parseVerifierKeyFile,
  verifyExport,
} from '@recon/audit-log';
import { CliError, EXIT_BAD_INPUT, EXIT_FINDINGS } from '../cli-error';

/**
 * `recon audit verify EXPORT [--key FILE]... [--checkpoint FILE]`: offline verification of an audit export (no
 * database, no network), and `recon audit keygen --name N --out DIR` to make the log's signing key.
 */
interface VerifyOptions {
  readonly key?: readonly string[];
  readonly checkpoint?: string;
}

interface KeygenOptions {
  readonly name: string;
  readonly out: string;
}

export function registerAuditVerifyCommand(program: Command): void {
  // Other audit subcommands may register the group first; share it rather than declaring it twice.
  const audit =
    program.commands.find((command) => command.name() === 'audit') ??
    program.command('audit').description('Audit trail tools: verify an export offline, make signing keys.');

  audit
    .command('verify')
    .description(
      'Verify an audit export offline: every record hash, the Merkle root against each signed checkpoint, consistency proofs, ' +
        'and consistency with a checkpoint you kept. Exit 0 when all holds, 1 naming the first bad record, 2 on unreadable input.',
    )
    .argument('<export>', 'the export file (JSONL, see docs/audit-log.md)')
    .option('--key <file>', 'public key file of the log: verifier key lines (<name>+<keyid>+<base64>) or PEM; repeat for rotated keys', collect)
    .option('--checkpoint <file>', 'a signed checkpoint of this log you kept earlier: the export must extend it')
    .action(async (exportPath: string, options: VerifyOptions) => runAuditVerify(exportPath, options));

  audit
    .command('keygen')
    .description('Make an Ed25519 key pair for signing checkpoints: <name>.key (secret), <name>.pub (verifier key), <name>.pub.pem.')
    .requiredOption('--name <name>', "the key name, by convention the log's origin (e.g. recon.example/audit)")
    .requiredOption('--out <dir>', 'directory to write the key files into (created if missing; existing files are never overwritten)')
    .action(async (options: KeygenOptions) => runAuditKeygen(options));
}

function collect(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function runAuditVerify(exportPath: string, options: VerifyOptions): Promise<void> {
  const publicKeys = await readKeys(options.key ?? []);
  const trustedCheckpoint = options.checkpoint === undefined ? undefined : await readSmallFile(options.checkpoint, NOTE_BYTES_MAX, '--checkpoint');
  await assertReadableFile(exportPath, 'export');

  const input = createReadStream(exportPath, { encoding: 'utf8' });
  let readError: Error | undefined;
  input.on('error', (error) => {
    readError = error;
  });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const result = await verifyExport(lines, { publicKeys, trustedCheckpoint });
  lines.close();
  input.destroy();
  if (readError !== undefined) throw new CliError(`cannot read export '${exportPath}': ${readError.message}`, EXIT_BAD_INPUT);

  await writeOut(formatSummary(exportPath, result.summary, result.ok ? undefined : result.failure));
  if (result.summary.keysUsed === 'embedded' && result.ok) {
    process.stderr.write(
      'recon: warning: no --key given, so signatures were checked only against the keys the export names itself; ' +
        'that shows the export is intact, not that the log signed it. Pass --key with the public key you got from the log operator.\n',
    );
  }
  if (!result.ok) {
    const exitCode = result.failure.reason === 'not-an-export' || result.failure.reason === 'trusted-checkpoint-malformed' ? EXIT_BAD_INPUT : EXIT_FINDINGS;
    throw new CliError(`audit export ${exportPath} failed verification${where(result.failure)}: ${result.failure.reason}: ${result.failure.message}`, exitCode);
  }
}

function where(failure: ExportFailure): string {
  const line = failure.lineNo === undefined ? '' : `line ${failure.lineNo}`;
  if (failure.seq === undefined) return line === '' ? '' : ` at ${line}`;
  const records =
    failure.seqEnd !== undefined && failure.seqEnd !== failure.seq ? `records seq ${failure.seq}..${failure.seqEnd}` : `record seq ${failure.seq}`;
  return ` at ${records}${line === '' ? '' : ` (${line})`}`;
}

function formatSummary(exportPath: string, summary: ExportSummary, failure: ExportFailure | undefined): string {
  const out: string[] = [`audit export ${failure === undefined ? 'OK' : 'FAILED'}: ${exportPath}`];
  const count = summary.recordCount;
  out.push(`  log origin      ${summary.origin ?? '(unknown)'}`);
  out.push(
    `  records         ${count}${count > 0 ? ` (seq 0..${count - 1})` : ''}${failure === undefined ? ', every leaf hash recomputed from its event' : ' read before the failure'}`,
  );
  if (failure === undefined && summary.rootHashHex !== undefined) out.push(`  tree root       ${summary.rootHashHex} (size ${count})`);
  const checkpoints = summary.checkpoints;
  const signers = [...new Set(checkpoints.flatMap((checkpoint) => checkpoint.signedBy))];
  const sizes =
    checkpoints.length <= 10 ? checkpoints.map((checkpoint) => checkpoint.size).join(', ') : `${checkpoints[0]!.size} .. ${checkpoints.at(-1)!.size}`;
  out.push(
    `  checkpoints     ${checkpoints.length} signature${checkpoints.length === 1 ? '' : 's'} verified and roots matched${checkpoints.length > 0 ? ` (sizes ${sizes})` : ''}`,
  );
  if (signers.length > 0) out.push(`  signed by       ${signers.join(', ')}${summary.keysUsed === 'embedded' ? ' (keys named by the export itself)' : ''}`);
  out.push(`  consistency     ${summary.consistencyProofsVerified} proof${summary.consistencyProofsVerified === 1 ? '' : 's'} verified`);
  if (summary.trustedCheckpoint !== undefined) {
    out.push(
      `  your checkpoint size ${summary.trustedCheckpoint.size}, root ${summary.trustedCheckpoint.rootHashHex}${failure === undefined ? ': this export extends it' : ''}`,
    );
  }
  if (failure !== undefined) {
    out.push(`  FIRST FAILURE   ${failure.reason}${where(failure)}`);
    out.push(`                  ${failure.message}`);
  }
  return `${out.join('\n')}\n`;
}

async function readKeys(files: readonly string[]): Promise<NoteVerifierKey[]> {
  const keys: NoteVerifierKey[] = [];
  for (const file of files) {
    const text = await readSmallFile(file, KEY_FILE_BYTES_MAX, '--key');
    try {
      keys.push(...parseVerifierKeyFile(text));
    } catch (error: unknown) {
      if (error instanceof AuditLogError) throw new CliError(`--key ${file}: ${error.message}`, EXIT_BAD_INPUT);
      throw error;
    }
  }
  return keys;
}

async function readSmallFile(file: string, bytesMax: number, option: string): Promise<string> {
  await assertReadableFile(file, option);
  const { size } = await stat(file);
  if (size > bytesMax) throw new CliError(`${option} ${file}: file is ${size} bytes, more than ${bytesMax}`, EXIT_BAD_INPUT);
  return readFile(file, 'utf8');
}

async function assertReadableFile(file: string, what: string): Promise<void> {
  try {
    await access(file, constants.R_OK);
    if (!(await stat(file)).isFile()) throw new Error('not a regular file');
  } catch (error: unknown) {
    throw new CliError(`cannot read ${what} '${file}': ${error instanceof Error ? error.message : String(error)}`, EXIT_BAD_INPUT);
  }
}

async function runAuditKeygen(options: KeygenOptions): Promise<void> {
  if (!isValidKeyName(options.name)) throw new CliError(`--name '${options.name}' is not a valid key name (non-empty, no spaces, no '+')`, EXIT_BAD_INPUT);
  const key = generateSigningKey(options.name);
  const base = path.join(options.out, keyFileBaseName(options.name));
  const files = [
    { file: `${base}.key`, text: `${key.signerKey}\n`, mode: 0o600 },
    { file: `${base}.pub`, text: `${key.verifierKey}\n`, mode: 0o644 },
    { file: `${base}.pub.pem`, text: key.publicKeyPem, mode: 0o644 },
  ];
  try {
    await mkdir(options.out, { recursive: true });
    // 'wx' refuses to overwrite: losing a signing key would leave old checkpoints without their signer.
    for (const { file, text, mode } of files) await writeFile(file, text, { flag: 'wx', mode });
  } catch (error: unknown) {
    throw new CliError(`cannot write key files under '${options.out}': ${error instanceof Error ? error.message : String(error)}`, EXIT_BAD_INPUT);
  }
  await writeOut(
    [
      `key ${key.name}+${key.keyIdHex}`,
      `  signer key (secret, give only to the audit service)  ${files[0]!.file}`,
      `  verifier key (public, give to auditors)              ${files[1]!.file}`,
      `  verifier key as PEM                                  ${files[2]!.file}`,
      `  ${key.verifierKey}`,
      '',
    ].join('\n'),
  );
}

/** Key names may hold '/' and ':' (an origin like recon.example/audit); file names get '_' instead. */
export function keyFileBaseName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
}

async function writeOut(text: string): Promise<void> {
  if (!process.stdout.write(text)) await once(process.stdout, 'drain');
}
