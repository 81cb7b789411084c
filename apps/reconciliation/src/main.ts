import { runServiceMain } from '@recon/platform/service-main';
import { RECONCILIATION_DEFAULTS } from './reconciliation.config';

runServiceMain({
  defaults: RECONCILIATION_DEFAULTS,
  load: async () => {
    const { createReconciliationApp, migrateReconciliation } = await import('./reconciliation.app');
    const { loadReconciliationSettings } = await import('./reconciliation.config');
    // Read once at boot, with the platform's variables (runServiceMain): the RECON_* ones the platform does not know.
    const settings = loadReconciliationSettings(process.env);
    return { migrate: migrateReconciliation, createApp: (config, telemetry) => createReconciliationApp(config, telemetry, { settings }) };
  },
});
