/**
 * Arithmetic in GF(2¹⁶), the field of SPQR's erasure code (libsignal-extras §D.8; upstream spqr
 * `encoding/gf.rs`). Reduction polynomial x¹⁶ + x¹² + x³ + x + 1 (`0x1100B`).
 *
 * - Elements are plain numbers `0..0xffff`; bit i is the coefficient of xⁱ.
 * - Addition and subtraction are both XOR: callers write `a ^ b` directly.
 * - Multiplication and inversion go through log/antilog tables over the generator x (= 2). The
 *   tables (2 × 128 KiB) are built on first use, in about a millisecond, and then kept.
 *
 * Not constant time: table lookups depend on the operands. That is acceptable for this module's
 * only user, the erasure code, because everything it encodes (KEM header, encapsulation key,
 * ciphertext, MACs) travels unencrypted in `SignalMessage.pq_ratchet` anyway. Do not use these
 * functions on secrets.
 *
 * This module owns field arithmetic only; polynomials, chunks and wire layout live in
 * `erasure.ts`.
 *
 * @module
 */

/** The reduction polynomial x¹⁶ + x¹² + x³ + x + 1 (upstream `POLY`). */
export const GF16_POLYNOMIAL = 0x1100b;

/** Order of the multiplicative group: 2¹⁶ − 1. */
const ORDER = 0xffff;

/** `EXP[i] = xⁱ` for i in 0..ORDER−1. @internal */
let EXP: Uint16Array | undefined;
/** `LOG[a] = i` with xⁱ = a, for a ≠ 0 (`LOG[0]` is unused). @internal */
let LOG: Uint16Array | undefined;

/**
 * Build the tables once. x is primitive for this polynomial (it is taken from a table of
 * primitive polynomials), so its powers run through all 65 535 non-zero elements; the loop
 * checks that instead of trusting it.
 *
 * @internal
 */
function buildTables(): { exp: Uint16Array; log: Uint16Array } {
  const exp = new Uint16Array(ORDER);
  const log = new Uint16Array(ORDER + 1);
  let v = 1;
  for (let i = 0; i < ORDER; i++) {
    if (i > 0 && v === 1) throw new Error('GF(2^16): x is not a generator');
    exp[i] = v;
    log[v] = i;
    v <<= 1;
    if (v > 0xffff) v ^= GF16_POLYNOMIAL;
  }
  EXP = exp;
  LOG = log;
  return { exp, log };
}

/**
 * Multiply two field elements.
 *
 * @param a - element `0..0xffff`
 * @param b - element `0..0xffff`
 * @returns `a · b` reduced modulo `0x1100B`
 * @example
 * ```ts
 * gfMul(0x1234, 0x5678); // 0x6324
 * ```
 */
export function gfMul(a: number, b: number): number {
  if (a === 0 || b === 0) return 0;
  const exp = EXP ?? buildTables().exp;
  const log = LOG as Uint16Array;
  let s = (log[a] as number) + (log[b] as number);
  if (s >= ORDER) s -= ORDER;
  return exp[s] as number;
}

/**
 * Multiplicative inverse.
 *
 * @param a - non-zero element `1..0xffff`
 * @returns `a⁻¹`, the same value as upstream's `a^(2¹⁶−2)`
 * @throws {RangeError} when `a` is 0 (upstream would return 0; the erasure code never divides by
 *   zero, so reaching this is a bug)
 * @example
 * ```ts
 * gfInv(2); // 0x8805
 * ```
 */
export function gfInv(a: number): number {
  if (a === 0) throw new RangeError('GF(2^16): zero has no inverse');
  const exp = EXP ?? buildTables().exp;
  const log = LOG as Uint16Array;
  const l = log[a] as number;
  return exp[l === 0 ? 0 : ORDER - l] as number;
}

/**
 * Divide: `a · b⁻¹`.
 *
 * @param a - element `0..0xffff`
 * @param b - non-zero element `1..0xffff`
 * @returns `a / b`
 * @throws {RangeError} when `b` is 0
 * @example
 * ```ts
 * gfDiv(gfMul(7, 9), 9); // 7
 * ```
 */
export function gfDiv(a: number, b: number): number {
  return gfMul(a, gfInv(b));
}
