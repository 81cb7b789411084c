import { BadRequestException } from '@nestjs/common';

const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;

/** The Idempotency-Key header: required on every write, 1 to 200 visible ASCII characters. */
export function requireIdempotencyKey(header: string | undefined): string {
  if (header === undefined || header.length === 0)
    throw new BadRequestException({ statusCode: 400, error: 'missing_idempotency_key', message: 'the Idempotency-Key header is required' });
  if (!IDEMPOTENCY_KEY_PATTERN.test(header)) {
    throw new BadRequestException({ statusCode: 400, error: 'invalid_idempotency_key', message: 'Idempotency-Key must be 1 to 200 visible ASCII characters' });
  }
  return header;
}
