import { Inject, Injectable } from '@nestjs/common';
import type { Actor } from '@recon/auth';
import type { Role } from '@recon/config';
import { AuditRecorder, CLOCK, type Clock, DATA_SOURCE, ID_GENERATOR, type IdGenerator } from '@recon/platform';
import { queryRows } from '@recon/persistence';
import { type EncodingOption, type FormatOption, isEncodingOption, isFormatOption } from '@recon/statement-formats';
import type { DataSource } from 'typeorm';
import type { GatewaySettings } from '../../bank-gateway.config';
import { ADAPTER_REGISTRY, GATEWAY_SETTINGS } from '../../bank-gateway.tokens';
import { z } from 'zod';
import type { AdapterRegistry } from '../../adapters/adapter-modules';
import { findConnection } from '../../connections/application/connection.queries';
import { inRawTransaction } from '../infrastructure/raw-client.transaction';
import { loadStatementFile, type ParseSummary } from './statement-loader';

export const reprocessSchema = z
  .object({
    format: z.string().max(64).refine(isFormatOption, 'auto, mt940, mt942, camt.052, camt.053, camt.054, bai2 or csv:<profile>').optional(),
    encoding: z.string().max(16).refine(isEncodingOption, 'auto, utf8, latin1, gb18030, cp1252, cp852 or utf16le').optional(),
    /** Shorthand for format `csv:<profile>`. */
    profile: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/)
      .optional(),
  })
  .strict()
  .refine((input) => input.profile === undefined || input.format === undefined || input.format === `csv:${input.profile}`, {
    path: ['profile'],
    message: 'contradicts format',
  });

export type ReprocessInput = z.output<typeof reprocessSchema>;

export type ReprocessResult =
  | { readonly ok: true; readonly fileId: string; readonly parse: ParseSummary }
  | { readonly ok: false; readonly code: 'FILE.NOT_FOUND'; readonly message: string };

/**
 * Parses a stored raw file again (after a parser fix, or with another format/encoding/profile). Idempotent: lines
 * already stored keep their identity and are neither stored nor published again; quarantined lines that parse now
 * are resolved.
 */
@Injectable()
export class ReprocessFileUseCase {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(ID_GENERATOR) private readonly ids: IdGenerator,
    private readonly audit: AuditRecorder,
    @Inject(GATEWAY_SETTINGS) private readonly settings: GatewaySettings,
    @Inject(ADAPTER_REGISTRY) private readonly adapters: AdapterRegistry,
  ) {}

  async execute(actor: Actor, role: Role | undefined, fileId: string, input: ReprocessInput): Promise<ReprocessResult> {
    return inRawTransaction(
      this.dataSource,
      async (client) => {
        const [file] = await queryRows<{ sha256: string; content: Buffer; connection_id: string | null; received_at: Date }>(
          client,
          'SELECT sha256, content, connection_id, received_at FROM raw_files WHERE file_id = $1',
          [fileId],
        );
        if (file === undefined) return { ok: false, code: 'FILE.NOT_FOUND', message: `no file ${fileId}` };
        // Serialises with a concurrent delivery or reprocess of the same bytes.
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`raw-file:${file.sha256}`]);
        const connection = file.connection_id === null ? undefined : await findConnection(client, file.connection_id);
        const format = (input.format ?? (input.profile === undefined ? undefined : `csv:${input.profile}`) ?? connection?.format ?? 'auto') as FormatOption;
        const encoding = (input.encoding ?? connection?.encoding ?? 'auto') as EncodingOption;
        // A file of a third-party adapter's connection is read by that adapter again (when it is still loaded).
        const plugin = connection?.transport.kind === 'adapter' ? this.adapters.find(connection.transport.adapter) : undefined;
        const parse = await loadStatementFile(
          client,
          { clock: this.clock, ids: this.ids, audit: this.audit },
          {
            fileId,
            sha256: file.sha256,
            content: file.content,
            format,
            encoding,
            connectionId: file.connection_id ?? undefined,
            actor,
            role,
            receivedAt: file.received_at,
            ...(connection === undefined ? {} : { expectedAccount: connection.custodyAccount }),
            ...(plugin === undefined ? {} : { parse: (content, options) => plugin.adapter.parse(content, options) }),
          },
        );
        await this.audit.record(client, {
          actor,
          role,
          action: 'file.reprocess',
          entity: { type: 'raw_file', id: fileId },
          details: {
            parseId: parse.parseId,
            format,
            encoding,
            accepted: parse.accepted,
            duplicates: parse.duplicates,
            held: parse.held,
            rejected: parse.rejected,
            resolved: parse.resolved,
          },
        });
        return { ok: true, fileId, parse };
      },
      { statementTimeoutMs: this.settings.ingestTimeoutMs },
    );
  }
}
