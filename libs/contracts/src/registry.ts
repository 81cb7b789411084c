import { AUDIT_EVENT_RECORDED_V1 } from './audit.events';
import {
  BANK_LINE_RECEIVED_V1,
  BANK_LINE_REJECTED_V1,
  BANK_LINE_REJECTION_RESOLVED_V1,
  BANK_LINE_RETRACTED_V1,
  BANK_STATEMENT_RECEIVED_V1,
} from './bank.events';
import { type EventContract, UnknownContractError, validateAgainstContract } from './event-contract';
import { LEDGER_ACCOUNT_OPENED_V1, LEDGER_TRANSACTION_POSTED_V1 } from './ledger.events';
import { SUBJECT_LENGTH_MAX } from './limits';
import { RECON_ALERT_RAISED_V1, RECON_BREAK_CLOSED_V1, RECON_BREAK_OPENED_V1, RECON_RUN_COMPLETED_V1 } from './recon.events';

/** Every event the system publishes. Adding an event or a version = one contract object + one line here. */
export const EVENT_CONTRACTS: readonly EventContract[] = Object.freeze([
  LEDGER_TRANSACTION_POSTED_V1,
  LEDGER_ACCOUNT_OPENED_V1,
  BANK_STATEMENT_RECEIVED_V1,
  BANK_LINE_RECEIVED_V1,
  BANK_LINE_RETRACTED_V1,
  BANK_LINE_REJECTED_V1,
  BANK_LINE_REJECTION_RESOLVED_V1,
  RECON_BREAK_OPENED_V1,
  RECON_ALERT_RAISED_V1,
  RECON_BREAK_CLOSED_V1,
  RECON_RUN_COMPLETED_V1,
  AUDIT_EVENT_RECORDED_V1,
]);

/** Logical subjects: unprefixed by any deployment namespace, unversioned (the version travels in a header). */
export const EventSubjects = {
  ledgerTransactionPosted: LEDGER_TRANSACTION_POSTED_V1.subject,
  ledgerAccountOpened: LEDGER_ACCOUNT_OPENED_V1.subject,
  bankStatementReceived: BANK_STATEMENT_RECEIVED_V1.subject,
  bankLineReceived: BANK_LINE_RECEIVED_V1.subject,
  bankLineRetracted: BANK_LINE_RETRACTED_V1.subject,
  bankLineRejected: BANK_LINE_REJECTED_V1.subject,
  bankLineRejectionResolved: BANK_LINE_REJECTION_RESOLVED_V1.subject,
  reconBreakOpened: RECON_BREAK_OPENED_V1.subject,
  reconAlertRaised: RECON_ALERT_RAISED_V1.subject,
  reconBreakClosed: RECON_BREAK_CLOSED_V1.subject,
  reconRunCompleted: RECON_RUN_COMPLETED_V1.subject,
} as const;

const LOGICAL_SUBJECT_PATTERN = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$/;

export function isLogicalSubject(subject: string): boolean {
  return subject.length <= SUBJECT_LENGTH_MAX && LOGICAL_SUBJECT_PATTERN.test(subject);
}

function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern.endsWith('.>')) return subject.startsWith(pattern.slice(0, -1)) && subject.length > pattern.length - 1;
  return pattern === subject;
}

/** The contract for a concrete logical subject and version, or undefined. */
export function findContract(subject: string, schemaVersion: number): EventContract | undefined {
  if (!isLogicalSubject(subject)) return undefined;
  return EVENT_CONTRACTS.find((contract) => contract.schemaVersion === schemaVersion && subjectMatches(contract.subject, subject));
}

/** The contract for a concrete logical subject and version; throws UnknownContractError naming both. */
export function contractFor(subject: string, schemaVersion: number): EventContract {
  const contract = findContract(subject, schemaVersion);
  if (contract !== undefined) return contract;
  const knownVersions = EVENT_CONTRACTS.filter((candidate) => subjectMatches(candidate.subject, subject)).map((candidate) => candidate.schemaVersion);
  throw new UnknownContractError(subject, schemaVersion, knownVersions);
}

/** Finds the contract and validates the payload; returns the normalised payload or throws a named error. */
export function validateEventPayload(subject: string, schemaVersion: number, payload: unknown): unknown {
  return validateAgainstContract(contractFor(subject, schemaVersion), subject, payload);
}
