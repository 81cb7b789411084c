/** Typed codes, so that the service and the CLI can map each failure without parsing messages. */
export enum AuditLogErrorCode {
  KeyMalformed = 'AUDIT.KEY_MALFORMED',
  NoteMalformed = 'AUDIT.NOTE_MALFORMED',
  CheckpointMalformed = 'AUDIT.CHECKPOINT_MALFORMED',
  UnknownKey = 'AUDIT.UNKNOWN_KEY',
  BadSignature = 'AUDIT.BAD_SIGNATURE',
  EventInvalid = 'AUDIT.EVENT_INVALID',
}

export class AuditLogError extends Error {
  constructor(
    readonly code: AuditLogErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AuditLogError';
  }
}
