/**
 * Arithmetic in GF(2^255 − 19) on bigints, shared by X25519 and the Edwards form: little-endian
 * conversions, multiplication with a reduction that folds the high half instead of dividing,
 * inversion and square roots by fixed exponentiation chains, and the birational map from a
 * Montgomery u-coordinate to the Edwards y-coordinate.
 *
 * Representation: the multiply, square, add and subtract helpers accept and return "loose"
 * elements, non-negative bigints below 2^256 congruent to the value (so that products stay at
 * four 64-bit limbs per factor); {@link canonical} reduces one fully. BigInt arithmetic in JavaScript is not constant-time; the operation sequence
 * of the secret-dependent callers (the X25519 ladder, fixed-base multiplication) does not depend
 * on secrets, which is the best JavaScript offers.
 *
 * @module
 * @internal
 */

/** The field prime 2^255 − 19. */
export const P: bigint = (1n << 255n) - 19n;

const MASK_255 = (1n << 255n) - 1n;
const FOUR_P = 4n * P;

/** A little-endian byte string as a bigint. */
export function leToBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

/** A bigint below 2^256 as 32 little-endian bytes. */
export function bigintToLe32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = n;
  for (let i = 0; i < 32; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Reduce a product of loose elements (below 2^512) to a loose element: two folds of the bits
 * above 255, using 2^255 ≡ 19. The result is below 2^255 + 2^12.
 */
function fold(t: bigint): bigint {
  const u = (t & MASK_255) + 19n * (t >> 255n);
  return (u & MASK_255) + 19n * (u >> 255n);
}

/** a · b (loose in, loose out). */
export function feMul(a: bigint, b: bigint): bigint {
  return fold(a * b);
}

/** a² (loose in, loose out). */
export function feSqr(a: bigint): bigint {
  return fold(a * a);
}

/** a + b (loose in, loose out): one fold suffices below 2^259. */
export function feAdd(a: bigint, b: bigint): bigint {
  const t = a + b;
  return (t & MASK_255) + 19n * (t >> 255n);
}

/** a − b (loose in, loose out): 4p is added first so that the difference stays non-negative. */
export function feSub(a: bigint, b: bigint): bigint {
  const t = a + FOUR_P - b;
  return (t & MASK_255) + 19n * (t >> 255n);
}

/** The unique representative in [0, p). */
export function canonical(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

/** a^(2^k) by k squarings. */
function sqrTimes(a: bigint, k: number): bigint {
  let r = a;
  for (let i = 0; i < k; i++) r = fold(r * r);
  return r;
}

/** a^(2^250 − 1) and a^11, the common prefix of the inversion and square-root chains. */
function pow2250(a: bigint): { readonly t250: bigint; readonly a11: bigint } {
  const a2 = feSqr(a);
  const a9 = feMul(sqrTimes(a2, 2), a); // a^8 · a
  const a11 = feMul(a9, a2);
  const t5 = feMul(feSqr(a11), a9); // a^(2^5 − 1)
  const t10 = feMul(sqrTimes(t5, 5), t5);
  const t20 = feMul(sqrTimes(t10, 10), t10);
  const t40 = feMul(sqrTimes(t20, 20), t20);
  const t50 = feMul(sqrTimes(t40, 10), t10);
  const t100 = feMul(sqrTimes(t50, 50), t50);
  const t200 = feMul(sqrTimes(t100, 100), t100);
  const t250 = feMul(sqrTimes(t200, 50), t50);
  return { t250, a11 };
}

/** a^(p − 2), which is a⁻¹ for a ≢ 0 and 0 for a ≡ 0 (a fixed chain: 254 squarings, 11 products). */
export function feInv(a: bigint): bigint {
  const { t250, a11 } = pow2250(a);
  return feMul(sqrTimes(t250, 5), a11); // a^(2^255 − 32 + 11) = a^(p − 2)
}

/** a^((p − 5)/8) = a^(2^252 − 3), the exponent of the square-root-of-a-ratio formula. */
function powP58(a: bigint): bigint {
  const { t250 } = pow2250(a);
  return feMul(sqrTimes(t250, 2), a); // a^(2^252 − 4 + 1)
}

/** √−1 mod p, i.e. 2^((p − 1)/4). */
const SQRT_M1 = 19681161376707505956807079304988542015446066515923890162744021073123829784752n;

/**
 * A square root of u/v (RFC 8032 §5.1.3), or `undefined` when u/v is not a square. The root
 * returned is canonical but its parity is not chosen.
 */
export function sqrtRatio(u: bigint, v: bigint): bigint | undefined {
  const v3 = feMul(feSqr(v), v);
  const v7 = feMul(feSqr(v3), v);
  let x = feMul(feMul(u, v3), powP58(feMul(u, v7)));
  const vx2 = canonical(feMul(v, feSqr(x)));
  const uc = canonical(u);
  if (vx2 === uc) return canonical(x);
  if (vx2 === canonical(P - uc)) {
    x = feMul(x, SQRT_M1);
    return canonical(x);
  }
  return undefined;
}

/**
 * The Edwards point encoding for Montgomery `u` (reduced mod p, u ≠ p − 1): `y = (u − 1)/(u + 1)`
 * as 32 little-endian bytes with the sign bit clear (callers set it).
 */
export function edwardsYFromMontgomery(u: bigint): Uint8Array {
  return bigintToLe32(canonical(feMul(feSub(u, 1n), feInv(feAdd(u, 1n)))));
}
