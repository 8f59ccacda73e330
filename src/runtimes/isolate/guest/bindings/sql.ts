// env.sql: the guest half of a function's own SQL database, in the shape of Cloudflare D1
// (prepare/bind/first/all/raw/run, batch, exec) so D1 code ports unchanged. `?` placeholders
// work on both backends (SQLite and PostgreSQL).
import type { BindingCall } from "./call.js";

type Value = null | number | bigint | string | boolean | ArrayBuffer;
type Row = Record<string, unknown>;

interface Meta {
  duration: number;
  rows_read: number;
  rows_written: number;
  last_row_id: number | bigint | null;
  changes: number;
  changed_db: boolean;
}

/** What the host returns for one statement: [columns, rows, meta]. */
type HostResult = [
  string[],
  unknown[][],
  {
    rowsRead: number;
    rowsWritten: number;
    lastRowId: number | bigint | null;
    changes: number;
    durationMs: number;
  },
];

function toMeta(m: HostResult[2]): Meta {
  return {
    duration: m.durationMs,
    rows_read: m.rowsRead,
    rows_written: m.rowsWritten,
    last_row_id: m.lastRowId,
    changes: m.changes,
    changed_db: m.rowsWritten > 0,
  };
}

function toObjects([columns, rows]: HostResult): Row[] {
  return rows.map((row) => {
    const out: Row = {};
    columns.forEach((column, i) => (out[column] = row[i]));
    return out;
  });
}

function toValue(value: unknown, index: number): Value {
  if (
    value === null ||
    typeof value === "number" ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    typeof value === "bigint"
  ) {
    return value;
  }
  if (value instanceof ArrayBuffer) return value;
  if (ArrayBuffer.isView(value))
    return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer;
  throw new TypeError(
    `parameter ${index + 1} is ${value === undefined ? "undefined" : `a ${typeof value}`}; bind null, a number, bigint, string, boolean or bytes`,
  );
}

export class PreparedStatement {
  constructor(
    private readonly call: BindingCall,
    readonly sql: string,
    readonly params: Value[] = [],
  ) {}

  bind(...values: unknown[]): PreparedStatement {
    return new PreparedStatement(this.call, this.sql, values.map(toValue));
  }

  async all<T = Row>(): Promise<{ results: T[]; success: true; meta: Meta }> {
    const result = await this.execute();
    return { results: toObjects(result) as T[], success: true, meta: toMeta(result[2]) };
  }

  async first<T = Row>(column?: string): Promise<T | null> {
    const result = await this.execute();
    const [row] = toObjects(result);
    if (row === undefined) return null;
    if (column === undefined) return row as T;
    if (!(column in row))
      throw new Error(`D1_COLUMN_NOTFOUND: no column "${column}" in the result`);
    return row[column] as T;
  }

  async raw<T = unknown[]>(options: { columnNames?: boolean } = {}): Promise<T[]> {
    const [columns, rows] = await this.execute();
    return (options.columnNames === true ? [columns, ...rows] : rows) as T[];
  }

  async run(): Promise<{ results: Row[]; success: true; meta: Meta }> {
    return this.all();
  }

  /** The statement in the form the host takes. */
  toHost(): [string, Value[]] {
    return [this.sql, this.params];
  }

  private async execute(): Promise<HostResult> {
    return (await this.call("query", [this.sql, this.params])) as HostResult;
  }
}

export function createSql(call: BindingCall) {
  return Object.freeze({
    prepare(sql: unknown): PreparedStatement {
      return new PreparedStatement(call, String(sql));
    },
    async batch(
      statements: PreparedStatement[],
    ): Promise<Array<{ results: Row[]; success: true; meta: Meta }>> {
      const results = (await call("batch", [statements.map((s) => s.toHost())])) as HostResult[];
      return results.map((r) => ({
        results: toObjects(r),
        success: true as const,
        meta: toMeta(r[2]),
      }));
    },
    async exec(sql: unknown): Promise<{ count: number; duration: number }> {
      const [count, duration] = (await call("exec", [String(sql)])) as [number, number];
      return { count, duration };
    },
  });
}
