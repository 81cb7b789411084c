import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * The rule chain: an ordered list of rules, each with its own tolerances, validated with zod. A rule set
 * is versioned by its author (`version`) and by its content (`rulesHash`, SHA-256 of its canonical JSON
 * with defaults filled in), and both are recorded with every run so a run can be replayed exactly.
 */
export const RULES_MAX = 32;
export const RULE_ID_LENGTH_MAX = 64;
export const TOLERANCE_DAYS_MAX = 31;
export const RULE_FILE_BYTES_MAX = 1024 * 1024;
export const DEFAULT_VALUE_DATE_TOLERANCE_DAYS = 2;

const ruleId = z
  .string()
  .min(1)
  .max(RULE_ID_LENGTH_MAX)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'rule ids are lower-case letters, digits, ".", "_" and "-"');
/** Minor units: an integer, written as a number or a digit string in the file. */
const toleranceMinor = z
  .union([z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,18}$/)])
  .transform((value) => String(value));
const toleranceDays = z.number().int().min(0).max(TOLERANCE_DAYS_MAX);

const common = {
  id: ruleId.optional(),
  amountToleranceMinor: toleranceMinor.optional(),
  valueDateToleranceDays: toleranceDays.optional(),
};

const ruleSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ref-exact'), ...common }),
  z.strictObject({
    type: z.literal('ref-in-text'),
    ...common,
    /** Shorter references are too likely to occur in unrelated text ("2025", "EUR"). */
    referenceLengthMin: z.number().int().min(4).max(64).optional(),
    /** How many adjacent words of the text may together spell one reference ("PLAT W 000123"). */
    tokensJoinedMax: z.number().int().min(1).max(8).optional(),
  }),
  z.strictObject({
    type: z.literal('ref-truncated'),
    ...common,
    /** Field lengths the bank's interface cuts references to (16: MT940 `:61:` reference; 35: SEPA fields). */
    truncatedLengths: z.array(z.number().int().min(6).max(140)).min(1).max(8).optional(),
  }),
  z.strictObject({
    type: z.literal('amount-date'),
    ...common,
    /** true: only pair when at least one side carries no reference (a referenced pair is for the ref rules). */
    onlyWithoutReference: z.boolean().optional(),
  }),
  z.strictObject({
    type: z.literal('batch'),
    ...common,
    oneToMany: z.boolean().optional(),
    manyToOne: z.boolean().optional(),
    /** Batches larger than this are not considered (a limit against hostile input). */
    batchEntriesMax: z.number().int().min(2).max(100_000).optional(),
  }),
]);

const ruleFileSchema = z.strictObject({
  version: z.string().min(1).max(64),
  defaults: z.strictObject({ amountToleranceMinor: toleranceMinor.optional(), valueDateToleranceDays: toleranceDays.optional() }).optional(),
  /** Placeholder references banks send instead of none ("NOTPROVIDED" in camt, "NONREF" in MT940). */
  ignoredReferences: z.array(z.string().min(1).max(64)).max(64).optional(),
  /** Bank transaction codes (any `/`-separated part) that explain a debit: fees, charges, interest. */
  explainedDebitCodes: z.array(z.string().min(1).max(16)).max(64).optional(),
  /** A debit without instruction at least this large (in major units of its currency) is critical. */
  criticalAmountMajor: z.number().int().min(0).max(1e12).optional(),
  rules: z.array(ruleSchema).min(1).max(RULES_MAX),
});

export type RuleFile = z.input<typeof ruleFileSchema>;
type ParsedRule = z.output<typeof ruleSchema>;

interface RuleCommon {
  readonly id: string;
  readonly amountToleranceMinor: bigint;
  readonly valueDateToleranceDays: number;
}
export interface RefExactRule extends RuleCommon {
  readonly type: 'ref-exact';
}
export interface RefInTextRule extends RuleCommon {
  readonly type: 'ref-in-text';
  readonly referenceLengthMin: number;
  readonly tokensJoinedMax: number;
}
export interface RefTruncatedRule extends RuleCommon {
  readonly type: 'ref-truncated';
  readonly truncatedLengths: readonly number[];
}
export interface AmountDateRule extends RuleCommon {
  readonly type: 'amount-date';
  readonly onlyWithoutReference: boolean;
}
export interface BatchRule extends RuleCommon {
  readonly type: 'batch';
  readonly oneToMany: boolean;
  readonly manyToOne: boolean;
  readonly batchEntriesMax: number;
}
export type MatchRule = RefExactRule | RefInTextRule | RefTruncatedRule | AmountDateRule | BatchRule;

export interface RuleSet {
  readonly version: string;
  /** SHA-256 (hex) of the canonical JSON of the resolved rule set: equal hashes mean equal behaviour. */
  readonly rulesHash: string;
  readonly ignoredReferences: readonly string[];
  readonly explainedDebitCodes: readonly string[];
  readonly criticalAmountMajor: number;
  readonly rules: readonly MatchRule[];
}

export class RuleSetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleSetError';
  }
}

/** The documented defaults of CONTRACT section 2 (docs/matching.md). */
export const DEFAULT_RULE_FILE: RuleFile = {
  version: 'default-1',
  defaults: { amountToleranceMinor: 0, valueDateToleranceDays: DEFAULT_VALUE_DATE_TOLERANCE_DAYS },
  ignoredReferences: ['NOTPROVIDED', 'NONREF', 'NONE', 'N/A', 'NA'],
  explainedDebitCodes: ['CHRG', 'FEES', 'COMM', 'INTR', 'NCHG', 'NCOM', 'NINT', 'TAXE'],
  criticalAmountMajor: 10_000,
  rules: [{ type: 'ref-exact' }, { type: 'ref-in-text' }, { type: 'ref-truncated' }, { type: 'batch' }, { type: 'amount-date' }],
};

export function defaultRuleSet(): RuleSet {
  return buildRuleSet(DEFAULT_RULE_FILE);
}

/** Parses a YAML or JSON rule file (JSON is YAML); throws RuleSetError naming the offending path. */
export function parseRuleSet(text: string, source = 'rule file'): RuleSet {
  if (Buffer.byteLength(text, 'utf8') > RULE_FILE_BYTES_MAX) throw new RuleSetError(`${source} is larger than ${RULE_FILE_BYTES_MAX} bytes`);
  let document: unknown;
  try {
    document = parseYaml(text);
  } catch (error: unknown) {
    throw new RuleSetError(`${source} is not valid YAML/JSON: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  return buildRuleSet(document, source);
}

export function buildRuleSet(document: unknown, source = 'rule file'): RuleSet {
  const parsed = ruleFileSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    throw new RuleSetError(`${source}${where}: ${issue?.message ?? 'invalid rule set'}`);
  }
  const file = parsed.data;
  const defaultAmount = BigInt(file.defaults?.amountToleranceMinor ?? '0');
  const defaultDays = file.defaults?.valueDateToleranceDays ?? DEFAULT_VALUE_DATE_TOLERANCE_DAYS;
  const seen = new Set<string>();
  const rules = file.rules.map((rule, index) => {
    const resolved = resolveRule(rule, defaultAmount, defaultDays);
    if (seen.has(resolved.id)) throw new RuleSetError(`${source} at rules.${index}.id: rule id '${resolved.id}' is used twice; give each rule its own id`);
    seen.add(resolved.id);
    return resolved;
  });
  const body = {
    version: file.version,
    ignoredReferences: (file.ignoredReferences ?? []).map((reference) => reference.toUpperCase()),
    explainedDebitCodes: (file.explainedDebitCodes ?? []).map((code) => code.toUpperCase()),
    criticalAmountMajor: file.criticalAmountMajor ?? 10_000,
    rules,
  };
  return { ...body, rulesHash: sha256Hex(stableJson(body)) };
}

function resolveRule(rule: ParsedRule, defaultAmount: bigint, defaultDays: number): MatchRule {
  const common = {
    id: rule.id ?? rule.type,
    amountToleranceMinor: rule.amountToleranceMinor === undefined ? defaultAmount : BigInt(rule.amountToleranceMinor),
    valueDateToleranceDays: rule.valueDateToleranceDays ?? defaultDays,
  };
  switch (rule.type) {
    case 'ref-exact':
      return { type: rule.type, ...common };
    case 'ref-in-text':
      return { type: rule.type, ...common, referenceLengthMin: rule.referenceLengthMin ?? 6, tokensJoinedMax: rule.tokensJoinedMax ?? 4 };
    case 'ref-truncated':
      return { type: rule.type, ...common, truncatedLengths: [...(rule.truncatedLengths ?? [16, 35])].sort((a, b) => a - b) };
    case 'amount-date':
      return { type: rule.type, ...common, onlyWithoutReference: rule.onlyWithoutReference ?? true };
    case 'batch':
      return {
        type: rule.type,
        ...common,
        oneToMany: rule.oneToMany ?? true,
        manyToOne: rule.manyToOne ?? true,
        batchEntriesMax: rule.batchEntriesMax ?? 10_000,
      };
  }
}

/** JSON with object keys sorted and bigints as strings: the same rule set always hashes the same. */
export function stableJson(value: unknown): string {
  if (typeof value === 'bigint') return JSON.stringify(value.toString());
  if (Array.isArray(value)) return `[${value.map((item) => stableJson(item)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${stableJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The first rule of a type, for tolerances used when explaining breaks. */
export function firstRuleOfType<T extends MatchRule['type']>(ruleSet: RuleSet, type: T): Extract<MatchRule, { type: T }> | undefined {
  return ruleSet.rules.find((rule): rule is Extract<MatchRule, { type: T }> => rule.type === type);
}
