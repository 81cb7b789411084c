import { ConflictException, HttpException, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import { assertUnreachable, type JournalError, JournalErrorCode } from '../domain/journal.errors';

/** Maps every journal error code to HTTP; a new code fails to compile until it is mapped here (R9). */
export function toHttpException(error: JournalError): HttpException {
  const body = { error: error.code, message: error.message, ...(error.itemIndex === undefined ? {} : { itemIndex: error.itemIndex }) };
  switch (error.code) {
    case JournalErrorCode.Unbalanced:
    case JournalErrorCode.CurrencyMismatch:
    case JournalErrorCode.UnknownAccount:
    case JournalErrorCode.InsufficientFunds:
    case JournalErrorCode.IdempotencyKeyReused:
    case JournalErrorCode.ReversalOfReversal:
      return new UnprocessableEntityException({ statusCode: 422, ...body });
    case JournalErrorCode.TransactionNotFound:
      return new NotFoundException({ statusCode: 404, ...body });
    case JournalErrorCode.AlreadyReversed:
      return new ConflictException({ statusCode: 409, ...body });
    default:
      return assertUnreachable(error.code);
  }
}
