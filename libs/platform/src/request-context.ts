import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';

/** Per-request facts that the audit trail records: the request id (ours or the caller's). */
export interface RequestContext {
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** Express middleware: takes a well-formed X-Request-Id or makes one, and echoes it in the response. */
export function requestContextMiddleware(request: Request, response: Response, next: NextFunction): void {
  const header = request.headers['x-request-id'];
  const requestId = typeof header === 'string' && REQUEST_ID_PATTERN.test(header) ? header : randomUUID();
  response.setHeader('X-Request-Id', requestId);
  storage.run({ requestId }, next);
}
