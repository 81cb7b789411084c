export * from './actor';
export * from './auth.guard';
export * from './credentials';
