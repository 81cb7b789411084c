import {
  addCalendarDays,
  businessDateAt,
  businessDateClosedAt,
  calendarDateIn,
  cutOffInstantOn,
  isPreviousDayCutOff,
  type CutOffSchedule,
} from './business-day';

const at = (iso: string) => new Date(iso);
const schedule = (timeZone: string, cutOff: string, closesPreviousDay: boolean): CutOffSchedule => ({ timeZone, cutOff, closesPreviousDay });

describe(calendarDateIn.name, () => {
  it('gives the date in the account time zone, not in UTC', () => {
    const instant = at('2025-01-02T23:30:00.000Z');
    expect(calendarDateIn(instant, 'UTC')).toBe('2025-01-02');
    expect(calendarDateIn(instant, 'Asia/Shanghai')).toBe('2025-01-03');
    expect(calendarDateIn(instant, 'America/New_York')).toBe('2025-01-02');
    expect(calendarDateIn(instant, 'Europe/Berlin')).toBe('2025-01-03');
  });
});

describe(addCalendarDays.name, () => {
  it('rolls over month ends, leap days and year ends', () => {
    expect(addCalendarDays('2025-01-01', -1)).toBe('2024-12-31');
    expect(addCalendarDays('2024-03-01', -1)).toBe('2024-02-29');
    expect(addCalendarDays('2025-03-01', -1)).toBe('2025-02-28');
    expect(addCalendarDays('2025-04-30', 1)).toBe('2025-05-01');
    expect(addCalendarDays('2025-12-31', 1)).toBe('2026-01-01');
    expect(addCalendarDays('2025-03-30', -1)).toBe('2025-03-29');
  });

  it('refuses what is not a calendar date', () => {
    expect(() => addCalendarDays('2025-1-1', 1)).toThrow(/calendar date/);
  });
});

describe(isPreviousDayCutOff.name, () => {
  it('accepts cut-offs from midnight to before noon only', () => {
    expect(isPreviousDayCutOff('00:00')).toBe(true);
    expect(isPreviousDayCutOff('02:00')).toBe(true);
    expect(isPreviousDayCutOff('11:59')).toBe(true);
    expect(isPreviousDayCutOff('12:00')).toBe(false);
    expect(isPreviousDayCutOff('18:00')).toBe(false);
    expect(isPreviousDayCutOff('2:00')).toBe(false);
  });
});

describe(cutOffInstantOn.name, () => {
  it('reads the wall-clock time in the offset of that day', () => {
    expect(cutOffInstantOn('2025-01-15', '02:00', 'Europe/Berlin').toISOString()).toBe('2025-01-15T01:00:00.000Z'); // CET +1
    expect(cutOffInstantOn('2025-07-15', '02:00', 'Europe/Berlin').toISOString()).toBe('2025-07-15T00:00:00.000Z'); // CEST +2
    expect(cutOffInstantOn('2025-01-15', '02:00', 'America/New_York').toISOString()).toBe('2025-01-15T07:00:00.000Z'); // EST -5
    expect(cutOffInstantOn('2025-07-15', '02:00', 'America/New_York').toISOString()).toBe('2025-07-15T06:00:00.000Z'); // EDT -4
    expect(cutOffInstantOn('2025-07-15', '02:00', 'Asia/Shanghai').toISOString()).toBe('2025-07-14T18:00:00.000Z'); // +8, the UTC day before
  });

  it('moves a time the clocks skip forward by the gap, as the cron scheduler does', () => {
    // Berlin 2025-03-30: 02:00 CET becomes 03:00 CEST; 02:30 does not exist.
    expect(cutOffInstantOn('2025-03-30', '02:30', 'Europe/Berlin').toISOString()).toBe('2025-03-30T01:30:00.000Z'); // 03:30 CEST
    expect(cutOffInstantOn('2025-03-30', '02:00', 'Europe/Berlin').toISOString()).toBe('2025-03-30T01:00:00.000Z'); // 03:00 CEST
    // New York 2025-03-09: 02:00 EST becomes 03:00 EDT.
    expect(cutOffInstantOn('2025-03-09', '02:15', 'America/New_York').toISOString()).toBe('2025-03-09T07:15:00.000Z'); // 03:15 EDT
  });

  it('takes the first of a time shown twice', () => {
    // Berlin 2025-10-26: 03:00 CEST becomes 02:00 CET; 02:30 happens at 00:30Z and again at 01:30Z.
    expect(cutOffInstantOn('2025-10-26', '02:30', 'Europe/Berlin').toISOString()).toBe('2025-10-26T00:30:00.000Z');
    // New York 2025-11-02: 02:00 EDT becomes 01:00 EST; 01:30 happens at 05:30Z and again at 06:30Z.
    expect(cutOffInstantOn('2025-11-02', '01:30', 'America/New_York').toISOString()).toBe('2025-11-02T05:30:00.000Z');
  });
});

describe(businessDateClosedAt.name, () => {
  it('keeps the calendar date at the cut-off when the cut-off closes its own day (the default)', () => {
    expect(businessDateClosedAt(at('2025-01-02T17:00:00Z'), schedule('Europe/Berlin', '18:00', false))).toBe('2025-01-02');
    expect(businessDateClosedAt(at('2025-01-02T23:00:00Z'), schedule('America/New_York', '18:00', false))).toBe('2025-01-02');
    expect(businessDateClosedAt(at('2025-01-02T10:00:00Z'), schedule('Asia/Shanghai', '18:00', false))).toBe('2025-01-02');
  });

  it('closes the previous day for a cut-off after midnight, across month and year ends', () => {
    // 02:00 Berlin on 1 January is 01:00Z: the day closed is New Year's Eve.
    expect(businessDateClosedAt(at('2025-01-01T01:00:00Z'), schedule('Europe/Berlin', '02:00', true))).toBe('2024-12-31');
    // 01:00 Shanghai on 1 March 2024 is 17:00Z on 29 February: the leap day is closed, not 28 February.
    expect(businessDateClosedAt(at('2024-02-29T17:00:00Z'), schedule('Asia/Shanghai', '01:00', true))).toBe('2024-02-29');
    expect(businessDateClosedAt(at('2025-02-28T17:00:00Z'), schedule('Asia/Shanghai', '01:00', true))).toBe('2025-02-28');
    // 02:00 New York on 1 May is 06:00Z: 30 April.
    expect(businessDateClosedAt(at('2025-05-01T06:00:00Z'), schedule('America/New_York', '02:00', true))).toBe('2025-04-30');
  });

  it('closes the day before the clocks change with the slot the scheduler moved', () => {
    // Berlin's 02:30 slot on 2025-03-30 fires at 03:30 CEST: it still closes 29 March.
    expect(businessDateClosedAt(at('2025-03-30T01:30:00Z'), schedule('Europe/Berlin', '02:30', true))).toBe('2025-03-29');
    expect(businessDateClosedAt(at('2025-10-26T00:30:00Z'), schedule('Europe/Berlin', '02:30', true))).toBe('2025-10-25');
    expect(businessDateClosedAt(at('2025-11-02T05:30:00Z'), schedule('America/New_York', '01:30', true))).toBe('2025-11-01');
    expect(businessDateClosedAt(at('2025-03-09T07:00:00Z'), schedule('America/New_York', '02:00', true))).toBe('2025-03-08');
  });
});

describe(businessDateAt.name, () => {
  it('is the calendar date for a cut-off that closes its own day, whatever the time (as the sweep always aged)', () => {
    const evening = schedule('Europe/Berlin', '18:00', false);
    expect(businessDateAt(at('2025-01-02T00:30:00Z'), evening)).toBe('2025-01-02');
    expect(businessDateAt(at('2025-01-02T20:00:00Z'), evening)).toBe('2025-01-02');
    expect(businessDateAt(at('2025-01-02T23:30:00Z'), evening)).toBe('2025-01-03');
  });

  it('keeps the previous day in progress until a cut-off after midnight has passed', () => {
    const berlin = schedule('Europe/Berlin', '02:00', true);
    expect(businessDateAt(at('2024-12-31T23:30:00Z'), berlin)).toBe('2024-12-31'); // 00:30 on 1 January
    expect(businessDateAt(at('2025-01-01T00:59:59.999Z'), berlin)).toBe('2024-12-31');
    expect(businessDateAt(at('2025-01-01T01:00:00Z'), berlin)).toBe('2025-01-01'); // the cut-off: the new day starts
    const shanghai = schedule('Asia/Shanghai', '01:00', true);
    expect(businessDateAt(at('2024-02-29T16:30:00Z'), shanghai)).toBe('2024-02-29'); // 00:30 on 1 March
    expect(businessDateAt(at('2024-02-29T17:00:00Z'), shanghai)).toBe('2024-03-01');
    const newYork = schedule('America/New_York', '02:00', true);
    expect(businessDateAt(at('2025-05-01T05:00:00Z'), newYork)).toBe('2025-04-30'); // 01:00 EDT
    expect(businessDateAt(at('2025-05-01T06:00:00Z'), newYork)).toBe('2025-05-01');
  });

  it('does not step back a day in the hour the clocks show twice, nor jump ahead in the hour they skip', () => {
    const berlin = schedule('Europe/Berlin', '02:30', true);
    expect(businessDateAt(at('2025-10-26T00:29:00Z'), berlin)).toBe('2025-10-25'); // 02:29 CEST
    expect(businessDateAt(at('2025-10-26T00:30:00Z'), berlin)).toBe('2025-10-26'); // 02:30 CEST: the cut-off
    expect(businessDateAt(at('2025-10-26T01:15:00Z'), berlin)).toBe('2025-10-26'); // 02:15 CET, the second pass
    // 2025-03-30: the slot of 02:30 is 03:30 CEST; at 03:10 CEST the 29th is still open.
    expect(businessDateAt(at('2025-03-30T01:10:00Z'), berlin)).toBe('2025-03-29');
    expect(businessDateAt(at('2025-03-30T01:30:00Z'), berlin)).toBe('2025-03-30');
  });
});
