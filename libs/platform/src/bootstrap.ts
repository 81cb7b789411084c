import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { PlatformConfig } from '@recon/config';
import { MESSAGING_MIGRATIONS } from '@recon/messaging';
import { createLogger, PinoNestLogger } from '@recon/observability';
import { ensureDatabase, type Migration, migrationsFromDirectory, runMigrations, serviceRoleFor } from '@recon/persistence';
import express from 'express';
import type { NatsConnection } from '@nats-io/nats-core';
import { HttpErrorFilter } from './http-error.filter';
import { NatsRpcServer } from './nats-rpc.server';
import { NATS_CONNECTION } from './tokens';
import { requestContextMiddleware } from './request-context';

export interface HttpAppOptions {
  readonly title: string;
  readonly description: string;
  /** Extra body parsers (e.g. raw statement uploads) mounted before JSON. */
  readonly configure?: (app: NestExpressApplication) => void;
  /** Answer `@MessagePattern` handlers over NATS request/reply (queue group = service name). */
  readonly rpc?: boolean;
}

/**
 * Builds the HTTP application exactly as production runs it (guards, limits, error mapping, OpenAPI at
 * /docs) without listening, so that supertest drives the same thing.
 */
export async function createHttpApp(module: Type, config: PlatformConfig, options: HttpAppOptions): Promise<NestExpressApplication> {
  const logger = createLogger(config.serviceName, config.LOG_LEVEL);
  const app = await NestFactory.create<NestExpressApplication>(module, { bodyParser: false, logger: new PinoNestLogger(logger) });
  app.use(requestContextMiddleware);
  options.configure?.(app);
  app.use(express.json({ limit: config.HTTP_BODY_BYTES_MAX, strict: true }));
  app.useGlobalFilters(new HttpErrorFilter(logger));
  app.disable('x-powered-by');
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle(options.title)
      .setDescription(options.description)
      .setVersion('1')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Api-Key' }, 'api-key')
      .addBearerAuth()
      .addSecurityRequirements('api-key')
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  app.enableShutdownHooks();
  if (options.rpc === true) {
    app.connectMicroservice(
      {
        strategy: new NatsRpcServer({
          nats: () => app.get<NatsConnection>(NATS_CONNECTION),
          namespace: config.NATS_NAMESPACE,
          queue: config.serviceName,
          logger,
        }),
      },
      { inheritAppConfig: true },
    );
    await app.startAllMicroservices();
  }
  return app;
}

/** Creates the database when missing, then the service's role and schema, then applies pending migrations. */
export async function prepareDatabase(config: PlatformConfig, serviceMigrations: readonly Migration[]): Promise<string[]> {
  const logger = createLogger(config.serviceName, config.LOG_LEVEL);
  await ensureDatabase(config.DATABASE_ADMIN_URL);
  return runMigrations({
    adminUrl: config.DATABASE_ADMIN_URL,
    schema: config.DATABASE_SCHEMA,
    serviceRole: serviceRoleFor(config.DATABASE_SCHEMA),
    migrations: [...MESSAGING_MIGRATIONS, ...serviceMigrations],
    log: (message) => logger.info(message),
  });
}

export function serviceMigrations(directory: string): Migration[] {
  return migrationsFromDirectory(directory);
}

export async function listen(app: INestApplication, config: PlatformConfig): Promise<void> {
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  createLogger(config.serviceName, config.LOG_LEVEL).info({ port: config.HTTP_PORT, host: config.HTTP_HOST }, `${config.serviceName} listening`);
}
