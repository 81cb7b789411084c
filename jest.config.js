'use strict';
// Two projects: `unit` (pure, *.spec.ts next to the code) and `integration` (*.medium-spec.ts and
// test/e2e/*.e2e-spec.ts against the real PostgreSQL, NATS and Redis on loopback).
const { swcOptions } = require('./scripts/swc-options');
const tsconfig = require('./tsconfig.base.json');

const moduleNameMapper = Object.fromEntries(Object.entries(tsconfig.compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]));
const transform = { '^.+\\.ts$': ['@swc/jest', { ...swcOptions(), swcrc: false }] };
const common = { rootDir: __dirname, transform, moduleNameMapper, testEnvironment: 'node', moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,scripts}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs}/**/*.medium-spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
    },
  ],
};
