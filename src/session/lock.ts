/**
 * A per-key asynchronous mutex. Operations on one key run one after another, in call order;
 * different keys run concurrently. An entry exists only while work for its key is queued, so the
 * bookkeeping is bounded by the number of keys in flight.
 *
 * @module
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  /** Run `task` after every earlier task for `key` has settled. */
  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const result = previous.then(task, task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Keys with queued work (for tests of the bound). */
  get size(): number {
    return this.#tails.size;
  }
}
