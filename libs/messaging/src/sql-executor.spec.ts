import { pgTransactionRunner, rowsOf, toTransactionRunner } from './sql-executor';

describe(rowsOf.name, () => {
  it('reads pg results, TypeORM row arrays and TypeORM [rows, count] update results', () => {
    expect(rowsOf({ rows: [{ a: 1 }], rowCount: 1 })).toEqual([{ a: 1 }]);
    expect(rowsOf([{ a: 1 }, { a: 2 }])).toEqual([{ a: 1 }, { a: 2 }]);
    expect(rowsOf([[{ message_id: 'x' }], 1])).toEqual([{ message_id: 'x' }]);
    expect(rowsOf([[], 0])).toEqual([]);
    expect(rowsOf(undefined)).toEqual([]);
  });
});

describe(pgTransactionRunner.name, () => {
  function fakePool(failOn?: string) {
    const statements: string[] = [];
    let released: unknown = 'not released';
    const client = {
      query: async (sql: string) => {
        statements.push(sql);
        if (sql === failOn) throw new Error(`${sql} failed`);
        return { rows: [] };
      },
      release: (destroy?: unknown) => {
        released = destroy;
      },
    };
    return { pool: { connect: async () => client } as never, statements, released: () => released };
  }

  it('commits when the work resolves', async () => {
    const { pool, statements, released } = fakePool();
    const result = await pgTransactionRunner(pool).transaction(async (executor) => {
      await executor.query('SELECT 1');
      return 42;
    });
    expect(result).toBe(42);
    expect(statements).toEqual(['BEGIN', 'SELECT 1', 'COMMIT']);
    expect(released()).toBe(false);
  });

  it('rolls back and rethrows when the work throws, and destroys a connection that cannot roll back', async () => {
    const healthy = fakePool();
    await expect(pgTransactionRunner(healthy.pool).transaction(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(healthy.statements).toEqual(['BEGIN', 'ROLLBACK']);
    const broken = fakePool('ROLLBACK');
    await expect(pgTransactionRunner(broken.pool).transaction(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(broken.released()).toBe(true);
  });

  it('uses a TransactionRunner as it is', () => {
    const runner = { transaction: async <T>(work: (executor: never) => Promise<T>) => work(undefined as never) };
    expect(toTransactionRunner(runner)).toBe(runner);
  });
});
