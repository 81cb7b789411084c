import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/**
 * One error body for every failure: `{ statusCode, error, message, issues? }`. Input errors name what is
 * wrong; unexpected errors are logged with their stack and answered without internals.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const response = host.switchToHttp().getResponse<Response>();
    if (response.headersSent) return;
    const { status, body } = this.describe(exception);
    response.status(status).json(body);
  }

  private describe(exception: unknown): { status: number; body: Record<string, unknown> } {
    if (exception instanceof ZodError) {
      const issues = exception.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
      const message = issues.map((issue) => `${issue.path || '(body)'}: ${issue.message}`).join('; ');
      return { status: HttpStatus.BAD_REQUEST, body: { statusCode: 400, error: 'invalid_request', message, issues } };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const raw = exception.getResponse();
      const body = typeof raw === 'string' ? { statusCode: status, message: raw } : { statusCode: status, ...(raw as Record<string, unknown>) };
      return { status, body };
    }
    const parserError = exception as BodyParserError;
    if (parserError?.type === 'entity.too.large') {
      return { status: 413, body: { statusCode: 413, error: 'payload_too_large', message: `request body exceeds ${parserError.limit ?? 'the'} bytes limit` } };
    }
    if (parserError?.type === 'entity.parse.failed') {
      return { status: 400, body: { statusCode: 400, error: 'invalid_json', message: 'request body is not valid JSON' } };
    }
    if (parserError?.type !== undefined && typeof parserError.status === 'number' && parserError.status < 500) {
      return { status: parserError.status, body: { statusCode: parserError.status, error: 'bad_request', message: String((exception as Error).message) } };
    }
    this.logger.error({ err: exception }, 'unhandled error');
    return { status: 500, body: { statusCode: 500, error: 'internal_error', message: 'internal error; see the service log for this request id' } };
  }
}
