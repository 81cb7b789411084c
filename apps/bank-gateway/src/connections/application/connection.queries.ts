import { queryRows, type SqlExecutor } from '@recon/persistence';
import type { ConnectionView, Transport } from '../domain/connection';

interface ConnectionRow {
  connection_id: string;
  name: string;
  bank_id: string;
  custody_account: string;
  format: string;
  encoding: string;
  schedule_cron: string | null;
  schedule_time_zone: string;
  transport: Transport;
  secret_ref: string | null;
  ca_certificate_ref: string | null;
  created_at: Date;
  updated_at: Date;
}

export async function findConnections(executor: SqlExecutor, where: string, params: unknown[]): Promise<ConnectionView[]> {
  const rows = await queryRows<ConnectionRow>(executor, `SELECT * FROM connections ${where}`, params);
  return rows.map((row) => ({
    connectionId: row.connection_id,
    name: row.name,
    bankId: row.bank_id,
    custodyAccount: row.custody_account,
    format: row.format,
    encoding: row.encoding,
    ...(row.schedule_cron === null ? {} : { schedule: { cron: row.schedule_cron, timeZone: row.schedule_time_zone } }),
    transport: row.transport,
    ...(row.secret_ref === null ? {} : { secretRef: row.secret_ref }),
    ...(row.ca_certificate_ref === null ? {} : { caCertificateRef: row.ca_certificate_ref }),
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  }));
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A connection by id or by name. */
export async function findConnection(executor: SqlExecutor, idOrName: string): Promise<ConnectionView | undefined> {
  const [view] = UUID_PATTERN.test(idOrName)
    ? await findConnections(executor, 'WHERE connection_id = $1', [idOrName])
    : await findConnections(executor, 'WHERE name = $1', [idOrName]);
  return view;
}
