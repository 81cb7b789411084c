/** Layer rules (STYLE R2), checked by `npm run lint` and by `npm test`. */
const PURE_LIBS = '^libs/(money|statement-formats|matching|audit-log)/';
const FRAMEWORK = ['^node_modules/(@nestjs|typeorm|pg|pg-copy-streams|@nats-io|bullmq|ioredis|express|@opentelemetry)/'];

module.exports = {
  forbidden: [
    {
      name: 'pure-libs-stay-pure',
      comment: 'money, statement formats, matching and the audit log are framework-free and do no network or database I/O',
      severity: 'error',
      from: { path: PURE_LIBS, pathNot: '\\.(spec|medium-spec)\\.ts$' },
      to: { path: [...FRAMEWORK, '^libs/(messaging|persistence|platform|auth|observability|config|testing)/', '^apps/'] },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      from: { path: '^apps/[^/]+/src/.*/domain/' },
      to: { path: [...FRAMEWORK, '/infrastructure/', '/interface/'] },
    },
    {
      name: 'libs-do-not-import-apps',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'services-do-not-import-each-other',
      comment: 'data crosses service lines only as NATS messages or HTTP calls',
      severity: 'error',
      from: { path: '^apps/(ledger|bank-gateway|reconciliation|audit)/' },
      to: { path: '^apps/(ledger|bank-gateway|reconciliation|audit)/', pathNot: ['^apps/$1/'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
