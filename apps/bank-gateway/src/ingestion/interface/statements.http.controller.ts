import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  ForbiddenException,
  Get,
  Inject,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { type Actor, CurrentActor, effectiveRole, Roles } from '@recon/auth';
import type { Role } from '@recon/config';
import { isoDateSchema } from '@recon/contracts';
import { AuditRecorder, TRANSACTIONS } from '@recon/platform';
import type { TransactionRunner } from '@recon/persistence';
import { type EncodingOption, type FormatOption, isEncodingOption, isFormatOption } from '@recon/statement-formats';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { findConnection } from '../../connections/application/connection.queries';
import { FILE_NAME_LENGTH_MAX, IngestFileUseCase, type IngestOutcome } from '../application/ingest-file.use-case';
import { IngestionQueries, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX } from '../application/ingestion.queries';
import { PublishedLinesQuery } from '../application/published-lines.query';
import { ReprocessFileUseCase, reprocessSchema } from '../application/reprocess-file.use-case';
import { resolveFindingSchema, ResolveFindingUseCase } from '../application/resolve-finding.use-case';
import type { UploadedStatement } from './upload-body.middleware';

const UPLOAD_ROLES: Role[] = ['integrator', 'service'];
const REPROCESS_ROLES: Role[] = ['integrator', 'service', 'admin'];
const READING_ROLES: Role[] = ['integrator', 'service', 'ops', 'auditor', 'admin'];

const uploadQuerySchema = z
  .object({
    connection: z.string().min(1).max(100).optional(),
    format: z.string().max(64).refine(isFormatOption, 'auto, mt940, mt942, camt.052, camt.053, camt.054, bai2 or csv:<profile>').optional(),
    encoding: z.string().max(16).refine(isEncodingOption, 'auto, utf8, latin1, gb18030, cp1252, cp852 or utf16le').optional(),
    fileName: z.string().min(1).max(FILE_NAME_LENGTH_MAX).optional(),
  })
  .strict();

const pageLimit = z.coerce.number().int().min(1).max(PAGE_SIZE_MAX).default(PAGE_SIZE_DEFAULT);
const filesQuerySchema = z.object({ connection: z.string().uuid().optional(), after: z.string().uuid().optional(), limit: pageLimit }).strict();
const linesQuerySchema = z.object({ after: z.coerce.number().int().min(0).max(2_147_483_647).default(0), limit: pageLimit }).strict();
/** The account as statements name it (statements.account is 1-64 characters). */
const dayLinesQuerySchema = z.object({ account: z.string().min(1).max(64), date: isoDateSchema }).strict();
const quarantineQuerySchema = z
  .object({
    file: z.string().uuid().optional(),
    connection: z.string().uuid().optional(),
    status: z.enum(['open', 'resolved', 'all']).default('open'),
    after: z.string().uuid().optional(),
    limit: pageLimit,
  })
  .strict();
const findingsQuerySchema = z
  .object({
    file: z.string().uuid().optional(),
    status: z.enum(['open', 'resolved', 'all']).default('all'),
    after: z.string().uuid().optional(),
    limit: pageLimit,
  })
  .strict();
/** accept_new needs approver or admin, the other resolutions ops, integrator or admin: the use case checks which. */
const RESOLVING_ROLES: Role[] = ['ops', 'integrator', 'approver', 'admin'];

function outcomeBody(outcome: IngestOutcome) {
  return {
    fileId: outcome.fileId,
    sha256: outcome.sha256,
    sizeBytes: outcome.sizeBytes,
    duplicate: outcome.duplicate,
    ...(outcome.parse === undefined ? {} : { parse: outcome.parse }),
  };
}

@ApiTags('statements')
@Controller('v1')
export class StatementsHttpController {
  constructor(
    private readonly ingest: IngestFileUseCase,
    private readonly reprocessFile: ReprocessFileUseCase,
    private readonly queries: IngestionQueries,
    private readonly resolve: ResolveFindingUseCase,
    private readonly publishedLines: PublishedLinesQuery,
    private readonly audit: AuditRecorder,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
  ) {}

  @Post('statements')
  @Roles(...UPLOAD_ROLES)
  @ApiConsumes('application/octet-stream', 'text/plain', 'application/xml', 'multipart/form-data')
  @ApiOperation({
    summary:
      'Upload one bank file (raw body, or multipart field `file`). 201 parsed; 200 the same bytes were delivered before (no new lines); ' +
      '422 the file is unreadable as a whole (stored; reprocess it with another format/encoding). Query: connection (id or name), format, encoding, fileName.',
  })
  async upload(@CurrentActor() actor: Actor, @Query() query: unknown, @Req() request: Request, @Res({ passthrough: true }) response: Response) {
    const options = uploadQuerySchema.parse(query);
    const uploaded = request.body as UploadedStatement | undefined;
    if (uploaded === undefined || !Buffer.isBuffer(uploaded.content) || uploaded.content.length === 0) {
      throw new BadRequestException({ statusCode: 400, error: 'invalid_request', message: 'the request carries no statement file (empty body)' });
    }
    const connection = options.connection === undefined ? undefined : await this.db.transaction((executor) => findConnection(executor, options.connection!));
    if (options.connection !== undefined && connection === undefined) {
      throw new BadRequestException({ statusCode: 400, error: 'CONNECTION.NOT_FOUND', message: `no connection '${options.connection}'` });
    }
    const fileName = options.fileName ?? uploaded.fileName;
    const outcome = await this.ingest.execute(actor, effectiveRole(actor, UPLOAD_ROLES), {
      content: uploaded.content,
      source: 'upload',
      ...(fileName === undefined ? {} : { fileName }),
      ...(uploaded.mediaType === undefined ? {} : { mediaType: uploaded.mediaType }),
      ...(connection === undefined ? {} : { connection }),
      ...(options.format === undefined ? {} : { format: options.format as FormatOption }),
      ...(options.encoding === undefined ? {} : { encoding: options.encoding as EncodingOption }),
    });
    const unreadable = !outcome.duplicate && outcome.parse?.unreadableReason !== undefined;
    response.status(outcome.duplicate ? 200 : unreadable ? 422 : 201);
    return unreadable ? { statusCode: 422, error: 'FILE.UNREADABLE', message: outcome.parse?.unreadableReason, ...outcomeBody(outcome) } : outcomeBody(outcome);
  }

  @Get('files')
  @Roles(...READING_ROLES)
  @ApiOperation({ summary: 'Received files, newest first; pass nextAfter as `after` for the next page' })
  async files(@Query() query: unknown) {
    const filter = filesQuerySchema.parse(query);
    return this.queries.files({
      limit: filter.limit,
      ...(filter.connection === undefined ? {} : { connectionId: filter.connection }),
      ...(filter.after === undefined ? {} : { after: filter.after }),
    });
  }

  @Get('files/:id')
  @Roles(...READING_ROLES)
  @ApiOperation({ summary: 'One file: hash, size, source, statements, every parse and its counts' })
  async file(@Param('id', new ParseUUIDPipe()) fileId: string) {
    const view = await this.queries.file(fileId);
    if (view === undefined) throw new NotFoundException({ statusCode: 404, error: 'FILE.NOT_FOUND', message: `no file ${fileId}` });
    return view;
  }

  @Get('files/:id/content')
  @Roles(...READING_ROLES)
  @ApiOperation({ summary: 'The raw file exactly as delivered' })
  async content(@Param('id', new ParseUUIDPipe()) fileId: string, @Res() response: Response) {
    const file = await this.queries.content(fileId);
    if (file === undefined) throw new NotFoundException({ statusCode: 404, error: 'FILE.NOT_FOUND', message: `no file ${fileId}` });
    response.status(200).type('application/octet-stream').send(file.content);
  }

  @Get('files/:id/lines')
  @Roles(...READING_ROLES)
  @ApiOperation({ summary: "The file's stored lines in line order; pass nextAfter (a lineNo) as `after`" })
  async lines(@Param('id', new ParseUUIDPipe()) fileId: string, @Query() query: unknown) {
    const filter = linesQuerySchema.parse(query);
    return this.queries.lines(fileId, filter.after, filter.limit);
  }

  @Get('lines')
  @Roles(...READING_ROLES)
  @ApiProduces('application/x-ndjson')
  @ApiOperation({
    summary:
      'Every published line (bank.line.received payload) of an account and business date: booked on `date`, or value-dated on it, or without ' +
      'either date and received on it; held and retracted lines excluded. Streamed NDJSON from one snapshot, each line once (no particular order), ending with ' +
      '{"end":true,"lines":N}: a stream without that last line was cut short.',
  })
  async dayLines(@CurrentActor() actor: Actor, @Query() query: unknown, @Res() response: Response): Promise<void> {
    const filter = dayLinesQuerySchema.parse(query);
    // A read of the bank's whole record of a day, audited like the ledger's export: who asked for which account and day.
    await this.db.transaction((executor) =>
      this.audit.record(executor, {
        actor,
        role: effectiveRole(actor, READING_ROLES),
        action: 'lines.export',
        entity: { type: 'account', id: filter.account },
        details: { account: filter.account, date: filter.date },
      }),
    );
    let closed = false;
    response.on('close', () => {
      closed = true;
    });
    let count = 0;
    let started = false;
    try {
      for await (const page of this.publishedLines.pagesOf(filter.account, filter.date)) {
        if (closed) return;
        if (!started) {
          response.status(200).type('application/x-ndjson; charset=utf-8');
          started = true;
        }
        count += page.length;
        // Back-pressure: the next page is fetched only once the client has taken this one.
        if (!response.write(page.map((line) => `${JSON.stringify(line)}\n`).join(''))) await drained(response);
      }
    } catch (error) {
      // Once lines are out, the status is sent: cutting the stream (no end line) tells the client it is incomplete.
      if (started) {
        response.destroy(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      throw error;
    }
    if (!started) response.status(200).type('application/x-ndjson; charset=utf-8');
    response.end(`${JSON.stringify({ end: true, lines: count })}\n`);
  }

  @Post('files/:id/reprocess')
  @Roles(...REPROCESS_ROLES)
  @ApiBody({ schema: { example: { format: 'csv:cn-gbk-bank', encoding: 'gb18030' } } })
  @ApiOperation({
    summary: 'Parse the stored file again, optionally with another format/encoding/profile: no duplicate lines, resolves quarantine rows that parse now',
  })
  async reprocess(
    @CurrentActor() actor: Actor,
    @Param('id', new ParseUUIDPipe()) fileId: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ) {
    const input = reprocessSchema.parse(body ?? {});
    const result = await this.reprocessFile.execute(actor, effectiveRole(actor, REPROCESS_ROLES), fileId, input);
    if (!result.ok) throw new NotFoundException({ statusCode: 404, error: result.code, message: result.message });
    response.status(result.parse.unreadableReason === undefined ? 200 : 422);
    return { fileId: result.fileId, parse: result.parse };
  }

  @Get('quarantine')
  @Roles(...READING_ROLES)
  @ApiOperation({ summary: 'Quarantined lines (reason, raw text, line number); filters file, connection, status open|resolved|all; cursor `after`' })
  async quarantine(@Query() query: unknown) {
    const filter = quarantineQuerySchema.parse(query);
    return this.queries.quarantine({
      status: filter.status,
      limit: filter.limit,
      ...(filter.file === undefined ? {} : { fileId: filter.file }),
      ...(filter.connection === undefined ? {} : { connectionId: filter.connection }),
      ...(filter.after === undefined ? {} : { after: filter.after }),
    });
  }

  @Get('findings')
  @Roles(...READING_ROLES)
  @ApiOperation({ summary: 'Findings for review: a file claiming a statement another file already delivered with other content' })
  async findings(@Query() query: unknown) {
    const filter = findingsQuerySchema.parse(query);
    return this.queries.findings({
      limit: filter.limit,
      status: filter.status,
      ...(filter.file === undefined ? {} : { fileId: filter.file }),
      ...(filter.after === undefined ? {} : { after: filter.after }),
    });
  }

  @Post('findings/:id/resolve')
  @Roles(...RESOLVING_ROLES)
  @ApiBody({ schema: { example: { resolution: 'accept_new', reason: 'the bank confirmed the second file corrects the first' } } })
  @ApiOperation({
    summary:
      'Close a finding after review, once, with a reason: dismissed | acknowledged (ops, integrator, admin; held lines stay held) or accept_new ' +
      '(approver, admin: the earlier version is retracted and the held lines published, in one transaction; retrying it answers the same outcome)',
  })
  async resolveFinding(@CurrentActor() actor: Actor, @Param('id', new ParseUUIDPipe()) findingId: string, @Body() body: unknown) {
    const result = await this.resolve.execute(actor, effectiveRole(actor, RESOLVING_ROLES), findingId, resolveFindingSchema.parse(body));
    if (result.ok) {
      return {
        findingId: result.findingId,
        resolution: result.resolution,
        resolvedAt: result.resolvedAt,
        ...(result.acceptNew === undefined ? {} : { alreadyResolved: result.alreadyResolved, ...result.acceptNew }),
      };
    }
    switch (result.code) {
      case 'FINDING.NOT_FOUND':
        throw new NotFoundException({ statusCode: 404, error: result.code, message: result.message });
      case 'FINDING.ALREADY_RESOLVED':
      case 'FINDING.NOTHING_HELD':
        throw new ConflictException({ statusCode: 409, error: result.code, message: result.message });
      case 'FINDING.ROLE_REQUIRED':
        throw new ForbiddenException({ statusCode: 403, error: result.code, message: result.message });
      default:
        return assertUnreachable(result.code);
    }
  }
}

/** Resolves when the response can take more, or the client went away. */
function drained(response: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

function assertUnreachable(value: never): never {
  throw new Error(`unhandled case ${String(value)}`);
}
