import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Get,
  Inject,
  NotFoundException,
  Param,
  Post,
  Query,
  Res,
  UnprocessableEntityException,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Actor, CurrentActor, effectiveRole, Roles } from '@recon/auth';
import type { Role } from '@recon/config';
import { TRANSACTIONS } from '@recon/platform';
import type { TransactionRunner } from '@recon/persistence';
import type { Response } from 'express';
import { z } from 'zod';
import { assertUnreachable } from '../../journal/domain/journal.errors';
import { isCalendarDate } from '../../journal/domain/transaction';
import { BalancesQuery } from '../../balances/application/balances.query';
import { findAccountViews, openAccountSchema, OpenAccountUseCase, type OpenAccountError } from '../application/open-account.use-case';

const OPENING_ROLES: Role[] = ['service'];
const READING_ROLES: Role[] = ['service', 'ops', 'approver', 'auditor'];
export const ACCOUNTS_PAGE_SIZE_MAX = 500;

const listQuerySchema = z
  .object({
    kind: z.enum(['custody', 'customer', 'own_funds', 'suspense']).optional(),
    custodyAccount: z.string().max(100).optional(),
    after: z.string().max(100).optional(),
    limit: z.coerce.number().int().min(1).max(ACCOUNTS_PAGE_SIZE_MAX).default(100),
  })
  .strict();

const balanceQuerySchema = z
  .object({
    asOfDate: z.string().refine(isCalendarDate, 'must be a calendar date YYYY-MM-DD').optional(),
    asOfTime: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

function toHttp(error: OpenAccountError) {
  switch (error.code) {
    case 'ACCOUNT.CONFLICT':
      return new ConflictException({ statusCode: 409, error: error.code, message: error.message });
    case 'ACCOUNT.CUSTODY_NOT_FOUND':
    case 'ACCOUNT.CURRENCY_MISMATCH':
      return new UnprocessableEntityException({ statusCode: 422, error: error.code, message: error.message });
    default:
      return assertUnreachable(error);
  }
}

@ApiTags('accounts')
@Controller('v1/accounts')
export class AccountsHttpController {
  constructor(
    private readonly openAccount: OpenAccountUseCase,
    private readonly balances: BalancesQuery,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
  ) {}

  @Post()
  @Roles(...OPENING_ROLES)
  @ApiOperation({ summary: 'Open a custody account, or a customer / own-funds / suspense account inside one (idempotent on code)' })
  @ApiBody({
    schema: {
      example: { code: 'custody:eur', kind: 'custody', currency: 'EUR', name: 'FBO EUR', bankId: 'COBADEFFXXX', bankAccount: 'DE89370400440532013000' },
    },
  })
  async open(@CurrentActor() actor: Actor, @Body() body: unknown, @Res({ passthrough: true }) response: Response) {
    const result = await this.openAccount.execute(actor, effectiveRole(actor, OPENING_ROLES), openAccountSchema.parse(body));
    if (!result.ok) throw toHttp(result.error);
    response.status(result.value.created ? 201 : 200);
    return result.value.account;
  }

  @Get()
  @Roles(...READING_ROLES)
  @ApiOperation({ summary: 'Accounts in code order; pass the last code as `after` for the next page' })
  async list(@Query() query: unknown) {
    const filter = listQuerySchema.parse(query);
    const accounts = await this.db.transaction((executor) =>
      findAccountViews(
        executor,
        `WHERE ($1::text IS NULL OR a.kind = $1) AND ($2::text IS NULL OR c.code = $2) AND ($3::text IS NULL OR a.code > $3) ORDER BY a.code LIMIT $4`,
        [filter.kind ?? null, filter.custodyAccount ?? null, filter.after ?? null, filter.limit],
      ),
    );
    return { accounts, nextAfter: accounts.length === filter.limit ? accounts.at(-1)?.code : undefined };
  }

  @Get(':code')
  @Roles(...READING_ROLES)
  async get(@Param('code') code: string) {
    const [account] = await this.db.transaction((executor) => findAccountViews(executor, 'WHERE a.code = $1', [code]));
    if (account === undefined) throw new NotFoundException({ statusCode: 404, error: 'ACCOUNT.NOT_FOUND', message: `no account '${code}'` });
    return account;
  }

  @Get(':code/balance')
  @Roles(...READING_ROLES)
  @ApiOperation({ summary: 'Balance now, as of a value date (asOfDate), as of a posting instant (asOfTime), or both' })
  async balance(@Param('code') code: string, @Query() query: unknown) {
    const asOf = balanceQuerySchema.parse(query);
    const time = asOf.asOfTime === undefined ? undefined : new Date(asOf.asOfTime);
    const view = await this.balances.balanceOf(code, {
      ...(asOf.asOfDate === undefined ? {} : { date: asOf.asOfDate }),
      ...(time === undefined ? {} : { time }),
    });
    if (view === undefined) throw new NotFoundException({ statusCode: 404, error: 'ACCOUNT.NOT_FOUND', message: `no account '${code}'` });
    return view;
  }

  @Get(':code/required-balance')
  @Roles(...READING_ROLES)
  @ApiOperation({ summary: "What the bank must hold in this custody account at the end of asOfDate, by the ledger's books" })
  async requiredBalance(@Param('code') code: string, @Query('asOfDate') asOfDate: string | undefined) {
    if (asOfDate === undefined || !isCalendarDate(asOfDate))
      throw new BadRequestException({ statusCode: 400, error: 'invalid_request', message: 'asOfDate: must be a calendar date YYYY-MM-DD' });
    const [view] = await this.balances.requiredBalances(asOfDate, code);
    if (view === undefined) throw new NotFoundException({ statusCode: 404, error: 'ACCOUNT.NOT_FOUND', message: `no custody account '${code}'` });
    return view;
  }
}
