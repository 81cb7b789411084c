import { queryRows, type SqlExecutor } from '@recon/persistence';
import type { ReconciliationSettings } from '../../reconciliation.config';

export const RECONCILIATION_SETTINGS = Symbol('RECONCILIATION_SETTINGS');

export interface AccountSettings {
  readonly bankAccount: string;
  readonly graceDays: number;
  /** HH:MM in timeZone: when the bank's business day is over and the nightly run starts. */
  readonly cutOff: string;
  readonly timeZone: string;
}

export async function accountSettingsOf(executor: SqlExecutor, bankAccount: string, defaults: ReconciliationSettings): Promise<AccountSettings> {
  const rows = await queryRows<{ grace_days: number; cut_off: string; time_zone: string }>(
    executor,
    'SELECT grace_days, cut_off, time_zone FROM reconciliation_accounts WHERE bank_account = $1',
    [bankAccount],
  );
  const row = rows[0];
  return {
    bankAccount,
    graceDays: row?.grace_days ?? defaults.graceDaysDefault,
    cutOff: row?.cut_off ?? defaults.cutOffDefault,
    timeZone: row?.time_zone ?? defaults.timeZoneDefault,
  };
}

/** Every custody account the service knows, with its settings. */
export async function allAccountSettings(executor: SqlExecutor, defaults: ReconciliationSettings): Promise<AccountSettings[]> {
  const rows = await queryRows<{ bank_account: string }>(
    executor,
    'SELECT bank_account FROM custody_accounts UNION SELECT bank_account FROM reconciliation_accounts ORDER BY bank_account',
  );
  const settings: AccountSettings[] = [];
  for (const row of rows) settings.push(await accountSettingsOf(executor, row.bank_account, defaults));
  return settings;
}

/** The calendar date at an instant in a time zone: the business day a cut-off at that instant closes. */
export function calendarDateIn(instant: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(instant);
  const part = (type: string) => parts.find((item) => item.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/** `HH:MM` to the cron pattern of a daily job at that time. */
export function cronOfCutOff(cutOff: string): string {
  const [hours, minutes] = cutOff.split(':');
  return `${Number(minutes)} ${Number(hours)} * * *`;
}
