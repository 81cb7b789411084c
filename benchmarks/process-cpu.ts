/**
 * CPU accounting for the benchmarks (Linux /proc): this process, every local process of a name (Postgres, NATS),
 * and the Postgres backends serving one role's connections.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';

export interface CpuSnapshot {
  readonly node: NodeJS.CpuUsage;
  readonly postgres: number | undefined;
  readonly nats: number | undefined;
  /** CPU ms per Postgres backend pid serving the service's role. */
  readonly backends: ReadonlyMap<number, number>;
}

export interface CpuSpent {
  readonly nodeUserMs: number;
  readonly nodeSystemMs: number;
  readonly postgresMs: number | undefined;
  readonly natsMs: number | undefined;
  readonly postgresBackendsMs: number;
}

export function cpuSince(before: CpuSnapshot, pidsNow: readonly number[]): CpuSpent {
  const node = process.cpuUsage(before.node);
  const postgres = processCpuMs('postgres');
  const nats = processCpuMs('nats-server');
  return {
    nodeUserMs: node.user / 1000,
    nodeSystemMs: node.system / 1000,
    postgresMs: postgres === undefined || before.postgres === undefined ? undefined : postgres - before.postgres,
    natsMs: nats === undefined || before.nats === undefined ? undefined : nats - before.nats,
    postgresBackendsMs: [...backendCpuMs(pidsNow)].reduce((sum, [pid, ms]) => sum + ms - (before.backends.get(pid) ?? 0), 0),
  };
}

export function backendCpuMs(pids: readonly number[]): Map<number, number> {
  const result = new Map<number, number>();
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      result.set(pid, (Number(fields[11]) + Number(fields[12])) * 10); // utime + stime, in USER_HZ=100 ticks
    } catch {
      // ended meanwhile, or not Linux
    }
  }
  return result;
}

export async function backendPids(databaseUrl: string): Promise<number[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const result = await client.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE usename = current_user AND pid <> pg_backend_pid()`);
    return result.rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

/** CPU milliseconds used by every local process of that name, children reaped included (Linux /proc; else undefined). */
export function processCpuMs(name: string): number | undefined {
  try {
    const ticksPerMs = 100 / 1000; // USER_HZ is 100 on Linux
    let ticks = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      } catch {
        continue; // exited meanwhile
      }
      const open = stat.indexOf('(');
      const close = stat.lastIndexOf(')');
      if (stat.slice(open + 1, close) !== name) continue;
      const fields = stat.slice(close + 2).split(' ');
      // utime, stime, cutime, cstime are fields 14-17 of stat, 12-15 after the name and state.
      ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    }
    return ticks / ticksPerMs;
  } catch {
    return undefined;
  }
}
