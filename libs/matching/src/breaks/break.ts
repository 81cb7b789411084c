/**
 * Break types of CONTRACT section 2. A break has exactly one type; its category follows from the type.
 */
export const BREAK_TYPES = [
  'missing_in_bank',
  'missing_in_ledger',
  'unauthorized_debit',
  'amount_mismatch',
  'date_mismatch',
  'duplicate',
  'currency_mismatch',
  'balance_mismatch',
  'statement_gap',
  'rejected_line',
] as const;
export type BreakType = (typeof BREAK_TYPES)[number];

export type BreakCategory = 'data_sync' | 'misappropriation' | 'interface';
export type BreakSeverity = 'low' | 'medium' | 'high' | 'critical';

export const BREAK_CATEGORY: Readonly<Record<BreakType, BreakCategory>> = {
  missing_in_bank: 'data_sync',
  missing_in_ledger: 'data_sync',
  unauthorized_debit: 'misappropriation',
  amount_mismatch: 'data_sync',
  date_mismatch: 'data_sync',
  duplicate: 'data_sync',
  currency_mismatch: 'interface',
  balance_mismatch: 'misappropriation',
  statement_gap: 'data_sync',
  rejected_line: 'interface',
};

/** Nearest candidates listed per break: enough to act on, bounded so that a break stays readable. */
export const BREAK_CANDIDATES_MAX = 3;

export interface CriterionCheck {
  readonly criterion: 'account' | 'currency' | 'reference' | 'amount' | 'valueDate' | 'direction';
  readonly ok: boolean;
  readonly detail: string;
}

/** One near miss on the other side of a break, with the verdict of every criterion. */
export interface BreakCandidate {
  readonly side: 'ledger' | 'bank';
  readonly id: string;
  /** The rule that matched this candidate elsewhere, when it is already taken. */
  readonly matchedBy?: string;
  readonly failed: readonly string[];
  readonly checks: readonly CriterionCheck[];
}

export interface ReconBreak {
  readonly type: BreakType;
  readonly category: BreakCategory;
  readonly severity: BreakSeverity;
  readonly currency: string;
  /** Absolute money at stake, decimal string with the currency's minor digits. */
  readonly amount: string;
  readonly ledger: readonly string[];
  readonly bank: readonly string[];
  readonly reason: string;
  readonly account?: string;
  readonly valueDate?: string;
  readonly candidates?: readonly BreakCandidate[];
  /** Present when a rule found equally good candidates and refused to choose between them. */
  readonly ambiguous?: { readonly rule: string; readonly candidates: readonly string[] };
  readonly duplicateOf?: readonly string[];
  readonly statementId?: string;
  readonly findingKind?: string;
  readonly source?: string;
  readonly lineNo?: number;
}

/** Key order of a break as written to breaks.jsonl: the CONTRACT fields first, then the explanation. */
const BREAK_KEY_ORDER = [
  'severity',
  'currency',
  'amount',
  'ledger',
  'bank',
  'reason',
  'account',
  'valueDate',
  'statementId',
  'findingKind',
  'source',
  'lineNo',
  'duplicateOf',
  'ambiguous',
  'candidates',
] as const;

export function makeBreak(type: BreakType, fields: Omit<ReconBreak, 'type' | 'category'>): ReconBreak {
  const out: Record<string, unknown> = { type, category: BREAK_CATEGORY[type] };
  for (const key of BREAK_KEY_ORDER) if (fields[key] !== undefined) out[key] = fields[key];
  return out as unknown as ReconBreak;
}
