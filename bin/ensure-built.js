'use strict';
const fs = require('node:fs');
const path = require('node:path');

const ROOT_DIR = path.resolve(__dirname, '..');
const MARKER = path.join(ROOT_DIR, 'dist', '.built-at');
const SOURCE_DIRS = ['apps', 'libs', 'benchmarks'];

function newestSourceMtimeMs(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtimeMs(full));
    else newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is missing or older than any source file. */
function ensureBuilt() {
  const builtAtMs = fs.existsSync(MARKER) ? fs.statSync(MARKER).mtimeMs : 0;
  const sourceMs = Math.max(...SOURCE_DIRS.map((dir) => newestSourceMtimeMs(path.join(ROOT_DIR, dir))));
  if (builtAtMs >= sourceMs) return;
  const { build } = require('../scripts/build.js');
  build();
}

module.exports = { ensureBuilt, ROOT_DIR };
