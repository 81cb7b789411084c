#!/usr/bin/env node
'use strict';
// `npm start`: the whole system on this machine, with its set-up. Installs dependencies when missing,
// starts PostgreSQL, Redis and NATS when they are down, builds, then runs the four services (each
// creates its database role and schema and applies its migrations in development) and stops them all
// on Ctrl-C. Logs are JSON lines, prefixed with the service name.
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { ensureInfrastructure } = require('./infra');

const ROOT_DIR = path.resolve(__dirname, '..');
const SERVICES = [
  { name: 'ledger', port: 3001 },
  { name: 'bank-gateway', port: 3002 },
  { name: 'reconciliation', port: 3003 },
  { name: 'audit', port: 3004 },
];

async function main() {
  if (!fs.existsSync(path.join(ROOT_DIR, 'node_modules', '.package-lock.json'))) {
    const install = spawnSync('npm', ['ci', '--loglevel=warn'], { cwd: ROOT_DIR, stdio: 'inherit' });
    if (install.status !== 0) process.exit(install.status ?? 1);
  }
  await ensureInfrastructure();
  require('./build').build();
  const children = SERVICES.map((service) => {
    const child = spawn(process.execPath, [path.join(ROOT_DIR, 'dist', 'apps', service.name, 'src', 'main.js')], {
      cwd: ROOT_DIR,
      env: { ...process.env, HTTP_PORT: process.env[`${service.name.toUpperCase().replace('-', '_')}_HTTP_PORT`] ?? String(service.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${service.name.padEnd(14)} ${line}\n`));
    }
    child.on('exit', (code, signal) => {
      process.stdout.write(`${service.name} exited (${signal ?? code})\n`);
      if (!stopping) stopAll(1);
    });
    return child;
  });
  let stopping = false;
  function stopAll(code) {
    stopping = true;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    setTimeout(() => process.exit(code), 5_000).unref();
    Promise.all(
      children.map((child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)))),
    ).then(() => process.exit(code));
  }
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));
  process.stdout.write(
    [
      '',
      'custody reconciliation is starting:',
      ...SERVICES.map((service) => `  ${service.name.padEnd(14)} http://127.0.0.1:${service.port}  (OpenAPI: /docs, health: /health/ready)`),
      'development API keys are in the README (X-Api-Key header). Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );
}

main().catch((error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
