import * as path from 'node:path';
import { type DynamicModule, Module } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { PlatformConfig } from '@recon/config';
import type { Telemetry } from '@recon/observability';
import { createHttpApp, PlatformModule, type PlatformOptions, prepareDatabase, serviceMigrations } from '@recon/platform';

export const BANK_GATEWAY_MIGRATIONS_DIRECTORY = path.join(__dirname, 'database', 'migrations');

@Module({})
export class BankGatewayModule {
  static register(platform: PlatformOptions): DynamicModule {
    return { module: BankGatewayModule, imports: [PlatformModule.forService(platform)] };
  }
}

export async function migrateBankGateway(config: PlatformConfig): Promise<string[]> {
  return prepareDatabase(config, serviceMigrations(BANK_GATEWAY_MIGRATIONS_DIRECTORY));
}

export async function createBankGatewayApp(config: PlatformConfig, telemetry: Telemetry, options: { runOutboxRelay?: boolean } = {}): Promise<NestExpressApplication> {
  return createHttpApp(BankGatewayModule.register({ config, telemetry, usesRedis: true, ...options }) as never, config, {
    title: 'Bank gateway',
    description: 'See docs/ and the README: this service grows in its own issue.',
  });
}
