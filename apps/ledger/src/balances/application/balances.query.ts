import { Inject, Injectable } from '@nestjs/common';
import { Money } from '@recon/money';
import { TRANSACTIONS } from '@recon/platform';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import { normalBalanceMinor } from '../../journal/domain/transaction';

export interface BalanceView {
  readonly account: string;
  readonly kind: 'custody' | 'customer' | 'own_funds' | 'suspense';
  readonly currency: string;
  /** On the account's normal side: custody debit-normal, every other kind credit-normal. */
  readonly balance: string;
  readonly debits: string;
  readonly credits: string;
  readonly asOfDate?: string;
  readonly asOfTime?: string;
}

export interface RequiredBalanceView {
  readonly custodyAccount: string;
  readonly bankId: string;
  readonly bankAccount: string;
  readonly currency: string;
  readonly asOfDate: string;
  /** What the ledger says the bank must hold: everything owed to customers plus the platform's own money. */
  readonly requiredBalance: string;
  /** The custody account's own ledger balance; differs from the required balance only on a ledger defect. */
  readonly ledgerBalance: string;
}

export type BalanceAsOf = { readonly date?: string; readonly time?: Date };

/**
 * Balances as of a value date (what had value by the end of that day) or as of an instant (what had been
 * posted by then), or both; without either, the running totals.
 */
@Injectable()
export class BalancesQuery {
  constructor(@Inject(TRANSACTIONS) private readonly db: TransactionRunner) {}

  async balanceOf(code: string, asOf: BalanceAsOf): Promise<BalanceView | undefined> {
    return this.db.transaction(async (executor) => {
      const [account] = await queryRows<{ account_id: string; kind: BalanceView['kind']; currency: string }>(
        executor,
        'SELECT account_id, kind, currency FROM accounts WHERE code = $1',
        [code],
      );
      if (account === undefined) return undefined;
      let totals: { debits_minor: string; credits_minor: string } | undefined;
      if (asOf.date === undefined && asOf.time === undefined) {
        [totals] = await queryRows(executor, 'SELECT debits_minor::text, credits_minor::text FROM account_balances WHERE account_id = $1', [
          account.account_id,
        ]);
      } else {
        [totals] = await queryRows(
          executor,
          `SELECT coalesce(sum(amount_minor) FILTER (WHERE side = 'debit'), 0)::text AS debits_minor,
                  coalesce(sum(amount_minor) FILTER (WHERE side = 'credit'), 0)::text AS credits_minor
             FROM postings
            WHERE account_id = $1 AND ($2::date IS NULL OR value_date <= $2::date) AND ($3::timestamptz IS NULL OR posted_at <= $3::timestamptz)`,
          [account.account_id, asOf.date ?? null, asOf.time?.toISOString() ?? null],
        );
      }
      const debitsMinor = BigInt(totals?.debits_minor ?? '0');
      const creditsMinor = BigInt(totals?.credits_minor ?? '0');
      return {
        account: code,
        kind: account.kind,
        currency: account.currency,
        balance: Money.of(normalBalanceMinor(account.kind, debitsMinor, creditsMinor), account.currency).toDecimalString(),
        debits: Money.of(debitsMinor, account.currency).toDecimalString(),
        credits: Money.of(creditsMinor, account.currency).toDecimalString(),
        ...(asOf.date === undefined ? {} : { asOfDate: asOf.date }),
        ...(asOf.time === undefined ? {} : { asOfTime: asOf.time.toISOString() }),
      };
    });
  }

  async requiredBalances(asOfDate: string, custodyCode?: string): Promise<RequiredBalanceView[]> {
    return this.db.transaction(async (executor) => {
      const rows = await queryRows<{ code: string; bank_id: string; bank_account: string; currency: string; owed_minor: string; ledger_minor: string }>(
        executor,
        `SELECT c.code, c.bank_id, c.bank_account, c.currency,
                coalesce((SELECT sum(CASE p.side WHEN 'credit' THEN p.amount_minor ELSE -p.amount_minor END)
                            FROM accounts s JOIN postings p ON p.account_id = s.account_id
                           WHERE s.custody_account_id = c.account_id AND p.value_date <= $1::date), 0)::text AS owed_minor,
                coalesce((SELECT sum(CASE p.side WHEN 'debit' THEN p.amount_minor ELSE -p.amount_minor END)
                            FROM postings p
                           WHERE p.account_id = c.account_id AND p.value_date <= $1::date), 0)::text AS ledger_minor
           FROM accounts c
          WHERE c.kind = 'custody' AND ($2::text IS NULL OR c.code = $2 OR c.bank_account = $2)
          ORDER BY c.code`,
        [asOfDate, custodyCode ?? null],
      );
      return rows.map((row) => ({
        custodyAccount: row.code,
        bankId: row.bank_id,
        bankAccount: row.bank_account,
        currency: row.currency,
        asOfDate,
        requiredBalance: Money.of(BigInt(row.owed_minor), row.currency).toDecimalString(),
        ledgerBalance: Money.of(BigInt(row.ledger_minor), row.currency).toDecimalString(),
      }));
    });
  }
}
