import { queryRows, type SqlExecutor } from '@recon/persistence';
import type { ReconciliationSettings } from '../../reconciliation.config';
import type { CutOffSchedule } from '../domain/business-day';

export const RECONCILIATION_SETTINGS = Symbol('RECONCILIATION_SETTINGS');

export interface AccountSettings extends CutOffSchedule {
  readonly bankAccount: string;
  readonly graceDays: number;
  /** HH:MM in timeZone: when the bank's business day is over and the nightly run starts. */
  readonly cutOff: string;
  readonly timeZone: string;
  /** The cut-off is after midnight and closes the previous calendar day (a bank whose day ends at 02:00). */
  readonly closesPreviousDay: boolean;
}

export async function accountSettingsOf(executor: SqlExecutor, bankAccount: string, defaults: ReconciliationSettings): Promise<AccountSettings> {
  const rows = await queryRows<{ grace_days: number; cut_off: string; time_zone: string; closes_previous_day: boolean }>(
    executor,
    'SELECT grace_days, cut_off, time_zone, closes_previous_day FROM reconciliation_accounts WHERE bank_account = $1',
    [bankAccount],
  );
  const row = rows[0];
  return {
    bankAccount,
    graceDays: row?.grace_days ?? defaults.graceDaysDefault,
    cutOff: row?.cut_off ?? defaults.cutOffDefault,
    timeZone: row?.time_zone ?? defaults.timeZoneDefault,
    // A stored cut-off comes with its own setting (false for rows written before the setting existed).
    closesPreviousDay: row === undefined ? defaults.cutOffClosesPreviousDayDefault : row.closes_previous_day,
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

/** `HH:MM` to the cron pattern of a daily job at that time. */
export function cronOfCutOff(cutOff: string): string {
  const [hours, minutes] = cutOff.split(':');
  return `${Number(minutes)} ${Number(hours)} * * *`;
}
