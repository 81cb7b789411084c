import { type Context, context, propagation, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { headers as createHeaders, type MsgHdrs } from '@nats-io/nats-core';

/** A NATS header map or a plain object (the outbox stores headers as JSON). */
export type HeaderCarrier = MsgHdrs | Record<string, string>;

function isMsgHdrs(carrier: HeaderCarrier): carrier is MsgHdrs {
  return typeof (carrier as Partial<MsgHdrs>).keys === 'function' && typeof (carrier as Partial<MsgHdrs>).get === 'function';
}

const setter: TextMapSetter<HeaderCarrier> = {
  set(carrier, key, value) {
    if (isMsgHdrs(carrier)) carrier.set(key, value);
    else carrier[key] = value;
  },
};

/** NATS header names are case-sensitive on the wire; W3C says case-insensitive. Accept any case. */
const getter: TextMapGetter<HeaderCarrier> = {
  keys(carrier) {
    return isMsgHdrs(carrier) ? carrier.keys() : Object.keys(carrier);
  },
  get(carrier, key) {
    if (isMsgHdrs(carrier)) {
      const value = carrier.get(key);
      if (value !== '') return value;
      const match = carrier.keys().find((candidate) => candidate.toLowerCase() === key.toLowerCase());
      return match === undefined ? undefined : carrier.get(match);
    }
    const match = Object.keys(carrier).find((candidate) => candidate.toLowerCase() === key.toLowerCase());
    return match === undefined ? undefined : carrier[match];
  },
};

/**
 * Writes the active (or given) context's W3C `traceparent`/`tracestate` (and baggage, when a baggage propagator
 * is registered) into the headers, through the globally registered propagator (@recon/observability sets it).
 */
export function injectTraceContext<T extends HeaderCarrier>(headers: T, from: Context = context.active()): T {
  propagation.inject(from, headers, setter);
  return headers;
}

/** The context described by the headers, on top of `base` (the active context by default). */
export function extractTraceContext(headers: HeaderCarrier | undefined, base: Context = context.active()): Context {
  if (headers === undefined) return base;
  return propagation.extract(base, headers, getter);
}

export function msgHdrsOf(record: Readonly<Record<string, string>>): MsgHdrs {
  const result = createHeaders();
  for (const [key, value] of Object.entries(record)) result.set(key, value);
  return result;
}

export function recordOfMsgHdrs(headers: MsgHdrs | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (headers === undefined) return result;
  for (const key of headers.keys()) result[key] = headers.get(key);
  return result;
}
