import busboy from 'busboy';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';

/** What the upload route finds in `request.body` after this middleware. */
export interface UploadedStatement {
  readonly content: Buffer;
  readonly fileName?: string;
  readonly mediaType?: string;
}

export const UPLOAD_FIELD_NAME = 'file';
const MULTIPART_FIELDS_MAX = 10;
const MULTIPART_FIELD_BYTES_MAX = 1_024;

function tooLarge(response: Response, bytesMax: number): void {
  response
    .status(413)
    .json({ statusCode: 413, error: 'payload_too_large', message: `the statement file exceeds the ${bytesMax} bytes limit (GATEWAY_UPLOAD_BYTES_MAX)` });
}

function badRequest(response: Response, message: string): void {
  response.status(400).json({ statusCode: 400, error: 'invalid_request', message });
}

function hasCredential(request: Request): boolean {
  return request.headers['x-api-key'] !== undefined || request.headers.authorization !== undefined;
}

/**
 * Body parser of `POST /v1/statements`, mounted before the JSON parser: the raw bytes of a bank file (any content
 * type but multipart, e.g. application/octet-stream, text/plain, application/xml) or the `file` field of a
 * multipart/form-data upload, at most `bytesMax` bytes (413 beyond). A request without any credential is not read
 * at all: the guard answers 401 without the service reading 50 MiB first.
 */
export function uploadBodyMiddleware(bytesMax: number): RequestHandler {
  const raw = express.raw({ type: () => true, limit: bytesMax });
  return (request: Request, response: Response, next: NextFunction) => {
    if (request.method !== 'POST' || !hasCredential(request)) return next();
    const declaredBytes = Number(request.headers['content-length'] ?? '0');
    if (declaredBytes > bytesMax) {
      // Drained rather than cut off, so that the client reads the 413 instead of a reset connection.
      request.resume();
      return tooLarge(response, bytesMax);
    }
    const contentType = request.headers['content-type'] ?? '';
    if (/^multipart\/form-data/i.test(contentType)) return readMultipart(request, response, next, bytesMax);
    raw(request, response, (error?: unknown) => {
      if (error !== undefined && error !== null) {
        const parserError = error as { type?: string; status?: number; message?: string };
        if (parserError.type === 'entity.too.large') return tooLarge(response, bytesMax);
        return badRequest(response, `cannot read the request body: ${parserError.message ?? String(error)}`);
      }
      const content = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const uploaded: UploadedStatement = { content, ...(contentType === '' ? {} : { mediaType: contentType.slice(0, 200) }) };
      request.body = uploaded;
      next();
    });
  };
}

function readMultipart(request: Request, response: Response, next: NextFunction, bytesMax: number): void {
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: request.headers, limits: { files: 1, fileSize: bytesMax, fields: MULTIPART_FIELDS_MAX, fieldSize: MULTIPART_FIELD_BYTES_MAX } });
  } catch (error) {
    return badRequest(response, `malformed multipart body: ${(error as Error).message}`);
  }
  let uploaded: UploadedStatement | undefined;
  let failed = false;
  const fail = (send: () => void) => {
    if (failed) return;
    failed = true;
    request.unpipe(parser);
    request.resume();
    send();
  };
  parser.on('file', (name, stream, info) => {
    if (name !== UPLOAD_FIELD_NAME) {
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('limit', () => fail(() => tooLarge(response, bytesMax)));
    stream.on('end', () => {
      if (failed) return;
      uploaded = {
        content: Buffer.concat(chunks),
        ...(info.filename ? { fileName: info.filename } : {}),
        ...(info.mimeType ? { mediaType: info.mimeType } : {}),
      };
    });
  });
  parser.on('error', (error: Error) => fail(() => badRequest(response, `malformed multipart body: ${error.message}`)));
  parser.on('close', () => {
    if (failed) return;
    if (uploaded === undefined) return badRequest(response, `multipart upload without a '${UPLOAD_FIELD_NAME}' file field`);
    request.body = uploaded;
    next();
  });
  request.pipe(parser);
}
