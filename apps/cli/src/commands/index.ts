import type { Command } from 'commander';
import { registerAuditVerifyCommand } from './audit-verify.command';
import { registerLedgerCommand } from './ledger.command';
import { registerParseCommand } from './parse.command';
import { registerReconcileCommand } from './reconcile.command';

/**
 * Every subcommand lives in its own file and registers itself here, one line each.
 */
export function registerCommands(program: Command): void {
  void program;
  registerParseCommand(program);
  registerAuditVerifyCommand(program);
  registerReconcileCommand(program);
  registerLedgerCommand(program);
}
