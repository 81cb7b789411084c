export * from './data-source';
export * from './identifiers';
export * from './migrations';
export * from './sql-executor';
export * from './sql-statements';
