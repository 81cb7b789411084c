import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface TelemetrySettings {
  readonly serviceName: string;
  /** OTLP/HTTP endpoint (e.g. http://127.0.0.1:4318). Without it traces stay in-process: quiet, no exporter. */
  readonly otlpEndpoint?: string | undefined;
}

export interface Telemetry {
  /** Serves Prometheus text exposition of every metric of this process. */
  metricsHandler(request: IncomingMessage, response: ServerResponse): void;
  shutdown(): Promise<void>;
}

/**
 * Starts OpenTelemetry before the instrumented modules (http, express, pg, ioredis) are loaded: call it
 * first thing in a service's main. W3C trace context is the SDK's default propagator, which the messaging
 * library uses to carry traces through NATS headers.
 */
export function startTelemetry(settings: TelemetrySettings): Telemetry {
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const sdk = new NodeSDK({
    serviceName: settings.serviceName,
    metricReader: prometheus,
    instrumentations: [
      new HttpInstrumentation({ ignoreIncomingRequestHook: (request) => request.url === '/metrics' || (request.url ?? '').startsWith('/health') }),
      new ExpressInstrumentation(),
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
      new IORedisInstrumentation(),
    ],
    ...(settings.otlpEndpoint === undefined
      ? { traceExporter: undefined, spanProcessors: [] }
      : { traceExporter: new OTLPTraceExporter({ url: `${settings.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }) }),
  });
  sdk.start();
  return {
    metricsHandler: (request, response) => prometheus.getMetricsRequestHandler(request, response),
    shutdown: () => sdk.shutdown(),
  };
}

export function meterFor(serviceName: string) {
  return metrics.getMeter(serviceName);
}

/**
 * Metrics exposition without tracing instrumentation: for tests and tools that build a service in-process,
 * where patching modules (the SDK's job) is neither possible nor wanted.
 */
export function startMetricsOnlyTelemetry(): Telemetry {
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [prometheus] });
  metrics.setGlobalMeterProvider(provider);
  return {
    metricsHandler: (request, response) => prometheus.getMetricsRequestHandler(request, response),
    shutdown: () => provider.shutdown(),
  };
}
