import { runServiceMain } from '@recon/platform/service-main';
import { AUDIT_DEFAULTS } from './audit.config';

runServiceMain({
  defaults: AUDIT_DEFAULTS,
  load: async () => {
    const { createAuditApp, migrateAudit } = await import('./audit.app');
    const { loadAuditSettings } = await import('./audit.config');
    // Read once at boot, with the platform's variables (runServiceMain): the AUDIT_* ones the platform does not know.
    const settings = loadAuditSettings(process.env);
    return { migrate: migrateAudit, createApp: (config, telemetry) => createAuditApp(config, telemetry, { settings }) };
  },
});
