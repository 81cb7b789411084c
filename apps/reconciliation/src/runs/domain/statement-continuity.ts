import type { StatementFinding } from '@recon/matching';
import { Money } from '@recon/money';

export interface StoredStatement {
  readonly statementId: string;
  readonly bankAccount: string;
  readonly currency: string;
  readonly sequence: string | undefined;
  readonly toDate: string | undefined;
  readonly openingAmount: string | undefined;
  readonly closingAmount: string | undefined;
  readonly entryCount: number;
  /** Lines of this statement that arrived as bank.line.received, and their signed sum in minor units. */
  readonly receivedLineCount: number;
  readonly receivedSumMinor: bigint;
}

const SEQUENCE_PATTERN = /^0*(\d{1,15})(?:\/0*(\d{1,9}))?$/;

/**
 * Continuity of one day's end-of-day statement against the previous one of the same account: consecutive
 * sequence numbers, opening balance equal to the previous closing balance, and the entries adding up to
 * closing minus opening (counted over the lines that actually arrived, so a line lost in transit shows here).
 */
export function statementFindings(current: StoredStatement, previous: StoredStatement | undefined): StatementFinding[] {
  const findings: StatementFinding[] = [];
  const base = { statementId: current.statementId, account: current.bankAccount, currency: current.currency };
  const money = (amount: string | undefined) => (amount === undefined ? undefined : Money.parse(amount, current.currency));
  const opening = money(current.openingAmount);
  const closing = money(current.closingAmount);
  if (previous !== undefined) {
    const number = SEQUENCE_PATTERN.exec(current.sequence ?? '');
    const previousNumber = SEQUENCE_PATTERN.exec(previous.sequence ?? '');
    if (number !== null && previousNumber !== null && number[2] === undefined && previousNumber[2] === undefined) {
      const gap = BigInt(number[1]!) - BigInt(previousNumber[1]!);
      if (gap !== 1n) {
        findings.push({
          ...base,
          kind: 'sequence_gap',
          message: `statement ${current.statementId} has sequence ${current.sequence} after ${previous.sequence} (statement ${previous.statementId}): ${gap > 1n ? `${gap - 1n} missing` : 'out of order'}`,
        });
      }
    }
    const previousClosing = money(previous.closingAmount);
    if (opening !== undefined && previousClosing !== undefined && !opening.equals(previousClosing)) {
      findings.push({
        ...base,
        kind: 'opening_differs_from_previous_closing',
        amount: opening.subtract(previousClosing).abs().toDecimalString(),
        message: `statement ${current.statementId} opens at ${opening.toDecimalString()} ${current.currency} but statement ${previous.statementId} closed at ${previousClosing.toDecimalString()}`,
      });
    }
  }
  if (opening !== undefined && closing !== undefined) {
    const expectedMovementMinor = closing.amountMinor - opening.amountMinor;
    const differenceMinor = expectedMovementMinor - current.receivedSumMinor;
    if (differenceMinor !== 0n || current.receivedLineCount !== current.entryCount) {
      findings.push({
        ...base,
        kind: 'balance_does_not_add_up',
        amount: Money.of(differenceMinor < 0n ? -differenceMinor : differenceMinor, current.currency).toDecimalString(),
        message: `statement ${current.statementId}: closing minus opening is ${Money.of(expectedMovementMinor, current.currency).toDecimalString()} ${current.currency} but the ${current.receivedLineCount} of ${current.entryCount} lines received add up to ${Money.of(current.receivedSumMinor, current.currency).toDecimalString()}`,
      });
    }
  }
  return findings;
}
