// The types the WebPlatform contract speaks. Function code and the dispatcher see these objects
// through the global (DOM lib) types when the guest's tsconfig has them; without the DOM lib
// they are this layer's own classes. At run time they are always this layer's classes.
import type { AbortSignal as OwnAbortSignal } from "./abort.js";
import type { Headers as OwnHeaders } from "./headers.js";
import type { Request as OwnRequest } from "./request.js";
import type { Response as OwnResponse } from "./response.js";

type GlobalInstance<Name extends string, Fallback> =
  typeof globalThis extends Record<Name, { prototype: infer T }> ? T : Fallback;

export type PlatformRequest = GlobalInstance<"Request", OwnRequest>;
export type PlatformResponse = GlobalInstance<"Response", OwnResponse>;
export type PlatformHeaders = GlobalInstance<"Headers", OwnHeaders>;
export type PlatformAbortSignal = GlobalInstance<"AbortSignal", OwnAbortSignal>;
