/**
 * Hashes, HMAC and HKDF (SHA-256 / SHA-512 / SHA3 / SHAKE) with argument checks, all chiffre's
 * own and tested against noble: SHA-256, HMAC-SHA256 and HKDF-SHA256 are `./sha256.ts`, written
 * for the per-message path; SHA-512 is `./sha512.ts`, written to keep noble's SHA-2 module out of
 * the bundle; SHA-3 and SHAKE are `./keccak.ts`, written for ML-KEM.
 *
 * @module
 */
import { assertBytes } from './bytes.js';
import { sha3_256Parts, shake256Parts } from './keccak.js';
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
  return sha3_256Parts(assertBytes(data, 'data'));
}

/** The longest SHAKE256 output {@link shake256} produces (chiffre asks for 32 or 128 bytes). */
const SHAKE_MAX_OUTPUT = 65536;

/** SHAKE256 of `data`, `length` output bytes. */
export function shake256(data: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > SHAKE_MAX_OUTPUT) {
    throw new RangeError('shake256 length must be an integer between 0 and 65536');
  }
  return shake256Parts([assertBytes(data, 'data')], length);
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
