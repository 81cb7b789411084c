import { Inject, Injectable } from '@nestjs/common';
import type { Actor } from '@recon/auth';
import type { Role } from '@recon/config';
import { AuditRecorder, CLOCK, type Clock, DATA_SOURCE, ID_GENERATOR, type IdGenerator } from '@recon/platform';
import { queryRows } from '@recon/persistence';
import type { EncodingOption, FormatOption } from '@recon/statement-formats';
import type { DataSource } from 'typeorm';
import type { BankAdapter } from '../../adapters/bank-adapter.port';
import type { GatewaySettings } from '../../bank-gateway.config';
import { GATEWAY_SETTINGS } from '../../bank-gateway.tokens';
import type { ConnectionView } from '../../connections/domain/connection';
import { inRawTransaction } from '../infrastructure/raw-client.transaction';
import { loadStatementFile, type ParseSummary, sha256Of } from './statement-loader';

export type RawFileSource = 'upload' | 'https' | 'sftp' | 'adapter';
export const FILE_NAME_LENGTH_MAX = 500;

export interface IngestFileCommand {
  readonly content: Buffer;
  readonly source: RawFileSource;
  readonly fileName?: string;
  readonly mediaType?: string;
  readonly connection?: ConnectionView;
  /** Overrides the connection's format/encoding; `auto` when neither says. */
  readonly format?: FormatOption;
  readonly encoding?: EncodingOption;
  /** A pulled file: remembered per connection (name + version) so that it is not fetched again. */
  readonly remote?: { readonly name: string; readonly versionKey: string };
  /** A third-party adapter whose parse reads this file instead of the statement-formats library. */
  readonly adapter?: BankAdapter;
}

export interface IngestOutcome {
  readonly fileId: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  /** The same bytes were delivered before: nothing was parsed or stored again. */
  readonly duplicate: boolean;
  /** The parse of this delivery; for a duplicate, the latest parse of the stored file. */
  readonly parse: ParseSummary | StoredParseSummary | undefined;
}

export interface StoredParseSummary {
  readonly parseId: string;
  readonly format?: string;
  readonly unreadableReason?: string;
  readonly statements: number;
  readonly accepted: number;
  readonly duplicates: number;
  readonly held: number;
  readonly rejected: number;
}

/**
 * Stores a bank file exactly as delivered (SHA-256, bytes), then parses it into lines in the same transaction.
 * Delivering the same bytes again is recognised by the hash and changes nothing.
 */
@Injectable()
export class IngestFileUseCase {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly audit: AuditRecorder,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
  ) {}

  async execute(actor: Actor, role: Role | undefined, command: IngestFileCommand): Promise<IngestOutcome> {
    const sha256 = sha256Of(command.content);
    const sizeBytes = command.content.length;
    return inRawTransaction(
      this.dataSource,
      async (client) => {
        // Two deliveries of the same bytes at once: the second waits and then sees the first.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`raw-file:${sha256}`]);
        const [existing] = await queryRows<{ file_id: string }>(client, 'SELECT file_id FROM raw_files WHERE sha256 = $1', [sha256]);
        const connectionId = command.connection?.connectionId;
        if (existing !== undefined) {
          await this.rememberFetched(client, command, connectionId, existing.file_id);
          await this.audit.record(client, {
            actor,
            role,
            action: 'file.receive-duplicate',
            entity: { type: 'raw_file', id: existing.file_id },
            details: {
              sha256,
              sizeBytes,
              source: command.source,
              ...(command.fileName === undefined ? {} : { fileName: command.fileName }),
              ...(connectionId === undefined ? {} : { connectionId }),
            },
          });
          return { fileId: existing.file_id, sha256, sizeBytes, duplicate: true, parse: await latestParseOf(client, existing.file_id) };
        }
        const fileId = this.ids.uuid();
        const receivedAt = this.clock.now();
        await client.query(
          `INSERT INTO raw_files (file_id, sha256, content, size_bytes, file_name, media_type, source, connection_id, received_at, received_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [
            fileId,
            sha256,
            command.content,
            sizeBytes,
            command.fileName?.slice(0, FILE_NAME_LENGTH_MAX) ?? null,
            command.mediaType?.slice(0, 200) ?? null,
            command.source,
            connectionId ?? null,
            receivedAt,
            actor.id,
          ],
        );
        await this.rememberFetched(client, command, connectionId, fileId);
        const format = command.format ?? (command.connection?.format as FormatOption | undefined) ?? 'auto';
        const encoding = command.encoding ?? (command.connection?.encoding as EncodingOption | undefined) ?? 'auto';
        const parse = await loadStatementFile(
          client,
          { clock: this.clock, ids: this.ids, audit: this.audit },
          {
            fileId,
            sha256,
            content: command.content,
            format,
            encoding,
            connectionId,
            actor,
            role,
            receivedAt,
            ...(command.connection === undefined ? {} : { expectedAccount: command.connection.custodyAccount }),
            ...(command.adapter === undefined ? {} : { parse: (content, options) => command.adapter!.parse(content, options) }),
          },
        );
        await this.audit.record(client, {
          actor,
          role,
          action: 'file.ingest',
          entity: { type: 'raw_file', id: fileId },
          after: { fileId, sha256, sizeBytes },
          details: {
            sha256,
            sizeBytes,
            source: command.source,
            ...(command.fileName === undefined ? {} : { fileName: command.fileName }),
            ...(connectionId === undefined ? {} : { connectionId }),
            format: parse.format ?? format,
            statements: parse.statements,
            accepted: parse.accepted,
            duplicates: parse.duplicates,
            held: parse.held,
            rejected: parse.rejected,
            ...(parse.unreadableReason === undefined ? {} : { unreadableReason: parse.unreadableReason }),
          },
        });
        return { fileId, sha256, sizeBytes, duplicate: false, parse };
      },
      { statementTimeoutMs: this.settings.ingestTimeoutMs },
    );
  }

  private async rememberFetched(
    client: { query(sql: string, params?: unknown[]): Promise<unknown> },
    command: IngestFileCommand,
    connectionId: string | undefined,
    fileId: string,
  ): Promise<void> {
    if (command.remote === undefined || connectionId === undefined) return;
    await client.query(
      `INSERT INTO fetched_files (connection_id, remote_name, version_key, file_id, fetched_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [connectionId, command.remote.name, command.remote.versionKey, fileId, this.clock.now()],
    );
  }
}

interface ParseRow {
  parse_id: string;
  format: string | null;
  unreadable_reason: string | null;
  statement_count: number;
  accepted_count: number;
  duplicate_count: number;
  held_count: number;
  rejected_count: number;
  requested_format: string;
  requested_encoding: string;
  parsed_at: Date;
  parsed_by: string;
}

export function storedParseOf(row: ParseRow) {
  return {
    parseId: row.parse_id,
    ...(row.format === null ? {} : { format: row.format }),
    ...(row.unreadable_reason === null ? {} : { unreadableReason: row.unreadable_reason }),
    requestedFormat: row.requested_format,
    requestedEncoding: row.requested_encoding,
    statements: row.statement_count,
    accepted: row.accepted_count,
    duplicates: row.duplicate_count,
    held: row.held_count,
    rejected: row.rejected_count,
    parsedAt: row.parsed_at.toISOString(),
    parsedBy: row.parsed_by,
  };
}

export async function parsesOf(executor: { query(sql: string, params?: unknown[]): Promise<unknown> }, fileId: string) {
  const rows = await queryRows<ParseRow>(executor, 'SELECT * FROM file_parses WHERE file_id = $1 ORDER BY parsed_at, parse_id', [fileId]);
  return rows.map(storedParseOf);
}

async function latestParseOf(executor: { query(sql: string, params?: unknown[]): Promise<unknown> }, fileId: string) {
  return (await parsesOf(executor, fileId)).at(-1);
}
