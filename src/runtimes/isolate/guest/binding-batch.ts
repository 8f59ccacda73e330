// Binding calls leave the isolate in batches: every call made in one microtask run crosses to the
// host in one hop, and the host answers in batches too (binding-answers.ts on the host). A hop
// costs the host's thread more than most binding operations do; a function that publishes or
// reads in a loop with Promise.all makes one hop per loop, not one per call.
import type { IvmReference } from "./host-api.js";

const copy = { arguments: { copy: true } } as const;
/** Per call in a batch: id, invocation seq, binding, op, args. */
const STRIDE = 5;

export interface BindingBatch {
  call: (seq: number, binding: string, op: string, args: unknown[]) => Promise<unknown>;
  /** The host's answers: [id, answer, id, answer, …]. */
  answer: (answers: unknown[]) => void;
}

export function bindingBatch(callsRef: IvmReference): BindingBatch {
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: unknown): void }>();
  let queued: unknown[] = [];
  let nextId = 0;

  const send = (calls: unknown[]): void => {
    try {
      callsRef.applyIgnored(undefined, [calls], copy);
      return;
    } catch (error) {
      if (calls.length === STRIDE) {
        // this call's arguments cannot cross (not copyable): it alone fails
        const id = calls[0] as number;
        waiting.get(id)?.reject(error);
        waiting.delete(id);
        return;
      }
    }
    for (let i = 0; i < calls.length; i += STRIDE) send(calls.slice(i, i + STRIDE));
  };

  const flush = (): void => {
    const calls = queued;
    queued = [];
    send(calls);
  };

  return {
    call: (seq, binding, op, args) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        if (queued.length === 0) void Promise.resolve().then(flush);
        queued.push(id, seq, binding, op, args);
      }),
    answer: (answers) => {
      for (let i = 0; i < answers.length; i += 2) {
        const id = answers[i] as number;
        waiting.get(id)?.resolve(answers[i + 1]);
        waiting.delete(id);
      }
    },
  };
}
