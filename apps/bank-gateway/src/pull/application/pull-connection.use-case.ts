import { Inject, Injectable } from '@nestjs/common';
import type { Actor } from '@recon/auth';
import { LOGGER, TRANSACTIONS } from '@recon/platform';
import type { Logger } from '@recon/observability';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import type { AdapterRegistry } from '../../adapters/adapter-modules';
import type { BankAdapter, FetchContext } from '../../adapters/bank-adapter.port';
import { HttpsAdapter } from '../../adapters/https.adapter';
import { resolveSecretRef } from '../../adapters/secret.resolver';
import { SftpAdapter } from '../../adapters/sftp.adapter';
import { ADAPTER_REGISTRY, GATEWAY_SETTINGS, SECRET_ENVIRONMENT } from '../../bank-gateway.tokens';
import type { GatewaySettings } from '../../bank-gateway.config';
import { findConnection } from '../../connections/application/connection.queries';
import type { Transport } from '../../connections/domain/connection';
import { IngestFileUseCase } from '../../ingestion/application/ingest-file.use-case';

/** The actor of scheduled pulls in the audit trail. */
export const PULL_ACTOR: Actor = { id: 'bank-gateway:scheduler', roles: ['service'] };

export interface PullOutcome {
  readonly connectionId: string;
  readonly fetched: number;
  readonly duplicates: number;
  readonly fileIds: readonly string[];
}

const ADAPTERS: Readonly<Record<Exclude<Transport['kind'], 'upload' | 'adapter'>, BankAdapter>> = { https: new HttpsAdapter(), sftp: new SftpAdapter() };

/**
 * One pull of one connection: asks its adapter for files not fetched before and ingests each in its own
 * transaction (which also remembers the remote name + version), so a failure half-way keeps what was taken.
 */
@Injectable()
export class PullConnectionUseCase {
  constructor(
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(SECRET_ENVIRONMENT) private readonly secretEnvironment: Readonly<Record<string, string | undefined>>,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly ingest: IngestFileUseCase,
    @Inject(ADAPTER_REGISTRY) private readonly adapters: AdapterRegistry,
  ) {}

  async execute(connectionId: string): Promise<PullOutcome> {
    const connection = await this.db.transaction((executor) => findConnection(executor, connectionId));
    if (connection === undefined) return { connectionId, fetched: 0, duplicates: 0, fileIds: [] };
    if (connection.transport.kind === 'upload') return { connectionId, fetched: 0, duplicates: 0, fileIds: [] };
    // A third-party adapter also parses what it fetched (its own file dialect); the built-in ones use the library.
    const plugin = connection.transport.kind === 'adapter' ? this.adapters.find(connection.transport.adapter) : undefined;
    if (connection.transport.kind === 'adapter' && plugin === undefined) {
      throw new Error(
        `connection ${connection.name} names adapter '${connection.transport.adapter}', which GATEWAY_ADAPTER_MODULES does not load (loaded: ${this.adapters.names().join(', ') || 'none'})`,
      );
    }
    const adapter = connection.transport.kind === 'adapter' ? plugin!.adapter : ADAPTERS[connection.transport.kind];
    const context: FetchContext = {
      connection,
      secret: async () => (connection.secretRef === undefined ? undefined : resolveSecretRef(connection.secretRef, this.secretEnvironment)),
      caCertificate: async () =>
        connection.caCertificateRef === undefined ? undefined : resolveSecretRef(connection.caCertificateRef, this.secretEnvironment),
      alreadyFetched: async (file) => {
        const rows = await this.db.transaction((executor) =>
          queryRows(executor, 'SELECT 1 FROM fetched_files WHERE connection_id = $1 AND remote_name = $2 AND version_key = $3', [
            connectionId,
            file.name,
            file.versionKey,
          ]),
        );
        return rows.length > 0;
      },
      fileBytesMax: this.settings.uploadBytesMax,
      timeoutMs: this.settings.fetchTimeoutMs,
      filesMax: this.settings.pullFilesPerRunMax,
      log: (message, details) => this.logger.warn({ connectionId, ...details }, message),
    };
    const fileIds: string[] = [];
    let duplicates = 0;
    for await (const file of adapter.fetch(context)) {
      const outcome = await this.ingest.execute(PULL_ACTOR, 'service', {
        content: file.content,
        source: connection.transport.kind,
        fileName: file.name,
        connection,
        remote: { name: file.name, versionKey: file.versionKey },
        ...(plugin === undefined ? {} : { adapter: plugin.adapter }),
      });
      if (outcome.duplicate) duplicates += 1;
      else fileIds.push(outcome.fileId);
    }
    if (fileIds.length > 0 || duplicates > 0) this.logger.info({ connectionId, fetched: fileIds.length, duplicates }, 'pulled bank files');
    return { connectionId, fetched: fileIds.length, duplicates, fileIds };
  }
}
