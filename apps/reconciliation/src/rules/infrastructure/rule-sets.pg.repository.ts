import { queryRows, type SqlExecutor } from '@recon/persistence';
import type { BankItemRecord, LedgerItemRecord } from '../../items/domain/recon-items';

/** Items per side a preview reads for one account and day (the nightly run's own limit is 200,000 open items). */
export const PREVIEW_ITEMS_PER_SIDE_MAX = 200_000;
export const RULE_SET_VERSIONS_PAGE_SIZE_MAX = 200;

export interface RuleSetVersionRow {
  version: string;
  rules_hash: string;
  source_format: 'yaml' | 'json' | 'built-in';
  created_at: Date;
  created_by: string;
}

export interface StoredRuleSetVersionRow extends RuleSetVersionRow {
  canonical_json: string;
}

export interface ActivationRow {
  activation_no: string;
  activation_id: string;
  version: string;
  rules_hash: string;
  previous_version: string | null;
  activated_at: Date;
  activated_by: string;
}

const VERSION_COLUMNS = 'version, rules_hash, source_format, created_at, created_by';

/** The rule set tables of migration 0005: versions are only ever inserted, activations only appended. */
export class RuleSetsPgRepository {
  /** The activation in force (the latest), with its version's hash: one row through the primary key, no rule set text. */
  async latestActivation(executor: SqlExecutor): Promise<ActivationRow | undefined> {
    const rows = await queryRows<ActivationRow>(
      executor,
      `SELECT a.activation_no::text AS activation_no, a.activation_id::text AS activation_id, a.version, v.rules_hash, a.previous_version, a.activated_at, a.activated_by
         FROM rule_set_activations a JOIN rule_set_versions v ON v.version = a.version
        ORDER BY a.activation_no DESC LIMIT 1`,
    );
    return rows[0];
  }

  async version(executor: SqlExecutor, version: string): Promise<StoredRuleSetVersionRow | undefined> {
    const rows = await queryRows<StoredRuleSetVersionRow>(executor, `SELECT ${VERSION_COLUMNS}, canonical_json FROM rule_set_versions WHERE version = $1`, [
      version,
    ]);
    return rows[0];
  }

  /** Newest first. */
  async versions(executor: SqlExecutor, limit: number): Promise<RuleSetVersionRow[]> {
    return queryRows<RuleSetVersionRow>(executor, `SELECT ${VERSION_COLUMNS} FROM rule_set_versions ORDER BY created_at DESC, version LIMIT $1`, [limit]);
  }

  /** Stores a version unless its name is taken (then nothing is written and false is returned: the caller compares). */
  async insertVersion(executor: SqlExecutor, row: StoredRuleSetVersionRow): Promise<boolean> {
    const inserted = await queryRows<{ version: string }>(
      executor,
      `INSERT INTO rule_set_versions (version, canonical_json, rules_hash, source_format, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (version) DO NOTHING RETURNING version`,
      [row.version, row.canonical_json, row.rules_hash, row.source_format, row.created_at, row.created_by],
    );
    return inserted.length === 1;
  }

  /** Serialises activations (of this schema) for the rest of the transaction: each sees the one before it. */
  async lockActivations(executor: SqlExecutor): Promise<void> {
    await executor.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':rules.activate'))`);
  }

  async insertActivation(
    executor: SqlExecutor,
    activation: {
      activationId: string;
      version: string;
      versionCreatedBy: string;
      previousVersion: string | undefined;
      activatedAt: Date;
      activatedBy: string;
    },
  ): Promise<void> {
    await executor.query(
      `INSERT INTO rule_set_activations (activation_id, version, version_created_by, previous_version, activated_at, activated_by) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        activation.activationId,
        activation.version,
        activation.versionCreatedBy,
        activation.previousVersion ?? null,
        activation.activatedAt,
        activation.activatedBy,
      ],
    );
  }

  /**
   * Every item of one account dated on one day, matched or not (ledger by value date, bank lines by their effective
   * date), except bank lines withdrawn by a retraction: the day as a full run would have seen it. At most
   * `limit` per side (the caller asks for one more than it accepts, to know when there are too many).
   */
  async itemsOfDay(
    executor: SqlExecutor,
    bankAccount: string,
    businessDate: string,
    limit: number,
  ): Promise<{ ledger: LedgerItemRecord[]; bank: BankItemRecord[] }> {
    const ledger = await queryRows<LedgerItemRecord>(
      executor,
      `SELECT entry_id, bank_account, currency, amount_minor::text AS amount_minor, to_char(value_date, 'YYYY-MM-DD') AS value_date, reference, batch_reference,
              sub_account, description, kind
         FROM ledger_items WHERE bank_account = $1 AND value_date = $2::date ORDER BY entry_id LIMIT $3`,
      [bankAccount, businessDate, limit],
    );
    const bank = await queryRows<BankItemRecord>(
      executor,
      `SELECT b.line_id, b.item_ref, b.statement_id, b.line_no, b.bank_account, b.currency, b.amount_minor::text AS amount_minor,
              to_char(b.value_date, 'YYYY-MM-DD') AS value_date, to_char(b.booking_date, 'YYYY-MM-DD') AS booking_date,
              to_char(b.effective_date, 'YYYY-MM-DD') AS effective_date, b.bank_ref, b.end_to_end_id, b.customer_ref, b.bank_tx_code, b.counterparty_name,
              b.remittance, b.reversal, b.transactions
         FROM bank_items b
        WHERE b.bank_account = $1 AND b.effective_date = $2::date
          AND NOT EXISTS (SELECT 1 FROM bank_line_withdrawals w WHERE w.line_id = b.line_id)
        ORDER BY b.item_ref LIMIT $3`,
      [bankAccount, businessDate, limit],
    );
    return { ledger, bank };
  }
}
