/**
 * X25519 (RFC 7748): clamped private keys, public keys, and agreement that refuses low-order
 * public keys and an all-zero result. Raw 32-byte keys only; the `0x05` type byte is the `keys/`
 * layer's business.
 *
 * @module
 */
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { InvalidKeyError } from '../errors.js';
import { assertBytes } from './bytes.js';
import { edwardsYFromMontgomery, leToBigint, P } from './curve25519-field.js';
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

/** The public u-coordinate (32 bytes) of a private key. */
export function x25519PublicKey(privateKey: Uint8Array): Uint8Array {
  assertBytes(privateKey, 'privateKey', 32);
  try {
    return x25519.getPublicKey(privateKey);
  } catch (cause) {
    throw new InvalidKeyError('invalid private key', 'curve25519-private', { cause });
  }
}

// u-coordinates (mod p) of the points of order 1, 2, 4 and 8 on Curve25519 and its twist that a
// clamped scalar sends to zero: 0, 1, p−1 and the two order-8 points (RFC 7748 §6.1; libsodium's
// blocklist). Non-canonical encodings (u ≥ p, bit 255 set) are reduced before the lookup.
const LOW_ORDER_U: ReadonlySet<bigint> = new Set([
  0n,
  1n,
  P - 1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
]);

function decodeU(u: Uint8Array): bigint {
  return (leToBigint(u) & ((1n << 255n) - 1n)) % P;
}

/** True when `publicKey` (raw 32 bytes) is a low-order point. Public data, so not constant-time. */
export function isLowOrderX25519PublicKey(publicKey: Uint8Array): boolean {
  assertBytes(publicKey, 'publicKey', 32);
  return LOW_ORDER_U.has(decodeU(publicKey));
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
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(privateKey, publicKey);
  } catch (cause) {
    throw new InvalidKeyError('key agreement failed', 'curve25519-public', { cause });
  }
  return checkSharedSecret(shared);
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
  // The Edwards point with sign 0 for u.
  const enc = edwardsYFromMontgomery(u);
  try {
    return ed25519.Point.fromBytes(enc).isTorsionFree();
  } catch {
    return false;
  }
}
