import type { IsoDate } from './iso-date';

/**
 * One entry of the platform's ledger as the matching engine sees it (CONTRACT section 2, `--ledger`).
 * `amountMinor` is signed from the custody account's side: + money into the account.
 */
export interface LedgerItem {
  readonly entryId: string;
  readonly account: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly valueDate: IsoDate;
  readonly reference?: string;
  readonly subAccount?: string;
  readonly bookingDate?: IsoDate;
  readonly description?: string;
  readonly kind?: string;
  readonly batchReference?: string;
}

/** One itemised part of a batch booking (camt `TxDtls`), signed like its entry. */
export interface BankTransactionPart {
  readonly amountMinor: bigint;
  readonly endToEndId?: string;
  readonly remittance?: string;
}

/**
 * One bank statement line. `id` is what the outputs call it: the bank's own reference (`bankRef`) or
 * `statementId:lineNo` where the bank gave none (or where the same bankRef appears on several lines).
 */
export interface BankItem {
  readonly id: string;
  readonly statementId: string;
  readonly lineNo: number;
  readonly account: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly valueDate?: IsoDate;
  readonly bookingDate?: IsoDate;
  readonly bankRef?: string;
  readonly endToEndId?: string;
  readonly customerRef?: string;
  readonly remittance?: string;
  readonly counterpartyName?: string;
  readonly bankTxCode?: string;
  readonly reversal: boolean;
  readonly transactions?: readonly BankTransactionPart[];
}

/** A statement's closing balance, for the balance check against `--balances`. */
export interface StatementBalance {
  readonly statementId: string;
  readonly account: string;
  readonly currency: string;
  readonly sequence?: string;
  readonly to?: IsoDate;
  readonly closingBalance?: { readonly amountMinor: bigint; readonly date: IsoDate };
}

/** What the ledger says a custody account should hold at the end of `asOf` (`--balances`). */
export interface LedgerBalance {
  readonly account: string;
  readonly currency: string;
  readonly asOf: IsoDate;
  readonly balanceMinor: bigint;
}

/**
 * A continuity finding of the statement checker (`StatementChecker` of @recon/statement-formats). Declared here
 * structurally so that the engine stays independent of the parser library.
 */
export interface StatementFinding {
  readonly kind: 'balance_does_not_add_up' | 'sequence_gap' | 'opening_differs_from_previous_closing';
  readonly statementId: string;
  readonly account: string;
  readonly currency: string;
  readonly amount?: string;
  readonly message: string;
}

/** A bank line the parser could not read (a canonical `rejected` record), with the file it came from. */
export interface RejectedLine {
  readonly source: string;
  readonly lineNo: number;
  readonly reason: string;
  readonly raw: string;
  /** The currency of the statement the line sat in, when known. */
  readonly currency?: string;
  readonly statementId?: string;
}
