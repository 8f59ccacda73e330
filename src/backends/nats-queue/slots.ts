// The concurrency limit one consumption shares across the JetStream consumers it pulls from: a
// counting semaphore whose free slots go to the waiting message with the lowest stream sequence,
// so deliveries follow stream order across subjects (what one consumer per subject loses). Holds
// keep slots back while a pull loop is about to have an older message than those waiting.

interface Waiter {
  seq: number;
  grant: (granted: boolean) => void;
}

export class Slots {
  #free: number;
  #holds = 0;
  #closed = false;
  readonly #waiters: Waiter[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  /** Resolves true with a slot taken, or false once closed (then nothing was taken). */
  acquire(seq: number): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise((grant) => {
      this.#waiters.push({ seq, grant });
      this.#dispatch();
    });
  }

  /**
   * Takes a slot now when one is free and nobody waits or holds (a waiter would be older), without
   * the promise acquire() makes: the common case, once per message.
   */
  tryAcquire(): boolean {
    if (this.#closed || this.#free === 0 || this.#holds > 0 || this.#waiters.length > 0)
      return false;
    this.#free--;
    return true;
  }

  release(): void {
    this.#free++;
    this.#dispatch();
  }

  /**
   * Grants nothing until the returned function has been called, or `timeoutMs` passed (calls
   * after the first do nothing).
   */
  hold(timeoutMs: number): () => void {
    this.#holds++;
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      clearTimeout(timer);
      this.#holds--;
      this.#dispatch();
    };
    const timer = setTimeout(release, timeoutMs);
    return release;
  }

  /** Wakes every waiter with false; later acquires get false at once. */
  close(): void {
    this.#closed = true;
    for (const waiter of this.#waiters.splice(0)) waiter.grant(false);
  }

  #dispatch(): void {
    while (this.#free > 0 && this.#holds === 0 && this.#waiters.length > 0) {
      // a few waiters at most (one per pull loop): a scan beats a heap
      let best = 0;
      for (let i = 1; i < this.#waiters.length; i++) {
        if ((this.#waiters[i]?.seq ?? Infinity) < (this.#waiters[best]?.seq ?? Infinity)) best = i;
      }
      const [waiter] = this.#waiters.splice(best, 1);
      this.#free--;
      waiter?.grant(true);
    }
  }
}
