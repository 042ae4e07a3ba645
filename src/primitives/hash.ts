/**
 * Hashes, HMAC and HKDF (SHA-256 / SHA-512 / SHA3 / SHAKE), thin wrappers over `@noble/hashes`
 * so that no other layer imports noble.
 *
 * @module
 */
import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { sha3_256 as nobleSha3_256, shake256 as nobleShake256 } from '@noble/hashes/sha3.js';
import { assertBytes } from './bytes.js';

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(assertBytes(data, 'data'));
}

/** SHA-512 of `data`. */
export function sha512(data: Uint8Array): Uint8Array {
  return nobleSha512(assertBytes(data, 'data'));
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
  return hmac(nobleSha256, assertBytes(key, 'key'), assertBytes(data, 'data'));
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
  return nobleHkdf(nobleSha256, ikm, salt, info, length);
}
