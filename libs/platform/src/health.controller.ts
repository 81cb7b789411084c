import { Controller, Get, Inject, Optional, ServiceUnavailableException } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { Public } from '@recon/auth';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Redis } from 'ioredis';
import type { DataSource } from 'typeorm';
import { DATA_SOURCE, NATS_CONNECTION, REDIS } from './tokens';

const READINESS_CHECK_TIMEOUT_MS = 2_000;

type CheckResult = 'up' | `down: ${string}`;

/**
 * Liveness says the process answers; readiness says every dependency this service uses answers now.
 * Both are public (probes carry no credentials) and reveal nothing beyond up/down.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DATA_SOURCE) private readonly dataSource: DataSource,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Optional() @Inject(REDIS) private readonly redis?: Redis,
  ) {}

  @Public()
  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Public()
  @Get('ready')
  async ready(): Promise<{ status: 'ok'; checks: Record<string, CheckResult> }> {
    const checks: Record<string, CheckResult> = {
      postgres: await check(async () => {
        await this.dataSource.query('SELECT 1');
      }),
      nats: await check(async () => {
        if (this.nats.isClosed()) throw new Error('connection closed');
        await this.nats.flush();
      }),
    };
    if (this.redis !== undefined) {
      const redis = this.redis;
      checks.redis = await check(async () => {
        await redis.ping();
      });
    }
    if (Object.values(checks).some((result) => result !== 'up')) {
      throw new ServiceUnavailableException({ statusCode: 503, status: 'unavailable', checks });
    }
    return { status: 'ok', checks };
  }
}

async function check(probe: () => Promise<void>): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${READINESS_CHECK_TIMEOUT_MS} ms`)), READINESS_CHECK_TIMEOUT_MS);
      }),
    ]);
    return 'up';
  } catch (error: unknown) {
    return `down: ${error instanceof Error ? error.message : String(error)}`;
  } finally {
    clearTimeout(timer);
  }
}
