// What a function may run on its SQLite file. better-sqlite3 has no authorizer hook, so the SQL is
// tokenized the way SQLite's own tokenizer reads it (strings, quoted identifiers and comments are
// skipped) and refused when it could reach outside the file: ATTACH/DETACH (other files), VACUUM
// INTO (writes a copy anywhere), load_extension() (native code), and PRAGMAs other than a few
// read-only ones (some change where or how data is stored). The dangerous words are refused
// wherever they appear, not only at a statement's start, so a mistake in statement splitting can
// never hide one; splitting only serves counting and the transaction-control rule.
import { SqlError } from "../../ports/sql.js";

export interface Token {
  kind: "word" | "quoted" | "string" | "param" | "number" | "punct";
  /** Upper-cased for words, the unescaped name for quoted identifiers, the character for punct. */
  text: string;
}

const REFUSED = "SQLITE_AUTH";

function isWordStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c >= 0x80;
}

function isWordPart(c: number): boolean {
  return isWordStart(c) || (c >= 48 && c <= 57) || c === 36;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Reads up to `close`, where a doubled `close` is an escaped one (SQL strings and identifiers). */
function readQuoted(sql: string, start: number, close: string): { text: string; end: number } {
  let text = "";
  let i = start + 1;
  while (i < sql.length) {
    const at = sql.indexOf(close, i);
    if (at === -1) return { text: text + sql.slice(i), end: sql.length };
    text += sql.slice(i, at);
    if (sql[at + 1] === close && close !== "]") {
      text += close;
      i = at + 2;
    } else {
      return { text, end: at + 1 };
    }
  }
  return { text, end: sql.length };
}

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql.charCodeAt(i);
    const ch = sql.charAt(i);
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || ch === "\f") {
      i += 1;
    } else if (ch === "-" && sql[i + 1] === "-") {
      const eol = sql.indexOf("\n", i);
      i = eol === -1 ? sql.length : eol + 1;
    } else if (ch === "/" && sql[i + 1] === "*") {
      // SQLite's block comments do not nest, and an unterminated one runs to the end
      const close = sql.indexOf("*/", i + 2);
      i = close === -1 ? sql.length : close + 2;
    } else if (ch === "'") {
      const read = readQuoted(sql, i, "'");
      tokens.push({ kind: "string", text: read.text });
      i = read.end;
    } else if (ch === '"' || ch === "`" || ch === "[") {
      const read = readQuoted(sql, i, ch === "[" ? "]" : ch);
      tokens.push({ kind: "quoted", text: read.text });
      i = read.end;
    } else if (isWordStart(c)) {
      let end = i + 1;
      while (end < sql.length && isWordPart(sql.charCodeAt(end))) end += 1;
      tokens.push({ kind: "word", text: sql.slice(i, end).toUpperCase() });
      i = end;
    } else if (isDigit(c) || (ch === "." && isDigit(sql.charCodeAt(i + 1)))) {
      let end = i + 1;
      while (end < sql.length && (isWordPart(sql.charCodeAt(end)) || sql[end] === ".")) end += 1;
      tokens.push({ kind: "number", text: sql.slice(i, end) });
      i = end;
    } else if (ch === "?" || ch === ":" || ch === "@" || ch === "$") {
      let end = i + 1;
      while (end < sql.length && isWordPart(sql.charCodeAt(end))) end += 1;
      tokens.push({ kind: "param", text: sql.slice(i, end) });
      i = end;
    } else {
      tokens.push({ kind: "punct", text: ch });
      i += 1;
    }
  }
  return tokens;
}

const isWord = (token: Token | undefined, ...words: string[]): boolean =>
  token?.kind === "word" && words.includes(token.text);

/**
 * Splits tokens into statements at `;`, except inside a trigger's BEGIN … END body (whose
 * statements end with `;` too). CASE … END nests inside a body.
 */
export function splitStatements(tokens: Token[]): Token[][] {
  const statements: Token[][] = [];
  let current: Token[] = [];
  let bodyDepth = 0;
  for (const token of tokens) {
    if (token.kind === "punct" && token.text === ";" && bodyDepth === 0) {
      if (current.length > 0) statements.push(current);
      current = [];
      continue;
    }
    current.push(token);
    if (token.kind !== "word") continue;
    if (token.text === "BEGIN" && bodyDepth === 0 && isTrigger(current)) bodyDepth = 1;
    else if (token.text === "CASE" && bodyDepth > 0) bodyDepth += 1;
    else if (token.text === "END" && bodyDepth > 0) bodyDepth -= 1;
  }
  if (current.length > 0) statements.push(current);
  return statements;
}

function isTrigger(statement: Token[]): boolean {
  const [first, second, third] = statement;
  return (
    isWord(first, "CREATE") &&
    (isWord(second, "TRIGGER") || (isWord(second, "TEMP", "TEMPORARY") && isWord(third, "TRIGGER")))
  );
}

/** PRAGMAs that read the function's own schema (with an optional table or index argument). */
const PRAGMAS_WITH_ARGUMENT = new Set([
  "TABLE_INFO",
  "TABLE_XINFO",
  "TABLE_LIST",
  "INDEX_LIST",
  "INDEX_INFO",
  "INDEX_XINFO",
  "FOREIGN_KEY_LIST",
  "FOREIGN_KEY_CHECK",
  "INTEGRITY_CHECK",
  "QUICK_CHECK",
]);
/** PRAGMAs that are settings: reading them is fine, and `(…)` or `=` would change them. */
const PRAGMAS_READ_ONLY = new Set(["FOREIGN_KEYS", "USER_VERSION"]);

const FORBIDDEN_FUNCTIONS = new Set(["load_extension", "fts3_tokenizer", "readfile", "writefile"]);

const TRANSACTION_CONTROL = new Set(["BEGIN", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"]);

function refuse(message: string): never {
  throw new SqlError(message, REFUSED);
}

function checkPragma(tokens: Token[], at: number): void {
  let nameAt = at + 1;
  if (tokens[at + 2]?.kind === "punct" && tokens[at + 2]?.text === ".") nameAt = at + 3;
  const nameToken = tokens[nameAt];
  const name = nameToken === undefined ? "" : nameToken.text.toUpperCase();
  const next = tokens[nameAt + 1];
  const assigns = next?.kind === "punct" && next.text === "=";
  const calls = next?.kind === "punct" && next.text === "(";
  if (PRAGMAS_WITH_ARGUMENT.has(name) && !assigns) return;
  if (PRAGMAS_READ_ONLY.has(name) && !assigns && !calls) return;
  refuse(
    `PRAGMA ${name.toLowerCase()}${assigns || calls ? " with a value" : ""} is not allowed: ` +
      "PRAGMAs can change how and where the database is stored, so a function may only use " +
      `the read-only ones (${[...PRAGMAS_WITH_ARGUMENT, ...PRAGMAS_READ_ONLY].join(", ").toLowerCase()})`,
  );
}

function checkTokens(tokens: Token[]): void {
  tokens.forEach((token, i) => {
    if (isWord(token, "ATTACH", "DETACH"))
      refuse(
        `${token.text} is not allowed: a function can only use its own database, not other files`,
      );
    if (isWord(token, "PRAGMA")) checkPragma(tokens, i);
    if (isWord(token, "VACUUM") && (isWord(tokens[i + 1], "INTO") || isWord(tokens[i + 2], "INTO")))
      refuse("VACUUM INTO is not allowed: it writes a copy of the database to another file");
    const name = token.text.toLowerCase();
    const next = tokens[i + 1];
    if (
      (token.kind === "word" || token.kind === "quoted") &&
      FORBIDDEN_FUNCTIONS.has(name) &&
      next?.kind === "punct" &&
      next.text === "("
    )
      refuse(`${name}() is not allowed: a function cannot load code or reach files from SQL`);
  });
}

function leadingKeyword(statement: Token[]): Token | undefined {
  let i = 0;
  if (isWord(statement[i], "EXPLAIN")) i += 1;
  if (isWord(statement[i], "QUERY") && isWord(statement[i + 1], "PLAN")) i += 2;
  return statement[i];
}

/** What a statement does: its first keyword, or for WITH … the first one after the CTEs. */
function verbOf(statement: Token[]): string | undefined {
  const lead = leadingKeyword(statement);
  if (!isWord(lead, "WITH")) return lead?.kind === "word" ? lead.text : undefined;
  let depth = 0;
  for (const token of statement) {
    if (token.kind === "punct" && token.text === "(") depth += 1;
    else if (token.kind === "punct" && token.text === ")") depth -= 1;
    else if (
      depth === 0 &&
      isWord(token, "SELECT", "VALUES", "INSERT", "REPLACE", "UPDATE", "DELETE")
    )
      return token.text;
  }
  return undefined;
}

/**
 * Checks SQL a function sent; returns how many statements it holds and what the first one does.
 * Throws SqlError (code SQLITE_AUTH) saying what is not allowed and why.
 */
export function checkSql(sql: string): { count: number; verb: string | undefined } {
  const tokens = tokenize(sql);
  checkTokens(tokens);
  const statements = splitStatements(tokens);
  for (const statement of statements) {
    const lead = leadingKeyword(statement);
    if (lead !== undefined && lead.kind === "word" && TRANSACTION_CONTROL.has(lead.text))
      refuse(
        `${lead.text} is not allowed: transactions are managed by the platform; ` +
          "use batch() to apply several statements atomically",
      );
  }
  const [first] = statements;
  return { count: statements.length, verb: first === undefined ? undefined : verbOf(first) };
}
