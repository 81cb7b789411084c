import { Inject, Injectable } from '@nestjs/common';
import type { Actor } from '@recon/auth';
import type { Role } from '@recon/config';
import { enqueueEvents } from '@recon/messaging';
import { isCurrencyCode } from '@recon/money';
import { AuditRecorder, CLOCK, type Clock, ID_GENERATOR, type IdGenerator, TRANSACTIONS } from '@recon/platform';
import { queryRows, type SqlExecutor, type TransactionRunner } from '@recon/persistence';
import { z } from 'zod';
import { err, ok, type Result } from '../../journal/domain/journal.errors';

export const openAccountSchema = z
  .object({
    code: z.string().regex(/^[A-Za-z0-9._:/-]{1,100}$/, 'letters, digits and . _ : / - only, at most 100'),
    kind: z.enum(['custody', 'customer', 'own_funds', 'suspense']),
    currency: z.string().refine(isCurrencyCode, 'must be an ISO 4217 currency code'),
    name: z.string().min(1).max(200),
    custodyAccount: z.string().min(1).max(100).optional(),
    bankId: z.string().min(1).max(64).optional(),
    bankAccount: z.string().min(1).max(64).optional(),
    customerId: z.string().min(1).max(128).optional(),
    overdraftPermitted: z.boolean().default(false),
  })
  .strict()
  .superRefine((input, context) => {
    if (input.kind === 'custody') {
      if (input.bankId === undefined) context.addIssue({ code: 'custom', path: ['bankId'], message: 'a custody account names its bank' });
      if (input.bankAccount === undefined)
        context.addIssue({ code: 'custom', path: ['bankAccount'], message: 'a custody account names its account at the bank (IBAN or number)' });
      if (input.custodyAccount !== undefined) context.addIssue({ code: 'custom', path: ['custodyAccount'], message: 'a custody account has no parent' });
    } else if (input.custodyAccount === undefined) {
      context.addIssue({ code: 'custom', path: ['custodyAccount'], message: `a ${input.kind} account lives in a custody account` });
    }
  });

export type OpenAccountInput = z.output<typeof openAccountSchema>;

export interface AccountView {
  readonly accountId: string;
  readonly code: string;
  readonly kind: OpenAccountInput['kind'];
  readonly currency: string;
  readonly name: string;
  readonly custodyAccount?: string;
  readonly bankId?: string;
  readonly bankAccount?: string;
  readonly customerId?: string;
  readonly overdraftPermitted: boolean;
  readonly openedAt: string;
}

export type OpenAccountError =
  | { readonly code: 'ACCOUNT.CONFLICT'; readonly message: string }
  | { readonly code: 'ACCOUNT.CUSTODY_NOT_FOUND'; readonly message: string }
  | { readonly code: 'ACCOUNT.CURRENCY_MISMATCH'; readonly message: string };

interface AccountRow {
  account_id: string;
  code: string;
  kind: AccountView['kind'];
  currency: string;
  name: string;
  custody_code: string | null;
  bank_id: string | null;
  bank_account: string | null;
  customer_id: string | null;
  overdraft_permitted_at: Date | null;
  opened_at: Date;
}

const ACCOUNT_SELECT = `
  SELECT a.account_id, a.code, a.kind, a.currency, a.name, c.code AS custody_code, a.bank_id, a.bank_account, a.customer_id,
         a.overdraft_permitted_at, a.opened_at
    FROM accounts a LEFT JOIN accounts c ON c.account_id = a.custody_account_id`;

export async function findAccountViews(executor: SqlExecutor, where: string, params: unknown[]): Promise<AccountView[]> {
  const rows = await queryRows<AccountRow>(executor, `${ACCOUNT_SELECT} ${where}`, params);
  return rows.map((row) => ({
    accountId: row.account_id,
    code: row.code,
    kind: row.kind,
    currency: row.currency,
    name: row.name,
    ...(row.custody_code === null ? {} : { custodyAccount: row.custody_code }),
    ...(row.bank_id === null ? {} : { bankId: row.bank_id }),
    ...(row.bank_account === null ? {} : { bankAccount: row.bank_account }),
    ...(row.customer_id === null ? {} : { customerId: row.customer_id }),
    overdraftPermitted: row.overdraft_permitted_at !== null,
    openedAt: row.opened_at.toISOString(),
  }));
}

/**
 * Opens a custody account, or a customer / own-funds / suspense account inside one. Idempotent on the
 * account code: opening the same account again returns it; the same code with other attributes is a conflict.
 */
@Injectable()
export class OpenAccountUseCase {
  constructor(
    @Inject(TRANSACTIONS) private readonly transactions: TransactionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly audit: AuditRecorder,
  ) {}

  async execute(actor: Actor, role: Role | undefined, input: OpenAccountInput): Promise<Result<{ created: boolean; account: AccountView }, OpenAccountError>> {
    return this.transactions.transaction(async (executor) => {
      // Serialise openings of one code so that two concurrent identical requests give one account.
      await executor.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`account:${input.code}`]);
      const [existing] = await findAccountViews(executor, 'WHERE a.code = $1', [input.code]);
      if (existing !== undefined) {
        const same =
          existing.kind === input.kind &&
          existing.currency === input.currency &&
          existing.name === input.name &&
          existing.custodyAccount === input.custodyAccount &&
          existing.bankId === input.bankId &&
          existing.bankAccount === input.bankAccount &&
          existing.customerId === input.customerId &&
          existing.overdraftPermitted === input.overdraftPermitted;
        return same
          ? ok({ created: false, account: existing })
          : err({ code: 'ACCOUNT.CONFLICT', message: `account '${input.code}' already exists with other attributes` });
      }
      let custodyAccountId: string | null = null;
      if (input.custodyAccount !== undefined) {
        const [custody] = await findAccountViews(executor, `WHERE a.code = $1 AND a.kind = 'custody'`, [input.custodyAccount]);
        if (custody === undefined) return err({ code: 'ACCOUNT.CUSTODY_NOT_FOUND', message: `no custody account '${input.custodyAccount}'` });
        if (custody.currency !== input.currency) {
          return err({ code: 'ACCOUNT.CURRENCY_MISMATCH', message: `custody account '${custody.code}' holds ${custody.currency}, not ${input.currency}` });
        }
        custodyAccountId = custody.accountId;
      }
      if (input.kind === 'custody') {
        const clash = await queryRows(executor, `SELECT 1 FROM accounts WHERE kind = 'custody' AND bank_id = $1 AND bank_account = $2 AND currency = $3`, [
          input.bankId,
          input.bankAccount,
          input.currency,
        ]);
        if (clash.length > 0)
          return err({ code: 'ACCOUNT.CONFLICT', message: `bank account ${input.bankId}/${input.bankAccount} ${input.currency} is already a custody account` });
      }
      const accountId = this.ids.uuid();
      const openedAt = this.clock.now();
      await executor.query(
        `INSERT INTO accounts (account_id, code, kind, currency, name, custody_account_id, bank_id, bank_account, customer_id, overdraft_permitted_at, opened_at, opened_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
          accountId,
          input.code,
          input.kind,
          input.currency,
          input.name,
          custodyAccountId,
          input.bankId ?? null,
          input.bankAccount ?? null,
          input.customerId ?? null,
          input.overdraftPermitted ? openedAt : null,
          openedAt,
          actor.id,
        ],
      );
      await executor.query('INSERT INTO account_balances (account_id) VALUES ($1)', [accountId]);
      const [account] = await findAccountViews(executor, 'WHERE a.account_id = $1', [accountId]);
      if (account === undefined) throw new Error('account vanished');
      await enqueueEvents(executor, [
        {
          messageId: accountId,
          subject: 'ledger.account.opened',
          schemaVersion: 1,
          payload: {
            accountId,
            accountKind: input.kind,
            currency: input.currency,
            openedAt: openedAt.toISOString(),
            ...(custodyAccountId === null ? {} : { custodyAccountId }),
            ...(input.bankAccount === undefined ? {} : { bankAccount: input.bankAccount }),
            ...(input.customerId === undefined ? {} : { customerId: input.customerId }),
            name: input.name,
          },
        },
      ]);
      await this.audit.record(executor, {
        actor,
        role,
        action: 'account.open',
        entity: { type: 'account', id: accountId },
        after: account,
        details: { code: input.code, kind: input.kind },
      });
      return ok({ created: true, account });
    });
  }
}
