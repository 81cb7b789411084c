import { Money, isCurrencyCode } from '@recon/money';
import type { CanonicalRecord, StatementRecord } from '../canonical';

export type StatementFindingKind = 'balance_does_not_add_up' | 'sequence_gap' | 'opening_differs_from_previous_closing';

export interface StatementFinding {
  readonly kind: StatementFindingKind;
  readonly statementId: string;
  readonly account: string;
  readonly currency: string;
  /** Absolute difference, a decimal string in the statement currency (balance findings only). */
  readonly amount?: string;
  readonly message: string;
}

/** Statements remembered per checker; a longer feed stops collecting continuity data (and says so). */
export const CHECKED_STATEMENTS_MAX = 1_000_000;

interface StatementSummary {
  readonly statement: StatementRecord;
  readonly fileOrder: number;
  readonly opening: Money | undefined;
  readonly closing: Money | undefined;
  entriesTotal: Money | undefined;
  /** An entry in another currency was seen: the sum cannot be checked. */
  foreignEntryCount: number;
}

const SEQUENCE_PATTERN = /^0*(\d{1,15})(?:\/0*(\d{1,9}))?$/;

interface SequenceNumber {
  readonly statementNumber: number;
  readonly pageNumber: number | undefined;
}

function sequenceNumberOf(sequence: string | undefined): SequenceNumber | undefined {
  if (sequence === undefined) return undefined;
  const match = SEQUENCE_PATTERN.exec(sequence.trim());
  if (match === null) return undefined;
  return { statementNumber: Number.parseInt(match[1]!, 10), pageNumber: match[2] === undefined ? undefined : Number.parseInt(match[2], 10) };
}

function moneyOrUndefined(amount: string | undefined, currency: string): Money | undefined {
  if (amount === undefined || !isCurrencyCode(currency)) return undefined;
  try {
    return Money.parse(amount, currency);
  } catch {
    return undefined;
  }
}

/**
 * Checks statements as their records stream past, and reports (never throws):
 * - inside a statement with both balances: opening + Σ entries = closing;
 * - across the statements of one account and currency, ordered by sequence number (else by period/balance
 *   date, ties in file order): sequence numbers without gaps (`5` after `4`, or `5/2` after `5/1`), and each
 *   opening balance equal to the previous closing balance.
 * Feed every CanonicalRecord with `accept`; call `findings()` at the end (it can be called more than once).
 */
export class StatementChecker {
  private readonly statements: StatementSummary[] = [];
  private current: StatementSummary | undefined;
  private fileOrder = 0;
  private overflowed = false;

  accept(record: CanonicalRecord): void {
    if (record.kind === 'statement') {
      this.fileOrder += 1;
      if (this.statements.length >= CHECKED_STATEMENTS_MAX) {
        this.overflowed = true;
        this.current = undefined;
        return;
      }
      const currency = record.currency;
      this.current = {
        statement: record,
        fileOrder: this.fileOrder,
        opening: moneyOrUndefined(record.openingBalance?.amount, currency),
        closing: moneyOrUndefined(record.closingBalance?.amount, currency),
        entriesTotal: isCurrencyCode(currency) ? Money.zero(currency) : undefined,
        foreignEntryCount: 0,
      };
      this.statements.push(this.current);
      return;
    }
    if (record.kind !== 'entry') return;
    const current = this.current;
    if (current === undefined || record.statementId !== current.statement.statementId) return;
    if (record.currency !== current.statement.currency || current.entriesTotal === undefined) {
      current.foreignEntryCount += 1;
      return;
    }
    const amount = moneyOrUndefined(record.amount, record.currency);
    if (amount === undefined) current.foreignEntryCount += 1;
    else current.entriesTotal = current.entriesTotal.add(amount);
  }

  findings(): StatementFinding[] {
    const findings: StatementFinding[] = [];
    for (const summary of this.statements) this.checkBalanceAddsUp(summary, findings);
    for (const group of this.groupByAccount().values()) this.checkContinuity(group, findings);
    if (this.overflowed) {
      const last = this.statements[this.statements.length - 1];
      if (last !== undefined) {
        findings.push({
          kind: 'sequence_gap',
          statementId: last.statement.statementId,
          account: last.statement.account,
          currency: last.statement.currency,
          message: `more than ${CHECKED_STATEMENTS_MAX} statements: continuity was checked for the first ${CHECKED_STATEMENTS_MAX} only`,
        });
      }
    }
    return findings;
  }

  private checkBalanceAddsUp(summary: StatementSummary, findings: StatementFinding[]): void {
    const { opening, closing, entriesTotal, statement } = summary;
    if (opening === undefined || closing === undefined || entriesTotal === undefined || summary.foreignEntryCount > 0) return;
    const expectedClosing = opening.add(entriesTotal);
    if (expectedClosing.equals(closing)) return;
    const difference = closing.subtract(expectedClosing).abs();
    findings.push({
      kind: 'balance_does_not_add_up',
      statementId: statement.statementId,
      account: statement.account,
      currency: statement.currency,
      amount: difference.toDecimalString(),
      message:
        `statement ${statement.statementId}: opening ${opening.toDecimalString()} + entries ${entriesTotal.toDecimalString()} = ` +
        `${expectedClosing.toDecimalString()}, but the closing balance is ${closing.toDecimalString()} ${statement.currency} ` +
        `(off by ${difference.toDecimalString()}; an entry may be missing or rejected)`,
    });
  }

  private groupByAccount(): Map<string, StatementSummary[]> {
    const groups = new Map<string, StatementSummary[]>();
    for (const summary of this.statements) {
      const key = `${summary.statement.account}\u0000${summary.statement.currency}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [summary]);
      else group.push(summary);
    }
    return groups;
  }

  private checkContinuity(group: StatementSummary[], findings: StatementFinding[]): void {
    const ordered = [...group].sort(compareStatements);
    for (let index = 1; index < ordered.length; index += 1) {
      const previous = ordered[index - 1]!;
      const next = ordered[index]!;
      const { statement } = next;
      const base = { statementId: statement.statementId, account: statement.account, currency: statement.currency };
      const gap = sequenceGapOf(previous.statement.sequence, statement.sequence);
      if (gap !== undefined) {
        findings.push({
          kind: 'sequence_gap',
          ...base,
          message: `statement ${statement.statementId} of account ${statement.account} has sequence ${statement.sequence ?? ''} after ${previous.statement.sequence ?? ''}: ${gap}`,
        });
      }
      if (previous.closing !== undefined && next.opening !== undefined && !previous.closing.equals(next.opening)) {
        const difference = next.opening.subtract(previous.closing).abs();
        findings.push({
          kind: 'opening_differs_from_previous_closing',
          ...base,
          amount: difference.toDecimalString(),
          message:
            `statement ${statement.statementId} opens at ${next.opening.toDecimalString()} ${statement.currency} but the previous ` +
            `statement ${previous.statement.statementId} closed at ${previous.closing.toDecimalString()} (off by ${difference.toDecimalString()})`,
        });
      }
    }
  }
}

/** Why `next` does not follow `previous`, or undefined when it does (or when either is not a number). */
function sequenceGapOf(previousText: string | undefined, nextText: string | undefined): string | undefined {
  const previous = sequenceNumberOf(previousText);
  const next = sequenceNumberOf(nextText);
  if (previous === undefined || next === undefined) return undefined;
  if (next.statementNumber === previous.statementNumber) {
    if (previous.pageNumber !== undefined && next.pageNumber !== undefined && next.pageNumber === previous.pageNumber + 1) return undefined;
    return 'the same sequence number appears twice';
  }
  if (next.statementNumber === previous.statementNumber + 1) {
    // A new statement restarts its pages at 1 (MT940 `:28C:` 5/1 after 4/3).
    if (next.pageNumber === undefined || next.pageNumber <= 1) return undefined;
    return `page ${next.pageNumber} without page 1`;
  }
  const missing = next.statementNumber - previous.statementNumber - 1;
  return missing > 0 ? `${missing} statement(s) missing` : 'the sequence goes backwards';
}

function dateKeyOf(summary: StatementSummary): string {
  const { statement } = summary;
  return statement.from ?? statement.to ?? statement.openingBalance?.date ?? statement.closingBalance?.date ?? '';
}

/** By sequence number when both have one, else by date, else by file order. */
function compareStatements(left: StatementSummary, right: StatementSummary): number {
  const leftSequence = sequenceNumberOf(left.statement.sequence);
  const rightSequence = sequenceNumberOf(right.statement.sequence);
  if (leftSequence !== undefined && rightSequence !== undefined) {
    if (leftSequence.statementNumber !== rightSequence.statementNumber) return leftSequence.statementNumber - rightSequence.statementNumber;
    const pageDifference = (leftSequence.pageNumber ?? 0) - (rightSequence.pageNumber ?? 0);
    if (pageDifference !== 0) return pageDifference;
  } else {
    const leftDate = dateKeyOf(left);
    const rightDate = dateKeyOf(right);
    if (leftDate !== rightDate && leftDate !== '' && rightDate !== '') return leftDate < rightDate ? -1 : 1;
  }
  return left.fileOrder - right.fileOrder;
}
