#!/usr/bin/env node
'use strict';
// `npm test`: the whole suite with its own set-up. Installs dependencies when missing, starts PostgreSQL,
// Redis and NATS when they are down, type-checks, lints (ESLint and the dependency-cruiser layer rules), then runs the unit and integration tests (each suite
// isolated in its own schema, NATS namespace and Redis key prefix). Extra arguments go to jest.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { ensureInfrastructure } = require('./infra');

const ROOT_DIR = path.resolve(__dirname, '..');

function run(command, args) {
  const result = spawnSync(command, args, { cwd: ROOT_DIR, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

async function main() {
  if (!fs.existsSync(path.join(ROOT_DIR, 'node_modules', '.package-lock.json'))) run('npm', ['ci', '--loglevel=warn']);
  await ensureInfrastructure();
  run(process.execPath, [path.join(ROOT_DIR, 'scripts', 'build.js')]);
  run(process.execPath, [path.join(ROOT_DIR, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit']);
  run(process.execPath, [path.join(ROOT_DIR, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', '--log-level', 'warn', '.']);
  run(process.execPath, [path.join(ROOT_DIR, 'node_modules', 'eslint', 'bin', 'eslint.js'), '.']);
  run(process.execPath, [
    path.join(ROOT_DIR, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'),
    'apps',
    'libs',
    'benchmarks',
    'test',
    '--config',
    '.dependency-cruiser.js',
  ]);
  run(process.execPath, [path.join(ROOT_DIR, 'node_modules', 'jest', 'bin', 'jest.js'), '--maxWorkers=2', ...process.argv.slice(2)]);
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
