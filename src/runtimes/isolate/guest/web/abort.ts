// AbortController and AbortSignal (abort, timeout, any).
import { DOMException } from "./dom-exception.js";
import { Event, EventTarget, dispatchTrusted } from "./events.js";
import { services } from "./services.js";

type AbortHandler = ((this: AbortSignal, event: Event) => unknown) | null;

let constructing = false;
let signalAbort: (signal: AbortSignal, reason: unknown) => void;

export class AbortSignal extends EventTarget {
  #aborted = false;
  #reason: unknown = undefined;
  #onabort: AbortHandler = null;
  #onabortRegistered = false;

  constructor() {
    if (!constructing) throw new TypeError("Illegal constructor");
    super();
  }

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  get onabort(): AbortHandler {
    return this.#onabort;
  }

  set onabort(handler: AbortHandler) {
    this.#onabort = typeof handler === "function" ? handler : null;
    // An event handler attribute is one listener, registered where it was first set.
    if (this.#onabort !== null && !this.#onabortRegistered) {
      this.#onabortRegistered = true;
      this.addEventListener("abort", (event) => this.#onabort?.call(this, event));
    }
  }

  throwIfAborted(): void {
    if (this.#aborted) throw this.#reason;
  }

  static abort(reason?: unknown): AbortSignal {
    const signal = newSignal();
    signal.#aborted = true;
    signal.#reason = reason === undefined ? abortError() : reason;
    return signal;
  }

  static timeout(ms: unknown): AbortSignal {
    const delay = Number(ms);
    if (!Number.isFinite(delay) || delay < 0)
      throw new TypeError("AbortSignal.timeout needs a non-negative delay");
    const signal = newSignal();
    services().setTimeout(() => {
      signalAbort(signal, new DOMException("The operation timed out.", "TimeoutError"));
    }, delay);
    return signal;
  }

  static any(signals: Iterable<AbortSignal>): AbortSignal {
    const sources = Array.from(signals);
    const result = newSignal();
    const already = sources.find((s) => s.aborted);
    if (already !== undefined) {
      result.#aborted = true;
      result.#reason = already.reason;
      return result;
    }
    for (const source of sources) {
      if (!(source instanceof AbortSignal))
        throw new TypeError("AbortSignal.any needs AbortSignals");
      source.addEventListener("abort", () => signalAbort(result, source.reason), { once: true });
    }
    return result;
  }

  static {
    signalAbort = (signal, reason) => {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason = reason === undefined ? abortError() : reason;
      dispatchTrusted(signal, new Event("abort"));
    };
  }
}
Object.defineProperty(AbortSignal.prototype, Symbol.toStringTag, {
  value: "AbortSignal",
  configurable: true,
});

export class AbortController {
  readonly #signal = newSignal();

  get signal(): AbortSignal {
    return this.#signal;
  }

  abort(reason?: unknown): void {
    signalAbort(this.#signal, reason);
  }
}
Object.defineProperty(AbortController.prototype, Symbol.toStringTag, {
  value: "AbortController",
  configurable: true,
});

/** A signal nothing can abort, for a Request made without one (created only when asked for). */
export function unabortableSignal(): AbortSignal {
  return newSignal();
}

function newSignal(): AbortSignal {
  constructing = true;
  try {
    return new AbortSignal();
  } finally {
    constructing = false;
  }
}

function abortError(): DOMException {
  return new DOMException("This operation was aborted", "AbortError");
}
