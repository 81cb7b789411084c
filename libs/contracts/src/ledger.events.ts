import { Money } from '@recon/money';
import { z } from 'zod';
import { defineContract } from './event-contract';
import { ACCOUNT_IDENTIFIER_LENGTH_MAX, REFERENCE_LENGTH_MAX, TEXT_LENGTH_MAX, TRANSACTION_LINES_MAX } from './limits';
import { checkAmount, currencySchema, decimalStringSchema, idSchema, instantSchema, isoDateSchema } from './primitives';

export const LEDGER_ACCOUNT_KINDS = ['custody', 'customer', 'own_funds', 'suspense'] as const;
export type LedgerAccountKind = (typeof LEDGER_ACCOUNT_KINDS)[number];
export const ledgerAccountKindSchema = z.enum(LEDGER_ACCOUNT_KINDS);

export const POSTING_SIDES = ['debit', 'credit'] as const;
export type PostingSide = (typeof POSTING_SIDES)[number];

export const ledgerTransactionLineV1Schema = z
  .object({
    accountId: idSchema,
    accountKind: ledgerAccountKindSchema,
    /** The custody account the line's money sits in (customer sub-accounts live inside a custody account). */
    custodyAccountId: idSchema.optional(),
    /** Always positive; `side` carries the direction. */
    amount: decimalStringSchema,
    currency: currencySchema,
    side: z.enum(POSTING_SIDES),
  })
  .superRefine((line, context) => {
    checkAmount(context, line.amount, line.currency, ['amount'], 'positive');
  });

export const ledgerTransactionPostedV1Schema = z
  .object({
    transactionId: idSchema,
    idempotencyKey: idSchema,
    postedAt: instantSchema,
    valueDate: isoDateSchema,
    /** What the platform sent the bank (end-to-end id or payment reference); may be empty. */
    reference: z.string().max(REFERENCE_LENGTH_MAX),
    batchReference: z.string().min(1).max(REFERENCE_LENGTH_MAX).optional(),
    reversesTransactionId: idSchema.optional(),
    description: z.string().max(TEXT_LENGTH_MAX).optional(),
    lines: z.array(ledgerTransactionLineV1Schema).min(2).max(TRANSACTION_LINES_MAX),
  })
  .superRefine((transaction, context) => {
    // Debits equal credits per currency: checked here as well as in the ledger, so that a consumer never
    // has to wonder whether an event it received can be unbalanced.
    const balanceMinorByCurrency = new Map<string, bigint>();
    for (const line of transaction.lines) {
      let money: Money;
      try {
        money = Money.parse(line.amount, line.currency);
      } catch {
        return; // the line's own refinement reports it
      }
      const signedMinor = line.side === 'debit' ? money.amountMinor : -money.amountMinor;
      balanceMinorByCurrency.set(line.currency, (balanceMinorByCurrency.get(line.currency) ?? 0n) + signedMinor);
    }
    for (const [currency, balanceMinor] of balanceMinorByCurrency) {
      if (balanceMinor !== 0n) {
        context.addIssue({ code: 'custom', path: ['lines'], message: `debits and credits in ${currency} do not balance` });
      }
    }
  });

export type LedgerTransactionPostedV1 = z.output<typeof ledgerTransactionPostedV1Schema>;
export type LedgerTransactionLineV1 = z.output<typeof ledgerTransactionLineV1Schema>;

export const LEDGER_TRANSACTION_POSTED_V1 = defineContract({
  subject: 'ledger.transaction.posted',
  schemaVersion: 1,
  schema: ledgerTransactionPostedV1Schema,
  description: 'A balanced double-entry transaction was booked in the ledger (reversals included).',
});

export const ledgerAccountOpenedV1Schema = z.object({
  accountId: idSchema,
  accountKind: ledgerAccountKindSchema,
  currency: currencySchema,
  openedAt: instantSchema,
  /** For customer, own-funds and suspense accounts: the custody account holding their money. */
  custodyAccountId: idSchema.optional(),
  /** For custody accounts: the account as the bank's statements name it (IBAN or bank account number). */
  bankAccount: z.string().min(1).max(ACCOUNT_IDENTIFIER_LENGTH_MAX).optional(),
  /** For customer accounts: the platform's customer id. */
  customerId: idSchema.optional(),
  name: z.string().max(TEXT_LENGTH_MAX).optional(),
});

export type LedgerAccountOpenedV1 = z.output<typeof ledgerAccountOpenedV1Schema>;

export const LEDGER_ACCOUNT_OPENED_V1 = defineContract({
  subject: 'ledger.account.opened',
  schemaVersion: 1,
  schema: ledgerAccountOpenedV1Schema,
  description: 'An account (custody, customer sub-account, own funds or suspense) was opened in the ledger.',
});
