import { strict as assert } from 'node:assert';
import { Money } from '@recon/money';
import { z } from 'zod';
import { type JournalError, JournalErrorCode, err, journalError, ok, type Result } from './journal.errors';

export const TRANSACTION_LINES_MAX = 100;
export const REFERENCE_LENGTH_MAX = 140;
export const DESCRIPTION_LENGTH_MAX = 500;
export const IDEMPOTENCY_KEY_LENGTH_MAX = 200;
export const TRANSACTION_KINDS = ['deposit', 'withdrawal', 'transfer', 'fee', 'interest', 'adjustment', 'other'] as const;

export type TransactionKind = (typeof TRANSACTION_KINDS)[number] | 'reversal';
export type PostingSide = 'debit' | 'credit';

const isoDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date YYYY-MM-DD')
  .refine(isCalendarDate, 'is not a calendar date');

/** A posting request as the platform sends it: amounts are decimal strings, never JSON numbers. */
export const transactionInputSchema = z
  .object({
    kind: z.enum(TRANSACTION_KINDS),
    valueDate: isoDateSchema,
    reference: z.string().max(REFERENCE_LENGTH_MAX).default(''),
    batchReference: z.string().min(1).max(REFERENCE_LENGTH_MAX).optional(),
    description: z.string().max(DESCRIPTION_LENGTH_MAX).optional(),
    lines: z
      .array(
        z
          .object({
            account: z.string().min(1).max(100),
            side: z.enum(['debit', 'credit']),
            amount: z.string().min(1).max(40),
            currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code'),
          })
          .strict(),
      )
      .min(2, 'a transaction needs at least two lines')
      .max(TRANSACTION_LINES_MAX),
  })
  .strict();

export type TransactionInput = z.output<typeof transactionInputSchema>;

export interface AccountRef {
  readonly accountId: string;
  readonly code: string;
  readonly kind: 'custody' | 'customer' | 'own_funds' | 'suspense';
  readonly currency: string;
  readonly custodyAccountId: string | null;
  readonly overdraftPermitted: boolean;
}

export interface Posting {
  readonly lineNo: number;
  readonly account: AccountRef;
  readonly side: PostingSide;
  readonly amount: Money;
}

export interface NewTransaction {
  readonly transactionId: string;
  readonly idempotencyKey: string;
  readonly requestSha256: string;
  readonly kind: TransactionKind;
  readonly reference: string;
  readonly batchReference: string | undefined;
  readonly description: string | undefined;
  readonly valueDate: string;
  readonly postedAt: Date;
  readonly postedBy: string;
  readonly reversesTransactionId: string | undefined;
  readonly postings: readonly Posting[];
}

/**
 * Builds the postings of a transaction from validated input and the accounts it names, checking the
 * business rules: amounts exact in their currency, each line in its account's currency, debits equal
 * credits per currency. Returns an error value; never throws for bad input.
 */
export function buildPostings(input: TransactionInput, accounts: ReadonlyMap<string, AccountRef>, itemIndex?: number): Result<Posting[], JournalError> {
  const postings: Posting[] = [];
  for (const [index, line] of input.lines.entries()) {
    const account = accounts.get(line.account);
    if (account === undefined) return err(journalError(JournalErrorCode.UnknownAccount, `lines[${index}].account: no account '${line.account}'`, itemIndex));
    if (account.currency !== line.currency) {
      return err(
        journalError(
          JournalErrorCode.CurrencyMismatch,
          `lines[${index}]: account '${line.account}' holds ${account.currency}, the line is in ${line.currency}`,
          itemIndex,
        ),
      );
    }
    let amount: Money;
    try {
      amount = Money.parse(line.amount, line.currency);
    } catch (error: unknown) {
      return err(journalError(JournalErrorCode.Unbalanced, `lines[${index}].amount: ${error instanceof Error ? error.message : String(error)}`, itemIndex));
    }
    if (!amount.isPositive()) {
      return err(journalError(JournalErrorCode.Unbalanced, `lines[${index}].amount: must be greater than zero; the side gives the direction`, itemIndex));
    }
    postings.push({ lineNo: index + 1, account, side: line.side, amount });
  }
  const imbalance = imbalanceByCurrency(postings);
  for (const [currency, differenceMinor] of imbalance) {
    if (differenceMinor !== 0n) {
      const difference = Money.of(differenceMinor < 0n ? -differenceMinor : differenceMinor, currency).toDecimalString();
      return err(journalError(JournalErrorCode.Unbalanced, `debits and credits in ${currency} differ by ${difference}`, itemIndex));
    }
  }
  assertBalanced(postings);
  return ok(postings);
}

/** Debits minus credits per currency. */
export function imbalanceByCurrency(postings: readonly Posting[]): Map<string, bigint> {
  const imbalance = new Map<string, bigint>();
  for (const posting of postings) {
    const signed = posting.side === 'debit' ? posting.amount.amountMinor : -posting.amount.amountMinor;
    imbalance.set(posting.amount.currency, (imbalance.get(posting.amount.currency) ?? 0n) + signed);
  }
  return imbalance;
}

/** The invariant itself, asserted where transactions are built and again where they are read back (R10). */
export function assertBalanced(postings: readonly Posting[]): void {
  assert.ok(postings.length >= 2, 'a transaction needs at least two postings');
  assert.ok(postings.length <= TRANSACTION_LINES_MAX, 'too many postings');
  for (const posting of postings) {
    assert.ok(posting.amount.amountMinor > 0n, 'posting amounts are positive');
    assert.strictEqual(posting.amount.currency, posting.account.currency, 'posting currency is the account currency');
  }
  for (const difference of imbalanceByCurrency(postings).values()) assert.strictEqual(difference, 0n, 'unbalanced transaction');
}

/** The postings that undo `postings`: same accounts and amounts, sides swapped. */
export function reversedPostings(postings: readonly Posting[]): Posting[] {
  return postings.map((posting) => ({ ...posting, side: posting.side === 'debit' ? 'credit' : 'debit' }));
}

/**
 * Balance of an account on its normal side: custody accounts are assets of the platform at the bank
 * (debit-normal); customer, own-funds and suspense accounts are what the custody money is owed to
 * (credit-normal). So a deposit debits custody and credits the customer, and both balances rise.
 */
export function normalBalanceMinor(kind: AccountRef['kind'], debitsMinor: bigint, creditsMinor: bigint): bigint {
  return kind === 'custody' ? debitsMinor - creditsMinor : creditsMinor - debitsMinor;
}

export function isCalendarDate(text: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
