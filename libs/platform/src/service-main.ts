import { loadConfig, platformConfigSchema, type PlatformConfig, type ServiceConfigDefaults } from '@recon/config';
import type { Telemetry } from '@recon/observability';
import type { INestApplication } from '@nestjs/common';

export interface ServiceDefinition {
  readonly defaults: ServiceConfigDefaults;
  /** Loaded after telemetry has started, so that instrumented modules are patched as they load. */
  readonly load: () => Promise<{
    migrate(config: PlatformConfig): Promise<unknown>;
    createApp(config: PlatformConfig, telemetry: Telemetry): Promise<INestApplication>;
  }>;
}

/** The main of every service: validate configuration, start telemetry, migrate (in development), listen. */
export function runServiceMain(definition: ServiceDefinition): void {
  const run = async () => {
    const config = loadConfig(platformConfigSchema(definition.defaults), process.env);
    const { startTelemetry } = await import('@recon/observability');
    const telemetry = startTelemetry({ serviceName: definition.defaults.serviceName, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
    const service = await definition.load();
    const { listen } = await import('./bootstrap');
    if (config.migrateOnStart) await service.migrate(config);
    const app = await service.createApp(config, telemetry);
    await listen(app, config);
  };
  run().catch((error: unknown) => {
    process.stderr.write(`${definition.defaults.serviceName} failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
