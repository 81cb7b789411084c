import { Inject, Injectable } from '@nestjs/common';
import { TRANSACTIONS } from '@recon/platform';
import { queryRows, type TransactionRunner } from '@recon/persistence';
import { parsesOf } from './ingest-file.use-case';

export const PAGE_SIZE_MAX = 1_000;
export const PAGE_SIZE_DEFAULT = 100;

export interface FileFilter {
  readonly connectionId?: string;
  readonly after?: string;
  readonly limit: number;
}

export interface QuarantineFilter {
  readonly fileId?: string;
  readonly connectionId?: string;
  readonly status: 'open' | 'resolved' | 'all';
  readonly after?: string;
  readonly limit: number;
}

interface FileRow {
  file_id: string;
  sha256: string;
  size_bytes: string;
  file_name: string | null;
  media_type: string | null;
  source: string;
  connection_id: string | null;
  received_at: Date;
  received_by: string;
}

function fileViewOf(row: FileRow) {
  return {
    fileId: row.file_id,
    sha256: row.sha256,
    sizeBytes: Number(row.size_bytes),
    ...(row.file_name === null ? {} : { fileName: row.file_name }),
    ...(row.media_type === null ? {} : { mediaType: row.media_type }),
    source: row.source,
    ...(row.connection_id === null ? {} : { connectionId: row.connection_id }),
    receivedAt: row.received_at.toISOString(),
    receivedBy: row.received_by,
  };
}

const FILE_COLUMNS = 'file_id, sha256, size_bytes, file_name, media_type, source, connection_id, received_at, received_by';

/** Read side: files, their lines, quarantine and findings. Pages are keyset cursors on time-ordered ids. */
@Injectable()
export class IngestionQueries {
  constructor(@Inject(TRANSACTIONS) private readonly db: TransactionRunner) {}

  async files(filter: FileFilter) {
    const rows = await this.db.transaction((executor) =>
      queryRows<FileRow>(
        executor,
        `SELECT ${FILE_COLUMNS} FROM raw_files WHERE ($1::uuid IS NULL OR connection_id = $1) AND ($2::uuid IS NULL OR file_id < $2) ORDER BY file_id DESC LIMIT $3`,
        [filter.connectionId ?? null, filter.after ?? null, filter.limit],
      ),
    );
    const files = rows.map(fileViewOf);
    return { files, nextAfter: files.length === filter.limit ? files.at(-1)?.fileId : undefined };
  }

  async file(fileId: string) {
    return this.db.transaction(async (executor) => {
      const [row] = await queryRows<FileRow>(executor, `SELECT ${FILE_COLUMNS} FROM raw_files WHERE file_id = $1`, [fileId]);
      if (row === undefined) return undefined;
      const [counts] = await queryRows<{ lines: string; held: string; retracted: string; open_quarantine: string }>(
        executor,
        `SELECT (SELECT count(*) FROM statement_lines WHERE file_id = $1) AS lines,
                (SELECT count(*) FROM statement_lines WHERE file_id = $1 AND held_finding_id IS NOT NULL) AS held,
                (SELECT count(*) FROM statement_lines WHERE file_id = $1 AND retracted_by_finding_id IS NOT NULL) AS retracted,
                (SELECT count(*) FROM quarantine WHERE file_id = $1 AND resolved_at IS NULL) AS open_quarantine`,
        [fileId],
      );
      const statements = await queryRows<{
        statement_pk: string;
        record: Record<string, unknown>;
        held_finding_id: string | null;
        retracted_by_finding_id: string | null;
        released_by_finding_id: string | null;
      }>(
        executor,
        'SELECT statement_pk, record, held_finding_id, retracted_by_finding_id, released_by_finding_id FROM statements WHERE file_id = $1 ORDER BY statement_pk',
        [fileId],
      );
      return {
        ...fileViewOf(row),
        lineCount: Number(counts?.lines ?? 0),
        heldLineCount: Number(counts?.held ?? 0),
        retractedLineCount: Number(counts?.retracted ?? 0),
        openQuarantineCount: Number(counts?.open_quarantine ?? 0),
        statements: statements.map((statement) => {
          const { kind: _kind, ...record } = statement.record;
          return {
            statementPk: statement.statement_pk,
            ...record,
            ...(statement.held_finding_id === null ? {} : { heldByFindingId: statement.held_finding_id }),
            ...(statement.retracted_by_finding_id === null ? {} : { retractedByFindingId: statement.retracted_by_finding_id }),
            ...(statement.released_by_finding_id === null ? {} : { releasedByFindingId: statement.released_by_finding_id }),
          };
        }),
        parses: await parsesOf(executor, fileId),
      };
    });
  }

  async content(fileId: string): Promise<{ content: Buffer; fileName: string | null } | undefined> {
    const [row] = await this.db.transaction((executor) =>
      queryRows<{ content: Buffer; file_name: string | null }>(executor, 'SELECT content, file_name FROM raw_files WHERE file_id = $1', [fileId]),
    );
    return row === undefined ? undefined : { content: row.content, fileName: row.file_name };
  }

  async lines(fileId: string, afterLineNo: number, limit: number) {
    const rows = await this.db.transaction((executor) =>
      queryRows<{
        line_id: string;
        account: string;
        line_no: number;
        record: Record<string, unknown>;
        held_finding_id: string | null;
        retracted_by_finding_id: string | null;
        released_by_finding_id: string | null;
        received_at: Date;
      }>(
        executor,
        `SELECT line_id, account, line_no, record, held_finding_id, retracted_by_finding_id, released_by_finding_id, received_at
           FROM statement_lines WHERE file_id = $1 AND line_no > $2 ORDER BY line_no LIMIT $3`,
        [fileId, afterLineNo, limit],
      ),
    );
    const lines = rows.map((row) => {
      const { kind: _kind, ...record } = row.record;
      return {
        lineId: row.line_id,
        account: row.account,
        ...record,
        ...(row.held_finding_id === null ? {} : { heldByFindingId: row.held_finding_id }),
        ...(row.retracted_by_finding_id === null ? {} : { retractedByFindingId: row.retracted_by_finding_id }),
        ...(row.released_by_finding_id === null ? {} : { releasedByFindingId: row.released_by_finding_id }),
        receivedAt: row.received_at.toISOString(),
      };
    });
    return { lines, nextAfter: rows.length === limit ? rows.at(-1)?.line_no : undefined };
  }

  async quarantine(filter: QuarantineFilter) {
    const rows = await this.db.transaction((executor) =>
      queryRows<{
        quarantine_id: string;
        file_id: string;
        parse_id: string;
        connection_id: string | null;
        line_no: number;
        reason: string;
        raw: string;
        quarantined_at: Date;
        resolved_at: Date | null;
        resolved_by_parse_id: string | null;
        account: string | null;
        statement_id: string | null;
        currency: string | null;
      }>(
        executor,
        `SELECT * FROM quarantine
          WHERE ($1::uuid IS NULL OR file_id = $1) AND ($2::uuid IS NULL OR connection_id = $2)
            AND ($3 = 'all' OR ($3 = 'open') = (resolved_at IS NULL))
            AND ($4::uuid IS NULL OR quarantine_id > $4)
          ORDER BY quarantine_id LIMIT $5`,
        [filter.fileId ?? null, filter.connectionId ?? null, filter.status, filter.after ?? null, filter.limit],
      ),
    );
    const items = rows.map((row) => ({
      quarantineId: row.quarantine_id,
      fileId: row.file_id,
      parseId: row.parse_id,
      ...(row.connection_id === null ? {} : { connectionId: row.connection_id }),
      lineNo: row.line_no,
      reason: row.reason,
      raw: row.raw,
      ...(row.account === null ? {} : { account: row.account }),
      ...(row.statement_id === null ? {} : { statementId: row.statement_id }),
      ...(row.currency === null ? {} : { currency: row.currency }),
      quarantinedAt: row.quarantined_at.toISOString(),
      ...(row.resolved_at === null ? {} : { resolvedAt: row.resolved_at.toISOString(), resolvedByParseId: row.resolved_by_parse_id }),
    }));
    return { items, nextAfter: items.length === filter.limit ? items.at(-1)?.quarantineId : undefined };
  }

  async findings(filter: { fileId?: string; status: 'open' | 'resolved' | 'all'; after?: string; limit: number }) {
    const rows = await this.db.transaction((executor) =>
      queryRows<{
        resolved_at: Date | null;
        resolved_by: string | null;
        resolution: string | null;
        resolution_reason: string | null;
        retracted_file_id: string | null;
        retracted_count: number | null;
        released_count: number | null;
        finding_id: string;
        kind: string;
        file_id: string;
        other_file_id: string | null;
        connection_id: string | null;
        account: string;
        statement_id: string;
        sequence: string | null;
        message: string;
        raised_at: Date;
      }>(
        executor,
        `SELECT * FROM findings
          WHERE ($1::uuid IS NULL OR file_id = $1 OR other_file_id = $1) AND ($2::uuid IS NULL OR finding_id > $2)
            AND ($4 = 'all' OR ($4 = 'open') = (resolved_at IS NULL))
          ORDER BY finding_id LIMIT $3`,
        [filter.fileId ?? null, filter.after ?? null, filter.limit, filter.status],
      ),
    );
    const findings = rows.map((row) => ({
      findingId: row.finding_id,
      kind: row.kind,
      fileId: row.file_id,
      ...(row.other_file_id === null ? {} : { otherFileId: row.other_file_id }),
      ...(row.connection_id === null ? {} : { connectionId: row.connection_id }),
      account: row.account,
      statementId: row.statement_id,
      ...(row.sequence === null ? {} : { sequence: row.sequence }),
      message: row.message,
      raisedAt: row.raised_at.toISOString(),
      ...(row.resolved_at === null
        ? {}
        : {
            resolvedAt: row.resolved_at.toISOString(),
            resolvedBy: row.resolved_by,
            resolution: row.resolution,
            resolutionReason: row.resolution_reason,
            ...(row.resolution !== 'accept_new'
              ? {}
              : {
                  ...(row.retracted_file_id === null ? {} : { retractedFileId: row.retracted_file_id }),
                  retractedLines: row.retracted_count ?? 0,
                  releasedLines: row.released_count ?? 0,
                }),
          }),
    }));
    return { findings, nextAfter: findings.length === filter.limit ? findings.at(-1)?.findingId : undefined };
  }
}
