// Which invocation a console line or an outbound fetch belongs to. Without async context
// tracking in V8, attribution is: the request whose synchronous withRequest() scope is running;
// else the request captured when a timer or microtask was scheduled; else, when exactly one
// request is still in flight, that one; else none (""), rather than a wrong one.

let current: string | null = null;
const inFlight = new Map<string, number>();

export function currentRequestId(): string {
  if (current !== null) return current;
  if (inFlight.size === 1) {
    for (const id of inFlight.keys()) return id;
  }
  return "";
}

/** Run `fn` as invocation `requestId`; if it returns a promise, the request stays in flight until it settles. */
export function withRequest<T>(requestId: string, fn: () => T): T {
  const result = runAs(requestId, fn);
  if (isThenable(result)) {
    inFlight.set(requestId, (inFlight.get(requestId) ?? 0) + 1);
    const settle = (): void => {
      const count = (inFlight.get(requestId) ?? 1) - 1;
      if (count > 0) inFlight.set(requestId, count);
      else inFlight.delete(requestId);
    };
    Promise.resolve(result).then(settle, settle);
  }
  return result;
}

/** Run `fn` synchronously as `requestId` ("" leaves attribution as it is). */
export function runAs<T>(requestId: string, fn: () => T): T {
  if (requestId === "") return fn();
  const previous = current;
  current = requestId;
  try {
    return fn();
  } finally {
    current = previous;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
