import { Body, Controller, Get, HttpCode, Inject, NotFoundException, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Actor, CurrentActor, Roles } from '@recon/auth';
import type { Role } from '@recon/config';
import { isIsoDate } from '@recon/matching';
import { TRANSACTIONS } from '@recon/platform';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import { z } from 'zod';
import { RunBusinessDayUseCase } from '../application/run-business-day.use-case';

const RUN_ROLES: Role[] = ['ops', 'service'];
const READ_ROLES: Role[] = ['ops', 'approver', 'auditor', 'service'];
export const RUNS_PAGE_SIZE_MAX = 200;

const accountSchema = z.string().regex(/^[A-Za-z0-9._:/ -]{1,64}$/, 'a bank account as the statements name it');
const dateSchema = z.string().refine(isIsoDate, 'must be a calendar date YYYY-MM-DD');
const startRunSchema = z.object({ custodyAccount: accountSchema, businessDate: dateSchema }).strict();
const listRunsSchema = z
  .object({ account: accountSchema.optional(), businessDate: dateSchema.optional(), limit: z.coerce.number().int().min(1).max(RUNS_PAGE_SIZE_MAX).default(50) })
  .strict();

interface RunRow {
  run_id: string;
  bank_account: string;
  business_date: string;
  trigger: string;
  requested_by: string;
  status: string;
  started_at: Date;
  finished_at: Date | null;
  result: Record<string, unknown> | null;
  error: string | null;
}

const RUN_COLUMNS = `run_id, bank_account, to_char(business_date, 'YYYY-MM-DD') AS business_date, trigger, requested_by, status, started_at, finished_at, result, error`;

function runView(row: RunRow) {
  return {
    runId: row.run_id,
    custodyAccount: row.bank_account,
    businessDate: row.business_date,
    trigger: row.trigger,
    requestedBy: row.requested_by,
    status: row.status,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    durationMs: row.finished_at === null ? null : row.finished_at.getTime() - row.started_at.getTime(),
    ...(row.result ?? {}),
    ...(row.error === null ? {} : { error: row.error }),
  };
}

@ApiTags('runs')
@Controller('v1/runs')
export class RunsHttpController {
  constructor(
    private readonly runBusinessDay: RunBusinessDayUseCase,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
  ) {}

  @Post()
  @Roles(...RUN_ROLES)
  @HttpCode(201)
  @ApiOperation({ summary: 'Run one business day of one custody account now (idempotent: a re-run opens no new breaks for the same findings)' })
  async start(@CurrentActor() actor: Actor, @Body() body: unknown) {
    const input = startRunSchema.parse(body);
    const runId = await this.runBusinessDay.execute({
      bankAccount: input.custodyAccount,
      businessDate: input.businessDate,
      trigger: 'api',
      actor,
      checks: true,
    });
    return this.get(runId);
  }

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Recent runs, newest first' })
  async list(@Query() query: unknown) {
    const filter = listRunsSchema.parse(query);
    const rows = await this.db.transaction((executor) =>
      queryRows<RunRow>(
        executor,
        `SELECT ${RUN_COLUMNS} FROM runs WHERE ($1::text IS NULL OR bank_account = $1) AND ($2::date IS NULL OR business_date = $2::date)
          ORDER BY started_at DESC, run_id DESC LIMIT $3`,
        [filter.account ?? null, filter.businessDate ?? null, filter.limit],
      ),
    );
    return { runs: rows.map(runView) };
  }

  @Get(':runId')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'One run: status, timings, counts per rule and break type, auto-match rate, rule version and input hashes' })
  async get(@Param('runId', new ParseUUIDPipe()) runId: string) {
    const rows = await this.db.transaction((executor) => queryRows<RunRow>(executor, `SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId]));
    const row = rows[0];
    if (row === undefined) throw new NotFoundException({ statusCode: 404, error: 'RUN.NOT_FOUND', message: `no run '${runId}'` });
    return runView(row);
  }
}
