export * from './audit.events';
export * from './bank.events';
export * from './event-contract';
export * from './ledger.events';
export * from './limits';
export * from './primitives';
export * from './recon.events';
export * from './registry';
