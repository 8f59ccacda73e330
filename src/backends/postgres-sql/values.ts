// Values between the port and PostgreSQL. Results are parsed from PostgreSQL's text format into
// the port's few types; anything without an obvious JavaScript value (intervals, arrays, uuids,
// json, numeric with its arbitrary precision) stays the text PostgreSQL printed, so nothing
// is lost or reinterpreted.
import pg from "pg";
import type { SqlValue } from "../../ports/sql.js";

const OID = {
  bool: 16,
  bytea: 17,
  int8: 20,
  int2: 21,
  int4: 23,
  oid: 26,
  float4: 700,
  float8: 701,
  timestamp: 1114,
  timestamptz: 1184,
} as const;

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const parseByteaText = pg.types.getTypeParser(pg.types.builtins.BYTEA) as (text: string) => Buffer;

function parseInt8(text: string): number | bigint {
  const value = BigInt(text);
  return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value;
}

/** `2024-01-02 03:04:05.123456` (timestamp without time zone) → `2024-01-02T03:04:05.123456`. */
function parseTimestamp(text: string): string {
  return /^\d{4,}-\d\d-\d\d \d/.test(text) ? text.replace(" ", "T") : text;
}

const TIMESTAMPTZ =
  /^(\d{4,})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)?([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?$/;

/**
 * A timestamptz, as PostgreSQL prints it in the session's time zone, → ISO 8601 in UTC with the
 * fraction kept to the microsecond. Infinity and BC dates stay as printed.
 */
function parseTimestamptz(text: string): string {
  const m = TIMESTAMPTZ.exec(text);
  if (m === null) return text;
  const [, y, mo, d, h, mi, s, fraction, sign, oh, om, os] = m;
  const offsetSeconds =
    (sign === "-" ? -1 : 1) * (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0));
  // setUTCFullYear, unlike Date.UTC, does not read years 0–99 as 1900–1999
  const local = new Date(0);
  local.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  local.setUTCHours(Number(h), Number(mi), Number(s), 0);
  const utc = new Date(local.getTime() - offsetSeconds * 1000);
  return `${utc.toISOString().slice(0, 19)}${fraction ?? ""}Z`;
}

const parsers = new Map<number, (text: string) => SqlValue>([
  [OID.bool, (text) => text === "t"],
  [OID.bytea, (text) => new Uint8Array(parseByteaText(text))],
  [OID.int8, parseInt8],
  [OID.int2, Number],
  [OID.int4, Number],
  [OID.oid, Number],
  [OID.float4, Number.parseFloat],
  [OID.float8, Number.parseFloat],
  [OID.timestamp, parseTimestamp],
  [OID.timestamptz, parseTimestamptz],
]);

const asText = (text: string): string => text;

/** Given to every connection a function uses (pg's `types` option). */
export const typeParsers: pg.CustomTypesConfig = {
  getTypeParser: (oid: number) => parsers.get(oid) ?? asText,
};

/** Parameters are sent as text and typed by PostgreSQL from where they are used. */
export function toPostgres(value: SqlValue): string | Buffer | null {
  if (value === null) return null;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === "boolean") return value ? "true" : "false";
  return String(value);
}
