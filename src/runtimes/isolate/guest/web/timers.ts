// setTimeout/setInterval over the host's sleep. Timers fire in (due time, creation) order no
// matter in which order the host's sleeps resolve: a wake-up runs the earliest due timer, one
// per wake-up, so microtasks run between timers as they do between browser tasks. A cleared
// timer's host sleep cannot be cancelled; it just wakes up to nothing.
import type { HostHooks } from "../host-api.js";
import { currentRequestId, runAs } from "./request-context.js";

interface Timer {
  readonly id: number;
  due: number;
  order: number;
  readonly callback: () => void;
  readonly repeat: number | null;
  readonly requestId: string;
}

export interface Timers {
  setTimeout(handler: unknown, ms?: unknown, ...args: unknown[]): number;
  clearTimeout(id?: unknown): void;
  setInterval(handler: unknown, ms?: unknown, ...args: unknown[]): number;
  clearInterval(id?: unknown): void;
  queueMicrotask(callback: unknown): void;
}

const MAX_DELAY = 0x7fffffff;

export function createTimers(hooks: HostHooks, reportError: (error: unknown) => void): Timers {
  const live = new Map<number, Timer>();
  const queue: Timer[] = []; // live timers, earliest first
  const armed: number[] = []; // due times of the host sleeps in flight
  let nextId = 1;
  let nextOrder = 0;

  function schedule(handler: unknown, ms: unknown, args: unknown[], repeat: boolean): number {
    if (typeof handler !== "function") throw new TypeError("The timer callback must be a function");
    const delay = Math.min(Math.max(Number(ms) || 0, 0), MAX_DELAY);
    const timer: Timer = {
      id: nextId++,
      due: Date.now() + delay,
      order: nextOrder++,
      callback: () => void Reflect.apply(handler, undefined, args),
      repeat: repeat ? Math.max(delay, 1) : null,
      requestId: currentRequestId(),
    };
    live.set(timer.id, timer);
    insert(timer);
    arm(timer.due);
    return timer.id;
  }

  function insert(timer: Timer): void {
    let low = 0;
    let high = queue.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      const other = queue[mid];
      if (
        other !== undefined &&
        (other.due < timer.due || (other.due === timer.due && other.order < timer.order))
      )
        low = mid + 1;
      else high = mid;
    }
    queue.splice(low, 0, timer);
  }

  function arm(due: number): void {
    armed.push(due);
    hooks.sleep(Math.max(0, due - Date.now())).then(
      () => wake(due),
      (error: unknown) => {
        disarm(due);
        reportError(error);
      },
    );
  }

  function disarm(due: number): void {
    const index = armed.indexOf(due);
    if (index !== -1) armed.splice(index, 1);
  }

  function wake(due: number): void {
    disarm(due);
    const next = queue[0];
    if (next !== undefined && next.due <= Math.max(Date.now(), due)) {
      queue.shift();
      fire(next);
    }
    // Keep a sleep in flight for the earliest timer left (its own may have been used above).
    const head = queue[0];
    if (head !== undefined && !armed.some((d) => d <= head.due)) arm(head.due);
  }

  function fire(timer: Timer): void {
    if (timer.repeat === null) live.delete(timer.id);
    else {
      timer.due = Date.now() + timer.repeat;
      timer.order = nextOrder++;
      insert(timer);
      arm(timer.due);
    }
    runAs(timer.requestId, () => {
      try {
        timer.callback();
      } catch (error) {
        reportError(error);
      }
    });
  }

  function clear(id: unknown): void {
    const timer = typeof id === "number" ? live.get(id) : undefined;
    if (timer === undefined) return;
    live.delete(timer.id);
    const index = queue.indexOf(timer);
    if (index !== -1) queue.splice(index, 1);
  }

  return {
    setTimeout: (handler, ms, ...args) => schedule(handler, ms, args, false),
    setInterval: (handler, ms, ...args) => schedule(handler, ms, args, true),
    clearTimeout: clear,
    clearInterval: clear,
    queueMicrotask(callback) {
      if (typeof callback !== "function") throw new TypeError("queueMicrotask needs a function");
      const requestId = currentRequestId();
      Promise.resolve()
        .then(() => runAs(requestId, () => void Reflect.apply(callback, undefined, [])))
        .catch(reportError);
    },
  };
}
