/** Entry of `npm run adapter:check` (see adapter-check.ts). */
import { runAdapterCheck, USAGE, UsageError } from './adapter-check';

runAdapterCheck(process.argv.slice(2), (text) => process.stdout.write(text))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    process.stderr.write(`adapter:check: ${error instanceof Error ? error.message : String(error)}\n${error instanceof UsageError ? USAGE : ''}`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  });
