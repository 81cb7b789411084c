'use strict';
// Makes sure PostgreSQL, Redis and NATS (JetStream) answer on loopback, starting the local Debian
// installations when they do not (as CI and the development machines have them). With Docker, use
// `docker compose up -d postgres redis nats` instead; this script then finds them running.
const { execSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');

const SERVICES = [
  {
    name: 'PostgreSQL',
    port: 5432,
    start: () => {
      const versions = fs.existsSync('/etc/postgresql') ? fs.readdirSync('/etc/postgresql') : [];
      if (versions.length === 0) throw new Error('PostgreSQL is not installed (apt-get install postgresql) and nothing answers on 5432');
      execSync(`pg_ctlcluster --skip-systemctl-redirect ${versions[0]} main start`, { stdio: 'inherit' });
    },
  },
  {
    name: 'Redis',
    port: 6379,
    start: () => execSync('redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no', { stdio: 'inherit' }),
  },
  {
    name: 'NATS',
    port: 4222,
    start: () => {
      fs.mkdirSync('/var/lib/nats-server', { recursive: true });
      execSync('start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server', {
        stdio: 'inherit',
      });
    },
  },
];

const WAIT_MS_MAX = 30_000;

function answers(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function ensureInfrastructure(log = (message) => process.stderr.write(`${message}\n`)) {
  for (const service of SERVICES) {
    if (await answers(service.port)) continue;
    log(`${service.name} is down on 127.0.0.1:${service.port}; starting it`);
    service.start();
    const deadline = Date.now() + WAIT_MS_MAX;
    while (!(await answers(service.port))) {
      if (Date.now() > deadline) throw new Error(`${service.name} did not come up on port ${service.port} within ${WAIT_MS_MAX} ms`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

module.exports = { ensureInfrastructure };

if (require.main === module) {
  ensureInfrastructure().catch((error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
}
