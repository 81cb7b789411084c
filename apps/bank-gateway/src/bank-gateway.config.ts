export const BANK_GATEWAY_DEFAULTS = { serviceName: 'bank-gateway', httpPort: 3002, databaseSchema: 'bank_gateway' } as const;
