// The web console's files, served at /console/ by the control role. They are built ahead of time
// (scripts/build.js bundles console/ with esbuild), so nothing builds at runtime. The files hold no
// secret: every call the console makes goes to the admin API with the token the user typed.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
};

// inline styles: the code editor sets its theme with <style> elements it creates
const SECURITY = {
  "content-security-policy":
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer | undefined;
  /** Chunks named by their content's hash never change; the page and entry points may. */
  immutable: boolean;
}

const CONSOLE_DIR = fileURLToPath(new URL("../../console/", import.meta.url));

/** Every file under `dir`, read once: the console is a few hundred kilobytes. */
function load(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const name = path.slice(dir.length).replaceAll("\\", "/");
    const type = TYPES[extname(name)] ?? "application/octet-stream";
    const body = readFileSync(path);
    const compressible = type.startsWith("text/") || type.includes("json") || type.includes("svg");
    assets.set(name, {
      type,
      body,
      gzip: compressible && body.length > 1024 ? gzipSync(body) : undefined,
      immutable: /-[A-Z0-9]{8}\.(js|css)$/.test(name),
    });
  }
  return assets;
}

export function consoleHandler(dir = CONSOLE_DIR) {
  let assets: Map<string, Asset> | undefined;
  return (req: IncomingMessage, res: ServerResponse, requestId: string): void => {
    req.resume();
    assets ??= load(dir);
    const path = (req.url ?? "/console/").split("?")[0] ?? "/console/";
    if (path === "/console") {
      res.writeHead(308, { location: "/console/", "x-request-id": requestId });
      res.end();
      return;
    }
    const name = path.slice("/console/".length) || "index.html";
    // a deep link (#/… is client side, but /console/f/… too) gets the page, which routes itself
    const asset = assets.get(name) ?? (extname(name) === "" ? assets.get("index.html") : undefined);
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "x-request-id": requestId });
      res.end();
      return;
    }
    if (asset === undefined) {
      const missing = assets.size === 0;
      res.writeHead(404, {
        "content-type": "text/plain; charset=utf-8",
        "x-request-id": requestId,
      });
      res.end(
        missing
          ? "the console is not built here: run `npm run build`, which bundles console/ into dist/console/\n"
          : `no console file ${name}\n`,
      );
      return;
    }
    const gzip = asset.gzip !== undefined && /\bgzip\b/.test(req.headers["accept-encoding"] ?? "");
    const body = gzip ? (asset.gzip as Buffer) : asset.body;
    res.writeHead(200, {
      ...SECURITY,
      "content-type": asset.type,
      "content-length": body.length,
      "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
      vary: "accept-encoding",
      "x-request-id": requestId,
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    });
    res.end(req.method === "HEAD" ? undefined : body);
  };
}
