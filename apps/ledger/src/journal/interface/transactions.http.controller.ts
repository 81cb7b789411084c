import { Body, Controller, Get, Headers, HttpCode, NotFoundException, Param, ParseUUIDPipe, Post, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Actor, CurrentActor, effectiveRole, Roles } from '@recon/auth';
import type { Role } from '@recon/config';
import { Inject } from '@nestjs/common';
import { TRANSACTIONS } from '@recon/platform';
import type { TransactionRunner } from '@recon/persistence';
import type { Response } from 'express';
import { z } from 'zod';
import { isCalendarDate, transactionInputSchema } from '../domain/transaction';
import { POST_BATCH_SIZE_MAX, type PostedItem, PostTransactionsUseCase } from '../application/post-transactions.use-case';
import { ReverseTransactionUseCase } from '../application/reverse-transaction.use-case';
import { JournalPgRepository } from '../infrastructure/journal.pg.repository';
import { requireIdempotencyKey } from './idempotency-key';
import { toHttpException } from './journal-error.http';

const POSTING_ROLES: Role[] = ['service'];
const READING_ROLES: Role[] = ['service', 'ops', 'approver', 'auditor'];

const batchSchema = z
  .object({
    transactions: z
      .array(z.object({ idempotencyKey: z.string().regex(/^[\x21-\x7e]{1,200}$/, 'must be 1 to 200 visible ASCII characters') }).passthrough())
      .min(1)
      .max(POST_BATCH_SIZE_MAX),
  })
  .strict();

const reversalSchema = z
  .object({
    valueDate: z.string().refine(isCalendarDate, 'must be a calendar date YYYY-MM-DD').optional(),
    description: z.string().max(500).optional(),
  })
  .strict();

const TRANSACTION_EXAMPLE = {
  kind: 'deposit',
  valueDate: '2025-01-02',
  reference: 'PLAT-D-000123',
  lines: [
    { account: 'custody:eur', side: 'debit', amount: '100.00', currency: 'EUR' },
    { account: 'customer:c-42', side: 'credit', amount: '100.00', currency: 'EUR' },
  ],
};

@ApiTags('transactions')
@Controller('v1/transactions')
export class TransactionsHttpController {
  private readonly journal = new JournalPgRepository();

  constructor(
    private readonly postTransactions: PostTransactionsUseCase,
    private readonly reverseTransaction: ReverseTransactionUseCase,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
  ) {}

  @Post()
  @Roles(...POSTING_ROLES)
  @ApiOperation({ summary: 'Post one balanced transaction (201 created, 200 replayed for a repeated Idempotency-Key)' })
  @ApiHeader({ name: 'Idempotency-Key', required: true })
  @ApiBody({ schema: { example: TRANSACTION_EXAMPLE } })
  async post(
    @CurrentActor() actor: Actor,
    @Headers('idempotency-key') keyHeader: string | undefined,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ) {
    const idempotencyKey = requireIdempotencyKey(keyHeader);
    const input = transactionInputSchema.parse(body);
    const result = await this.postTransactions.execute({
      actor,
      role: effectiveRole(actor, POSTING_ROLES),
      items: [{ idempotencyKey, input }],
      withViews: true,
    });
    if (!result.ok) throw toHttpException(result.error);
    const [item] = result.value as [PostedItem];
    response.status(item.status === 'created' ? 201 : 200);
    return item.transaction;
  }

  @Post('batch')
  @Roles(...POSTING_ROLES)
  @ApiOperation({ summary: `Post up to ${POST_BATCH_SIZE_MAX} transactions atomically, each with its own idempotencyKey` })
  @ApiBody({ schema: { example: { transactions: [{ idempotencyKey: 'dep-000123', ...TRANSACTION_EXAMPLE }] } } })
  @HttpCode(200)
  async postBatch(@CurrentActor() actor: Actor, @Body() body: unknown) {
    const batch = batchSchema.parse(body);
    const items = batch.transactions.map(({ idempotencyKey, ...rest }, index) => {
      const parsed = transactionInputSchema.safeParse(rest);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new z.ZodError([{ ...issue, path: ['transactions', index, ...(issue?.path ?? [])] } as z.core.$ZodIssue]);
      }
      return { idempotencyKey, input: parsed.data };
    });
    const result = await this.postTransactions.execute({ actor, role: effectiveRole(actor, POSTING_ROLES), items, withViews: false });
    if (!result.ok) throw toHttpException(result.error);
    return {
      created: result.value.filter((item) => item.status === 'created').length,
      replayed: result.value.filter((item) => item.status === 'replayed').length,
      results: result.value.map((item) => ({ status: item.status, transactionId: item.transactionId, idempotencyKey: item.idempotencyKey })),
    };
  }

  @Post(':transactionId/reversal')
  @Roles(...POSTING_ROLES)
  @ApiOperation({ summary: 'Reverse a posted transaction by a new transaction with every line on the other side' })
  @ApiHeader({ name: 'Idempotency-Key', required: true })
  async reverse(
    @CurrentActor() actor: Actor,
    @Headers('idempotency-key') keyHeader: string | undefined,
    @Param('transactionId', new ParseUUIDPipe()) transactionId: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ) {
    const idempotencyKey = requireIdempotencyKey(keyHeader);
    const input = reversalSchema.parse(body ?? {});
    const result = await this.reverseTransaction.execute({
      actor,
      role: effectiveRole(actor, POSTING_ROLES),
      idempotencyKey,
      transactionId,
      valueDate: input.valueDate,
      description: input.description,
    });
    if (!result.ok) throw toHttpException(result.error);
    response.status(result.value.status === 'created' ? 201 : 200);
    return result.value.transaction;
  }

  @Get(':transactionId')
  @Roles(...READING_ROLES)
  @ApiOperation({ summary: 'One transaction with its lines' })
  async get(@Param('transactionId', new ParseUUIDPipe()) transactionId: string) {
    const view = await this.db.transaction(async (executor) => (await this.journal.loadViews(executor, [transactionId])).get(transactionId));
    if (view === undefined)
      throw new NotFoundException({ statusCode: 404, error: 'JOURNAL.TRANSACTION_NOT_FOUND', message: `no transaction '${transactionId}'` });
    return view;
  }
}
