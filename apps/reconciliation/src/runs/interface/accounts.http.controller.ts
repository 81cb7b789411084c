import { Body, Controller, Get, Inject, Param, Put } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Actor, CurrentActor, effectiveRole, Roles } from '@recon/auth';
import type { Role } from '@recon/config';
import { AuditRecorder, CLOCK, type Clock, TRANSACTIONS } from '@recon/platform';
import type { TransactionRunner } from '@recon/persistence';
import { z } from 'zod';
import { GRACE_DAYS_MAX, isTimeZone, type ReconciliationSettings } from '../../reconciliation.config';
import { accountSettingsOf, RECONCILIATION_SETTINGS } from '../application/account-settings';
import { isPreviousDayCutOff, PREVIOUS_DAY_CUT_OFF_BEFORE } from '../domain/business-day';
import { ReconJobs } from '../infrastructure/recon-jobs';

const SETTINGS_ROLES: Role[] = ['admin'];
const READ_ROLES: Role[] = ['ops', 'approver', 'auditor', 'admin', 'service'];
const accountSchema = z.string().regex(/^[A-Za-z0-9._:/ -]{1,64}$/, 'a bank account as the statements name it');
const settingsSchema = z
  .object({
    graceDays: z.number().int().min(0).max(GRACE_DAYS_MAX),
    cutOff: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day HH:MM'),
    timeZone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Berlin'),
    /** The cut-off is after midnight and closes the previous calendar day; omitted: it closes its own day. */
    closesPreviousDay: z.boolean().default(false),
  })
  .strict()
  .refine((input) => !input.closesPreviousDay || isPreviousDayCutOff(input.cutOff), {
    message: `a cut-off that closes the previous day is after midnight and before ${PREVIOUS_DAY_CUT_OFF_BEFORE}`,
    path: ['cutOff'],
  });

@ApiTags('accounts')
@Controller('v1/accounts')
export class AccountsHttpController {
  constructor(
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(RECONCILIATION_SETTINGS) private readonly settings: ReconciliationSettings,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly audit: AuditRecorder,
    private readonly jobs: ReconJobs,
  ) {}

  @Get(':bankAccount/settings')
  @Roles(...READ_ROLES)
  async get(@Param('bankAccount') bankAccount: string) {
    const account = accountSchema.parse(bankAccount);
    return this.db.transaction((executor) => accountSettingsOf(executor, account, this.settings));
  }

  @Put(':bankAccount/settings')
  @Roles(...SETTINGS_ROLES)
  @ApiOperation({
    summary:
      "A custody account's grace window (days) and the bank's cut-off (time of day in its time zone) that schedules the nightly run; closesPreviousDay: a cut-off after midnight closes the previous day",
  })
  async put(@CurrentActor() actor: Actor, @Param('bankAccount') bankAccount: string, @Body() body: unknown) {
    const account = accountSchema.parse(bankAccount);
    const input = settingsSchema.parse(body);
    const saved = await this.db.transaction(async (executor) => {
      const before = await accountSettingsOf(executor, account, this.settings);
      await executor.query(
        `INSERT INTO reconciliation_accounts (bank_account, grace_days, cut_off, time_zone, closes_previous_day, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (bank_account) DO UPDATE SET grace_days = $2, cut_off = $3, time_zone = $4, closes_previous_day = $5, updated_at = $6, updated_by = $7`,
        [account, input.graceDays, input.cutOff, input.timeZone, input.closesPreviousDay, this.clock.now(), actor.id],
      );
      const after = { bankAccount: account, ...input };
      await this.audit.record(executor, {
        actor,
        role: effectiveRole(actor, SETTINGS_ROLES),
        action: 'account.configure',
        entity: { type: 'account', id: account },
        before,
        after,
        details: input,
      });
      return after;
    });
    await this.jobs.scheduleNightly(saved);
    return saved;
  }
}
