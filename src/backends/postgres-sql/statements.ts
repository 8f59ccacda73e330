// Reading a function's SQL the way PostgreSQL's lexer does, for three jobs: translating `?`
// placeholders to `$1…`, splitting exec() scripts into statements, and refusing transaction
// control (the port manages transactions; a stray BEGIN would leave a pooled connection inside
// one). None of this is a security boundary: the connection is authenticated as the function's
// own role, so whatever the SQL says, the server only lets it touch that role's schema.
import { SqlError } from "../../ports/sql.js";

interface Token {
  kind: "word" | "placeholder" | "semicolon" | "other";
  start: number;
  end: number;
  /** Upper-cased, for words. */
  word?: string;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_PART = /[A-Za-z0-9_$\u0080-\uffff]/;
const DOLLAR_TAG = /^\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** The end of a quoted run starting at `start` (the opening quote); doubled quotes escape. */
function quotedEnd(sql: string, start: number, quote: string, backslashes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const ch = sql[i];
    if (backslashes && ch === "\\") i += 2;
    else if (ch === quote && sql[i + 1] === quote) i += 2;
    else if (ch === quote) return i + 1;
    else i += 1;
  }
  return sql.length;
}

/** Block comments nest in PostgreSQL. */
function commentEnd(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith("/*", i)) {
      depth += 1;
      i += 2;
    } else if (sql.startsWith("*/", i)) {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else i += 1;
  }
  return sql.length;
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql.charAt(i);
    const start = i;
    if (/\s/.test(ch)) {
      i += 1;
      continue;
    }
    if (sql.startsWith("--", i)) {
      const eol = sql.indexOf("\n", i);
      i = eol === -1 ? sql.length : eol + 1;
      continue;
    }
    if (sql.startsWith("/*", i)) {
      i = commentEnd(sql, i);
      continue;
    }
    if (ch === "'") {
      i = quotedEnd(sql, i, "'", false);
    } else if (ch === '"') {
      i = quotedEnd(sql, i, '"', false);
    } else if (ch === "$") {
      const tag = DOLLAR_TAG.exec(sql.slice(i, i + 64))?.[0];
      if (tag === undefined) {
        i += 1; // $1: a positional parameter, or part of an operator
        while (i < sql.length && /[0-9]/.test(sql.charAt(i))) i += 1;
      } else {
        const close = sql.indexOf(tag, i + tag.length);
        i = close === -1 ? sql.length : close + tag.length;
      }
    } else if (WORD_START.test(ch)) {
      // E'…' strings take backslash escapes; an E that ends a longer word is just a letter
      if ((ch === "E" || ch === "e") && sql[i + 1] === "'") {
        i = quotedEnd(sql, i + 1, "'", true);
      } else {
        while (i < sql.length && WORD_PART.test(sql.charAt(i))) i += 1;
        tokens.push({ kind: "word", start, end: i, word: sql.slice(start, i).toUpperCase() });
        continue;
      }
    } else if (ch === "?") {
      i += 1;
      tokens.push({ kind: "placeholder", start, end: i });
      continue;
    } else if (ch === ";") {
      i += 1;
      tokens.push({ kind: "semicolon", start, end: i });
      continue;
    } else {
      i += 1;
    }
    tokens.push({ kind: "other", start, end: i });
  }
  return tokens;
}

/** `?` placeholders become `$1`, `$2`… (PostgreSQL's jsonb `?` operators need jsonb_exists() etc.). */
export function translatePlaceholders(sql: string): string {
  let out = "";
  let from = 0;
  let n = 0;
  for (const token of tokenize(sql)) {
    if (token.kind !== "placeholder") continue;
    n += 1;
    out += `${sql.slice(from, token.start)}$${n}`;
    from = token.end;
  }
  return out + sql.slice(from);
}

/**
 * A script's statements, split at `;` outside strings, comments and a SQL-standard function
 * body (BEGIN ATOMIC … END, where CASE … END nests).
 */
export function splitScript(sql: string): string[] {
  const statements: string[] = [];
  let from = 0;
  let depth = 0;
  let previous: string | undefined;
  const push = (end: number) => {
    const text = sql.slice(from, end).trim();
    if (tokenize(text).length > 0) statements.push(text);
  };
  for (const token of tokenize(sql)) {
    if (token.kind === "semicolon" && depth === 0) {
      push(token.start);
      from = token.end;
    } else if (token.word === "ATOMIC" && previous === "BEGIN") depth = 1;
    else if (token.word === "CASE" && depth > 0) depth += 1;
    else if (token.word === "END" && depth > 0) depth -= 1;
    previous = token.word;
  }
  push(sql.length);
  return statements;
}

const TRANSACTION_CONTROL = new Set([
  "BEGIN",
  "START",
  "COMMIT",
  "END",
  "ROLLBACK",
  "ABORT",
  "SAVEPOINT",
  "RELEASE",
]);

/** Refuses a statement that would start or end a transaction (code 0A000, feature not supported). */
export function checkStatement(sql: string): void {
  const [first, second] = tokenize(sql);
  const lead = first?.word;
  const preparesTransaction = lead === "PREPARE" && second?.word === "TRANSACTION";
  if (lead === undefined || (!TRANSACTION_CONTROL.has(lead) && !preparesTransaction)) return;
  throw new SqlError(
    `${preparesTransaction ? "PREPARE TRANSACTION" : lead} is not allowed: transactions are ` +
      "managed by the platform; use batch() to apply several statements atomically",
    "0A000",
  );
}
