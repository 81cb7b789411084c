import { type CustomTransportStrategy, Server } from '@nestjs/microservices';
import { context, SpanKind, trace } from '@opentelemetry/api';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import { extractTraceContext, rpcSubjectFor } from '@recon/messaging';
import type { Logger } from 'pino';
import { lastValueFrom } from 'rxjs';

export const RPC_REQUEST_BYTES_MAX = 64 * 1024;

export interface NatsRpcServerOptions {
  readonly nats: () => NatsConnection;
  readonly namespace: string;
  /** Queue group: every instance of a service shares it, so each request is answered once. */
  readonly queue: string;
  readonly logger: Logger;
}

/**
 * A Nest microservice transport over core NATS request/reply with the @nats-io clients (Nest's built-in
 * NATS transport needs the older `nats` package). Handlers are `@MessagePattern('<name>')` methods; the
 * subject is `rpcSubjectFor(namespace, name)`; payloads and replies are JSON. Replies to failures are
 * `{ ok: false, error: { code, message } }`, never a silent timeout. Durable events go through JetStream,
 * not through here.
 */
export class NatsRpcServer extends Server implements CustomTransportStrategy {
  private readonly subscriptions: Subscription[] = [];

  constructor(private readonly options: NatsRpcServerOptions) {
    super();
  }

  listen(callback: () => void): void {
    const nats = this.options.nats();
    for (const [pattern, handler] of this.messageHandlers) {
      const subject = rpcSubjectFor(this.options.namespace, pattern);
      const subscription = nats.subscribe(subject, {
        queue: this.options.queue,
        callback: (error, message) => {
          if (error !== null) {
            this.options.logger.error({ err: error, subject }, 'rpc subscription failed');
            return;
          }
          void this.answer(pattern, handler, message);
        },
      });
      this.subscriptions.push(subscription);
    }
    callback();
  }

  private async answer(pattern: string, handler: (data: unknown) => Promise<unknown>, message: Msg): Promise<void> {
    const headers: Record<string, string> = {};
    for (const key of message.headers?.keys() ?? []) headers[key] = message.headers?.get(key) ?? '';
    const tracer = trace.getTracer('nats-rpc');
    await context.with(extractTraceContext(headers), () =>
      tracer.startActiveSpan(`rpc ${pattern}`, { kind: SpanKind.SERVER }, async (span) => {
        try {
          if (message.data.length > RPC_REQUEST_BYTES_MAX) {
            message.respond(JSON.stringify({ ok: false, error: { code: 'RPC.TOO_LARGE', message: `request exceeds ${RPC_REQUEST_BYTES_MAX} bytes` } }));
            return;
          }
          let data: unknown;
          try {
            data = JSON.parse(message.string());
          } catch {
            message.respond(JSON.stringify({ ok: false, error: { code: 'RPC.INVALID_JSON', message: 'request is not JSON' } }));
            return;
          }
          const reply = await lastValueFrom(this.transformToObservable(await handler(data)));
          message.respond(JSON.stringify(reply));
        } catch (error: unknown) {
          this.options.logger.error({ err: error, pattern }, 'rpc handler failed');
          message.respond(JSON.stringify({ ok: false, error: { code: 'RPC.INTERNAL', message: 'internal error' } }));
        } finally {
          span.end();
        }
      }),
    );
  }

  async close(): Promise<void> {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
    this.subscriptions.length = 0;
  }

  on(): never {
    throw new Error('NatsRpcServer has no events to listen to');
  }

  unwrap<T>(): T {
    return this.options.nats() as T;
  }
}
