import { context, propagation, trace, TraceFlags } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { extractTraceContext, injectTraceContext, msgHdrsOf, recordOfMsgHdrs } from './trace-context';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

describe('trace context propagation', () => {
  beforeAll(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
  afterAll(() => propagation.disable());

  const producerContext = () => trace.setSpanContext(context.active(), { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED, isRemote: false });

  it('writes traceparent into a plain header record and into NATS headers', () => {
    expect(injectTraceContext({}, producerContext())).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` });
    const natsHeaders = injectTraceContext(msgHdrsOf({ 'Nats-Msg-Id': 'm-1' }), producerContext());
    expect(natsHeaders.get('traceparent')).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
  });

  it('round-trips through NATS headers to the same trace and parent span', () => {
    const carried = msgHdrsOf(injectTraceContext({}, producerContext()));
    const extracted = trace.getSpanContext(extractTraceContext(carried));
    expect(extracted).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
    expect(recordOfMsgHdrs(carried)).toEqual({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` });
  });

  it('reads a header whatever its case', () => {
    const extracted = trace.getSpanContext(extractTraceContext({ TraceParent: `00-${TRACE_ID}-${SPAN_ID}-01` }));
    expect(extracted?.traceId).toBe(TRACE_ID);
  });

  it('adds nothing outside a trace, and extracts nothing from headers without one', () => {
    expect(injectTraceContext({}, context.active())).toEqual({});
    expect(trace.getSpanContext(extractTraceContext({ other: 'x' }))).toBeUndefined();
    expect(trace.getSpanContext(extractTraceContext(undefined))).toBeUndefined();
  });
});
