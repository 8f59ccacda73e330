// The host half of batched binding calls (guest/binding-batch.ts): a batch of calls comes in one
// hop; each call runs as it would alone, and the answers ready in one event-loop turn go back to
// the isolate in one hop.
import type { Isolate, Reference } from "isolated-vm";

const copy = { arguments: { copy: true } } as const;

export type RunBinding = (
  seq: number,
  binding: string,
  op: string,
  args: unknown[],
) => Promise<unknown>;

export class BindingAnswers {
  #ready: unknown[] = [];
  #answers: Reference | undefined;

  constructor(private readonly isolate: Isolate) {}

  /** The guest's entry for answers, once the bootstrap has made it. */
  connect(answers: Reference): void {
    this.#answers = answers;
  }

  /** Runs a batch: [id, seq, binding, op, args, …]. */
  run(calls: unknown[], runOne: RunBinding): void {
    for (let i = 0; i < calls.length; i += 5) {
      const id = calls[i] as number;
      void runOne(
        calls[i + 1] as number,
        calls[i + 2] as string,
        calls[i + 3] as string,
        calls[i + 4] as unknown[],
      )
        .catch((error: unknown) => [1, "Error", `the platform failed: ${String(error)}`])
        .then((answer) => this.#queue(id, answer));
    }
  }

  #queue(id: number, answer: unknown): void {
    this.#ready.push(id, answer);
    if (this.#ready.length === 2) setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    const ready = this.#ready;
    this.#ready = [];
    this.#send(ready);
  };

  #send(answers: unknown[]): void {
    if (this.isolate.isDisposed || this.#answers === undefined) return;
    try {
      this.#answers.applyIgnored(undefined, [answers], copy);
      return;
    } catch (error) {
      if (this.isolate.isDisposed) return;
      if (answers.length === 2) {
        // a value the isolate cannot take: the call fails instead of hanging
        const message = `the platform's answer could not be copied into the isolate: ${String(error)}`;
        this.#answers.applyIgnored(undefined, [[answers[0], [1, "Error", message]]], copy);
        return;
      }
    }
    for (let i = 0; i < answers.length; i += 2) this.#send(answers.slice(i, i + 2));
  }
}
