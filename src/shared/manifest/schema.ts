// The manifest's JSON Schema, published as schema/litefaas.schema.json for editor completion.
// Every property carries a description: editors show it, and validation errors quote it.
import { DURATION_PATTERN } from "../duration.js";
import { RUNTIME_KINDS } from "./types.js";

/** A subscription: tokens of letters, digits, _ and -, "*" for one token, ">" last for the rest. */
export const SUBJECT_PATTERN = "^([A-Za-z0-9_-]+|\\*)(\\.([A-Za-z0-9_-]+|\\*))*(\\.>)?$|^>$";
/** A subject to publish on: no wildcards. */
export const PUBLISH_SUBJECT_PATTERN = "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$";

export const NAME_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";

const duration = (description: string) =>
  ({ type: "string", pattern: DURATION_PATTERN, description }) as const;

/** One word or a list of them (methods, authentication); the values are checked in validate.ts. */
const oneOrMany = (description: string) =>
  ({ type: ["string", "array"], items: { type: "string" }, description }) as const;

const destination = (description: string) =>
  ({
    type: "object",
    additionalProperties: false,
    required: ["publish"],
    description,
    properties: {
      publish: {
        type: "string",
        pattern: PUBLISH_SUBJECT_PATTERN,
        description: 'Subject in the project to publish the record on, e.g. "orders.handled".',
      },
    },
  }) as const;

export const manifestSchema = {
  $schema: "http://json-schema.org/draft-07/schema#",
  $id: "https://litefaas.dev/schema/litefaas.schema.json",
  title: "litefaas project manifest (litefaas.yaml)",
  type: "object",
  additionalProperties: false,
  required: ["project", "functions"],
  properties: {
    project: {
      type: "string",
      pattern: NAME_PATTERN,
      description: "Project name: lowercase letters, digits and dashes, at most 63 characters.",
    },
    routes: {
      type: "array",
      description:
        "HTTP routes to the project's functions, served beside /fn/<project>/<function>/…; the most specific route wins.",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["path", "function"],
        properties: {
          path: {
            type: "string",
            minLength: 1,
            description:
              'Path pattern: literal segments, ":name" for one segment, "*" or "*name" last for the rest, e.g. /users/:id or /files/*.',
          },
          function: {
            type: "string",
            pattern: NAME_PATTERN,
            description: "The function of this project that answers the route.",
          },
          method: oneOrMany(
            "GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS, a list of them, or ANY (the default). A GET route answers HEAD too.",
          ),
          host: {
            type: "string",
            minLength: 1,
            description:
              'Host the route is for: exact ("api.example.com") or a wildcard ("*.example.com"); any host when absent.',
          },
          auth: oneOrMany(
            "Who may call the route: none, api-key, jwt, or a list of them (any one is enough); auth.default when absent.",
          ),
          cors: {
            type: ["boolean", "object"],
            additionalProperties: false,
            description:
              "Let browsers call the route from other origins: true (any origin, no credentials) or { origins, methods, headers, exposeHeaders, credentials, maxAge }.",
            properties: {
              origins: oneOrMany(
                'Allowed origins: "*", or origins such as https://app.example.com (https://*.example.com for its subdomains).',
              ),
              methods: {
                type: "array",
                items: { type: "string" },
                description: "Methods a preflight may ask for (default: the route's).",
              },
              headers: {
                type: "array",
                items: { type: "string" },
                description: "Request headers allowed (default: those the preflight asks for).",
              },
              exposeHeaders: {
                type: "array",
                items: { type: "string" },
                description: "Response headers a browser script may read.",
              },
              credentials: {
                type: "boolean",
                description: "Allow cookies and Authorization (needs origins listed, not *).",
              },
              maxAge: duration(
                "How long a browser may cache the preflight, e.g. 10m (default 5s).",
              ),
            },
          },
          rateLimit: oneOrMany(
            "Name of a rate limit or quota under rateLimits, or a list of them: every one must admit the request.",
          ),
          timeout: duration(
            "How long the gateway waits for the function's answer before 504 GATEWAY_TIMEOUT, e.g. 5s (the function's own timeout when absent). The function's request signal is aborted then.",
          ),
          scopes: {
            type: "array",
            items: { type: "string", minLength: 1 },
            description:
              "Scopes the caller must all carry: in the JWT's scope or scp claim, or given to the API key (403 otherwise).",
          },
        },
      },
    },
    rateLimits: {
      type: "object",
      description: "Named rate limits and quotas, for routes to name in rateLimit.",
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        properties: {
          rate: {
            type: "string",
            pattern: "^\\d+(\\.\\d+)?/(s|m|h|day)$",
            description:
              'A token bucket: requests per s, m, h or day, e.g. "10/s" (needs rate or quota, not both).',
          },
          burst: {
            type: "integer",
            minimum: 1,
            description: "How many requests may come at once (default: the rate's count).",
          },
          quota: {
            type: "string",
            pattern: "^\\d+/(h|day)$",
            description:
              'A quota: requests per hour or day, e.g. "10000/day", counted in fixed windows.',
          },
          by: {
            type: "string",
            enum: ["route", "caller", "ip"],
            description:
              "Who is counted apart: the route as a whole, each caller (API key or JWT subject; the client IP when anonymous; the default) or each client IP.",
          },
        },
      },
    },
    auth: {
      type: "object",
      additionalProperties: false,
      description: "The project's authentication, for its routes and its /fn/ URLs.",
      properties: {
        default: oneOrMany(
          "What a route without auth (and /fn/<project>/…) requires: none (the default), api-key, jwt, or a list of them.",
        ),
        jwt: {
          type: "object",
          additionalProperties: false,
          description: "How JWTs are verified: against a JWKS URL, or an HS256 secret.",
          properties: {
            issuer: { type: "string", minLength: 1, description: "The iss a token must carry." },
            audience: oneOrMany("The aud a token must carry (one of these)."),
            jwksUrl: {
              type: "string",
              minLength: 1,
              description:
                "URL of the issuer's JWKS (https; http only on loopback), cached and fetched again for an unknown kid.",
            },
            secretEnv: {
              type: "string",
              pattern: "^[A-Za-z_][A-Za-z0-9_]*$",
              description:
                "Name of the platform's environment variable holding the HS256 secret (never the secret itself).",
            },
            algorithms: {
              type: "array",
              items: { type: "string" },
              description:
                "Accepted algorithms, among HS256, RS256, ES256 and EdDSA (default: HS256 with a secret, the others with a JWKS).",
            },
            clockSkew: duration("Leeway for exp, nbf and iat, e.g. 30s (the default)."),
          },
        },
      },
    },
    functions: {
      type: "object",
      description: "The project's functions, by name.",
      minProperties: 1,
      propertyNames: { pattern: NAME_PATTERN },
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        required: ["main"],
        properties: {
          main: {
            type: "string",
            minLength: 1,
            description:
              "Entry file, relative to the project root: .ts, .js, .mjs, .mts, .cjs (an isolate), .py (Python), or an executable (runtime: process).",
          },
          runtime: {
            enum: [...RUNTIME_KINDS],
            description:
              "What runs the function: isolate (JS/TS in V8), python, process (any executable speaking the Lambda Runtime API) or node-process (Node with its full API). Inferred from main's extension when absent.",
          },
          handler: {
            type: "string",
            pattern: "^[A-Za-z_][A-Za-z0-9_./-]*\\.[A-Za-z_][A-Za-z0-9_]*$",
            description:
              "For python and node-process: <module>.<function>, e.g. main.handler (the default: <main's file name>.handler). Passed to a process as _HANDLER.",
          },
          env: {
            type: "object",
            description: "Environment variables, visible to the function as env.NAME.",
            propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
            additionalProperties: { type: ["string", "number", "boolean"] },
          },
          limits: {
            type: "object",
            additionalProperties: false,
            description: "Resource limits of one invocation.",
            properties: {
              memory: {
                type: "integer",
                minimum: 16,
                maximum: 4096,
                description: "Memory limit of an instance in MiB (default 128).",
              },
              cpu: {
                type: "number",
                exclusiveMinimum: 0,
                maximum: 64,
                description:
                  "Process functions: CPU time an instance may use per second of wall-clock time, in cores, e.g. 0.5 (default 1). Isolates run on one thread each and take no cpu limit.",
              },
              timeout: duration(
                "Wall-clock limit of one invocation, e.g. 500ms, 10s, 2m (default 30s, at most 15m).",
              ),
              concurrency: {
                type: "integer",
                minimum: 1,
                maximum: 10000,
                description: "Most invocations of this function running at once (default 1000).",
              },
            },
          },
          egress: {
            type: "array",
            description:
              "Hosts the function may fetch: api.example.com, *.example.com, host:port, an IP, or * for any public host. Default: none.",
            items: { type: "string", minLength: 1 },
          },
          idleTimeout: duration(
            "How long an idle instance stays warm before it is disposed (default 5m).",
          ),
          subjects: {
            type: "array",
            description:
              'Event subjects this function consumes, NATS-style: tokens separated by ".", "*" for one token, ">" for the rest, e.g. ["orders.created", "orders.*.paid"]. Subjects are the project\'s own.',
            items: {
              type: "string",
              pattern: SUBJECT_PATTERN,
              description:
                'A subject pattern: tokens separated by "." of letters, digits, _ and -; "*" stands for one token, ">" (last) for the rest, e.g. orders.*.paid',
            },
            uniqueItems: true,
          },
          schedule: {
            description:
              'Run the scheduled handler on a cron schedule: "0 3 * * *" (5 fields, or 6 with seconds first), or { cron, timezone, catchUp }.',
            oneOf: [
              { type: "string", minLength: 1 },
              {
                type: "object",
                additionalProperties: false,
                required: ["cron"],
                properties: {
                  cron: {
                    type: "string",
                    minLength: 1,
                    description: 'Cron expression, e.g. "*/5 * * * *".',
                  },
                  timezone: {
                    type: "string",
                    minLength: 1,
                    description:
                      "IANA time zone the expression is read in, e.g. Europe/Paris (default UTC).",
                  },
                  catchUp: {
                    type: "boolean",
                    description:
                      "Run a tick missed while the platform was down once on start (default true).",
                  },
                },
              },
            ],
          },
          concurrency: {
            type: "integer",
            minimum: 1,
            maximum: 1000,
            description:
              "Most events, async invocations and cron runs of this function handled at once (default 16). 1 keeps the order of each subject.",
          },
          retry: {
            type: "object",
            additionalProperties: false,
            description: "How failed events and async invocations are tried again.",
            properties: {
              attempts: {
                type: "integer",
                minimum: 1,
                maximum: 100,
                description: "Tries in all, the first included (default 3).",
              },
              backoff: {
                enum: ["exponential", "fixed"],
                description:
                  "exponential doubles the delay after each try; fixed keeps it (default exponential).",
              },
              initial: duration("Delay before the second try (default 1s)."),
              max: duration("Longest delay between tries (default 5m)."),
            },
          },
          maxEventAge: duration(
            "An event or async invocation older than this is not tried again (default 6h, at most 336h).",
          ),
          deadLetter: {
            type: "boolean",
            description:
              "Keep what failed every try in the function's dead-letter queue (default true); false drops it.",
          },
          onSuccess: destination(
            "Where to publish a record of each event or async invocation that succeeded.",
          ),
          onFailure: destination(
            "Where to publish a record of each event or async invocation that failed for good.",
          ),
          records: {
            type: "object",
            additionalProperties: false,
            description:
              "How this function's invocation records are kept (litefaas invocations, the console).",
            properties: {
              keep: {
                type: "integer",
                minimum: 1,
                maximum: 10000,
                description: "Most records kept; older ones go first (default 1000).",
              },
              maxAge: duration("Records older than this are dropped (default 7d, at most 90d)."),
              payloads: {
                type: "boolean",
                description:
                  "Keep each invocation's request and response, bodies capped at maxPayload, so it can be replayed (default false). They may hold personal data: turn on with care.",
              },
              maxPayload: {
                type: "integer",
                minimum: 0,
                maximum: 1048576,
                description:
                  "Body bytes kept of each request and response when payloads is on (default 65536).",
              },
            },
          },
        },
      },
    },
  },
} as const;
