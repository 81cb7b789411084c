import { getNextMillis } from 'bullmq';
import { cronOfCutOff } from '../application/account-settings';
import { addCalendarDays, businessDateAt, businessDateClosedAt, cutOffInstantOn, type CutOffSchedule } from '../domain/business-day';
import { nightlySlotOf } from './recon-jobs';

/** The slots BullMQ's scheduler computes for a nightly job (the same cron code `upsertJobScheduler` runs). */
function slotsOf(schedule: CutOffSchedule, fromIso: string, days: number): Date[] {
  const slots: Date[] = [];
  let millis = Date.parse(fromIso);
  for (let index = 0; index < days; index += 1) {
    const next = getNextMillis(millis, { pattern: cronOfCutOff(schedule.cutOff), tz: schedule.timeZone });
    if (next === undefined) throw new Error('no next slot');
    slots.push(new Date(next));
    millis = next;
  }
  return slots;
}

const ZONES = ['Europe/Berlin', 'America/New_York', 'Asia/Shanghai'];
// Cut-offs around the hours the clocks skip or repeat (02:00-03:00 Berlin and New York, 01:00-02:00 New York in autumn).
const AFTER_MIDNIGHT = ['00:00', '01:30', '02:00', '02:30', '11:59'];
const SAME_DAY = ['02:30', '18:00', '23:59'];
/** A week around each day that matters: leap day, clock changes in both zones that have them, month and year ends. */
const WEEKS_FROM = [
  '2024-02-25T00:00:00Z',
  '2024-03-07T00:00:00Z', // New York springs forward on 10 March 2024
  '2024-03-28T00:00:00Z', // Berlin springs forward on 31 March 2024
  '2024-10-24T00:00:00Z', // Berlin falls back on 27 October 2024
  '2024-10-31T00:00:00Z', // New York falls back on 3 November 2024
  '2024-12-28T00:00:00Z',
  '2025-03-06T00:00:00Z', // New York, 9 March 2025
  '2025-03-27T00:00:00Z', // Berlin, 30 March 2025
  '2025-04-27T00:00:00Z',
  '2025-10-23T00:00:00Z', // Berlin, 26 October 2025
  '2025-10-30T00:00:00Z', // New York, 2 November 2025
];

describe('nightly schedule and business day', () => {
  const cases: CutOffSchedule[] = ZONES.flatMap((timeZone) => [
    ...AFTER_MIDNIGHT.map((cutOff) => ({ timeZone, cutOff, closesPreviousDay: true })),
    ...SAME_DAY.map((cutOff) => ({ timeZone, cutOff, closesPreviousDay: false })),
  ]);

  it.each(cases)(
    'closes each business day exactly once across clock changes, month and year ends ($timeZone $cutOff, closesPreviousDay $closesPreviousDay)',
    (schedule) => {
      for (const from of WEEKS_FROM) {
        let previous: string | undefined;
        for (const slot of slotsOf(schedule, from, 8)) {
          const closed = businessDateClosedAt(slot, schedule);
          // Consecutive slots close consecutive days: none skipped, none closed twice.
          if (previous !== undefined) expect([slot.toISOString(), closed]).toEqual([slot.toISOString(), addCalendarDays(previous, 1)]);
          previous = closed;
          // The scheduler and this service read the cut-off's wall-clock time the same way, skipped and repeated hours too.
          const closingDate = schedule.closesPreviousDay ? addCalendarDays(closed, 1) : closed;
          expect(cutOffInstantOn(closingDate, schedule.cutOff, schedule.timeZone).toISOString()).toBe(slot.toISOString());
          // The grace sweep agrees: just before the slot the day in progress is the day the slot closes.
          expect(businessDateAt(new Date(slot.getTime() - 1), schedule)).toBe(closed);
          if (schedule.closesPreviousDay) expect(businessDateAt(slot, schedule)).toBe(addCalendarDays(closed, 1));
        }
      }
    },
  );
});

describe(nightlySlotOf.name, () => {
  it('takes the slot the scheduler created the job for, also after the job was promoted (delay 0)', () => {
    const slotMs = Date.parse('2025-01-01T01:00:00Z');
    expect(nightlySlotOf({ opts: { prevMillis: slotMs }, timestamp: slotMs - 3_600_000, delay: 0 }).toISOString()).toBe('2025-01-01T01:00:00.000Z');
    expect(nightlySlotOf({ opts: {}, timestamp: slotMs - 3_600_000, delay: 3_600_000 }).toISOString()).toBe('2025-01-01T01:00:00.000Z');
  });
});
