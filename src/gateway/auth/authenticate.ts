// Who is calling: the API key or JWT a request carries, checked against what its route (or its
// project, for /fn/ URLs and routes that say nothing) requires. A refusal never reaches the
// function: 401 with WWW-Authenticate for no or a bad credential, 403 for a good one that may
// not call this route (RFC 6750's error codes).
import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from "jose";
import { LitefaasError } from "../../shared/errors.js";
import type { AuthConfig, AuthMethod, JwtConfig } from "../../shared/routes.js";

/** An API key as the gateway sees it (the store is the control plane's). */
export interface PresentedKey {
  id: string;
  project: string;
  name: string;
  routes: string[] | undefined;
  scopes: string[];
}

export type CheckKey = (
  presented: string,
) => { ok: true; key: PresentedKey } | { ok: false; reason: string };

type JwtIdentity = {
  type: "jwt";
  subject: string | undefined;
  scopes: string[];
  claims: JWTPayload;
};

export type Identity =
  { type: "api-key"; keyId: string; name: string; scopes: string[] } | JwtIdentity;

/** What a request asks for: its project, and the route's own auth and scopes when it has one. */
export interface Access {
  project: string;
  /** The route's path as declared; undefined for /fn/ URLs. */
  routePath: string | undefined;
  auth: AuthMethod[] | undefined;
  scopes: string[] | undefined;
}

export type AuthOutcome =
  | { ok: true; identity: Identity | undefined }
  | { ok: false; error: LitefaasError; challenge: string };

/** How our API keys begin (control/api-keys.ts makes them): a Bearer so prefixed is a key. */
const KEY_PREFIX = "lfk_";

/**
 * A JWKS per URL, shared by every project naming it: kept 10 minutes, fetched again for an
 * unknown kid (a rotation) at most once per 5 s, so made-up kids cannot hammer the issuer.
 */
const jwksByUrl = new Map<string, JWTVerifyGetKey>();

/** Verified tokens kept, at most: enough for the callers of a busy minute, bounded in memory. */
const VERIFIED_MAX = 10_000;
/** A verified token is trusted again without its signature for this long, at most. */
const VERIFIED_MS = 60_000;

export class Authenticator {
  /**
   * Tokens whose signature and claims verified, by the token itself: a client sends the same
   * token on every request, and checking an HMAC or a signature each time cost more than the
   * rest of the gateway. exp and nbf are checked again on every use; a new deploy of the
   * project's auth makes a new Authenticator, so changed settings apply at once.
   */
  private readonly verified = new Map<string, { identity: JwtIdentity; until: number }>();

  constructor(
    private readonly projects: Map<string, AuthConfig>,
    private readonly checkKey: CheckKey,
  ) {}

  /** The methods a request must use one of; [] lets it through without looking. */
  required(access: Access): AuthMethod[] {
    return access.auth ?? this.projects.get(access.project)?.default ?? [];
  }

  async authenticate(
    access: Access,
    authorization: string | undefined,
    apiKeyHeader: string | undefined,
  ): Promise<AuthOutcome> {
    const required = this.required(access);
    const config = this.projects.get(access.project);
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "")?.[1];
    const wantsKey = required.includes("api-key");
    const wantsJwt = required.includes("jwt");
    const key = wantsKey
      ? (apiKeyHeader ?? (bearer?.startsWith(KEY_PREFIX) ? bearer : undefined))
      : undefined;
    const token =
      wantsJwt && bearer !== undefined && !bearer.startsWith(KEY_PREFIX) ? bearer : undefined;
    const challenge = (error?: string, description?: string, scope?: string) =>
      required
        .map((m) => {
          const params = [`realm="${access.project}"`];
          if (error !== undefined) params.push(`error="${error}"`);
          if (description !== undefined) params.push(`error_description="${quoted(description)}"`);
          if (scope !== undefined) params.push(`scope="${scope}"`);
          return `${m === "jwt" ? "Bearer" : "ApiKey"} ${params.join(", ")}`;
        })
        .join(", ");
    if (key === undefined && token === undefined) {
      const how = required
        .map((m) =>
          m === "jwt"
            ? "a JWT as Authorization: Bearer <token>"
            : "an API key as X-Api-Key or Authorization: Bearer",
        )
        .join(", or ");
      return refuse("AUTH_REQUIRED", `this route needs ${how}`, challenge(), {
        fix: wantsKey
          ? `create a key with \`litefaas keys create ${access.project}\` and send it`
          : "get a token from the project's identity provider and send it",
      });
    }
    let identity: Identity;
    if (key !== undefined) {
      const checked = this.checkKey(key);
      if (!checked.ok || checked.key.project !== access.project) {
        const reason = checked.ok ? "it belongs to another project" : `it is ${checked.reason}`;
        return refuse(
          "AUTH_INVALID",
          `the API key is not valid here: ${reason}`,
          challenge("invalid_token"),
          {
            fix: `list the project's keys with \`litefaas keys ls ${access.project}\`; revoked and expired keys stay refused`,
          },
        );
      }
      const k = checked.key;
      if (
        k.routes !== undefined &&
        (access.routePath === undefined || !k.routes.includes(access.routePath))
      ) {
        return refuse(
          "FORBIDDEN",
          `API key ${k.id} may call only ${k.routes.join(", ")}`,
          challenge("insufficient_scope"),
          { fix: "use a key made for this route, or create one without --routes" },
        );
      }
      identity = { type: "api-key", keyId: k.id, name: k.name, scopes: k.scopes };
    } else {
      const verified = await this.verifyCached(token ?? "", config?.jwt);
      if (!verified.ok)
        return refuse(
          "AUTH_INVALID",
          `the token is not valid: ${verified.reason}`,
          challenge("invalid_token", verified.reason),
          { fix: "get a fresh token from the project's identity provider" },
        );
      identity = verified.identity;
    }
    const missing = (access.scopes ?? []).filter((s) => !identity.scopes.includes(s));
    if (missing.length > 0) {
      return refuse(
        "FORBIDDEN",
        `the caller lacks the scope${missing.length > 1 ? "s" : ""} ${missing.join(", ")} this route requires`,
        challenge("insufficient_scope", undefined, (access.scopes ?? []).join(" ")),
        {
          fix: `call with a ${identity.type === "jwt" ? "token" : "key"} carrying ${missing.join(", ")}`,
        },
      );
    }
    return { ok: true, identity };
  }

  private async verifyCached(
    token: string,
    config: JwtConfig | undefined,
  ): Promise<{ ok: true; identity: JwtIdentity } | { ok: false; reason: string }> {
    const now = Date.now();
    const hit = this.verified.get(token);
    if (hit !== undefined) {
      if (hit.until > now && stillValid(hit.identity.claims, config?.clockSkewMs ?? 0, now))
        return { ok: true, identity: hit.identity };
      this.verified.delete(token);
    }
    const verified = await verifyJwt(token, config);
    if (!verified.ok) return verified;
    const { claims } = verified;
    // one identity object per token: the gateway keeps its header form beside it
    const identity: JwtIdentity = {
      type: "jwt",
      subject: claims.sub,
      scopes: scopesOf(claims),
      claims,
    };
    if (this.verified.size >= VERIFIED_MAX) {
      // the oldest entry goes (a Map keeps insertion order)
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, { identity, until: now + VERIFIED_MS });
    return { ok: true, identity };
  }
}

function stillValid(claims: JWTPayload, skewMs: number, now: number): boolean {
  const s = now / 1000;
  const skew = skewMs / 1000;
  return (
    (claims.exp === undefined || claims.exp > s - skew) &&
    (claims.nbf === undefined || claims.nbf <= s + skew)
  );
}

function refuse(
  code: "AUTH_REQUIRED" | "AUTH_INVALID" | "FORBIDDEN",
  message: string,
  challenge: string,
  options: { fix: string },
): AuthOutcome {
  return { ok: false, error: new LitefaasError(code, message, options), challenge };
}

/** The scope claim as OAuth 2 writes it (space-separated), or scp as a list or string. */
function scopesOf(claims: JWTPayload): string[] {
  const raw = claims["scope"] ?? claims["scp"];
  if (Array.isArray(raw)) return raw.filter((s): s is string => typeof s === "string");
  return typeof raw === "string" ? raw.split(/\s+/).filter((s) => s !== "") : [];
}

async function verifyJwt(
  token: string,
  config: JwtConfig | undefined,
): Promise<{ ok: true; claims: JWTPayload } | { ok: false; reason: string }> {
  if (config === undefined) {
    throw new LitefaasError("INTERNAL", "a route requires JWTs but its project has no auth.jwt");
  }
  const options = {
    algorithms: config.algorithms,
    clockTolerance: Math.round(config.clockSkewMs / 1000),
    ...(config.issuer === undefined ? {} : { issuer: config.issuer }),
    ...(config.audience === undefined ? {} : { audience: config.audience }),
  };
  try {
    if (config.jwksUrl !== undefined) {
      let jwks = jwksByUrl.get(config.jwksUrl);
      if (jwks === undefined) {
        jwks = createRemoteJWKSet(new URL(config.jwksUrl), {
          cacheMaxAge: 10 * 60_000,
          cooldownDuration: 5_000,
        });
        jwksByUrl.set(config.jwksUrl, jwks);
      }
      return { ok: true, claims: (await jwtVerify(token, jwks, options)).payload };
    }
    const secret = process.env[config.secretEnv ?? ""];
    if (secret === undefined || secret === "") {
      throw new LitefaasError(
        "INTERNAL",
        `the JWT secret variable ${config.secretEnv ?? ""} is not set in the platform's environment`,
      );
    }
    const key = new TextEncoder().encode(secret);
    return { ok: true, claims: (await jwtVerify(token, key, options)).payload };
  } catch (error) {
    if (error instanceof LitefaasError) throw error;
    return { ok: false, reason: describeJwtError(error) };
  }
}

function describeJwtError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "it has expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed)
    return `its ${error.claim} claim does not hold (${error.reason})`;
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "its algorithm is not accepted here";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return "its signature does not verify";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "no key of the issuer matches its kid";
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid)
    return "it is not a well-formed JWT";
  if (
    error instanceof joseErrors.JWKSTimeout ||
    (error instanceof Error && error.name === "TypeError")
  )
    return "the issuer's keys could not be fetched";
  return error instanceof Error ? error.message : String(error);
}

function quoted(text: string): string {
  return text.replace(/["\\]/g, "'");
}
