import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadGatewaySettings } from '../bank-gateway.config';
import { AdapterModuleError, AdapterRegistry, loadAdapterModule, loadAdapterModules } from './adapter-modules';
import { checkAdapterConformance } from './conformance/adapter-conformance';

const FIXTURES = path.join(__dirname, '..', '..', 'test', 'fixtures');
const PIPE_BANK = path.join(FIXTURES, 'adapters', 'pipe-bank.adapter.js');

describe('third-party adapter modules (GATEWAY_ADAPTER_MODULES)', () => {
  let directory: string;
  /** Writes a small CommonJS module for one case and returns its path. */
  const moduleWith = (name: string, source: string) => {
    const file = path.join(directory, `${name}.js`);
    fs.writeFileSync(file, source);
    return file;
  };
  const adapterSource = (capabilities: string, extra = '') =>
    `module.exports = { default: { capabilities() { return ${capabilities}; }, detect() { return undefined; }, async *parse() {}, async *fetch() {} ${extra} } };`;

  beforeAll(() => {
    directory = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-adapters-'));
  });

  afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

  it('reads the module list from the environment, comma-separated, empty by default', () => {
    expect(loadGatewaySettings({}).adapterModules).toEqual([]);
    expect(loadGatewaySettings({ GATEWAY_ADAPTER_MODULES: ' /opt/a.js, ./b.js ,,' }).adapterModules).toEqual(['/opt/a.js', './b.js']);
  });

  it('loads the test adapter by its `adapter` export, relative to a base directory, under its capabilities name', () => {
    const registry = loadAdapterModules([path.relative(FIXTURES, PIPE_BANK)], FIXTURES);
    expect(registry.names()).toEqual(['pipe-bank']);
    expect(registry.find('pipe-bank')?.adapter.capabilities().formats).toEqual(['csv:pipe-bank']);
    expect(registry.find('other')).toBeUndefined();
  });

  it('finds a default export or a createAdapter() factory too', () => {
    const viaDefault = moduleWith('via-default', adapterSource(`{ name: 'acme-default', transports: [], formats: ['*'] }`));
    const viaFactory = moduleWith(
      'via-factory',
      `exports.createAdapter = () => ({ capabilities: () => ({ name: 'acme-factory', transports: ['adapter'], formats: ['mt940'] }), detect() {}, async *parse() {}, async *fetch() {} });`,
    );
    expect(loadAdapterModules([viaDefault, viaFactory]).names()).toEqual(['acme-default', 'acme-factory']);
  });

  it('refuses, naming the module and what is wrong', () => {
    const cases: [string, string, RegExp][] = [
      ['missing', '', /adapter module .*missing\.js: no such file/],
      ['syntax', 'module.exports = {', /syntax\.js: cannot be loaded: .*(Unexpected|SyntaxError)/],
      ['no-export', 'module.exports = { something: 1 };', /no-export\.js: exports no adapter/],
      [
        'factory-throws',
        `exports.createAdapter = () => { throw new Error('needs ACME_URL'); };`,
        /factory-throws\.js: createAdapter\(\) threw: needs ACME_URL/,
      ],
      ['no-parse', `module.exports = { default: { capabilities() {}, detect() {}, fetch() {} } };`, /no-parse\.js: its adapter lacks parse\(\)/],
      ['bad-name', adapterSource(`{ name: 'Acme Bank', transports: [], formats: ['*'] }`), /bad-name\.js: capabilities\(\) gives name "Acme Bank"/],
      ['bad-transport', adapterSource(`{ name: 'acme', transports: ['ftp'], formats: ['*'] }`), /capabilities\(\) gives transports \["ftp"\]/],
      ['no-formats', adapterSource(`{ name: 'acme', transports: [], formats: [] }`), /capabilities\(\) gives formats \[\]; it must list at least one format/],
      [
        'throws',
        `module.exports = { default: { capabilities() { throw new Error('boom'); }, detect() {}, async *parse() {}, async *fetch() {} } };`,
        /capabilities\(\) threw: boom/,
      ],
      ['built-in', adapterSource(`{ name: 'sftp', transports: ['sftp'], formats: ['*'] }`), /named 'sftp', the name of a built-in adapter/],
    ];
    for (const [name, source, message] of cases) {
      const file = source === '' ? path.join(directory, `${name}.js`) : moduleWith(name, source);
      let caught: unknown;
      try {
        loadAdapterModule(file);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AdapterModuleError);
      expect((caught as Error).message).toMatch(/^GATEWAY_ADAPTER_MODULES: adapter module /);
      expect((caught as Error).message).toMatch(message);
    }
  });

  it('refuses two modules giving one name', () => {
    const first = moduleWith('twin-a', adapterSource(`{ name: 'twin', transports: [], formats: ['*'] }`));
    const second = moduleWith('twin-b', adapterSource(`{ name: 'twin', transports: [], formats: ['*'] }`));
    expect(() => loadAdapterModules([first, second])).toThrow(/twin-b\.js: its adapter is named 'twin', like the adapter of .*twin-a\.js/);
    expect(new AdapterRegistry().names()).toEqual([]);
  });

  it('the test adapter passes the conformance kit (npm run adapter:check) on its sample', async () => {
    const registry = loadAdapterModules([PIPE_BANK]);
    const checks = await checkAdapterConformance(
      registry.find('pipe-bank')!.adapter,
      [{ name: 'statement-e.pipe-bank.txt', content: fs.readFileSync(path.join(FIXTURES, 'statement-e.pipe-bank.txt')) }],
      { mutationsPerSample: 12 },
    );
    expect(checks.filter((check) => !check.passed)).toEqual([]);
    expect(checks.map((check) => check.check)).toEqual(['interface', 'detect', 'canonical records', 'deterministic', 'hostile input']);
  });
});
