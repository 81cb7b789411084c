import { runServiceMain } from '@recon/platform/service-main';
import { BANK_GATEWAY_DEFAULTS } from './bank-gateway.config';

runServiceMain({
  defaults: BANK_GATEWAY_DEFAULTS,
  load: async () => {
    const { createBankGatewayApp, migrateBankGateway } = await import('./bank-gateway.app');
    const { loadGatewaySettings } = await import('./bank-gateway.config');
    // Read once at boot, with the platform's variables (runServiceMain): the GATEWAY_* ones the platform does not
    // know, and the environment that `env:NAME` secret references of bank connections resolve against.
    const settings = loadGatewaySettings(process.env);
    const secretEnvironment = { ...process.env };
    // Third-party adapters are loaded and checked before anything else (migrations included): a wrong module stops here.
    const { loadAdapterModules } = await import('./adapters/adapter-modules');
    const adapters = loadAdapterModules(settings.adapterModules);
    return {
      migrate: migrateBankGateway,
      createApp: (config, telemetry) => createBankGatewayApp(config, telemetry, { settings, secretEnvironment, adapters }),
    };
  },
});
