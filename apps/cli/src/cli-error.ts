/**
 * Exit statuses of CONTRACT.md: 0 success, 1 ran and found problems reported as failure, 2 bad usage or
 * unreadable input. Commands throw CliError for 1 and 2 and return normally for 0.
 */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_BAD_INPUT = 2;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: typeof EXIT_FINDINGS | typeof EXIT_BAD_INPUT,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A command that ran but wants exit status 1 without printing an error line (it already reported). */
export class CliFindings extends Error {
  readonly exitCode = EXIT_FINDINGS;
  constructor() {
    super('findings');
    this.name = 'CliFindings';
  }
}
