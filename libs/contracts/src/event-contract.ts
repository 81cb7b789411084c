import type { z } from 'zod';
import { SCHEMA_VERSION_MAX } from './limits';

/**
 * One versioned event: a logical subject (unprefixed, e.g. `ledger.transaction.posted`, or a `prefix.>` pattern
 * for families such as `audit.>`), a schema version and the zod schema of its payload. Producers validate before
 * the event is written to their outbox; consumers validate again on receipt, with the same object.
 */
export interface EventContract<TSchema extends z.ZodType = z.ZodType> {
  readonly subject: string;
  readonly schemaVersion: number;
  readonly schema: TSchema;
  readonly description: string;
  /** A rule tying the concrete subject to the payload; returns a reason when they disagree. */
  readonly checkSubject?: (subject: string, payload: z.output<TSchema>) => string | undefined;
}

export type EventPayloadOf<TContract extends EventContract> = z.output<TContract['schema']>;

export function defineContract<TSchema extends z.ZodType>(contract: EventContract<TSchema>): EventContract<TSchema> {
  if (!Number.isInteger(contract.schemaVersion) || contract.schemaVersion < 1 || contract.schemaVersion > SCHEMA_VERSION_MAX) {
    throw new Error(`contract ${contract.subject}: schemaVersion must be an integer in 1..${SCHEMA_VERSION_MAX}`);
  }
  return Object.freeze(contract);
}

export interface ContractIssue {
  /** Dotted path of the offending field, e.g. `lines.0.amount`; empty for the payload as a whole. */
  readonly path: string;
  readonly message: string;
}

/** A payload (or its subject) does not satisfy its contract. The message names the subject, version and fields. */
export class ContractViolationError extends Error {
  constructor(
    readonly subject: string,
    readonly schemaVersion: number,
    readonly issues: readonly ContractIssue[],
  ) {
    super(
      `payload of ${subject} v${schemaVersion} is invalid: ` +
        issues.map((issue) => (issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`)).join('; '),
    );
    this.name = 'ContractViolationError';
  }
}

/** No contract is registered for a subject and version: the producer or consumer is out of date. */
export class UnknownContractError extends Error {
  constructor(
    readonly subject: string,
    readonly schemaVersion: number,
    knownVersions: readonly number[],
  ) {
    super(
      knownVersions.length === 0
        ? `no event contract for subject '${subject}'`
        : `no event contract for subject '${subject}' version ${schemaVersion} (known versions: ${knownVersions.join(', ')})`,
    );
    this.name = 'UnknownContractError';
  }
}

const ISSUES_REPORTED_MAX = 10;

/** Validates (and normalises: unknown keys are stripped) a payload against its contract. */
export function validateAgainstContract<TSchema extends z.ZodType>(contract: EventContract<TSchema>, subject: string, payload: unknown): z.output<TSchema> {
  const result = contract.schema.safeParse(payload);
  if (!result.success) {
    const issues = result.error.issues.slice(0, ISSUES_REPORTED_MAX).map((issue) => ({
      path: issue.path.map(String).join('.'),
      message: issue.message,
    }));
    throw new ContractViolationError(subject, contract.schemaVersion, issues);
  }
  const subjectProblem = contract.checkSubject?.(subject, result.data);
  if (subjectProblem !== undefined) {
    throw new ContractViolationError(subject, contract.schemaVersion, [{ path: '', message: subjectProblem }]);
  }
  return result.data;
}
