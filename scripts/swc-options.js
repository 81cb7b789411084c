'use strict';
// One SWC configuration for the build, the jest transform and the on-the-fly runner, derived from
// tsconfig.base.json so that path aliases are declared in exactly one place.
const path = require('node:path');
const tsconfig = require('../tsconfig.base.json');

const ROOT_DIR = path.resolve(__dirname, '..');

function swcOptions() {
  return {
    sourceMaps: true,
    module: { type: 'commonjs' },
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
      baseUrl: ROOT_DIR,
      paths: tsconfig.compilerOptions.paths,
    },
  };
}

module.exports = { swcOptions, ROOT_DIR };
