import {
  Body,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  HttpException,
  Inject,
  NotFoundException,
  ConflictException,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Actor, CurrentActor, Roles } from '@recon/auth';
import type { Role } from '@recon/config';
import { BREAK_CATEGORIES, BREAK_TYPES, SEVERITIES } from '@recon/contracts';
import { isIsoDate } from '@recon/matching';
import { minorDigitsOf, parseDecimalToMinor } from '@recon/money';
import { CLOCK, type Clock, TRANSACTIONS } from '@recon/platform';
import type { TransactionRunner } from '@recon/persistence';
import { z } from 'zod';
import { ReconJobs } from '../../runs/infrastructure/recon-jobs';
import { BreakWorkflowUseCase, CANCEL_REASON_LENGTH_MAX, RESOLUTION_CODES, WorkflowError } from '../application/break-workflow.use-case';
import { BREAKS_PAGE_SIZE_MAX, BreaksQuery } from '../infrastructure/breaks.query';

const READ_ROLES: Role[] = ['ops', 'approver', 'auditor', 'service'];
const REVIEW_ROLES: Role[] = ['ops'];
const APPROVE_ROLES: Role[] = ['approver'];
/** Who may ask; which adjustment each may cancel is the use case's rule (a proposal: ops or approver; approved: approver). */
const CANCEL_ROLES: Role[] = ['ops', 'approver', 'admin'];
export const COMMENT_LENGTH_MAX = 2_000;
export const ADJUSTMENT_LINES_MAX = 20;

const decimalSchema = z.string().regex(/^\d{1,30}(\.\d{1,6})?$/, 'a non-negative decimal string such as 12.30');
const currencySchema = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code');
const listSchema = z
  .object({
    type: z.enum(BREAK_TYPES).optional(),
    category: z.enum(BREAK_CATEGORIES).optional(),
    severity: z.enum(SEVERITIES).optional(),
    status: z.enum(['open', 'assigned', 'resolved', 'closed']).optional(),
    account: z.string().min(1).max(64).optional(),
    currency: currencySchema.optional(),
    amountMin: decimalSchema.optional(),
    amountMax: decimalSchema.optional(),
    ageDaysMin: z.coerce.number().int().min(0).max(36_500).optional(),
    ageDaysMax: z.coerce.number().int().min(0).max(36_500).optional(),
    cursor: z.uuid().optional(),
    limit: z.coerce.number().int().min(1).max(BREAKS_PAGE_SIZE_MAX).default(50),
  })
  .strict()
  .refine((query) => (query.amountMin === undefined && query.amountMax === undefined) || query.currency !== undefined, {
    message: 'an amount range needs currency (amounts compare in its minor units)',
    path: ['currency'],
  });

const assignSchema = z.object({ assignee: z.string().regex(/^[A-Za-z0-9._@-]{1,128}$/, 'an identity') }).strict();
const commentSchema = z.object({ body: z.string().min(1).max(COMMENT_LENGTH_MAX) }).strict();
const cancelSchema = z.object({ reason: z.string().trim().min(1, 'a reason is required').max(CANCEL_REASON_LENGTH_MAX) }).strict();
const resolveSchema = z.object({ reasonCode: z.enum(RESOLUTION_CODES), note: z.string().max(COMMENT_LENGTH_MAX).optional() }).strict();
const adjustmentSchema = z
  .object({
    reasonCode: z.enum(RESOLUTION_CODES).default('adjusted_in_ledger'),
    transaction: z
      .object({
        valueDate: z.string().refine(isIsoDate, 'must be a calendar date YYYY-MM-DD'),
        reference: z.string().max(140).default(''),
        description: z.string().max(500).optional(),
        lines: z
          .array(
            z
              .object({
                account: z.string().regex(/^[A-Za-z0-9._:/-]{1,100}$/),
                side: z.enum(['debit', 'credit']),
                amount: decimalSchema,
                currency: currencySchema,
              })
              .strict(),
          )
          .min(2)
          .max(ADJUSTMENT_LINES_MAX),
      })
      .strict(),
  })
  .strict();

export function toHttpError(error: unknown): unknown {
  if (!(error instanceof WorkflowError)) return error;
  const body = { error: error.code, message: error.message };
  switch (error.code) {
    case 'BREAK.NOT_FOUND':
    case 'ADJUSTMENT.NOT_FOUND':
      return new NotFoundException({ statusCode: 404, ...body });
    case 'BREAK.CLOSED':
    case 'ADJUSTMENT.NOT_PROPOSED':
    case 'ADJUSTMENT.POSTED':
    case 'ADJUSTMENT.POSTING_OUTCOME_UNKNOWN':
    case 'ADJUSTMENT.NOT_CANCELLABLE':
      return new ConflictException({ statusCode: 409, ...body });
    case 'ADJUSTMENT.FOUR_EYES':
    case 'ADJUSTMENT.CANCEL_FORBIDDEN':
      return new ForbiddenException({ statusCode: 403, ...body });
    default:
      return new HttpException(body, 500);
  }
}

async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toHttpError(error);
  }
}

@ApiTags('breaks')
@Controller('v1')
export class BreaksHttpController {
  private readonly query = new BreaksQuery();

  constructor(
    private readonly workflow: BreakWorkflowUseCase,
    private readonly jobs: ReconJobs,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('breaks')
  @Roles(...READ_ROLES)
  @ApiOperation({
    summary: 'Breaks, newest first, filtered by type, category, severity, status, account, amount range (with currency) and age in days; cursor pagination',
  })
  async list(@Query() raw: unknown) {
    const filter = listSchema.parse(raw);
    const digits = filter.currency === undefined ? 0 : minorDigitsOf(filter.currency);
    return this.db.transaction((executor) =>
      this.query.page(executor, {
        ...filter,
        amountMinMinor: filter.amountMin === undefined ? undefined : parseDecimalToMinor(filter.amountMin, digits, { allowTrailingZeros: true }),
        amountMaxMinor: filter.amountMax === undefined ? undefined : parseDecimalToMinor(filter.amountMax, digits, { allowTrailingZeros: true }),
        now: this.clock.now(),
      }),
    );
  }

  @Get('breaks/:breakId')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'One break with both sides in full, its comments and adjustments' })
  async get(@Param('breakId', new ParseUUIDPipe()) breakId: string) {
    const view = await this.db.transaction((executor) => this.query.one(executor, breakId, this.clock.now()));
    if (view === undefined) throw new NotFoundException({ statusCode: 404, error: 'BREAK.NOT_FOUND', message: `no break '${breakId}'` });
    return view;
  }

  @Post('breaks/:breakId/assign')
  @Roles(...REVIEW_ROLES)
  @HttpCode(200)
  async assign(@CurrentActor() actor: Actor, @Param('breakId', new ParseUUIDPipe()) breakId: string, @Body() body: unknown) {
    const input = assignSchema.parse(body);
    await mapped(() => this.workflow.assign(actor, REVIEW_ROLES, breakId, input.assignee));
    return this.get(breakId);
  }

  @Post('breaks/:breakId/comments')
  @Roles(...REVIEW_ROLES, 'approver')
  @HttpCode(201)
  async comment(@CurrentActor() actor: Actor, @Param('breakId', new ParseUUIDPipe()) breakId: string, @Body() body: unknown) {
    const input = commentSchema.parse(body);
    const commentId = await mapped(() => this.workflow.comment(actor, [...REVIEW_ROLES, 'approver'], breakId, input.body));
    return { commentId };
  }

  @Post('breaks/:breakId/resolve')
  @Roles(...REVIEW_ROLES)
  @HttpCode(200)
  @ApiOperation({ summary: 'Resolve without moving money, with a reason code; money-moving resolutions go through adjustments' })
  async resolve(@CurrentActor() actor: Actor, @Param('breakId', new ParseUUIDPipe()) breakId: string, @Body() body: unknown) {
    const input = resolveSchema.parse(body);
    await mapped(() => this.workflow.resolve(actor, REVIEW_ROLES, breakId, input.reasonCode, input.note));
    return this.get(breakId);
  }

  @Post('breaks/:breakId/adjustments')
  @Roles(...REVIEW_ROLES)
  @HttpCode(201)
  @ApiOperation({ summary: 'Propose a ledger adjustment resolving the break; it takes effect only when a different person with approver approves it' })
  async propose(@CurrentActor() actor: Actor, @Param('breakId', new ParseUUIDPipe()) breakId: string, @Body() body: unknown) {
    const input = adjustmentSchema.parse(body);
    const adjustmentId = await mapped(() =>
      this.workflow.proposeAdjustment(
        actor,
        REVIEW_ROLES,
        breakId,
        { kind: 'adjustment', ...input.transaction, lines: input.transaction.lines },
        input.reasonCode,
      ),
    );
    return this.adjustment(adjustmentId);
  }

  @Post('adjustments/:adjustmentId/approve')
  @Roles(...APPROVE_ROLES)
  @HttpCode(200)
  @ApiOperation({ summary: 'Approve (four eyes: never the proposer) and post the adjustment to the ledger; retried while the ledger is unreachable' })
  async approve(@CurrentActor() actor: Actor, @Param('adjustmentId', new ParseUUIDPipe()) adjustmentId: string) {
    await mapped(() => this.workflow.approveAdjustment(actor, APPROVE_ROLES, adjustmentId));
    await this.jobs.enqueueAdjustmentPosting(adjustmentId);
    return this.adjustment(adjustmentId);
  }

  @Post('adjustments/:adjustmentId/cancel')
  @Roles(...CANCEL_ROLES)
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Cancel an adjustment that will not be posted, with a reason: a proposal (its proposer, ops or an approver), or an approved one not posted (approver or admin) whose posting has not started or was refused by the ledger; never a posted one. Idempotent; a break its approval resolved is open again',
  })
  async cancel(@CurrentActor() actor: Actor, @Param('adjustmentId', new ParseUUIDPipe()) adjustmentId: string, @Body() body: unknown) {
    const input = cancelSchema.parse(body);
    await mapped(() => this.workflow.cancelAdjustment(actor, adjustmentId, input.reason));
    return this.adjustment(adjustmentId);
  }

  @Get('adjustments/:adjustmentId')
  @Roles(...READ_ROLES)
  async adjustment(@Param('adjustmentId', new ParseUUIDPipe()) adjustmentId: string) {
    const view = await this.db.transaction((executor) => this.query.adjustment(executor, adjustmentId));
    if (view === undefined) throw new NotFoundException({ statusCode: 404, error: 'ADJUSTMENT.NOT_FOUND', message: `no adjustment '${adjustmentId}'` });
    return view;
  }
}
