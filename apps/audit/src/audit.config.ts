export const AUDIT_DEFAULTS = { serviceName: 'audit', httpPort: 3004, databaseSchema: 'audit' } as const;
