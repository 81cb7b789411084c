/**
 * Calendar dates as the text formats carry them (YYMMDD, MMDD, yyyyMMdd, dd.mm.yyyy), produced as ISO `YYYY-MM-DD`
 * strings. No JS Date is involved: a statement date is a calendar date, not an instant.
 */

/** SWIFT and BAI2 carry two-digit years. 80–99 are read as 19xx, 00–79 as 20xx (old samples date from 1990s–2000s). */
export const TWO_DIGIT_YEAR_PIVOT = 80;

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

export function formatIsoDate(year: number, month: number, day: number): string {
  return `${String(year).padStart(4, '0')}-${month < 10 ? '0' : ''}${month}-${day < 10 ? '0' : ''}${day}`;
}

export function yearFromTwoDigits(twoDigits: number): number {
  return twoDigits >= TWO_DIGIT_YEAR_PIVOT ? 1900 + twoDigits : 2000 + twoDigits;
}

/** Reads `length` ASCII digits at `start`; -1 when any is not a digit. */
export function readDigits(text: string, start: number, length: number): number {
  if (start + length > text.length) return -1;
  let value = 0;
  for (let index = start; index < start + length; index += 1) {
    const code = text.charCodeAt(index) - 48;
    if (code < 0 || code > 9) return -1;
    value = value * 10 + code;
  }
  return value;
}

export type DatePolicy = 'strict' | 'clamp-day';

/**
 * Validates year/month/day. `clamp-day` maps a day past the month's end (German banks book interest on
 * "30 February", the 30/360 day-count convention) to the month's last day, as WoLpH/mt940 does; a month outside 1–12
 * or a day outside 1–31 is never a date. Returns undefined when the parts are no date.
 */
export function isoDateOf(year: number, month: number, day: number, policy: DatePolicy): string | undefined {
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const lastDay = daysInMonth(year, month);
  if (day > lastDay) {
    if (policy === 'strict') return undefined;
    return formatIsoDate(year, month, lastDay);
  }
  return formatIsoDate(year, month, day);
}

/** YYMMDD at `start` → ISO date, or undefined. */
export function isoDateFromYymmdd(text: string, start: number, policy: DatePolicy): string | undefined {
  const yy = readDigits(text, start, 2);
  const mm = readDigits(text, start + 2, 2);
  const dd = readDigits(text, start + 4, 2);
  if (yy < 0 || mm < 0 || dd < 0) return undefined;
  return isoDateOf(yearFromTwoDigits(yy), mm, dd, policy);
}
