export const RECONCILIATION_DEFAULTS = { serviceName: 'reconciliation', httpPort: 3003, databaseSchema: 'reconciliation' } as const;
