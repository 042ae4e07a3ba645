/**
 * A few values made ahead of need by an asynchronous maker, each handed out once and only while
 * in date. Native key generation uses it so that a ratchet step finds a key pair ready instead
 * of waiting for the platform's worker threads.
 *
 * @module
 */

/** Values made ahead, at most `capacity` of them, each usable for `lifetimeMs` after it was made. */
export class SparePool<T> {
  readonly #make: () => Promise<T>;
  readonly #discard: (value: T) => void;
  readonly #capacity: number;
  readonly #lifetimeMs: number;
  readonly #now: () => number;
  readonly #values: { value: T; expires: number }[] = [];
  #refilling: Promise<void> | undefined;

  /**
   * @param make - makes one value; a rejection stops that refill and is otherwise ignored
   * @param discard - called on every value dropped unused (expired or cleared), e.g. to wipe it
   * @param capacity - how many values to keep ready
   * @param lifetimeMs - how long a value may wait before it is dropped
   * @param now - the clock, in milliseconds
   */
  constructor(
    make: () => Promise<T>,
    discard: (value: T) => void,
    capacity: number,
    lifetimeMs: number,
    now: () => number = () => Date.now(),
  ) {
    this.#make = make;
    this.#discard = discard;
    this.#capacity = capacity;
    this.#lifetimeMs = lifetimeMs;
    this.#now = now;
  }

  /** How many values are ready (expired ones included until the next {@link take}). */
  get size(): number {
    return this.#values.length;
  }

  /** The oldest value still in date, removed from the pool; expired ones are discarded. */
  take(): T | undefined {
    this.discardExpired();
    return this.#values.shift()?.value;
  }

  /**
   * Discard the values past their lifetime. There is no timer: this runs on every
   * {@link take} and whenever the owner calls it, so an expired value is never handed out but
   * may wait in the pool until then.
   */
  discardExpired(): void {
    const now = this.#now();
    // Values are made in order, so the expired ones are at the front.
    while (this.#values.length > 0 && (this.#values[0] as { expires: number }).expires <= now) {
      this.#discard((this.#values.shift() as { value: T }).value);
    }
  }

  /**
   * Start making values until the pool is full, unless a refill is already under way. The
   * returned promise (which never rejects) settles when this refill ends; callers may ignore it.
   */
  refill(): Promise<void> {
    if (this.#refilling !== undefined) return this.#refilling;
    // `finally` callbacks run after this assignment, even when #fill settles at once.
    const job: Promise<void> = this.#fill().finally(() => {
      if (this.#refilling === job) this.#refilling = undefined;
    });
    this.#refilling = job;
    return job;
  }

  async #fill(): Promise<void> {
    try {
      while (this.#values.length < this.#capacity) {
        const value = await this.#make();
        this.#values.push({ value, expires: this.#now() + this.#lifetimeMs });
      }
    } catch {
      // The next caller that finds the pool empty makes its own value and meets the error.
    }
  }

  /** Discard every value ready now. A refill under way still adds its values afterwards. */
  clear(): void {
    for (const entry of this.#values.splice(0)) this.#discard(entry.value);
  }
}
