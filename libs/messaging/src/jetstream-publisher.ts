import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/nats-core';
import { MessageHeaders } from './message-headers';
import { msgHdrsOf } from './trace-context';

/** What JetStream answered for one message: stored (or recognised as a duplicate within its window). */
export interface PublishAck {
  readonly stream: string;
  readonly sequence: number;
  readonly duplicate: boolean;
}

export interface PublishRequest {
  /** The full (namespaced) subject. */
  readonly subject: string;
  readonly payload: string;
  /** Sent as Nats-Msg-Id: JetStream drops a second message with the same id within the duplicate window. */
  readonly messageId: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Published messages whose ack is outstanding; a relay batch stays far below. */
export const PUBLISHER_PENDING_MAX = 100_000;

interface Pending {
  readonly resolve: (ack: PublishAck) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Publishes to JetStream with acknowledgement, cheaply: one wildcard reply subscription for every publish,
 * instead of the JetStream client's request per message (a request object, a timer and an Error captured
 * per publish: ~60 µs of CPU each, against ~15 µs here). Semantically the same: a message counts as published
 * only on JetStream's PubAck; an error reply, "no responders" (no stream captures the subject) and a
 * timeout reject it.
 */
export class JetStreamPublisher {
  private readonly inboxPrefix: string;
  private readonly pending = new Map<string, Pending>();
  private subscription: Subscription | undefined;
  private nextToken = 0;

  constructor(
    private readonly nats: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.inboxPrefix = createInbox();
  }

  /**
   * Publishes every request at once (one flush) and settles each with its ack or error; a message without an
   * answer within the timeout is rejected (it may still have been stored: republishing with the same id is safe).
   */
  publishAll(requests: readonly PublishRequest[]): Promise<PromiseSettledResult<PublishAck>[]> {
    if (requests.length > PUBLISHER_PENDING_MAX - this.pending.size) {
      return Promise.reject(new Error(`at most ${PUBLISHER_PENDING_MAX} publishes may await their ack`));
    }
    this.ensureSubscribed();
    const tokens: string[] = [];
    const settled = requests.map((request) => {
      const token = (this.nextToken++).toString(36);
      tokens.push(token);
      return new Promise<PublishAck>((resolve, reject) => {
        this.pending.set(token, { resolve, reject });
        try {
          const headers = msgHdrsOf(request.headers);
          headers.set(MessageHeaders.messageId, request.messageId);
          this.nats.publish(request.subject, request.payload, { reply: `${this.inboxPrefix}.${token}`, headers });
        } catch (error) {
          this.pending.delete(token);
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
    const timer = setTimeout(() => {
      for (const token of tokens) {
        const waiting = this.pending.get(token);
        if (waiting === undefined) continue;
        this.pending.delete(token);
        waiting.reject(new Error(`no JetStream ack within ${this.timeoutMs} ms`));
      }
    }, this.timeoutMs);
    return Promise.allSettled(settled).finally(() => clearTimeout(timer));
  }

  /** Stops listening for acks; publishes still awaiting theirs are rejected. */
  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
    for (const [token, waiting] of this.pending) {
      this.pending.delete(token);
      waiting.reject(new Error('publisher closed before the ack arrived'));
    }
  }

  private ensureSubscribed(): void {
    if (this.subscription !== undefined && !this.subscription.isClosed()) return;
    this.subscription = this.nats.subscribe(`${this.inboxPrefix}.*`, { callback: (error, message) => (error === null ? this.onReply(message) : undefined) });
  }

  private onReply(message: Msg): void {
    const token = message.subject.slice(this.inboxPrefix.length + 1);
    const waiting = this.pending.get(token);
    if (waiting === undefined) return; // answered after its timeout: the row was already marked for retry
    this.pending.delete(token);
    const outcome = pubAckOf(message);
    if (outcome instanceof Error) waiting.reject(outcome);
    else waiting.resolve(outcome);
  }
}

/** Reads a PubAck reply: `{stream, seq, duplicate?}`, `{error: {code, description}}`, or a status-only message. */
export function pubAckOf(message: Pick<Msg, 'data' | 'headers' | 'string'>): PublishAck | Error {
  const status = message.headers?.code ?? 0;
  if (message.data.length === 0) {
    // A status message without a body: 503 means no stream listens on the subject.
    return new Error(status === 503 ? 'no responders: no JetStream stream captures the subject' : `JetStream answered status ${status} without an ack`);
  }
  let body: unknown;
  try {
    body = JSON.parse(message.string());
  } catch {
    return new Error('JetStream ack is not JSON');
  }
  if (typeof body !== 'object' || body === null) return new Error('JetStream ack is not an object');
  const record = body as { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: { code?: unknown; description?: unknown } };
  if (record.error !== undefined) {
    return new Error(`JetStream refused the message: ${String(record.error.description ?? 'unknown error')} (${String(record.error.code ?? '?')})`);
  }
  if (typeof record.stream !== 'string' || typeof record.seq !== 'number') return new Error('JetStream ack lacks stream or seq');
  return { stream: record.stream, sequence: record.seq, duplicate: record.duplicate === true };
}
