/**
 * The logging this library does, in pino's argument order (fields first), so a pino Logger fits as is.
 * Other loggers need a three-line adapter.
 */
export interface MessagingLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const ignore = (): void => undefined;

export const SILENT_LOGGER: MessagingLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };

export function errorMessageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
