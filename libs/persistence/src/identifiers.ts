/** Quotes a SQL identifier. Only identifiers from validated configuration reach here, but quote anyway. */
export function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) throw new Error(`'${name}' is not a valid SQL identifier`);
  return `"${name}"`;
}

/** The database role a service connects as: its schema name plus `_svc`. */
export function serviceRoleFor(schema: string): string {
  return `${schema}_svc`;
}

export function databaseNameOf(url: string): string {
  const name = new URL(url).pathname.replace(/^\//, '');
  if (name.length === 0) throw new Error(`database URL '${url}' names no database`);
  return decodeURIComponent(name);
}
