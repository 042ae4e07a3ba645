/**
 * Hashes, HMAC and HKDF (SHA-256 / SHA-512 / SHA3 / SHAKE) with argument checks: SHA-3 is
 * `@noble/hashes`' (so that no other layer imports noble); SHA-256, HMAC-SHA256 and HKDF-SHA256
 * are `./sha256.ts`, written for the per-message path, and SHA-512 is `./sha512.ts`, written to
 * keep noble's SHA-2 module out of the bundle; both are tested against noble.
 *
 * @module
 */
import { sha3_256 as nobleSha3_256, shake256 as nobleShake256 } from '@noble/hashes/sha3.js';
import { assertBytes } from './bytes.js';
import { hkdfSha256Raw, hmacSha256Parts, sha256Parts } from './sha256.js';
import { sha512Parts } from './sha512.js';

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  return sha256Parts(assertBytes(data, 'data'));
}

/** SHA-512 of `data`. */
export function sha512(data: Uint8Array): Uint8Array {
  return sha512Parts(assertBytes(data, 'data'));
}

/** SHA3-256 of `data`. */
export function sha3_256(data: Uint8Array): Uint8Array {
  return nobleSha3_256(assertBytes(data, 'data'));
}

/** SHAKE256 of `data`, `length` output bytes. */
export function shake256(data: Uint8Array, length: number): Uint8Array {
  return nobleShake256(assertBytes(data, 'data'), { dkLen: length });
}

/** HMAC-SHA256 (RFC 2104 / RFC 4231). */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmacSha256Parts(assertBytes(key, 'key'), assertBytes(data, 'data'));
}

/**
 * HKDF-SHA256 (RFC 5869). An absent `salt` means "no salt", i.e. 32 zero bytes (RFC 5869 §2.2),
 * as in libsignal.
 */
export function hkdfSha256(
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array,
  length: number,
): Uint8Array {
  assertBytes(ikm, 'ikm');
  if (salt !== undefined) assertBytes(salt, 'salt');
  assertBytes(info, 'info');
  if (!Number.isInteger(length) || length < 1 || length > 255 * 32) {
    throw new RangeError('hkdf length must be between 1 and 8160');
  }
  return hkdfSha256Raw(ikm, salt, info, length);
}
