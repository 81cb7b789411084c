import { runServiceMain } from '@recon/platform/service-main';
import { LEDGER_DEFAULTS } from './ledger.config';

runServiceMain({
  defaults: LEDGER_DEFAULTS,
  load: async () => {
    const { createLedgerApp, migrateLedger } = await import('./ledger.app');
    return { migrate: migrateLedger, createApp: createLedgerApp };
  },
});
