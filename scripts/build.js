#!/usr/bin/env node
'use strict';
// Compiles apps/, libs/, benchmarks/ and migrations with SWC into dist/, keeping the directory layout so that
// path aliases resolve to relative requires. Type checking is `npm run typecheck`; this stays fast (seconds).
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core');
const { swcOptions, ROOT_DIR } = require('./swc-options');

const SOURCE_DIRS = ['apps', 'libs', 'benchmarks'];
const OUT_DIR = path.join(ROOT_DIR, 'dist');

function* sourceFiles(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(full);
    else if (/\.ts$/.test(entry.name) && !/\.(spec|medium-spec|e2e-spec)\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield full;
  }
}

function build() {
  const options = swcOptions();
  let count = 0;
  for (const dir of SOURCE_DIRS) {
    for (const file of sourceFiles(path.join(ROOT_DIR, dir))) {
      const relative = path.relative(ROOT_DIR, file);
      const outFile = path.join(OUT_DIR, relative.replace(/\.ts$/, '.js'));
      const output = swc.transformFileSync(file, {
        ...options,
        filename: file,
        outputPath: outFile,
        sourceFileName: path.relative(path.dirname(outFile), file),
      });
      fs.mkdirSync(path.dirname(outFile), { recursive: true });
      fs.writeFileSync(outFile, output.code + `\n//# sourceMappingURL=${path.basename(outFile)}.map\n`);
      if (output.map) fs.writeFileSync(`${outFile}.map`, output.map);
      count += 1;
    }
  }
  // SQL migrations and other assets are copied as they are.
  for (const dir of SOURCE_DIRS) copyAssets(path.join(ROOT_DIR, dir));
  fs.writeFileSync(path.join(OUT_DIR, '.built-at'), new Date().toISOString());
  return count;
}

function copyAssets(dir) {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) copyAssets(full);
    else if (/\.(sql|json|yaml|yml)$/.test(entry.name)) {
      const outFile = path.join(OUT_DIR, path.relative(ROOT_DIR, full));
      fs.mkdirSync(path.dirname(outFile), { recursive: true });
      fs.copyFileSync(full, outFile);
    }
  }
}

if (require.main === module) {
  const started = Date.now();
  const count = build();
  process.stderr.write(`built ${count} files into dist/ in ${Date.now() - started} ms\n`);
}

module.exports = { build, OUT_DIR };
