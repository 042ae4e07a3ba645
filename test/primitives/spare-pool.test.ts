/**
 * The pool of values made ahead (native key pairs in production): each value is handed out once,
 * never after its lifetime, expired and cleared values are discarded, the pool never holds more
 * than its capacity, and a failing maker leaves it usable.
 */
import { describe, expect, it } from 'vitest';
import { SparePool } from '../../src/primitives/spare-pool.js';

function counter(): { make: () => Promise<number>; made: () => number } {
  let n = 0;
  return {
    make: () => Promise.resolve(++n),
    made: () => n,
  };
}

/**
 * A lifetime these tests never reach on the real clock (the expiry tests inject their own clock):
 * with a second, a CI machine that stalls the process between refill and take fails them.
 */
const LONG_MS = 3_600_000;

describe('SparePool', () => {
  it('is empty until refilled, then hands out values oldest first, each once', async () => {
    const c = counter();
    const discarded: number[] = [];
    const pool = new SparePool(c.make, (v) => discarded.push(v), 3, LONG_MS);
    expect(pool.take()).toBeUndefined();
    await pool.refill();
    expect(pool.size).toBe(3);
    expect([pool.take(), pool.take(), pool.take(), pool.take()]).toEqual([1, 2, 3, undefined]);
    await pool.refill();
    expect([pool.take(), pool.take(), pool.take()]).toEqual([4, 5, 6]);
    expect(discarded).toEqual([]);
  });

  it('never holds more than its capacity, however often a refill is asked for', async () => {
    const c = counter();
    const pool = new SparePool(c.make, () => undefined, 2, LONG_MS);
    await Promise.all([pool.refill(), pool.refill(), pool.refill()]);
    await pool.refill();
    expect(pool.size).toBe(2);
    expect(c.made()).toBe(2);
    pool.take();
    await pool.refill();
    expect(pool.size).toBe(2);
    expect(c.made()).toBe(3);
  });

  it('discards expired values instead of handing them out', async () => {
    let now = 0;
    const c = counter();
    const discarded: number[] = [];
    const pool = new SparePool(
      c.make,
      (v) => discarded.push(v),
      2,
      1000,
      () => now,
    );
    await pool.refill();
    now = 999;
    expect(pool.take()).toBe(1);
    now = 1000;
    expect(pool.take()).toBeUndefined();
    expect(discarded).toEqual([2]);
    expect(pool.size).toBe(0);
  });

  it('discardExpired drops only the values past their lifetime, oldest first', async () => {
    let now = 0;
    let n = 0;
    const discarded: number[] = [];
    const pool = new SparePool(
      () => Promise.resolve(++n),
      (v) => discarded.push(v),
      2,
      1000,
      () => now,
    );
    await pool.refill(); // 1 and 2, both made at 0
    pool.take(); // 1
    now = 500;
    await pool.refill(); // 3, made at 500
    now = 1000;
    pool.discardExpired();
    expect(discarded).toEqual([2]);
    expect(pool.size).toBe(1);
    expect(pool.take()).toBe(3);
  });

  it('clear discards every ready value', async () => {
    const c = counter();
    const discarded: number[] = [];
    const pool = new SparePool(c.make, (v) => discarded.push(v), 2, LONG_MS);
    await pool.refill();
    pool.clear();
    expect(discarded).toEqual([1, 2]);
    expect(pool.take()).toBeUndefined();
  });

  it('a failing maker ends that refill quietly; the next refill tries again', async () => {
    let fail = true;
    let n = 0;
    const pool = new SparePool(
      () => (fail ? Promise.reject(new Error('no')) : Promise.resolve(++n)),
      () => undefined,
      2,
      LONG_MS,
    );
    await expect(pool.refill()).resolves.toBeUndefined();
    expect(pool.size).toBe(0);
    fail = false;
    await pool.refill();
    expect([pool.take(), pool.take()]).toEqual([1, 2]);
  });

  it('a maker that throws synchronously does not wedge the pool', async () => {
    let fail = true;
    const pool = new SparePool(
      () => {
        if (fail) throw new Error('sync');
        return Promise.resolve(7);
      },
      () => undefined,
      1,
      LONG_MS,
    );
    await pool.refill();
    fail = false;
    await pool.refill();
    expect(pool.take()).toBe(7);
  });
});
