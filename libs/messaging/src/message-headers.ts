/** Header names on every event message. */
export const MessageHeaders = {
  /** JetStream de-duplicates on it within the stream's duplicate window; consumers' inboxes key on it. */
  messageId: 'Nats-Msg-Id',
  schemaVersion: 'Recon-Schema-Version',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

export const EVENT_HEADERS_MAX = 32;
export const HEADER_NAME_LENGTH_MAX = 64;
export const HEADER_VALUE_LENGTH_MAX = 1_024;

const HEADER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const RESERVED_HEADER_PATTERN = /^(nats-|recon-schema-version$)/i;

/** Checks headers a producer adds: bounded, no CR/LF smuggling, and none of the names this library owns. */
export function checkEventHeaders(subject: string, headers: Readonly<Record<string, string>>): void {
  const names = Object.keys(headers);
  if (names.length > EVENT_HEADERS_MAX) throw new Error(`event ${subject}: more than ${EVENT_HEADERS_MAX} headers`);
  for (const name of names) {
    const value = headers[name];
    if (name.length > HEADER_NAME_LENGTH_MAX || !HEADER_NAME_PATTERN.test(name)) {
      throw new Error(`event ${subject}: header name '${name}' must be at most ${HEADER_NAME_LENGTH_MAX} of [A-Za-z0-9_-]`);
    }
    if (RESERVED_HEADER_PATTERN.test(name)) throw new Error(`event ${subject}: header '${name}' is set by the messaging library`);
    if (typeof value !== 'string' || value.length > HEADER_VALUE_LENGTH_MAX || /[\r\n]/.test(value)) {
      throw new Error(`event ${subject}: header '${name}' must be a single-line string of at most ${HEADER_VALUE_LENGTH_MAX} characters`);
    }
  }
}
