// Event, CustomEvent and EventTarget (no capture/bubble tree: targets here are not nodes).
import { DOMException } from "./dom-exception.js";
import { services } from "./services.js";

export interface EventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

export interface CustomEventInit<T> extends EventInit {
  detail?: T;
}

export type EventListener = ((event: Event) => unknown) | { handleEvent(event: Event): unknown };

export interface AddEventListenerOptions {
  capture?: boolean;
  once?: boolean;
  passive?: boolean;
  signal?: AbortSignalLike;
}

/** The part of AbortSignal that addEventListener's `signal` option uses (avoids an import cycle). */
interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
}

interface Registration {
  listener: EventListener;
  capture: boolean;
  once: boolean;
  passive: boolean;
  removed: boolean;
}

/** Dispatch-time access to Event's internal state, granted to EventTarget only. */
let beginDispatch: (event: Event, target: EventTarget) => void;
let endDispatch: (event: Event) => void;
let setPassive: (event: Event, passive: boolean) => void;
let stoppedImmediately: (event: Event) => boolean;
let markTrusted: (event: Event) => void;

export class Event {
  static readonly NONE = 0;
  static readonly CAPTURING_PHASE = 1;
  static readonly AT_TARGET = 2;
  static readonly BUBBLING_PHASE = 3;

  readonly #type: string;
  readonly #bubbles: boolean;
  readonly #cancelable: boolean;
  readonly #composed: boolean;
  readonly #timeStamp = Date.now();
  #target: EventTarget | null = null;
  #dispatching = false;
  #canceled = false;
  #passive = false;
  #stop = false;
  #stopImmediate = false;
  #trusted = false;

  constructor(type: unknown, init?: EventInit) {
    if (arguments.length === 0) throw new TypeError("Event constructor requires a type");
    this.#type = String(type);
    this.#bubbles = Boolean(init?.bubbles);
    this.#cancelable = Boolean(init?.cancelable);
    this.#composed = Boolean(init?.composed);
  }

  get type(): string {
    return this.#type;
  }
  get bubbles(): boolean {
    return this.#bubbles;
  }
  get cancelable(): boolean {
    return this.#cancelable;
  }
  get composed(): boolean {
    return this.#composed;
  }
  get defaultPrevented(): boolean {
    return this.#canceled;
  }
  get returnValue(): boolean {
    return !this.#canceled;
  }
  get target(): EventTarget | null {
    return this.#target;
  }
  get srcElement(): EventTarget | null {
    return this.#target;
  }
  get currentTarget(): EventTarget | null {
    return this.#dispatching ? this.#target : null;
  }
  get eventPhase(): number {
    return this.#dispatching ? Event.AT_TARGET : Event.NONE;
  }
  get timeStamp(): number {
    return this.#timeStamp;
  }
  get isTrusted(): boolean {
    return this.#trusted;
  }
  get cancelBubble(): boolean {
    return this.#stop;
  }
  set cancelBubble(value: boolean) {
    if (value) this.#stop = true;
  }

  composedPath(): EventTarget[] {
    return this.#dispatching && this.#target !== null ? [this.#target] : [];
  }
  preventDefault(): void {
    if (this.#cancelable && !this.#passive) this.#canceled = true;
  }
  stopPropagation(): void {
    this.#stop = true;
  }
  stopImmediatePropagation(): void {
    this.#stop = true;
    this.#stopImmediate = true;
  }

  static {
    beginDispatch = (event, target) => {
      if (event.#dispatching)
        throw new DOMException("The event is already being dispatched", "InvalidStateError");
      event.#target = target;
      event.#dispatching = true;
      event.#stop = false;
      event.#stopImmediate = false;
    };
    endDispatch = (event) => {
      event.#dispatching = false;
      event.#passive = false;
    };
    setPassive = (event, passive) => {
      event.#passive = passive;
    };
    stoppedImmediately = (event) => event.#stopImmediate;
    markTrusted = (event) => {
      event.#trusted = true;
    };
  }
}

export class CustomEvent<T = unknown> extends Event {
  readonly #detail: T | null;
  constructor(type: unknown, init?: CustomEventInit<T>) {
    super(type, init);
    this.#detail = init?.detail ?? null;
  }
  get detail(): T | null {
    return this.#detail;
  }
}

export class EventTarget {
  readonly #listeners = new Map<string, Registration[]>();

  addEventListener(
    type: string,
    listener: EventListener | null,
    options?: boolean | AddEventListenerOptions,
  ): void {
    if (listener === null || listener === undefined) return;
    if (typeof listener !== "function" && (typeof listener !== "object" || listener === null)) {
      throw new TypeError("The listener must be a function or an object with handleEvent");
    }
    const flags =
      typeof options === "object" && options !== null ? options : { capture: Boolean(options) };
    const signal = flags.signal;
    if (signal?.aborted) return;
    const capture = Boolean(flags.capture);
    const list = this.#listeners.get(type) ?? [];
    if (list.some((r) => r.listener === listener && r.capture === capture)) return;
    const registration: Registration = {
      listener,
      capture,
      once: Boolean(flags.once),
      passive: Boolean(flags.passive),
      removed: false,
    };
    list.push(registration);
    this.#listeners.set(type, list);
    signal?.addEventListener("abort", () => this.#remove(type, registration), { once: true });
  }

  removeEventListener(
    type: string,
    listener: EventListener | null,
    options?: boolean | { capture?: boolean },
  ): void {
    const capture =
      typeof options === "object" && options !== null ? Boolean(options.capture) : Boolean(options);
    const registration = this.#listeners
      .get(type)
      ?.find((r) => r.listener === listener && r.capture === capture);
    if (registration !== undefined) this.#remove(type, registration);
  }

  dispatchEvent(event: Event): boolean {
    if (!(event instanceof Event)) throw new TypeError("dispatchEvent requires an Event");
    beginDispatch(event, this);
    try {
      const list = this.#listeners.get(event.type);
      if (list !== undefined) {
        for (const registration of list.slice()) {
          if (registration.removed) continue;
          if (registration.once) this.#remove(event.type, registration);
          setPassive(event, registration.passive);
          invoke(registration.listener, this, event);
          setPassive(event, false);
          if (stoppedImmediately(event)) break;
        }
      }
    } finally {
      endDispatch(event);
    }
    return !event.defaultPrevented;
  }

  #remove(type: string, registration: Registration): void {
    registration.removed = true;
    const list = this.#listeners.get(type);
    if (list === undefined) return;
    const index = list.indexOf(registration);
    if (index !== -1) list.splice(index, 1);
    if (list.length === 0) this.#listeners.delete(type);
  }
}

/** Dispatch a platform-originated (trusted) event. */
export function dispatchTrusted(target: EventTarget, event: Event): boolean {
  markTrusted(event);
  return target.dispatchEvent(event);
}

function invoke(listener: EventListener, target: EventTarget, event: Event): void {
  try {
    if (typeof listener === "function") listener.call(target, event);
    else listener.handleEvent(event);
  } catch (error) {
    // A listener's exception never reaches the dispatcher (as in browsers): it is reported.
    services().reportError(error);
  }
}
