import { startTelemetry } from '@recon/observability';
import { loadLedgerConfig, LEDGER_DEFAULTS } from './ledger.config';

async function main(): Promise<void> {
  const config = loadLedgerConfig(process.env);
  // Telemetry first: it patches http, express and pg as they load.
  const telemetry = startTelemetry({ serviceName: LEDGER_DEFAULTS.serviceName, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const { createLedgerApp, migrateLedger } = await import('./ledger.app');
  const { listen } = await import('@recon/platform');
  if (config.migrateOnStart) await migrateLedger(config);
  const app = await createLedgerApp(config, telemetry);
  await listen(app, config);
}

main().catch((error: unknown) => {
  process.stderr.write(`ledger failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
