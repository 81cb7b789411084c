import { runServiceMain } from '@recon/platform/service-main';
import { RECONCILIATION_DEFAULTS } from './reconciliation.config';

runServiceMain({
  defaults: RECONCILIATION_DEFAULTS,
  load: async () => {
    const { createReconciliationApp, migrateReconciliation } = await import('./reconciliation.app');
    return { migrate: migrateReconciliation, createApp: createReconciliationApp };
  },
});
