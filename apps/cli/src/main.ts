import { Command, CommanderError } from 'commander';
import { CliError, CliFindings, EXIT_BAD_INPUT } from './cli-error';
import { registerCommands } from './commands';

export function buildProgram(): Command {
  const program = new Command('recon')
    .description('Custody reconciliation: parse bank statements, reconcile them against the ledger, verify the audit trail.')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  registerCommands(program);
  for (const command of program.commands) command.exitOverride().showHelpAfterError();
  return program;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error: unknown) {
    if (error instanceof CommanderError) {
      // --help and --version arrive here too, with exit code 0.
      return error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    }
    if (error instanceof CliFindings) return error.exitCode;
    if (error instanceof CliError) {
      process.stderr.write(`recon: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`recon: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT_BAD_INPUT;
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
