/**
 * X25519 (RFC 7748): clamped private keys, public keys, and agreement that refuses low-order
 * public keys and an all-zero result. Raw 32-byte keys only; the `0x05` type byte is the `keys/`
 * layer's business.
 *
 * @module
 */
import { InvalidKeyError } from '../errors.js';
import { assertBytes } from './bytes.js';
import {
  bigintToLe32,
  canonical,
  edwardsYFromMontgomery,
  feAdd,
  feInv,
  feMul,
  feSqr,
  feSub,
  leToBigint,
  P,
} from './curve25519-field.js';
import { decode, isTorsionFree, multiplyBase } from './edwards25519.js';
import { drawRandom, type RandomSource, secureRandom } from './random.js';

/** Clamp a 32-byte scalar in place (RFC 7748 §5): clear bits 0–2 and 255, set bit 254. */
export function clampPrivateKey(key: Uint8Array): Uint8Array {
  assertBytes(key, 'privateKey', 32);
  key[0] = (key[0] as number) & 248;
  key[31] = ((key[31] as number) & 127) | 64;
  return key;
}

/** Generate a clamped X25519 private key. */
export function generateX25519PrivateKey(random: RandomSource = secureRandom): Uint8Array {
  return clampPrivateKey(drawRandom(random, 32));
}

/**
 * The public u-coordinate (32 bytes) of a private key, X25519(k, 9). Computed on the Edwards
 * form, where the base point has a precomputed table, and mapped back with u = (1 + y)/(1 − y):
 * about four times fewer field operations than the ladder.
 */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  assertBytes(privateKey, 'privateKey', 32);
  const k = clampPrivateKey(privateKey.slice());
  const point = multiplyBase(leToBigint(k));
  k.fill(0);
  return bigintToLe32(canonical(feMul(feAdd(point.Z, point.Y), feInv(feSub(point.Z, point.Y)))));
}

const A24 = 121665n;

/**
 * The RFC 7748 §5 Montgomery ladder: X25519(k, u) for a clamped scalar and u reduced mod p. The
 * conditional swaps are arithmetic (no branch on key bits); BigInt itself is not constant-time.
 */
function ladder(k: Uint8Array, u: bigint): bigint {
  let x2 = 1n;
  let z2 = 0n;
  let x3 = u;
  let z3 = 1n;
  let swap = 0n;
  for (let t = 254; t >= 0; t--) {
    const bit = BigInt(((k[t >> 3] as number) >> (t & 7)) & 1);
    const mask = -(swap ^ bit); // 0 or −1 (all ones)
    swap = bit;
    let dummy = mask & (x2 ^ x3);
    x2 ^= dummy;
    x3 ^= dummy;
    dummy = mask & (z2 ^ z3);
    z2 ^= dummy;
    z3 ^= dummy;
    const a = feAdd(x2, z2);
    const aa = feSqr(a);
    const b = feSub(x2, z2);
    const bb = feSqr(b);
    const e = feSub(aa, bb);
    const c = feAdd(x3, z3);
    const d = feSub(x3, z3);
    const da = feMul(d, a);
    const cb = feMul(c, b);
    x3 = feSqr(feAdd(da, cb));
    z3 = feMul(u, feSqr(feSub(da, cb)));
    x2 = feMul(aa, bb);
    z2 = feMul(e, feAdd(aa, feMul(A24, e)));
  }
  const mask = -swap;
  x2 ^= mask & (x2 ^ x3);
  z2 ^= mask & (z2 ^ z3);
  return canonical(feMul(x2, feInv(z2)));
}

/** X25519(k, u) on raw 32-byte strings (no checks on the result). */
function x25519Raw(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const k = clampPrivateKey(privateKey.slice());
  try {
    return bigintToLe32(ladder(k, decodeU(publicKey)));
  } finally {
    k.fill(0);
  }
}

// u-coordinates (mod p) of the points of order 1, 2, 4 and 8 on Curve25519 and its twist that a
// clamped scalar sends to zero: 0, 1, p−1 and the two order-8 points (RFC 7748 §6.1; libsodium's
// blocklist). Non-canonical encodings (u ≥ p, bit 255 set) are reduced before the lookup.
/** The u-coordinate of one of the two order-8 points (the other is in the list below). */
export const ORDER_8_U: bigint =
  325606250916557431795983626356110631294008115727848805560023387167927233504n;

const LOW_ORDER_U: ReadonlySet<bigint> = new Set([
  0n,
  1n,
  P - 1n,
  ORDER_8_U,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
]);

function decodeU(u: Uint8Array): bigint {
  return (leToBigint(u) & ((1n << 255n) - 1n)) % P;
}

/**
 * Every 32-byte encoding (bit 255 aside) of a u in {@link LOW_ORDER_U}: the five values, and p and
 * p + 1, which reduce to 0 and 1. (The others plus p do not fit in 255 bits.) Compared byte by byte,
 * this answers without BigInt arithmetic, which cost about 3 µs per key.
 */
const LOW_ORDER_ENCODINGS: readonly Uint8Array[] = [...LOW_ORDER_U, P, P + 1n].map(bigintToLe32);

/** True when `publicKey` (raw 32 bytes) is a low-order point. Public data, so not constant-time. */
export function isLowOrderX25519PublicKey(publicKey: Uint8Array): boolean {
  assertBytes(publicKey, 'publicKey', 32);
  const top = (publicKey[31] as number) & 0x7f;
  for (const e of LOW_ORDER_ENCODINGS) {
    if (top !== e[31]) continue;
    let i = 0;
    while (i < 31 && publicKey[i] === e[i]) i++;
    if (i === 31) return true;
  }
  return false;
}

/**
 * X25519 agreement. Low-order public keys are rejected before the ladder runs (a stricter rule than
 * libsignal's all-zero check; honest keys never hit it, and refusing early gives an attacker no
 * timing signal about the private key). An all-zero result is rejected too.
 *
 * @throws {InvalidKeyError} `ERR_INVALID_KEY` for a low-order public key or an all-zero secret
 */
export function x25519Agree(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  assertBytes(privateKey, 'privateKey', 32);
  assertBytes(publicKey, 'publicKey', 32);
  if (isLowOrderX25519PublicKey(publicKey)) {
    throw new InvalidKeyError('low-order public key', 'curve25519-public');
  }
  return checkSharedSecret(x25519Raw(privateKey, publicKey));
}

/**
 * Refuse an all-zero X25519 result (RFC 7748 §6.1), whichever backend computed it.
 *
 * @internal
 */
export function checkSharedSecret(shared: Uint8Array): Uint8Array {
  let acc = 0;
  for (const b of shared) acc |= b;
  if (acc === 0) throw new InvalidKeyError('key agreement produced zero', 'curve25519-public');
  return shared;
}

/**
 * libsignal's "canonical" test, applied to an initiator's base key by the responder: the
 * u-coordinate is below p with bit 255 clear, and it maps (with sign 0) to a torsion-free Edwards
 * point, i.e. a point of the prime-order subgroup on the curve (not the twist). Every honest
 * X25519 public key passes. Public data, so not constant-time.
 */
export function isCanonicalX25519PublicKey(publicKey: Uint8Array): boolean {
  assertBytes(publicKey, 'publicKey', 32);
  if (((publicKey[31] as number) & 0x80) !== 0) return false;
  const u = leToBigint(publicKey);
  if (u >= P || u === P - 1n || LOW_ORDER_U.has(u)) return false;
  // The Edwards point with sign 0 for u (absent when u is on the twist).
  const point = decode(edwardsYFromMontgomery(u));
  return point !== undefined && isTorsionFree(point);
}
