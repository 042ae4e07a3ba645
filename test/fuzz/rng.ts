/**
 * Deterministic randomness of the fuzzer: a small fast PRNG (sfc32) for mutation decisions, and a
 * SHA-512 counter-mode byte stream that stands in for the CSPRNG when building fixtures, so that
 * every fixture (keys, sessions, messages) and therefore every corpus file replays identically.
 * Never used for anything but tests.
 */
import { createHash } from 'node:crypto';
import type { RandomSource } from '../../src/index.js';

/** sfc32: a 128-bit-state PRNG; plenty for scheduling mutations, useless for keys. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number | string) {
    const h = createHash('sha256').update(String(seed)).digest();
    this.#a = h.readUInt32LE(0);
    this.#b = h.readUInt32LE(4);
    this.#c = h.readUInt32LE(8);
    this.#d = h.readUInt32LE(12) | 1;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, n) (n ≥ 1). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + this.below(hi - lo + 1);
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }

  /** `n` pseudo-random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** Small integers are much more likely than large ones (sizes, counts, offsets). */
  smallInt(max: number): number {
    const bits = this.below(Math.max(1, Math.ceil(Math.log2(max + 1))) + 1);
    return Math.min(max, this.below(2 ** bits));
  }
}

/** A deterministic {@link RandomSource}: SHA-512(label ‖ counter) blocks. Tests only. */
export function deterministicRandom(label: string): RandomSource {
  let counter = 0;
  return (length: number): Uint8Array => {
    const out = new Uint8Array(length);
    let off = 0;
    while (off < length) {
      const block = createHash('sha512')
        .update(`${label}:${String(counter++)}`)
        .digest();
      const n = Math.min(block.length, length - off);
      out.set(block.subarray(0, n), off);
      off += n;
    }
    return out;
  };
}

/** Lower-case hex SHA-256 of bytes (corpus file names). */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
