import assert from 'node:assert/strict';

/**
 * When a custody account's business day ends. The nightly run fires every day at `cutOff` (HH:MM wall-clock time in
 * `timeZone`). A cut-off in the evening closes the day it falls on; a cut-off after midnight (a bank whose day ends at
 * 02:00) closes the previous calendar day, which `closesPreviousDay` says explicitly.
 */
export interface CutOffSchedule {
  readonly cutOff: string;
  readonly timeZone: string;
  readonly closesPreviousDay: boolean;
}

const CUT_OFF_PATTERN = /^([01]\d|2[0-3]):[0-5]\d$/;
const ISO_DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/**
 * A cut-off that closes the previous day lies after midnight and before this time: later, the business day would
 * stay open more than 36 hours (an evening cut-off with the setting switched on by mistake).
 */
export const PREVIOUS_DAY_CUT_OFF_BEFORE = '12:00';

/** Whether a cut-off may close the previous day (HH:MM compares as text). */
export function isPreviousDayCutOff(cutOff: string): boolean {
  return CUT_OFF_PATTERN.test(cutOff) && cutOff < PREVIOUS_DAY_CUT_OFF_BEFORE;
}

const formats = new Map<string, Intl.DateTimeFormat>();

function formatOf(timeZone: string): Intl.DateTimeFormat {
  let format = formats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formats.set(timeZone, format);
  }
  return format;
}

/** The wall-clock date and time at an instant in a time zone, as if that wall clock were UTC (ms since epoch). */
function wallClockMsAt(instantMs: number, timeZone: string): number {
  const parts = formatOf(timeZone).formatToParts(new Date(instantMs));
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((item) => item.type === type)?.value);
  const wallMs = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  // Intl drops the milliseconds: put them back so that the offset below is whole minutes.
  return wallMs + (((instantMs % 1_000) + 1_000) % 1_000);
}

/** The zone's offset from UTC at an instant, in ms (Europe/Berlin in summer: +7,200,000). */
function offsetMsAt(instantMs: number, timeZone: string): number {
  return wallClockMsAt(instantMs, timeZone) - instantMs;
}

/** The calendar date (YYYY-MM-DD) at an instant in a time zone. */
export function calendarDateIn(instant: Date, timeZone: string): string {
  return new Date(wallClockMsAt(instant.getTime(), timeZone)).toISOString().slice(0, 10);
}

/** A calendar date plus (or minus) whole days, by the calendar: month and year ends roll over, no time zone involved. */
export function addCalendarDays(isoDate: string, days: number): string {
  const match = ISO_DATE_PATTERN.exec(isoDate);
  assert.ok(match !== null, `not a calendar date: '${isoDate}'`);
  assert.ok(Number.isInteger(days), 'whole days only');
  return new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The instant at which the wall clock of `timeZone` shows `cutOff` on `isoDate`. Resolved as cron schedulers
 * (BullMQ's cron-parser) and Temporal's `compatible` disambiguation do: a time the clocks skip (02:30 on the night
 * summer time starts in Berlin) is the same time in the offset before the change (03:30 summer time); a time shown
 * twice (the night summer time ends) is its first occurrence.
 */
export function cutOffInstantOn(isoDate: string, cutOff: string, timeZone: string): Date {
  assert.ok(CUT_OFF_PATTERN.test(cutOff), `not a cut-off HH:MM: '${cutOff}'`);
  const wallMs = Date.parse(`${isoDate}T${cutOff}:00.000Z`);
  assert.ok(Number.isFinite(wallMs), `not a calendar date: '${isoDate}'`);
  // Time zones change their offset at most once within a day either side (a real zone never does it twice in 48 h).
  const offsetBeforeMs = offsetMsAt(wallMs - DAY_MS, timeZone);
  const offsetAfterMs = offsetMsAt(wallMs + DAY_MS, timeZone);
  const candidates = [wallMs - offsetBeforeMs, wallMs - offsetAfterMs].filter((instantMs) => wallClockMsAt(instantMs, timeZone) === wallMs);
  // Shown once or twice: the earliest. Never shown (skipped): the wall time read in the offset before the change.
  const instantMs = candidates.length > 0 ? Math.min(...candidates) : wallMs - offsetBeforeMs;
  assert.ok(instantMs % MINUTE_MS === 0, 'a cut-off instant falls on a whole minute');
  return new Date(instantMs);
}

/**
 * The business day a nightly run firing at its cut-off `slot` closes: the calendar date at the slot in the account's
 * time zone, or the day before for a cut-off that closes the previous day. `slot` is the scheduled instant, not the
 * moment a worker got to the job (a run that starts late still closes the day of its slot).
 */
export function businessDateClosedAt(slot: Date, schedule: CutOffSchedule): string {
  const date = calendarDateIn(slot, schedule.timeZone);
  return schedule.closesPreviousDay ? addCalendarDays(date, -1) : date;
}

/**
 * The business day in progress at an instant, against which the grace sweep ages pending items between nightly runs.
 * For a cut-off on the day it closes this is the calendar date, as it always was. For a cut-off after midnight that
 * closes the previous day, the previous day is still in progress until that cut-off has passed: the bank may still
 * book on it, and its statement comes after the cut-off. The comparison is between instants, not wall-clock times,
 * so that the second pass through an hour when summer time ends does not step back a day. Just before each nightly
 * slot this is the day that slot closes (`businessDateClosedAt`).
 */
export function businessDateAt(instant: Date, schedule: CutOffSchedule): string {
  const date = calendarDateIn(instant, schedule.timeZone);
  if (!schedule.closesPreviousDay) return date;
  return instant.getTime() < cutOffInstantOn(date, schedule.cutOff, schedule.timeZone).getTime() ? addCalendarDays(date, -1) : date;
}
