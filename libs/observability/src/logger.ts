import { trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured JSON logs, one object per line, each carrying the active trace and span id so that a log line
 * leads to its trace.
 */
export function createLogger(serviceName: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: serviceName },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const span = trace.getActiveSpan();
        if (span === undefined) return {};
        const context = span.spanContext();
        return { traceId: context.traceId, spanId: context.spanId };
      },
    },
    destination,
  );
}

/** The active trace id, or undefined outside a span. */
export function activeTraceId(): string | undefined {
  return trace.getActiveSpan()?.spanContext().traceId;
}
