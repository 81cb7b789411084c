import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UnreadableStatementError, type TextEncoding } from '../canonical';

/**
 * A CSV profile says how one bank's CSV export maps onto canonical entries. Built-in profiles live in
 * csv-profiles.builtin.ts; custom ones are loaded from YAML/JSON with `loadCsvProfile` (schema below, documented with
 * an example in docs/statement-formats-text.md).
 */

export const CSV_PROFILE_TEXT_LENGTH_MAX = 64 * 1024;
const HEADER_NAME_LENGTH_MAX = 200;
const NAMES_PER_COLUMN_MAX = 20;

const headerNames = z
  .union([z.string().min(1).max(HEADER_NAME_LENGTH_MAX), z.array(z.string().min(1).max(HEADER_NAME_LENGTH_MAX)).min(1).max(NAMES_PER_COLUMN_MAX)])
  .transform((value) => (typeof value === 'string' ? [value] : value));

const DATE_FORMATS = [
  'yyyy-MM-dd',
  'yyyyMMdd',
  'yyyy/MM/dd',
  'dd.MM.yyyy',
  'dd.MM.yy',
  'dd/MM/yyyy',
  'MM/dd/yyyy',
  'MM/dd/yy',
  'dd/MM/yy',
  'd.M.yyyy',
  'M/d/yyyy',
  'd/M/yyyy',
] as const;
export type CsvDateFormat = (typeof DATE_FORMATS)[number];

const ENCODINGS = ['utf8', 'latin1', 'gb18030', 'cp852', 'cp1252', 'utf16le'] as const;

export const csvProfileSpecSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'name must be lower-case letters, digits and dashes (up to 64)'),
    defaultEncoding: z.enum(ENCODINGS).default('utf8'),
    delimiter: z.enum([',', ';', '\t', '|']).default(','),
    quote: z.literal('"').default('"'),
    /** The header row is the first row (within `preambleLinesMax` lines) holding every one of these names (`a|b`: either). */
    headerRequired: z.array(z.string().min(1).max(HEADER_NAME_LENGTH_MAX)).min(1).max(NAMES_PER_COLUMN_MAX),
    preambleLinesMax: z.number().int().min(0).max(200).default(30),
    /** Case-insensitive header names, first one present wins. */
    columns: z
      .object({
        date: headerNames,
        valueDate: headerNames.optional(),
        amount: headerNames.optional(),
        debit: headerNames.optional(),
        credit: headerNames.optional(),
        currency: headerNames.optional(),
        account: headerNames.optional(),
        bankRef: headerNames.optional(),
        endToEndId: headerNames.optional(),
        customerRef: headerNames.optional(),
        bankTxCode: headerNames.optional(),
        counterpartyName: headerNames.optional(),
        counterpartyAccount: headerNames.optional(),
        /** Every listed column present is joined with a space (GLS splits the purpose over VWZ1…VWZ14). */
        remittance: headerNames.optional(),
        /** The account's running balance after the row (ICBC `余额`, Sparkasse `Saldo`): gives the statement's balances. */
        balance: headerNames.optional(),
      })
      .strict(),
    decimalSeparator: z.enum(['.', ',']).default('.'),
    thousandsSeparator: z.enum(['', ',', '.', ' ', "'"]).default(''),
    dateFormats: z.array(z.enum(DATE_FORMATS)).min(1).max(10),
    /**
     * A column saying which way the money went (Alipay `收/支`, BOCOM `借贷`, `D/C`): the amount is then taken as a
     * magnitude and signed by it. A value in `skipValues` (Alipay `不计收支`, not a movement of this account's money)
     * makes the row noise; any other value is rejected.
     */
    direction: z
      .object({
        column: headerNames,
        creditValues: z.array(z.string().min(1).max(40)).min(1).max(10),
        debitValues: z.array(z.string().min(1).max(40)).min(1).max(10),
        skipValues: z.array(z.string().min(1).max(40)).max(10).default([]),
      })
      .strict()
      .optional(),
    /** `credit-positive`: + is money in. `debit-positive`: credit-card style exports where + is a charge. */
    signConvention: z.enum(['credit-positive', 'debit-positive']).default('credit-positive'),
    /**
     * Opening / closing balances the export states on a line of its own, before the header or as a footer
     * (`期初余额: 1,234.56`, `Anfangssaldo;1.234,56`): a regular expression whose one capture group is the amount,
     * read with the profile's separators. They win over balances derived from a `balance` column.
     */
    balances: z
      .object({ openingPattern: z.string().min(1).max(200).optional(), closingPattern: z.string().min(1).max(200).optional() })
      .strict()
      .optional(),
    /** Used when the row has no currency column or leaves it blank, and its account gives none (below). */
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code like EUR')
      .optional(),
    /** Bank currency names to ISO codes (`人民币: CNY`). */
    currencyAliases: z.record(z.string().max(40), z.string().regex(/^[A-Z]{3}$/)).default({}),
    /** Used when the row has no account column. */
    account: z.string().min(1).max(100).optional(),
    /** The currency of an account (compared without spaces, case-insensitively), for rows that name none. */
    accountCurrencies: z
      .record(z.string().min(1).max(100), z.string().regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code like CNY'))
      .refine((map) => Object.keys(map).length <= 1_000, 'at most 1,000 accounts')
      .default({}),
    /** A regular expression whose one capture group is the currency inside the account (`-(CNY|USD)$`), for rows that name none. */
    accountCurrencyPattern: z.string().min(1).max(200).optional(),
    /** A regular expression with one capture group, tried on preamble lines to find the account (`卡号:\s*(\S+)`). */
    accountPreamblePattern: z.string().max(200).optional(),
    /** Cell values meaning "no amount" (ICBC writes `-`). */
    emptyAmountTokens: z.array(z.string().max(10)).max(10).default(['-']),
    /** Rows whose first cell starts with one of these are footers (totals), not entries. */
    footerPrefixes: z.array(z.string().min(1).max(40)).max(20).default([]),
  })
  .strict()
  .superRefine((spec, context) => {
    const hasAmount = spec.columns.amount !== undefined;
    const hasSplit = spec.columns.debit !== undefined || spec.columns.credit !== undefined;
    if (!hasAmount && !hasSplit) context.addIssue({ code: 'custom', path: ['columns', 'amount'], message: 'needs an amount column or debit/credit columns' });
    if (hasSplit && (spec.columns.debit === undefined || spec.columns.credit === undefined)) {
      context.addIssue({
        code: 'custom',
        path: ['columns', spec.columns.debit === undefined ? 'debit' : 'credit'],
        message: 'debit and credit columns come as a pair',
      });
    }
    if (spec.thousandsSeparator === spec.decimalSeparator) {
      context.addIssue({ code: 'custom', path: ['thousandsSeparator'], message: 'must differ from decimalSeparator' });
    }
    const patterns: [string | undefined, (string | number)[]][] = [
      [spec.accountPreamblePattern, ['accountPreamblePattern']],
      [spec.accountCurrencyPattern, ['accountCurrencyPattern']],
      [spec.balances?.openingPattern, ['balances', 'openingPattern']],
      [spec.balances?.closingPattern, ['balances', 'closingPattern']],
    ];
    for (const [pattern, path] of patterns) {
      if (pattern === undefined) continue;
      let groups: number;
      try {
        groups = new RegExp(`${pattern}|`).exec('')!.length - 1;
      } catch {
        context.addIssue({ code: 'custom', path, message: 'is not a valid regular expression' });
        continue;
      }
      if (groups < 1) context.addIssue({ code: 'custom', path, message: 'needs one capture group (the value to read)' });
    }
  });

export type CsvProfileSpec = z.output<typeof csvProfileSpecSchema>;
export type CsvProfileInput = z.input<typeof csvProfileSpecSchema>;

export interface CsvProfile extends CsvProfileSpec {
  readonly defaultEncoding: TextEncoding;
  /** True when one of these lines (decoded text) looks like this profile's header row. For format auto-detection. */
  matchesHeader(firstLines: readonly string[]): boolean;
}

/**
 * Header cells compare after trimming padding (spaces, TABs, full-width spaces, BOM), the quotes left when a raw
 * line is split for auto-detection, and case-folding.
 */
export function normalizeHeaderCell(cell: string): string {
  return cell.replace(/^[\s\u3000\ufeff"]+|[\s\u3000"]+$/g, '').toLowerCase();
}

/** Trims the padding banks put into cells, inside the quotes too (ICBC pads with spaces then a TAB). */
export function cleanCell(cell: string): string {
  return cell.replace(/^[\s\u3000\ufeff]+|[\s\u3000]+$/g, '');
}

export function buildCsvProfile(spec: CsvProfileSpec): CsvProfile {
  return {
    ...spec,
    matchesHeader(firstLines: readonly string[]): boolean {
      for (const line of firstLines) {
        if (hasRequiredHeaders(spec.headerRequired, line.split(spec.delimiter))) return true;
      }
      return false;
    },
  };
}

/** Each required name may list alternatives separated by `|` (`交易日期|记账日期`). */
export function hasRequiredHeaders(required: readonly string[], cells: readonly string[]): boolean {
  const present = new Set(cells.map(normalizeHeaderCell));
  return required.every((names) => names.split('|').some((name) => present.has(normalizeHeaderCell(name))));
}

/** Parses and validates a custom profile; throws UnreadableStatementError naming the bad field. */
export function loadCsvProfile(yamlOrJsonText: string): CsvProfile {
  if (yamlOrJsonText.length > CSV_PROFILE_TEXT_LENGTH_MAX) {
    throw new UnreadableStatementError(`CSV profile is ${yamlOrJsonText.length} characters long, over ${CSV_PROFILE_TEXT_LENGTH_MAX}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(yamlOrJsonText);
  } catch (error) {
    throw new UnreadableStatementError(`CSV profile is not valid YAML/JSON: ${(error as Error).message}`);
  }
  const result = csvProfileSpecSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(profile)'}: ${issue.message}`);
    throw new UnreadableStatementError(`CSV profile is invalid: ${problems.join('; ')}`);
  }
  return buildCsvProfile(result.data);
}
