import type { BankColumns, LedgerColumns } from './columns';
import type { BankItem, LedgerBalance, LedgerItem, RejectedLine, StatementBalance, StatementFinding } from './items';

/** Everything one run reconciles. */
export interface ReconcileInputs {
  /** As objects, or column-wise (`LedgerColumns`/`BankColumns`: a day of a million items without an object each). */
  readonly ledger: readonly LedgerItem[] | LedgerColumns;
  readonly bank: readonly BankItem[] | BankColumns;
  readonly statements?: readonly StatementBalance[];
  readonly balances?: readonly LedgerBalance[];
  readonly findings?: readonly StatementFinding[];
  readonly rejected?: readonly RejectedLine[];
}
