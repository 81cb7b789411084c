/** The GATEWAY_* settings (GatewaySettings). */
export const GATEWAY_SETTINGS = Symbol('GATEWAY_SETTINGS');
/** Where `env:NAME` secret references are looked up: the process environment in production, a map in tests. */
export const SECRET_ENVIRONMENT = Symbol('SECRET_ENVIRONMENT');
/** The third-party adapters loaded at boot from GATEWAY_ADAPTER_MODULES (AdapterRegistry). */
export const ADAPTER_REGISTRY = Symbol('ADAPTER_REGISTRY');
