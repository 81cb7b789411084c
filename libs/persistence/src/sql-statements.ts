/** Statements one migration file may hold when it runs outside a transaction (statement by statement). */
export const SQL_STATEMENTS_PER_FILE_MAX = 1_000;

/**
 * Splits a SQL script at its top-level semicolons, the way psql does: a `;` inside a string ('…', E'…'), a quoted
 * identifier ("…"), a dollar-quoted body ($$…$$, $tag$…$tag$, as in DO blocks and functions) or a comment (-- …,
 * nested /* … *\/) does not end a statement. Statements holding only comments and whitespace are left out; the
 * others are returned trimmed, without their terminating semicolon.
 */
export function splitSqlStatements(sql: string): string[] {
  const statements: string[] = [];
  let start = 0;
  let index = 0;
  let meaningful = false;
  const push = (end: number) => {
    if (meaningful) statements.push(sql.slice(start, end).trim());
    if (statements.length > SQL_STATEMENTS_PER_FILE_MAX) throw new Error(`more than ${SQL_STATEMENTS_PER_FILE_MAX} statements in one script`);
    meaningful = false;
  };
  while (index < sql.length) {
    const char = sql[index]!;
    const next = sql[index + 1];
    if (char === '-' && next === '-') {
      const end = sql.indexOf('\n', index);
      index = end === -1 ? sql.length : end + 1;
      continue;
    }
    if (char === '/' && next === '*') {
      index = endOfBlockComment(sql, index);
      continue;
    }
    if (char === ';') {
      push(index);
      index += 1;
      start = index;
      continue;
    }
    if (!/\s/.test(char)) meaningful = true;
    if (char === "'") {
      const escapes = index > 0 && /[eE]/.test(sql[index - 1]!) && (index < 2 || !isIdentifierChar(sql[index - 2]!));
      index = endOfQuoted(sql, index, "'", escapes);
      continue;
    }
    if (char === '"') {
      index = endOfQuoted(sql, index, '"', false);
      continue;
    }
    if (char === '$' && (index === 0 || !isIdentifierChar(sql[index - 1]!))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(index, index + 130));
      if (tag !== null) {
        const close = sql.indexOf(tag[0], index + tag[0].length);
        if (close === -1) throw new Error(`unterminated dollar-quoted string ${tag[0]}`);
        index = close + tag[0].length;
        continue;
      }
    }
    index += 1;
  }
  push(sql.length);
  return statements;
}

function isIdentifierChar(char: string): boolean {
  return /[A-Za-z0-9_$]/.test(char);
}

/** The index after the closing quote; a doubled quote is a quote inside; with `escapes` (E'…'), a backslash escapes. */
function endOfQuoted(sql: string, open: number, quote: string, escapes: boolean): number {
  let index = open + 1;
  while (index < sql.length) {
    const char = sql[index]!;
    if (escapes && char === '\\') {
      index += 2;
      continue;
    }
    if (char === quote) {
      if (sql[index + 1] === quote) {
        index += 2;
        continue;
      }
      return index + 1;
    }
    index += 1;
  }
  throw new Error(`unterminated ${quote === "'" ? 'string' : 'quoted identifier'}`);
}

function endOfBlockComment(sql: string, open: number): number {
  let depth = 0;
  let index = open;
  while (index < sql.length) {
    if (sql[index] === '/' && sql[index + 1] === '*') {
      depth += 1;
      index += 2;
    } else if (sql[index] === '*' && sql[index + 1] === '/') {
      depth -= 1;
      index += 2;
      if (depth === 0) return index;
    } else {
      index += 1;
    }
  }
  throw new Error('unterminated block comment');
}
