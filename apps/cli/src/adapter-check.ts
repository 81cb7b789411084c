/**
 * `npm run adapter:check -- <adapter module> <sample files...> [--mutations N] [--seed S]`: the conformance kit for
 * bank adapters (docs/adapters.md). Loads the module (its default export, an `adapter` export, or a
 * `createAdapter()` factory; TypeScript modules are compiled on the fly with the project's SWC options), runs it over
 * the samples and their hostile mutations, prints a pass/fail table, and exits 0 when every check passed, 1 when any
 * failed, 2 on bad usage (no samples, module not loadable or not an adapter).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BankAdapter } from '../../bank-gateway/src/adapters/bank-adapter.port';
import { checkAdapterConformance, type ConformanceSample, formatConformanceTable } from '../../bank-gateway/src/adapters/conformance/adapter-conformance';

const SAMPLES_MAX = 1_000;
const SAMPLE_BYTES_MAX = 64 * 1024 * 1024;
const MUTATIONS_MAX = 10_000;
export const USAGE = 'usage: npm run adapter:check -- <adapter module (.ts or .js)> <sample file...> [--mutations N] [--seed S]\n';

export class UsageError extends Error {}

function repositoryRoot(): string {
  // Runs from dist/apps/cli/ (bin/run.js) or from apps/cli/src/ (tests): the root holds package.json with our name.
  let directory = __dirname;
  while (!fs.existsSync(path.join(directory, 'scripts', 'swc-options.js'))) {
    const parent = path.dirname(directory);
    if (parent === directory) throw new UsageError('cannot find the repository root (scripts/swc-options.js)');
    directory = parent;
  }
  return directory;
}

let typeScriptHookInstalled = false;

/** Lets `require` load TypeScript: compiled in place with the project's SWC options, path aliases included. */
function installTypeScriptHook(): void {
  if (typeScriptHookInstalled || require.extensions['.ts'] !== undefined) return;
  typeScriptHookInstalled = true;
  const root = repositoryRoot();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const swc = require('@swc/core') as typeof import('@swc/core');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { swcOptions } = require(path.join(root, 'scripts', 'swc-options.js')) as { swcOptions: () => Record<string, unknown> };
  require.extensions['.ts'] = (module, filename) => {
    const output = swc.transformFileSync(filename, { ...swcOptions(), filename, sourceMaps: 'inline', swcrc: false });
    (module as unknown as { _compile(code: string, filename: string): void })._compile(output.code, filename);
  };
}

export function loadAdapter(modulePath: string): BankAdapter {
  const absolute = path.resolve(modulePath);
  if (!fs.existsSync(absolute)) throw new UsageError(`adapter module ${modulePath}: no such file`);
  if (absolute.endsWith('.ts')) installTypeScriptHook();
  let loaded: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(absolute) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`adapter module ${modulePath} cannot be loaded: ${(error as Error).message}`);
  }
  const candidate = loaded.default ?? loaded.adapter ?? (typeof loaded.createAdapter === 'function' ? (loaded.createAdapter as () => unknown)() : undefined);
  if (candidate === null || typeof candidate !== 'object')
    throw new UsageError(`adapter module ${modulePath} exports no adapter (default export, \`adapter\` or \`createAdapter()\`)`);
  return candidate as BankAdapter;
}

export async function runAdapterCheck(argv: readonly string[], write: (text: string) => void): Promise<number> {
  const positional: string[] = [];
  let mutations: number | undefined;
  let seed: number | undefined;
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index]!;
    if (argument === '--mutations' || argument === '--seed') {
      const value = Number(argv[index + 1]);
      if (!Number.isInteger(value) || value < 0 || (argument === '--mutations' && value > MUTATIONS_MAX))
        throw new UsageError(`${argument} needs a whole number${argument === '--mutations' ? ` up to ${MUTATIONS_MAX}` : ''}`);
      if (argument === '--mutations') mutations = value;
      else seed = value;
      index += 1;
    } else if (argument === '--help' || argument === '-h') {
      write(USAGE);
      return 0;
    } else positional.push(argument);
  }
  const [modulePath, ...samplePaths] = positional;
  if (modulePath === undefined || samplePaths.length === 0) throw new UsageError('give an adapter module and at least one sample file');
  if (samplePaths.length > SAMPLES_MAX) throw new UsageError(`at most ${SAMPLES_MAX} samples`);
  const samples: ConformanceSample[] = samplePaths.map((samplePath) => {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(samplePath);
    } catch {
      throw new UsageError(`sample ${samplePath}: no such file`);
    }
    if (!stat.isFile()) throw new UsageError(`sample ${samplePath}: not a file`);
    if (stat.size > SAMPLE_BYTES_MAX) throw new UsageError(`sample ${samplePath}: larger than ${SAMPLE_BYTES_MAX} bytes`);
    // Base names, unless two samples share one: then the paths as given, so that every row names one file.
    const baseName = path.basename(samplePath);
    const name = samplePaths.filter((other) => path.basename(other) === baseName).length > 1 ? samplePath : baseName;
    return { name, content: fs.readFileSync(samplePath) };
  });
  const adapter = loadAdapter(modulePath);
  const checks = await checkAdapterConformance(adapter, samples, {
    ...(mutations === undefined ? {} : { mutationsPerSample: mutations }),
    ...(seed === undefined ? {} : { seed }),
  });
  write(formatConformanceTable(checks));
  return checks.every((check) => check.passed) ? 0 : 1;
}
