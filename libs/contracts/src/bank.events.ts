import { z } from 'zod';
import { defineContract } from './event-contract';
import { ACCOUNT_IDENTIFIER_LENGTH_MAX, CODE_LENGTH_MAX, BATCH_TRANSACTIONS_MAX, HASH_LENGTH_MAX, REFERENCE_LENGTH_MAX, TEXT_LENGTH_MAX } from './limits';
import { checkAmount, currencySchema, decimalStringSchema, idSchema, instantSchema, isoDateSchema } from './primitives';

/** Text formats count lines and XML formats count entries: both stay far below this. */
export const STATEMENT_LINE_NUMBER_MAX = 10_000_000;
export const STATEMENT_ENTRIES_MAX = 10_000_000;

const referenceSchema = z.string().min(1).max(REFERENCE_LENGTH_MAX);
const accountSchema = z.string().min(1).max(ACCOUNT_IDENTIFIER_LENGTH_MAX);
const statementFormatSchema = z
  .string()
  .max(CODE_LENGTH_MAX)
  .regex(/^(mt940|mt942|camt\.052|camt\.053|camt\.054|bai2|csv:[a-z0-9][a-z0-9_-]*)$/, {
    message: 'must be one of mt940, mt942, camt.052, camt.053, camt.054, bai2, csv:<profile>',
  });

export const bankBatchTransactionV1Schema = z.object({
  amount: decimalStringSchema,
  endToEndId: referenceSchema.optional(),
  remittance: z.string().max(TEXT_LENGTH_MAX).optional(),
  bankRef: referenceSchema.optional(),
  customerRef: referenceSchema.optional(),
  counterpartyName: z.string().max(TEXT_LENGTH_MAX).optional(),
  counterpartyAccount: accountSchema.optional(),
});

/** The canonical EntryRecord of CONTRACT.md section 1 (without `kind`), plus where it came from. */
export const bankLineReceivedV1Schema = z
  .object({
    fileId: idSchema,
    lineId: idSchema,
    /** The custody account as the statement names it. */
    account: accountSchema,
    receivedAt: instantSchema,
    statementId: z.string().min(1).max(REFERENCE_LENGTH_MAX),
    lineNo: z.number().int().min(1).max(STATEMENT_LINE_NUMBER_MAX),
    /** Signed from the account holder's side: credit +, debit -. */
    amount: decimalStringSchema,
    currency: currencySchema,
    bookingDate: isoDateSchema.optional(),
    valueDate: isoDateSchema.optional(),
    bankRef: referenceSchema.optional(),
    endToEndId: referenceSchema.optional(),
    customerRef: referenceSchema.optional(),
    bankTxCode: z.string().min(1).max(CODE_LENGTH_MAX).optional(),
    counterpartyName: z.string().max(TEXT_LENGTH_MAX).optional(),
    counterpartyAccount: accountSchema.optional(),
    remittance: z.string().max(TEXT_LENGTH_MAX).optional(),
    reversal: z.boolean(),
    transactions: z.array(bankBatchTransactionV1Schema).max(BATCH_TRANSACTIONS_MAX).optional(),
  })
  .superRefine((line, context) => {
    checkAmount(context, line.amount, line.currency, ['amount'], 'any');
    line.transactions?.forEach((part, index) => checkAmount(context, part.amount, line.currency, ['transactions', index, 'amount'], 'any'));
  });

export type BankLineReceivedV1 = z.output<typeof bankLineReceivedV1Schema>;

export const BANK_LINE_RECEIVED_V1 = defineContract({
  subject: 'bank.line.received',
  schemaVersion: 1,
  schema: bankLineReceivedV1Schema,
  description: 'One parsed bank statement entry (intraday notification or end-of-day statement).',
});

const datedAmountSchema = z.object({ amount: decimalStringSchema, date: isoDateSchema });

/** The canonical StatementRecord of CONTRACT.md section 1 (without `kind`), plus the file it came in. */
export const bankStatementReceivedV1Schema = z
  .object({
    fileId: idSchema,
    receivedAt: instantSchema,
    /** SHA-256 (or stronger) of the raw file, as stored by the gateway. */
    fileSha256: z.string().min(1).max(HASH_LENGTH_MAX).optional(),
    format: statementFormatSchema,
    statementId: z.string().min(1).max(REFERENCE_LENGTH_MAX),
    account: accountSchema,
    currency: currencySchema,
    sequence: z.string().min(1).max(CODE_LENGTH_MAX).optional(),
    from: isoDateSchema.optional(),
    to: isoDateSchema.optional(),
    openingBalance: datedAmountSchema.optional(),
    closingBalance: datedAmountSchema.optional(),
    /** Entries of this statement emitted as `bank.line.received`, and lines quarantined as unreadable. */
    entryCount: z.number().int().min(0).max(STATEMENT_ENTRIES_MAX),
    rejectedCount: z.number().int().min(0).max(STATEMENT_ENTRIES_MAX),
  })
  .superRefine((statement, context) => {
    if (statement.openingBalance !== undefined) {
      checkAmount(context, statement.openingBalance.amount, statement.currency, ['openingBalance', 'amount'], 'any');
    }
    if (statement.closingBalance !== undefined) {
      checkAmount(context, statement.closingBalance.amount, statement.currency, ['closingBalance', 'amount'], 'any');
    }
    if (statement.from !== undefined && statement.to !== undefined && statement.from > statement.to) {
      context.addIssue({ code: 'custom', path: ['to'], message: `period ends (${statement.to}) before it starts (${statement.from})` });
    }
  });

export type BankStatementReceivedV1 = z.output<typeof bankStatementReceivedV1Schema>;

export const BANK_STATEMENT_RECEIVED_V1 = defineContract({
  subject: 'bank.statement.received',
  schemaVersion: 1,
  schema: bankStatementReceivedV1Schema,
  description: 'A statement, report or notification header was parsed from a bank file; its entries follow as lines.',
});
