/**
 * Small pieces of Curve25519 arithmetic shared by the X25519 checks and XEdDSA: little-endian
 * scalars and field elements as bigints, and the birational map from a Montgomery u-coordinate
 * to the Edwards y-coordinate. Public data only, so nothing here is constant-time.
 *
 * @module
 * @internal
 */

import { ed25519 } from '@noble/curves/ed25519.js';

const Fp = ed25519.Point.Fp;

/** The field prime 2^255 − 19. */
export const P: bigint = (1n << 255n) - 19n;

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
 * The Edwards point encoding for Montgomery `u` (reduced mod p, u ≠ p − 1): `y = (u − 1)/(u + 1)`
 * as 32 little-endian bytes with the sign bit clear (callers set it).
 */
export function edwardsYFromMontgomery(u: bigint): Uint8Array {
  // Variable-time inversion (extended Euclid in noble): u is public.
  return bigintToLe32((((u - 1n + P) % P) * Fp.inv((u + 1n) % P)) % P);
}
