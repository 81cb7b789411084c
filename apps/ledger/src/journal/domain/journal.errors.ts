/** Expected business outcomes of posting, returned as values and mapped per transport (R9). */
export enum JournalErrorCode {
  Unbalanced = 'JOURNAL.UNBALANCED',
  CurrencyMismatch = 'JOURNAL.CURRENCY_MISMATCH',
  UnknownAccount = 'JOURNAL.UNKNOWN_ACCOUNT',
  InsufficientFunds = 'JOURNAL.INSUFFICIENT_FUNDS',
  IdempotencyKeyReused = 'JOURNAL.IDEMPOTENCY_KEY_REUSED',
  TransactionNotFound = 'JOURNAL.TRANSACTION_NOT_FOUND',
  AlreadyReversed = 'JOURNAL.ALREADY_REVERSED',
  ReversalOfReversal = 'JOURNAL.REVERSAL_OF_REVERSAL',
}

export interface JournalError {
  readonly code: JournalErrorCode;
  readonly message: string;
  /** Index of the offending transaction in a batch. */
  readonly itemIndex?: number;
}

export function journalError(code: JournalErrorCode, message: string, itemIndex?: number): JournalError {
  return itemIndex === undefined ? { code, message } : { code, message: `transactions[${itemIndex}]: ${message}`, itemIndex };
}

export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });

export function assertUnreachable(value: never): never {
  throw new Error(`unreachable: ${String(value)}`);
}
