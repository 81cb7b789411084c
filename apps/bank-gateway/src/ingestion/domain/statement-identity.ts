import type { StatementRecord } from '@recon/statement-formats';

/**
 * A statement is identified by (account, statement id, sequence): the bank numbers statements per account, and
 * the same statement id with another sequence (pages, or banks that reuse ids per day) is another statement.
 * Formats without a sequence (CSV, some MT942) use the empty key.
 */
export interface StatementIdentity {
  readonly account: string;
  readonly statementId: string;
  readonly sequenceKey: string;
}

export function statementIdentityOf(record: StatementRecord): StatementIdentity {
  return { account: record.account, statementId: record.statementId, sequenceKey: record.sequence ?? '' };
}

/** Advisory-lock key text of a statement identity: serialises two files claiming the same statement at once. */
export function statementLockKeyOf(identity: StatementIdentity): string {
  return `statement:${JSON.stringify([identity.account, identity.statementId, identity.sequenceKey])}`;
}

/*
 * A line is identified by its statement's identity plus the line number the parser gives it (1-based line in the
 * file for text formats, 1-based entry index for camt); within one file, by the line number alone. That number is
 * stable when the same file is parsed again (reprocess), which is what dedupe must survive. The bank reference is
 * not used: banks repeat it across the parts of a batch, some reuse it across days, and several formats carry none.
 * The database enforces both (statement_lines_identity, and the loader's same-file check).
 */
