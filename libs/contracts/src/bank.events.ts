import { z } from 'zod';
import { defineContract } from './event-contract';
import {
  ACCOUNT_IDENTIFIER_LENGTH_MAX,
  BATCH_TRANSACTIONS_MAX,
  CODE_LENGTH_MAX,
  HASH_LENGTH_MAX,
  ID_LENGTH_MAX,
  REASON_LENGTH_MAX,
  REFERENCE_LENGTH_MAX,
  TEXT_LENGTH_MAX,
} from './limits';
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

/** Line ids one bank.line.retracted event carries; a statement with more lines is retracted in several parts. */
export const RETRACTED_LINES_PER_EVENT_MAX = 1_000;

/**
 * A person accepted a new version of a statement (a gateway finding resolved `accept_new`): the lines the earlier
 * version published are withdrawn. The new version's lines follow as ordinary `bank.line.received` (their own,
 * never published line ids) and its header as `bank.statement.received`, in the same outbox transaction.
 */
export const bankLineRetractedV1Schema = z
  .object({
    /** The gateway finding whose resolution retracted the lines. */
    findingId: idSchema,
    /** The file whose lines are withdrawn (the earlier version). */
    fileId: idSchema,
    account: accountSchema,
    statementId: z.string().min(1).max(REFERENCE_LENGTH_MAX),
    sequence: z.string().min(1).max(CODE_LENGTH_MAX).optional(),
    /** The `lineId`s of `bank.line.received` events being withdrawn; empty for a statement without lines. */
    lineIds: z.array(idSchema).max(RETRACTED_LINES_PER_EVENT_MAX),
    /** 1-based part of `parts`: a statement with more lines than one event carries is split. */
    part: z.number().int().min(1).max(STATEMENT_ENTRIES_MAX),
    parts: z.number().int().min(1).max(STATEMENT_ENTRIES_MAX),
    /** The file whose version replaces it, when there is one. */
    replacedByFileId: idSchema.optional(),
    reason: z.string().min(1).max(REASON_LENGTH_MAX),
    retractedBy: z.string().min(1).max(ID_LENGTH_MAX),
    retractedAt: instantSchema,
  })
  .superRefine((event, context) => {
    if (event.part > event.parts) context.addIssue({ code: 'custom', path: ['part'], message: `part ${event.part} is beyond parts ${event.parts}` });
    if (new Set(event.lineIds).size !== event.lineIds.length) context.addIssue({ code: 'custom', path: ['lineIds'], message: 'line ids must be distinct' });
  });

export type BankLineRetractedV1 = z.output<typeof bankLineRetractedV1Schema>;

export const BANK_LINE_RETRACTED_V1 = defineContract({
  subject: 'bank.line.retracted',
  schemaVersion: 1,
  schema: bankLineRetractedV1Schema,
  description: 'Lines published earlier are withdrawn: a person accepted another version of their statement (gateway finding resolved accept_new).',
});

/** Raw text of a rejected line carried by the event; the gateway's quarantine keeps it whole. */
export const REJECTED_RAW_LENGTH_MAX = TEXT_LENGTH_MAX;

/**
 * A line of a bank file the gateway could not read (quarantined with its reason): its amount is unknown, so it is
 * in no match; reconciliation opens a `rejected_line` break until a reprocess reads it (bank.line.rejection-resolved).
 */
export const bankLineRejectedV1Schema = z.object({
  /** The quarantine row: the same id names the line in bank.line.rejection-resolved. */
  quarantineId: idSchema,
  fileId: idSchema,
  parseId: idSchema,
  /** 1-based line of text formats, entry index of XML; 0 for a refused statement header. */
  lineNo: z.number().int().min(0).max(STATEMENT_LINE_NUMBER_MAX),
  reason: z.string().min(1).max(REASON_LENGTH_MAX),
  raw: z.string().max(REJECTED_RAW_LENGTH_MAX),
  /** The statement's account, else the connection's custody account; absent when neither is known. */
  account: accountSchema.optional(),
  /** The statement's currency when its header was read. */
  currency: currencySchema.optional(),
  statementId: z.string().min(1).max(REFERENCE_LENGTH_MAX).optional(),
  connectionId: idSchema.optional(),
  rejectedAt: instantSchema,
});

export type BankLineRejectedV1 = z.output<typeof bankLineRejectedV1Schema>;

export const BANK_LINE_REJECTED_V1 = defineContract({
  subject: 'bank.line.rejected',
  schemaVersion: 1,
  schema: bankLineRejectedV1Schema,
  description: 'A bank file line the gateway could not read was quarantined (amount unknown).',
});

export const bankLineRejectionResolvedV1Schema = z.object({
  quarantineId: idSchema,
  fileId: idSchema,
  lineNo: z.number().int().min(0).max(STATEMENT_LINE_NUMBER_MAX),
  /** The reprocess that read the line; the line itself follows as bank.line.received when it is new. */
  resolvedByParseId: idSchema,
  resolvedAt: instantSchema,
});

export type BankLineRejectionResolvedV1 = z.output<typeof bankLineRejectionResolvedV1Schema>;

export const BANK_LINE_REJECTION_RESOLVED_V1 = defineContract({
  subject: 'bank.line.rejection-resolved',
  schemaVersion: 1,
  schema: bankLineRejectionResolvedV1Schema,
  description: 'A quarantined bank line was read by a reprocess of its file: its rejection is resolved.',
});
