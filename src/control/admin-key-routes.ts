// API keys through the admin API: create (the key is in this answer only), list, revoke.
import { LitefaasError } from "../shared/errors.js";
import { parseDuration } from "../shared/duration.js";
import { readJson, type Route } from "./admin-http.js";
import type { ApiKeyRecord, ApiKeys } from "./api-keys.js";

export interface KeyDeps {
  apiKeys: ApiKeys;
}

const PROJECT = "\\/admin\\/v1\\/projects\\/([a-z0-9-]+)\\/keys";
const SCOPE = /^[\x21-\x7e]{1,128}$/; // RFC 6749 scope-token characters, bounded

/** A key as shown: everything but its hash. */
function shown(record: ApiKeyRecord): Omit<ApiKeyRecord, "hash"> {
  const { id, project, name, routes, scopes, createdAt, expiresAt } = record;
  return { id, project, name, routes, scopes, createdAt, expiresAt };
}

function stringList(value: unknown, field: string, check: RegExp): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || !check.test(v))) {
    throw new LitefaasError("INVALID_REQUEST", `${field} must be a list of strings`, {
      fix:
        field === "routes"
          ? 'list route paths as the manifest writes them, e.g. ["/orders", "/users/:id"]'
          : 'list scopes without spaces, e.g. ["orders:write"]',
    });
  }
  return value as string[];
}

export function keyRoutes(deps: KeyDeps): Route[] {
  return [
    [
      "POST",
      new RegExp(`^${PROJECT}$`),
      async ({ req, params: [project = ""] }) => {
        const body = (await readJson(req)) as Record<string, unknown>;
        const name = body["name"] ?? "key";
        if (typeof name !== "string" || name.length === 0 || name.length > 64) {
          throw new LitefaasError("INVALID_REQUEST", "name must be 1 to 64 characters", {
            fix: 'name the key after who uses it, e.g. "ci" or "partner-acme"',
          });
        }
        const expiresIn = body["expiresIn"];
        let expiresAt: number | undefined;
        if (expiresIn !== undefined) {
          const ms = typeof expiresIn === "string" ? parseDuration(expiresIn) : undefined;
          if (ms === undefined || ms <= 0) {
            throw new LitefaasError(
              "INVALID_REQUEST",
              `expiresIn ${JSON.stringify(expiresIn)} is not a duration`,
              {
                fix: "use a duration such as 1h or 720h (30 days), or leave it out for a key that does not expire",
              },
            );
          }
          expiresAt = Date.now() + ms;
        }
        const routes = stringList(body["routes"], "routes", /^\/\S*$/);
        const scopes = stringList(body["scopes"], "scopes", SCOPE);
        const { key, record } = await deps.apiKeys.create(project, {
          name,
          ...(routes === undefined ? {} : { routes }),
          ...(scopes === undefined ? {} : { scopes }),
          ...(expiresAt === undefined ? {} : { expiresAt }),
        });
        return { ...shown(record), key };
      },
    ],
    [
      "GET",
      new RegExp(`^${PROJECT}$`),
      ({ params: [project = ""] }) =>
        Promise.resolve({ keys: deps.apiKeys.list(project).map(shown) }),
    ],
    [
      "DELETE",
      new RegExp(`^${PROJECT}\\/([a-z0-9]+)$`),
      async ({ params: [project = "", id = ""] }) => {
        const record = await deps.apiKeys.revoke(project, id);
        return { revoked: record.id, name: record.name };
      },
    ],
  ];
}
