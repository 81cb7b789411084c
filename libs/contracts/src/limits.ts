/**
 * Bounds on every string and list that crosses a service line. A message is a unit of work for a consumer
 * that cannot push back, so nothing in it is unbounded: a producer bug must fail at the producer, loudly.
 */
export const ID_LENGTH_MAX = 128;
export const REFERENCE_LENGTH_MAX = 140; // SWIFT/ISO 20022 references and remittance lines top out at 140
export const TEXT_LENGTH_MAX = 1_000;
export const REASON_LENGTH_MAX = 2_000;
export const ACCOUNT_IDENTIFIER_LENGTH_MAX = 64; // IBANs are 34; bank-internal numbers are shorter still
export const SERVICE_NAME_LENGTH_MAX = 32;
export const ACTION_LENGTH_MAX = 128;
export const HASH_LENGTH_MAX = 128; // hex SHA-512
export const HASH_LENGTH_MIN = 16;
/** Short codes and names: roles, entity types, bank transaction codes, statement sequence numbers, alert kinds. */
export const CODE_LENGTH_MAX = 64;
/** A decimal string: DECIMAL_STRING_LENGTH_MAX digits of @recon/money plus a sign. */
export const AMOUNT_LENGTH_MAX = 41;
export const TRANSACTION_LINES_MAX = 1_000;
export const BATCH_TRANSACTIONS_MAX = 10_000;
export const BREAK_ITEMS_MAX = 1_000;
export const ALERT_BREAK_IDS_MAX = 1_000;
/** The audit `details` object, serialised as JSON, in UTF-8 bytes. */
export const AUDIT_DETAILS_BYTES_MAX = 8 * 1024;
export const AUDIT_DETAILS_KEYS_MAX = 64;
export const SCHEMA_VERSION_MAX = 1_000;
/** A logical subject, e.g. `audit.reconciliation.break.resolve`. NATS itself allows more; we do not need it. */
export const SUBJECT_LENGTH_MAX = 200;
