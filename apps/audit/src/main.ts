import { runServiceMain } from '@recon/platform/service-main';
import { AUDIT_DEFAULTS } from './audit.config';

runServiceMain({
  defaults: AUDIT_DEFAULTS,
  load: async () => {
    const { createAuditApp, migrateAudit } = await import('./audit.app');
    return { migrate: migrateAudit, createApp: createAuditApp };
  },
});
