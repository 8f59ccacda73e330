// A one-producer, one-consumer channel of body chunks with backpressure: push() resolves when
// the consumer has taken the chunk, so a fast producer can never outrun a slow client.

type Chunk = string | Uint8Array;

export class ChunkChannel implements AsyncIterable<Chunk> {
  private queue: Array<{ chunk: Chunk; taken: () => void }> = [];
  private waiting: ((result: IteratorResult<Chunk>) => void) | undefined;
  private failWaiting: ((error: Error) => void) | undefined;
  private ended = false;
  private error: Error | undefined;

  push(chunk: Chunk): Promise<void> {
    if (this.ended || this.error !== undefined) return Promise.resolve();
    return new Promise<void>((taken) => {
      const waiting = this.waiting;
      if (waiting !== undefined) {
        this.clearWaiting();
        waiting({ value: chunk, done: false });
        taken();
      } else {
        this.queue.push({ chunk, taken });
      }
    });
  }

  end(): void {
    this.ended = true;
    const waiting = this.waiting;
    if (waiting !== undefined && this.queue.length === 0) {
      this.clearWaiting();
      waiting({ value: undefined, done: true });
    }
  }

  fail(error: Error): void {
    if (this.ended) return;
    this.error = error;
    for (const item of this.queue) item.taken();
    this.queue = [];
    const fail = this.failWaiting;
    this.clearWaiting();
    fail?.(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<Chunk> {
    return {
      next: () => {
        const item = this.queue.shift();
        if (item !== undefined) {
          item.taken();
          return Promise.resolve({ value: item.chunk, done: false });
        }
        if (this.error !== undefined) return Promise.reject(this.error);
        if (this.ended) return Promise.resolve({ value: undefined, done: true });
        return new Promise<IteratorResult<Chunk>>((resolve, reject) => {
          this.waiting = resolve;
          this.failWaiting = reject;
        });
      },
      return: () => {
        // the consumer stopped reading (client gone): release the producer, also one that
        // already called end() and still waits on chunks nobody will read
        for (const item of this.queue) item.taken();
        this.queue = [];
        this.fail(new Error("stream consumer went away"));
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private clearWaiting() {
    this.waiting = undefined;
    this.failWaiting = undefined;
  }
}
