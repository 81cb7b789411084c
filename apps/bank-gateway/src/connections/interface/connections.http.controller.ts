import { BadRequestException, Body, ConflictException, Controller, Get, Inject, NotFoundException, Param, Post, Query, Res } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Actor, CurrentActor, effectiveRole, Roles } from '@recon/auth';
import type { Role } from '@recon/config';
import { TRANSACTIONS } from '@recon/platform';
import type { TransactionRunner } from '@recon/persistence';
import type { Response } from 'express';
import { z } from 'zod';
import { findConnection, findConnections } from '../application/connection.queries';
import { SaveConnectionUseCase } from '../application/save-connection.use-case';
import { CONNECTIONS_MAX, connectionInputSchema, inlineSecretPaths } from '../domain/connection';
import { PullScheduler } from '../../pull/application/pull.scheduler';

const CONNECTION_ROLES: Role[] = ['integrator', 'admin'];
const listQuerySchema = z.object({}).strict();

@ApiTags('connections')
@Controller('v1/connections')
export class ConnectionsHttpController {
  constructor(
    private readonly save: SaveConnectionUseCase,
    private readonly scheduler: PullScheduler,
    @Inject(TRANSACTIONS) private readonly db: TransactionRunner,
  ) {}

  @Post()
  @Roles(...CONNECTION_ROLES)
  @ApiOperation({
    summary: 'Create a bank connection, or replace the one with the same name (201 created, 200 replaced). Credentials only by reference (secretRef).',
  })
  @ApiBody({
    schema: {
      example: {
        name: 'acme-eur',
        bankId: 'COBADEFFXXX',
        custodyAccount: 'DE89370400440532013000',
        format: 'camt.053',
        encoding: 'auto',
        schedule: { cron: '0 7 * * 1-5', timeZone: 'Europe/Berlin' },
        transport: { kind: 'sftp', host: 'sftp.bank.example', port: 22, path: '/outbox', username: 'acme' },
        secretRef: 'env:ACME_SFTP_PASSWORD',
      },
    },
  })
  async create(@CurrentActor() actor: Actor, @Body() body: unknown, @Res({ passthrough: true }) response: Response) {
    const inline = inlineSecretPaths(body);
    if (inline.length > 0) {
      throw new BadRequestException({
        statusCode: 400,
        error: 'CONNECTION.INLINE_SECRET',
        message: `credentials are given by reference (secretRef: 'env:NAME' or 'file:/path'), never inline: remove ${inline.join(', ')}`,
      });
    }
    const result = await this.save.execute(actor, effectiveRole(actor, CONNECTION_ROLES), connectionInputSchema.parse(body));
    if (!result.ok) {
      if (result.code === 'CONNECTION.UNKNOWN_ADAPTER') throw new BadRequestException({ statusCode: 400, error: result.code, message: result.message });
      throw new ConflictException({ statusCode: 409, error: result.code, message: result.message });
    }
    response.status(result.created ? 201 : 200);
    return result.connection;
  }

  @Get()
  @Roles(...CONNECTION_ROLES)
  @ApiOperation({ summary: `Every connection in name order (at most ${CONNECTIONS_MAX})` })
  async list(@Query() query: unknown) {
    listQuerySchema.parse(query);
    const connections = await this.db.transaction((executor) => findConnections(executor, 'ORDER BY name', []));
    return { connections };
  }

  @Get(':idOrName')
  @Roles(...CONNECTION_ROLES)
  async get(@Param('idOrName') idOrName: string) {
    const connection = await this.db.transaction((executor) => findConnection(executor, idOrName));
    if (connection === undefined) throw new NotFoundException({ statusCode: 404, error: 'CONNECTION.NOT_FOUND', message: `no connection '${idOrName}'` });
    return connection;
  }

  @Post(':idOrName/pull')
  @Roles(...CONNECTION_ROLES, 'service')
  @ApiOperation({ summary: 'Pull new files from the connection now (a one-off job on the same queue as the schedule); 202' })
  async pullNow(@Param('idOrName') idOrName: string, @Res({ passthrough: true }) response: Response) {
    const connection = await this.db.transaction((executor) => findConnection(executor, idOrName));
    if (connection === undefined) throw new NotFoundException({ statusCode: 404, error: 'CONNECTION.NOT_FOUND', message: `no connection '${idOrName}'` });
    if (connection.transport.kind === 'upload')
      throw new BadRequestException({ statusCode: 400, error: 'CONNECTION.NOT_PULLABLE', message: 'an upload connection has nothing to pull' });
    const jobId = await this.scheduler.pullNow(connection.connectionId);
    response.status(202);
    return { connectionId: connection.connectionId, jobId };
  }
}
