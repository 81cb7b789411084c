#!/usr/bin/env node
'use strict';
// `recon` entry point: runs the compiled CLI from dist/, compiling first when dist/ is missing or older
// than the sources (SWC takes a second or two; messages go to stderr so stdout stays pure JSONL).
require('./ensure-built').ensureBuilt();
const { runCli } = require('../dist/apps/cli/src/main.js');
runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
