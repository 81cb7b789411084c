import {
  Body,
  ConflictException,
  Controller,
  ForbiddenException,
  Get,
  Headers,
  HttpCode,
  HttpException,
  NotFoundException,
  Param,
  Post,
  Query,
  Res,
  UnprocessableEntityException,
  BadRequestException,
} from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type Actor, CurrentActor, Roles } from '@recon/auth';
import type { Role } from '@recon/config';
import { isIsoDate } from '@recon/matching';
import type { Response } from 'express';
import { z } from 'zod';
import { RuleSetVersionsUseCase } from '../application/rule-set-versions.use-case';
import { RULE_SET_VERSION_PATTERN, RulesError, type RulesErrorCode, sourceFormatOf } from '../domain/rule-set-version';
import { RULE_SET_VERSIONS_PAGE_SIZE_MAX } from '../infrastructure/rule-sets.pg.repository';

const READ_ROLES: Role[] = ['ops', 'approver', 'auditor', 'service'];
/** Who may write a rule set version; it changes nothing until someone else activates it. */
const AUTHOR_ROLES: Role[] = ['ops', 'approver'];
/** Activation changes what the service matches, so what becomes a break: approver (admin passes every role check). */
const ACTIVATE_ROLES: Role[] = ['approver'];

const versionSchema = z.string().regex(RULE_SET_VERSION_PATTERN, "a rule set version: 1 to 64 letters, digits, '.', '_', ':', '+' or '-'");
const listSchema = z.object({ limit: z.coerce.number().int().min(1).max(RULE_SET_VERSIONS_PAGE_SIZE_MAX).default(50) }).strict();
const previewSchema = z
  .object({
    account: z.string().regex(/^[A-Za-z0-9._:/ -]{1,64}$/, 'a bank account as the statements name it'),
    businessDate: z.string().refine(isIsoDate, 'must be a calendar date YYYY-MM-DD'),
  })
  .strict();

const RULE_SET_EXAMPLE = `version: 2025-02-custody-fees
defaults:
  amountToleranceMinor: 0
  valueDateToleranceDays: 2
ignoredReferences: [NOTPROVIDED, NONREF, NONE]
rules:
  - type: ref-exact
    amountToleranceMinor: 5
  - type: ref-in-text
  - type: ref-truncated
  - type: batch
  - type: amount-date
`;

export function toHttpError(error: unknown): unknown {
  if (!(error instanceof RulesError)) return error;
  const body = { error: error.code, message: error.message };
  const code: RulesErrorCode = error.code;
  switch (code) {
    case 'RULES.INVALID':
      return new BadRequestException({ statusCode: 400, ...body });
    case 'RULES.UNSUPPORTED_MEDIA_TYPE':
      return new HttpException({ statusCode: 415, ...body }, 415);
    case 'RULES.NOT_FOUND':
      return new NotFoundException({ statusCode: 404, ...body });
    case 'RULES.VERSION_CONFLICT':
      return new ConflictException({ statusCode: 409, ...body });
    case 'RULES.FOUR_EYES':
      return new ForbiddenException({ statusCode: 403, ...body });
    case 'RULES.PREVIEW_TOO_LARGE':
      return new UnprocessableEntityException({ statusCode: 422, ...body });
    default:
      return assertUnreachable(code);
  }
}

function assertUnreachable(value: never): never {
  throw new Error(`unhandled rules error code ${String(value)}`);
}

async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw toHttpError(error);
  }
}

@ApiTags('rules')
@Controller('v1/rules')
export class RulesHttpController {
  constructor(private readonly rules: RuleSetVersionsUseCase) {}

  @Get('versions')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'The active rule set (the built-in one until a version is activated) and the stored versions, newest first' })
  async list(@Query() raw: unknown) {
    const query = listSchema.parse(raw);
    return this.rules.list(query.limit);
  }

  @Post('versions')
  @Roles(...AUTHOR_ROLES)
  @ApiConsumes('application/yaml', 'application/json', 'text/plain')
  @ApiBody({
    description: 'A rule file as for `recon reconcile --rules` (docs/matching.md); its `version` names the stored version',
    schema: { type: 'string', example: RULE_SET_EXAMPLE },
  })
  @ApiOperation({
    summary:
      'Store a rule set version from a YAML or JSON body (201; the same version with the same content again: 200, nothing stored; with other content: 409). It applies only once another person activates it.',
  })
  async create(
    @CurrentActor() actor: Actor,
    @Headers('content-type') contentType: string | undefined,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ) {
    const sourceFormat = sourceFormatOf(contentType);
    if (sourceFormat === undefined || typeof body !== 'string') {
      throw toHttpError(
        new RulesError(
          'RULES.UNSUPPORTED_MEDIA_TYPE',
          `send the rule set as application/yaml (or text/yaml, text/plain) or application/json; got ${contentType === undefined ? 'no Content-Type' : `'${contentType.slice(0, 100)}'`}`,
        ),
      );
    }
    const result = await mapped(() => this.rules.create(actor, AUTHOR_ROLES, body, sourceFormat));
    response.status(result.created ? 201 : 200);
    return result.version;
  }

  @Get('versions/:version')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'One version with its resolved rule set (every default filled in, as hashed into rulesHash)' })
  async get(@Param('version') raw: string) {
    const version = versionSchema.parse(raw);
    return mapped(() => this.rules.get(version));
  }

  @Get('versions/:version/preview')
  @Roles(...READ_ROLES)
  @ApiOperation({
    summary:
      'Dry run: the active rule set and this version over the stored items of one custody account and business day: match groups gained and lost, breaks per type of each. Read-only.',
  })
  async preview(@Param('version') raw: string, @Query() rawQuery: unknown) {
    const version = versionSchema.parse(raw);
    const query = previewSchema.parse(rawQuery);
    return mapped(() => this.rules.preview(version, query.account, query.businessDate));
  }

  @Post('versions/:version/activate')
  @Roles(...ACTIVATE_ROLES)
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Make this version the rule set of continuous matching, runs and the sweep (every instance within its recheck interval). Four eyes: never by the person who created the version (403 RULES.FOUR_EYES). The version already active: nothing changes.',
  })
  async activate(@CurrentActor() actor: Actor, @Param('version') raw: string) {
    const version = versionSchema.parse(raw);
    return mapped(() => this.rules.activate(actor, ACTIVATE_ROLES, version));
  }
}
