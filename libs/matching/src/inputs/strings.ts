/** Strings at least this long may be slices of a reader's buffer: copied so that the buffer can be freed. */
const SLICED_STRING_LENGTH_MIN = 13;
/** Distinct values interned per interner (dates, codes, currencies, accounts); beyond it values are only copied. */
export const INTERNED_VALUES_MAX = 100_000;

/**
 * A string that owns its characters. V8 represents substrings of a large string as slices that keep the
 * whole parent alive; a million items holding slices of the text they were read from would keep the whole
 * file in memory for the entire run.
 */
export function ownString(text: string): string {
  return text.length < SLICED_STRING_LENGTH_MIN ? text : Buffer.from(text, 'utf8').toString('utf8');
}

/** Keeps one copy of each repeated value, so a million items share a handful of date and currency strings. */
export class StringInterner {
  private readonly values = new Map<string, string>();
  private readonly validDates = new Set<string>();

  /** Date validation remembered per distinct value: a day's ledger has a handful of distinct dates. */
  isValidDate(date: string, isValid: (date: string) => boolean): boolean {
    if (this.validDates.has(date)) return true;
    if (!isValid(date)) return false;
    if (this.validDates.size < INTERNED_VALUES_MAX) this.validDates.add(date);
    return true;
  }

  intern(text: string): string {
    const known = this.values.get(text);
    if (known !== undefined) return known;
    const own = ownString(text);
    if (this.values.size < INTERNED_VALUES_MAX) this.values.set(own, own);
    return own;
  }
}
