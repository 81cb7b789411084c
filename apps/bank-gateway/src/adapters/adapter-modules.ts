import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BankAdapter } from './bank-adapter.port';

/** Names of the built-in adapters: a third-party adapter may not take them. */
export const BUILT_IN_ADAPTER_NAMES: readonly string[] = ['upload', 'https', 'sftp'];
export const ADAPTER_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const ADAPTER_MODULES_MAX = 50;
const TRANSPORT_KINDS = new Set(['upload', 'https', 'sftp', 'adapter']);

/** A module of GATEWAY_ADAPTER_MODULES cannot serve as a bank adapter: the message names the module and what is wrong. */
export class AdapterModuleError extends Error {
  constructor(
    readonly modulePath: string,
    problem: string,
  ) {
    super(`GATEWAY_ADAPTER_MODULES: adapter module ${modulePath}: ${problem}`);
    this.name = 'AdapterModuleError';
  }
}

/** A third-party adapter loaded at boot, with the module it came from. */
export interface LoadedAdapter {
  readonly name: string;
  readonly modulePath: string;
  readonly adapter: BankAdapter;
}

/**
 * The adapters the running gateway knows besides its built-in ones, by `capabilities().name`. A connection with
 * transport `{kind: 'adapter', adapter: '<name>'}` is pulled with that adapter's `fetch` and its files are parsed
 * with its `parse`.
 */
export class AdapterRegistry {
  private readonly byName: ReadonlyMap<string, LoadedAdapter>;

  constructor(adapters: readonly LoadedAdapter[] = []) {
    const byName = new Map<string, LoadedAdapter>();
    for (const loaded of adapters) {
      const earlier = byName.get(loaded.name);
      if (earlier !== undefined)
        throw new AdapterModuleError(loaded.modulePath, `its adapter is named '${loaded.name}', like the adapter of ${earlier.modulePath}`);
      byName.set(loaded.name, loaded);
    }
    this.byName = byName;
  }

  find(name: string): LoadedAdapter | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }
}

/**
 * Loads the modules GATEWAY_ADAPTER_MODULES lists (compiled JavaScript; relative paths from `baseDirectory`) and
 * checks each exports a BankAdapter the way `npm run adapter:check` finds it: the default export, an `adapter`
 * export, or a `createAdapter()` factory, with `capabilities`, `detect`, `parse` and `fetch`, and capabilities that
 * name it (a name no built-in adapter or other module has), list known transports and at least one format. Throws
 * AdapterModuleError at the first module that is wrong, so the service does not start half-configured.
 * The conformance kit remains the way to check what the adapter's records are worth.
 */
export function loadAdapterModules(modulePaths: readonly string[], baseDirectory: string = process.cwd()): AdapterRegistry {
  if (modulePaths.length > ADAPTER_MODULES_MAX)
    throw new AdapterModuleError(modulePaths[ADAPTER_MODULES_MAX]!, `more than ${ADAPTER_MODULES_MAX} modules listed`);
  return new AdapterRegistry(modulePaths.map((modulePath) => loadAdapterModule(modulePath, baseDirectory)));
}

export function loadAdapterModule(modulePath: string, baseDirectory: string = process.cwd()): LoadedAdapter {
  const absolute = path.resolve(baseDirectory, modulePath);
  if (!fs.existsSync(absolute)) throw new AdapterModuleError(modulePath, `no such file (${absolute})`);
  let exported: Record<string, unknown>;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    exported = require(absolute) as Record<string, unknown>;
  } catch (error) {
    throw new AdapterModuleError(modulePath, `cannot be loaded: ${messageOf(error)}`);
  }
  let candidate: unknown = exported.default ?? exported.adapter;
  if (candidate === undefined && typeof exported.createAdapter === 'function') {
    try {
      candidate = (exported.createAdapter as () => unknown)();
    } catch (error) {
      throw new AdapterModuleError(modulePath, `createAdapter() threw: ${messageOf(error)}`);
    }
  }
  if (candidate === null || typeof candidate !== 'object')
    throw new AdapterModuleError(modulePath, 'exports no adapter (a default export, an `adapter` export or a `createAdapter()` factory returning an object)');
  const methods = candidate as Record<string, unknown>;
  const missing = ['capabilities', 'detect', 'parse', 'fetch'].filter((method) => typeof methods[method] !== 'function');
  if (missing.length > 0) throw new AdapterModuleError(modulePath, `its adapter lacks ${missing.map((method) => `${method}()`).join(', ')}`);
  const adapter = candidate as BankAdapter;
  let capabilities: unknown;
  try {
    capabilities = adapter.capabilities();
  } catch (error) {
    throw new AdapterModuleError(modulePath, `capabilities() threw: ${messageOf(error)}`);
  }
  const problem = capabilitiesProblem(capabilities);
  if (problem !== undefined) throw new AdapterModuleError(modulePath, `capabilities() ${problem}`);
  const name = (capabilities as { name: string }).name;
  if (BUILT_IN_ADAPTER_NAMES.includes(name)) throw new AdapterModuleError(modulePath, `its adapter is named '${name}', the name of a built-in adapter`);
  return { name, modulePath, adapter };
}

function capabilitiesProblem(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return 'returned no object';
  const capabilities = value as Record<string, unknown>;
  if (typeof capabilities.name !== 'string' || !ADAPTER_NAME_PATTERN.test(capabilities.name))
    return `gives name ${JSON.stringify(capabilities.name)}; it must be 1-63 of a-z 0-9 _ - starting with a letter or digit`;
  if (!Array.isArray(capabilities.transports) || capabilities.transports.some((kind) => typeof kind !== 'string' || !TRANSPORT_KINDS.has(kind)))
    return `gives transports ${JSON.stringify(capabilities.transports)}; it must be a list of ${[...TRANSPORT_KINDS].join(', ')}`;
  if (!Array.isArray(capabilities.formats) || capabilities.formats.length === 0 || capabilities.formats.some((format) => typeof format !== 'string'))
    return `gives formats ${JSON.stringify(capabilities.formats)}; it must list at least one format (or '*')`;
  if (capabilities.fileBytesMax !== undefined && (!Number.isInteger(capabilities.fileBytesMax) || (capabilities.fileBytesMax as number) < 1))
    return `gives fileBytesMax ${JSON.stringify(capabilities.fileBytesMax)}; it must be a positive whole number of bytes`;
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
