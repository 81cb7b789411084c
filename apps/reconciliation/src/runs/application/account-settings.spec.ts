import { cronOfCutOff } from './account-settings';

describe(cronOfCutOff.name, () => {
  it('runs daily at the cut-off minute', () => {
    expect(cronOfCutOff('18:05')).toBe('5 18 * * *');
    expect(cronOfCutOff('00:00')).toBe('0 0 * * *');
    expect(cronOfCutOff('02:30')).toBe('30 2 * * *');
  });
});
