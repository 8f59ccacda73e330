// better-sqlite3, in the release that is safe on this Node: 13 (N-API, prebuilt) on Node 22+,
// 12 on Node 20 (13 crashes there). 12 on Node 24 aborts the process when the GC finalizes a
// statement at the wrong moment, so it is only the fallback.
import type BetterSqlite3 from "better-sqlite3";
import { createRequire } from "node:module";

export type SqliteDatabase = BetterSqlite3.Database;
type Driver = typeof BetterSqlite3;

const require = createRequire(import.meta.url);
const major = Number(process.versions.node.split(".")[0]);

function load(): Driver {
  if (major >= 22) {
    try {
      return require("better-sqlite3-13") as Driver;
    } catch {
      // not installed (optional): fall back below
    }
  }
  return require("better-sqlite3") as Driver;
}

export const Sqlite: Driver = load();
