import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { type Actor, CurrentActor, effectiveRole, Roles } from '@recon/auth';
import type { Role } from '@recon/config';
import { minorDigitsOf, allCurrencyCodes } from '@recon/money';
import { AuditRecorder, DATA_SOURCE, TRANSACTIONS } from '@recon/platform';
import type { TransactionRunner } from '@recon/persistence';
import type { Response } from 'express';
import type { Pool, PoolClient } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { pipeline } from 'node:stream/promises';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import { BalancesQuery } from '../../balances/application/balances.query';
import { isCalendarDate } from '../../journal/domain/transaction';

const EXPORT_ROLES: Role[] = ['service', 'ops', 'auditor'];
const dateSchema = z.string().refine(isCalendarDate, 'must be a calendar date YYYY-MM-DD');
const accountSchema = z.string().regex(/^[A-Za-z0-9._:/-]{1,100}$/, 'an account code or bank account');

const ledgerQuerySchema = z.object({ from: dateSchema, to: dateSchema, account: accountSchema.optional() }).strict();
const balancesQuerySchema = z.object({ asOf: dateSchema, account: accountSchema.optional() }).strict();

/** Column order of CONTRACT.md's ledger CSV. */
export const LEDGER_CSV_COLUMNS = [
  'entry_id',
  'account',
  'amount',
  'currency',
  'value_date',
  'reference',
  'sub_account',
  'booking_date',
  'description',
  'kind',
  'batch_reference',
];

/**
 * The ledger's side of a reconciliation in CONTRACT.md's formats. The ledger CSV streams straight out of
 * Postgres with COPY, so a million rows never sit in this process's memory.
 */
@ApiTags('exports')
@Controller('v1/exports')
export class ExportsHttpController {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    private readonly balances: BalancesQuery,
    private readonly audit: AuditRecorder,
  ) {}

  @Get('ledger.csv')
  @Roles(...EXPORT_ROLES)
  @ApiProduces('text/csv')
  @ApiOperation({ summary: 'Ledger entries on custody accounts with value dates in [from, to], one row per custody posting' })
  async ledger(@CurrentActor() actor: Actor, @Query() query: unknown, @Res() response: Response): Promise<void> {
    const filter = ledgerQuerySchema.parse(query);
    await this.recordExport(actor, 'export.ledger', filter);
    const pool = (this.dataSource.driver as unknown as { master: Pool }).master;
    const client: PoolClient = await pool.connect();
    try {
      const sql = ledgerCopySql(client, filter.from, filter.to, filter.account);
      response.status(200).type('text/csv; charset=utf-8').setHeader('Content-Disposition', `attachment; filename="ledger-${filter.from}-${filter.to}.csv"`);
      await pipeline(client.query(copyTo(sql)), response);
    } finally {
      client.release();
    }
  }

  @Get('balances.csv')
  @Roles(...EXPORT_ROLES)
  @ApiProduces('text/csv')
  @ApiOperation({ summary: 'account,currency,as_of,balance: what each custody account must hold at the end of asOf' })
  async balancesCsv(@CurrentActor() actor: Actor, @Query() query: unknown, @Res() response: Response): Promise<void> {
    const filter = balancesQuerySchema.parse(query);
    await this.recordExport(actor, 'export.balances', filter);
    const rows = await this.balances.requiredBalances(filter.asOf, filter.account);
    const lines = [
      'account,currency,as_of,balance',
      ...rows.map((row) => [row.bankAccount, row.currency, row.asOfDate, row.requiredBalance].map(csvField).join(',')),
    ];
    response
      .status(200)
      .type('text/csv; charset=utf-8')
      .send(`${lines.join('\n')}\n`);
  }

  private async recordExport(actor: Actor, action: string, filter: Record<string, string | undefined>): Promise<void> {
    await this.db.transaction((executor) =>
      this.audit.record(executor, {
        actor,
        role: effectiveRole(actor, EXPORT_ROLES),
        action,
        entity: { type: 'export', id: Object.values(filter).filter(Boolean).join(':') },
        details: Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== undefined)) as Record<string, string>,
      }),
    );
  }
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * COPY takes no bind parameters, so values are escaped by the driver's own literal escaping after
 * validation. Amounts are formatted in SQL with each currency's ISO 4217 digits, exactly.
 */
function ledgerCopySql(client: PoolClient, from: string, to: string, account: string | undefined): string {
  const digits = allCurrencyCodes()
    .map((code) => `(${client.escapeLiteral(code)}, ${minorDigitsOf(code)})`)
    .join(', ');
  const accountFilter = account === undefined ? '' : `AND (c.code = ${client.escapeLiteral(account)} OR c.bank_account = ${client.escapeLiteral(account)})`;
  return `COPY (
    SELECT p.transaction_id::text || ':' || p.line_no AS entry_id,
           c.bank_account AS account,
           round((CASE p.side WHEN 'debit' THEN p.amount_minor ELSE -p.amount_minor END) / power(10::numeric, d.digits), d.digits)::text AS amount,
           p.currency,
           to_char(p.value_date, 'YYYY-MM-DD') AS value_date,
           t.reference,
           sub.code AS sub_account,
           to_char(p.posted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS booking_date,
           t.description,
           t.kind,
           t.batch_reference
      FROM postings p
      JOIN accounts c ON c.account_id = p.account_id AND c.kind = 'custody'
      JOIN transactions t ON t.transaction_id = p.transaction_id
      JOIN (VALUES ${digits}) AS d (currency, digits) ON d.currency = p.currency
      LEFT JOIN LATERAL (
        SELECT a.code FROM postings q JOIN accounts a ON a.account_id = q.account_id
         WHERE q.transaction_id = p.transaction_id AND a.kind = 'customer'
         ORDER BY q.line_no LIMIT 1) AS sub ON true
     WHERE p.value_date BETWEEN ${client.escapeLiteral(from)}::date AND ${client.escapeLiteral(to)}::date ${accountFilter}
     ORDER BY t.position, p.line_no
  ) TO STDOUT WITH (FORMAT csv, HEADER true)`;
}
