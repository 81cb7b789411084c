import { runServiceMain } from '@recon/platform/service-main';
import { BANK_GATEWAY_DEFAULTS } from './bank-gateway.config';

runServiceMain({
  defaults: BANK_GATEWAY_DEFAULTS,
  load: async () => {
    const { createBankGatewayApp, migrateBankGateway } = await import('./bank-gateway.app');
    return { migrate: migrateBankGateway, createApp: createBankGatewayApp };
  },
});
