// ESLint: typescript-eslint's recommended rules plus the house rules of STYLE.md that a linter can hold.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '**/*.js', '**/*.mjs', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // Bank-file parsers match control characters on purpose (NUL detection, SWIFT charset checks).
      'no-control-regex': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-restricted-globals': ['error', { name: 'parseFloat', message: 'money is bigint minor units or decimal strings, never a float' }],
      'no-restricted-properties': [
        'error',
        { object: 'Number', property: 'parseFloat', message: 'money is bigint minor units or decimal strings, never a float' },
        { object: 'describe', property: 'only', message: 'no focused tests' },
        { object: 'it', property: 'only', message: 'no focused tests' },
        { object: 'test', property: 'only', message: 'no focused tests' },
        { object: 'describe', property: 'skip', message: 'no skipped tests' },
        { object: 'it', property: 'skip', message: 'no skipped tests' },
      ],
      'no-restricted-imports': ['error', { paths: [{ name: '@nestjs/common', importNames: ['forwardRef'], message: 'no circular providers (STYLE R2)' }] }],
      'no-restricted-syntax': ['error', { selector: "Property[key.name='synchronize'][value.value=true]", message: 'migrations, never synchronize' }],
    },
  },
  {
    // Conformance suites skip, with a printed notice, when the third-party corpora are not beside the checkout.
    files: ['**/conformance/**/*.spec.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['libs/money/**/*.ts', 'libs/statement-formats/**/*.ts', 'libs/matching/**/*.ts', 'libs/audit-log/**/*.ts', 'apps/*/src/**/domain/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@nestjs/*', 'typeorm', 'pg', '@nats-io/*', 'bullmq', 'ioredis', 'express'], message: 'pure core: no framework or I/O here' }] },
      ],
    },
  },
);
