/**
 * Calendar dates as `YYYY-MM-DD` strings and their day numbers (days since 1970-01-01). Day numbers make
 * "value dates N days apart" plain integer arithmetic; no clock and no time zone is involved.
 */
export type IsoDate = string;

const ISO_DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

/** Returns the day number of a valid `YYYY-MM-DD`, or undefined when the text is not a real calendar date. */
export function dayNumberOf(date: string): number | undefined {
  const match = ISO_DATE_PATTERN.exec(date);
  if (match === null) return undefined;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const ms = Date.UTC(year, month - 1, day);
  const check = new Date(ms);
  // Date.UTC rolls 2025-02-30 over to March; a real date survives the round trip unchanged.
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return undefined;
  return Math.round(ms / MS_PER_DAY);
}

export function isIsoDate(date: string): boolean {
  return dayNumberOf(date) !== undefined;
}

export function isoDateOfDayNumber(dayNumber: number): IsoDate {
  return new Date(dayNumber * MS_PER_DAY).toISOString().slice(0, 10);
}
