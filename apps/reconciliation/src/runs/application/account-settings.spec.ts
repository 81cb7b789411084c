import { calendarDateIn, cronOfCutOff } from './account-settings';

describe(calendarDateIn.name, () => {
  it('gives the business day in the account time zone, not in UTC', () => {
    const instant = new Date('2025-01-02T23:30:00.000Z');
    expect(calendarDateIn(instant, 'UTC')).toBe('2025-01-02');
    expect(calendarDateIn(instant, 'Asia/Shanghai')).toBe('2025-01-03');
    expect(calendarDateIn(instant, 'America/New_York')).toBe('2025-01-02');
  });
});

describe(cronOfCutOff.name, () => {
  it('runs daily at the cut-off minute', () => {
    expect(cronOfCutOff('18:05')).toBe('5 18 * * *');
    expect(cronOfCutOff('00:00')).toBe('0 0 * * *');
  });
});
