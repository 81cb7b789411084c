import {
  BREAK_CATEGORY,
  BREAK_TYPES as MATCHING_BREAK_TYPES,
  type BreakCategory as MatchingBreakCategory,
  type BreakSeverity,
  type BreakType as MatchingBreakType,
} from '@recon/matching';
import { z } from 'zod';
import { defineContract } from './event-contract';
import { ALERT_BREAK_IDS_MAX, CODE_LENGTH_MAX, BREAK_ITEMS_MAX, REASON_LENGTH_MAX, REFERENCE_LENGTH_MAX, ACCOUNT_IDENTIFIER_LENGTH_MAX } from './limits';
import { checkAmount, currencySchema, decimalStringSchema, idSchema, instantSchema, isoDateSchema } from './primitives';

// The break types and their categories are CONTRACT.md section 2 facts; the matching library holds the one table.
export const BREAK_CATEGORIES = ['data_sync', 'interface', 'misappropriation'] as const satisfies readonly MatchingBreakCategory[];
export type BreakCategory = (typeof BREAK_CATEGORIES)[number];
export const BREAK_CATEGORY_BY_TYPE: Readonly<Record<BreakType, BreakCategory>> = BREAK_CATEGORY;
export type BreakType = MatchingBreakType;
export const BREAK_TYPES = MATCHING_BREAK_TYPES as unknown as [BreakType, ...BreakType[]];

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const satisfies readonly BreakSeverity[];
export type Severity = (typeof SEVERITIES)[number];

const itemRefSchema = z.string().min(1).max(REFERENCE_LENGTH_MAX);

export const reconBreakOpenedV1Schema = z
  .object({
    breakId: idSchema,
    runId: idSchema.optional(),
    openedAt: instantSchema,
    businessDate: isoDateSchema.optional(),
    account: z.string().min(1).max(ACCOUNT_IDENTIFIER_LENGTH_MAX).optional(),
    type: z.enum(BREAK_TYPES),
    category: z.enum(BREAK_CATEGORIES),
    severity: z.enum(SEVERITIES),
    currency: currencySchema,
    /** The absolute money at stake. */
    amount: decimalStringSchema,
    /** Ledger entry ids. */
    ledger: z.array(itemRefSchema).max(BREAK_ITEMS_MAX),
    /** Bank references (`bankRef`, or `statementId:lineNo` where the bank gave none). */
    bank: z.array(itemRefSchema).max(BREAK_ITEMS_MAX),
    reason: z.string().min(1).max(REASON_LENGTH_MAX),
  })
  .superRefine((item, context) => {
    checkAmount(context, item.amount, item.currency, ['amount'], 'non-negative');
    const expectedCategory = BREAK_CATEGORY_BY_TYPE[item.type];
    if (item.category !== expectedCategory) {
      context.addIssue({
        code: 'custom',
        path: ['category'],
        message: `a ${item.type} break has category ${expectedCategory}, not ${item.category}`,
      });
    }
  });

export type ReconBreakOpenedV1 = z.output<typeof reconBreakOpenedV1Schema>;

export const RECON_BREAK_OPENED_V1 = defineContract({
  subject: 'recon.break.opened',
  schemaVersion: 1,
  schema: reconBreakOpenedV1Schema,
  description: 'A difference between ledger and bank became a break for a person to review.',
});

export const reconAlertRaisedV1Schema = z
  .object({
    alertId: idSchema,
    raisedAt: instantSchema,
    /** e.g. `shortfall`, `unauthorized_debit`, `statement_missing`, `break_backlog`. */
    kind: z
      .string()
      .max(CODE_LENGTH_MAX)
      .regex(/^[a-z][a-z0-9_]*$/, { message: 'must be a snake_case word like shortfall' }),
    severity: z.enum(SEVERITIES),
    account: z.string().min(1).max(ACCOUNT_IDENTIFIER_LENGTH_MAX).optional(),
    currency: currencySchema.optional(),
    amount: decimalStringSchema.optional(),
    businessDate: isoDateSchema.optional(),
    message: z.string().min(1).max(REASON_LENGTH_MAX),
    breakIds: z.array(idSchema).max(ALERT_BREAK_IDS_MAX).optional(),
  })
  .superRefine((alert, context) => {
    if (alert.amount === undefined) return;
    if (alert.currency === undefined) {
      context.addIssue({ code: 'custom', path: ['currency'], message: 'is required when amount is given' });
      return;
    }
    checkAmount(context, alert.amount, alert.currency, ['amount'], 'any');
  });

export type ReconAlertRaisedV1 = z.output<typeof reconAlertRaisedV1Schema>;

export const RECON_ALERT_RAISED_V1 = defineContract({
  subject: 'recon.alert.raised',
  schemaVersion: 1,
  schema: reconAlertRaisedV1Schema,
  description: 'Something needs a person now: a shortfall, money leaving without instruction, a missing statement.',
});

export const BREAK_CLOSE_STATUSES = ['resolved', 'closed'] as const;

/**
 * A break left the open set: `resolved` by a person with a reason code, or `closed` by the service itself
 * (a late partner matched its items: `late_partner`; a newer break about the same items replaced it: `superseded`).
 */
export const reconBreakClosedV1Schema = z.object({
  breakId: idSchema,
  closedAt: instantSchema,
  status: z.enum(BREAK_CLOSE_STATUSES),
  resolutionCode: z
    .string()
    .max(CODE_LENGTH_MAX)
    .regex(/^[a-z][a-z0-9_]*$/, { message: 'must be a snake_case word like late_partner' }),
  /** The identity that resolved it, or `reconciliation` for the service. */
  closedBy: z
    .string()
    .min(1)
    .max(CODE_LENGTH_MAX * 2),
  note: z.string().max(REASON_LENGTH_MAX).optional(),
  matchId: idSchema.optional(),
});

export type ReconBreakClosedV1 = z.output<typeof reconBreakClosedV1Schema>;

export const RECON_BREAK_CLOSED_V1 = defineContract({
  subject: 'recon.break.closed',
  schemaVersion: 1,
  schema: reconBreakClosedV1Schema,
  description: 'A break was resolved by a person, or closed by the service when a late partner matched its items.',
});

export const RUN_STATUSES = ['completed', 'completed_with_warnings', 'failed'] as const;

export const reconRunCompletedV1Schema = z.object({
  runId: idSchema,
  account: z.string().min(1).max(ACCOUNT_IDENTIFIER_LENGTH_MAX),
  businessDate: isoDateSchema,
  status: z.enum(RUN_STATUSES),
  finishedAt: instantSchema,
  matchGroups: z.number().int().min(0),
  breaksOpened: z.number().int().min(0),
  /** Matched items of the business day over all its items, 0..1 (a ratio, not money). */
  autoMatchRate: z.number().min(0).max(1),
  rulesHash: z.string().max(REFERENCE_LENGTH_MAX).optional(),
  resultHash: z.string().max(REFERENCE_LENGTH_MAX).optional(),
});

export type ReconRunCompletedV1 = z.output<typeof reconRunCompletedV1Schema>;

export const RECON_RUN_COMPLETED_V1 = defineContract({
  subject: 'recon.run.completed',
  schemaVersion: 1,
  schema: reconRunCompletedV1Schema,
  description: 'A reconciliation run of one custody account and business day finished (nightly, by API, or the grace sweep).',
});
