// The manifest's JSON Schema, published as schema/litefaas.schema.json for editor completion.
// Every property carries a description: editors show it, and validation errors quote it.
import { DURATION_PATTERN } from "../duration.js";

export const NAME_PATTERN = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";

const duration = (description: string) =>
  ({ type: "string", pattern: DURATION_PATTERN, description }) as const;

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
            description: "Entry file, relative to the project root (.ts, .js, .mjs, .mts, .cjs).",
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
        },
      },
    },
  },
} as const;
