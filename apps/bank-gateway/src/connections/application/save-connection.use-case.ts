import { Inject, Injectable } from '@nestjs/common';
import type { Actor } from '@recon/auth';
import type { Role } from '@recon/config';
import { AuditRecorder, CLOCK, type Clock, ID_GENERATOR, type IdGenerator, TRANSACTIONS } from '@recon/platform';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import type { AdapterRegistry } from '../../adapters/adapter-modules';
import { ADAPTER_REGISTRY } from '../../bank-gateway.tokens';
import { CONNECTIONS_MAX, type ConnectionInput, type ConnectionView } from '../domain/connection';
import { findConnections } from './connection.queries';

export type SaveConnectionResult =
  | { readonly ok: true; readonly created: boolean; readonly connection: ConnectionView }
  | { readonly ok: false; readonly code: 'CONNECTION.LIMIT' | 'CONNECTION.UNKNOWN_ADAPTER'; readonly message: string };

/** Listens for saved connections (the pull scheduler re-plans their jobs). */
export interface ConnectionSavedListener {
  connectionSaved(connection: ConnectionView): Promise<void>;
}
export const CONNECTION_SAVED_LISTENER = Symbol('CONNECTION_SAVED_LISTENER');

/**
 * Creates a bank connection, or replaces the configuration of the one with the same name. Credentials are only
 * ever references (secretRef), so nothing secret is stored, returned or audited.
 */
@Injectable()
export class SaveConnectionUseCase {
  constructor(
    @Inject(TRANSACTIONS) private readonly transactions: TransactionRunner,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly audit: AuditRecorder,
    @Inject(CONNECTION_SAVED_LISTENER) private readonly listener: ConnectionSavedListener,
    @Inject(ADAPTER_REGISTRY) private readonly adapters: AdapterRegistry,
  ) {}

  async execute(actor: Actor, role: Role | undefined, input: ConnectionInput): Promise<SaveConnectionResult> {
    if (input.transport.kind === 'adapter' && this.adapters.find(input.transport.adapter) === undefined) {
      const known = this.adapters.names();
      return {
        ok: false,
        code: 'CONNECTION.UNKNOWN_ADAPTER',
        message: `no adapter '${input.transport.adapter}' is loaded (GATEWAY_ADAPTER_MODULES gives ${known.length === 0 ? 'none' : known.join(', ')})`,
      };
    }
    const result = await this.transactions.transaction(async (executor): Promise<SaveConnectionResult> => {
      await executor.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`connection:${input.name}`]);
      const [before] = await findConnections(executor, 'WHERE name = $1', [input.name]);
      const now = this.clock.now();
      const values = [
        input.bankId,
        input.custodyAccount,
        input.format,
        input.encoding,
        input.schedule?.cron ?? null,
        input.schedule?.timeZone ?? 'UTC',
        JSON.stringify(input.transport),
        input.secretRef ?? null,
        input.caCertificateRef ?? null,
        now,
        actor.id,
      ];
      let connectionId: string;
      if (before === undefined) {
        const [count] = await queryRows<{ count: string }>(executor, 'SELECT count(*) FROM connections');
        if (Number(count?.count ?? 0) >= CONNECTIONS_MAX) return { ok: false, code: 'CONNECTION.LIMIT', message: `at most ${CONNECTIONS_MAX} connections` };
        connectionId = this.ids.uuid();
        await executor.query(
          `INSERT INTO connections (connection_id, name, bank_id, custody_account, format, encoding, schedule_cron, schedule_time_zone, transport, secret_ref, ca_certificate_ref, created_at, created_by, updated_at, updated_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12, $13, $12, $13)`,
          [connectionId, input.name, ...values],
        );
      } else {
        connectionId = before.connectionId;
        await executor.query(
          `UPDATE connections SET bank_id = $2, custody_account = $3, format = $4, encoding = $5, schedule_cron = $6, schedule_time_zone = $7, transport = $8::jsonb,
                  secret_ref = $9, ca_certificate_ref = $10, updated_at = $11, updated_by = $12 WHERE connection_id = $1`,
          [connectionId, ...values],
        );
      }
      const [connection] = await findConnections(executor, 'WHERE connection_id = $1', [connectionId]);
      if (connection === undefined) throw new Error('connection vanished');
      await this.audit.record(executor, {
        actor,
        role,
        action: before === undefined ? 'connection.create' : 'connection.update',
        entity: { type: 'connection', id: connectionId },
        ...(before === undefined ? {} : { before }),
        after: connection,
        details: {
          name: input.name,
          bankId: input.bankId,
          transport: input.transport.kind,
          ...(input.schedule === undefined ? {} : { cron: input.schedule.cron, timeZone: input.schedule.timeZone }),
        },
      });
      return { ok: true, created: before === undefined, connection };
    });
    if (result.ok) await this.listener.connectionSaved(result.connection);
    return result;
  }
}
