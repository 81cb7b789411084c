export * from './audit-recorder';
export * from './bootstrap';
export * from './clock';
export * from './health.controller';
export * from './http-error.filter';
export * from './platform.module';
export * from './request-context';
export * from './tokens';
