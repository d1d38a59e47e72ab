// A counting semaphore with a FIFO queue: bounds open channels per connection and handshakes per run.
export class Semaphore {
  readonly #limit: number;
  #inUse = 0;
  #highWater = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`semaphore limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  /** Waits for a free slot; the returned function gives it back (calling it twice is harmless). */
  async acquire(): Promise<() => void> {
    if (this.#inUse < this.#limit) {
      this.#take();
    } else {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#release();
    };
  }

  /** Runs `work` while holding one slot. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  get inUse(): number {
    return this.#inUse;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /** Most slots ever held at once (tests and benchmarks read it). */
  get highWater(): number {
    return this.#highWater;
  }

  #take(): void {
    this.#inUse += 1;
    if (this.#inUse > this.#highWater) this.#highWater = this.#inUse;
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next) {
      // The slot passes straight to the next waiter; inUse stays the same.
      next();
    } else {
      this.#inUse -= 1;
    }
  }
}
