#!/usr/bin/env node
'use strict';
// Runs one TypeScript entry file (a service main, a benchmark, a script) from its compiled copy in dist/.
const path = require('node:path');
const { ensureBuilt, ROOT_DIR } = require('./ensure-built');

const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write('usage: node bin/run.js <path/to/file.ts> [args...]\n');
  process.exit(2);
}
ensureBuilt();
const compiled = path.join(ROOT_DIR, 'dist', path.relative(ROOT_DIR, path.resolve(entry)).replace(/\.ts$/, '.js'));
process.argv = [process.argv[0], compiled, ...rest];
require(compiled);
