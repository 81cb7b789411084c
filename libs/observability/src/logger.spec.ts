import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { Writable } from 'node:stream';
import { createLogger } from './logger';

describe(createLogger.name, () => {
  it('writes one JSON object per line with the active trace id', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    const tracer = new BasicTracerProvider().getTracer('test');
    const sut = createLogger('ledger', 'info', sink);
    let traceId = '';
    tracer.startActiveSpan('work', (span) => {
      traceId = span.spanContext().traceId;
      sut.info({ transactionId: 't-1' }, 'posted');
      span.end();
    });
    sut.info('outside');
    context.disable();
    const inside = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    const outside = JSON.parse(lines[1] ?? '{}') as Record<string, unknown>;
    expect(inside).toMatchObject({ service: 'ledger', level: 'info', msg: 'posted', transactionId: 't-1', traceId });
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(outside.traceId).toBeUndefined();
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
