import { ConfigError, DEVELOPMENT_API_KEYS, loadConfig, platformConfigSchema } from './config';

const schema = platformConfigSchema({ serviceName: 'ledger', httpPort: 3001, databaseSchema: 'ledger' });

describe(loadConfig.name, () => {
  it('works out of the box on a developer machine', () => {
    const config = loadConfig(schema, {});
    expect(config).toMatchObject({
      serviceName: 'ledger',
      HTTP_PORT: 3001,
      DATABASE_URL: 'postgres://ledger_svc@127.0.0.1:5432/recon',
      DATABASE_SCHEMA: 'ledger',
      NATS_SERVERS: ['nats://127.0.0.1:4222'],
      migrateOnStart: true,
    });
    expect(config.API_KEYS.map((entry) => entry.roles[0])).toEqual(['ops', 'ops', 'approver', 'integrator', 'auditor', 'admin', 'service']);
  });

  it('names every bad variable at once', () => {
    expect(() => loadConfig(schema, { HTTP_PORT: '70000', DATABASE_URL: 'not a url', NATS_REQUEST_TIMEOUT_MS: '5' })).toThrow(ConfigError);
    try {
      loadConfig(schema, { HTTP_PORT: '70000', DATABASE_URL: 'not a url', NATS_REQUEST_TIMEOUT_MS: '5' });
    } catch (error: unknown) {
      const message = (error as Error).message;
      expect(message).toContain('HTTP_PORT');
      expect(message).toContain('DATABASE_URL');
      expect(message).toContain('NATS_REQUEST_TIMEOUT_MS');
    }
  });

  it('parses API keys and refuses malformed entries and unknown roles', () => {
    const config = loadConfig(schema, { API_KEYS: 'a-very-long-secret-key=alice:ops|approver' });
    expect(config.API_KEYS).toEqual([{ key: 'a-very-long-secret-key', identity: 'alice', roles: ['ops', 'approver'] }]);
    expect(() => loadConfig(schema, { API_KEYS: 'short=alice:ops' })).toThrow(/API_KEYS/);
    expect(() => loadConfig(schema, { API_KEYS: 'a-very-long-secret-key=alice:superuser' })).toThrow(/roles from ops/);
  });

  it('refuses the development keys in production and migrates only when told to', () => {
    expect(() => loadConfig(schema, { NODE_ENV: 'production' })).toThrow(/development keys are refused in production/);
    const production = loadConfig(schema, { NODE_ENV: 'production', API_KEYS: 'prod-secret-key-0123456789=platform:service' });
    expect(production.migrateOnStart).toBe(false);
    expect(DEVELOPMENT_API_KEYS).toContain('=dev-service:service');
  });
});
