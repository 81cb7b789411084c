/** The AuditSettings (audit.config.ts) the service was started with. */
export const AUDIT_SETTINGS = Symbol('AUDIT_SETTINGS');
