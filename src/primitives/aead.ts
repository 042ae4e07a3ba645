/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha-03) sealing with a random 24-byte nonce, for data
 * at rest. The sealed form is self-contained: `nonce (24) ‖ ciphertext ‖ tag (16)`.
 *
 * A 24-byte nonce makes random nonces safe under one key for any realistic number of records
 * (collision bound ~2^-96 after 2^48 seals), so callers need no nonce bookkeeping.
 *
 * Not the message cipher: Signal messages use AES-256-CBC + HMAC (`aes-cbc.ts`).
 *
 * @module
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { assertBytes, concatBytes } from './bytes.js';
import { drawRandom, type RandomSource, secureRandom } from './random.js';

/** Key length of {@link aeadSeal}. */
export const AEAD_KEY_LENGTH = 32;
/** Nonce length (prepended to every sealed value). */
export const AEAD_NONCE_LENGTH = 24;
/** Poly1305 tag length (appended). */
export const AEAD_TAG_LENGTH = 16;
/** Bytes {@link aeadSeal} adds to a plaintext. */
export const AEAD_OVERHEAD: number = AEAD_NONCE_LENGTH + AEAD_TAG_LENGTH;

/**
 * Seal `plaintext` under `key`, binding `associatedData`.
 *
 * @param key - 32-byte key
 * @param plaintext - bytes to seal (may be empty)
 * @param associatedData - bytes authenticated but not encrypted (e.g. the record's id)
 * @param random - nonce source; the platform CSPRNG unless a test injects one
 * @returns `nonce ‖ ciphertext ‖ tag`, {@link AEAD_OVERHEAD} bytes longer than `plaintext`
 * @throws {TypeError} when an argument is not a `Uint8Array`
 * @throws {RangeError} when `key` is not 32 bytes
 * @example
 * ```ts
 * const sealed = aeadSeal(key, record, new TextEncoder().encode('session alice.1'));
 * ```
 */
export function aeadSeal(
  key: Uint8Array,
  plaintext: Uint8Array,
  associatedData: Uint8Array,
  random: RandomSource = secureRandom,
): Uint8Array {
  assertBytes(key, 'key', AEAD_KEY_LENGTH);
  assertBytes(plaintext, 'plaintext');
  assertBytes(associatedData, 'associatedData');
  const nonce = drawRandom(random, AEAD_NONCE_LENGTH);
  const body = xchacha20poly1305(key, nonce, associatedData).encrypt(plaintext);
  return concatBytes(nonce, body);
}

/**
 * Open a value sealed by {@link aeadSeal}. Returns `null` for any failure (too short, wrong key,
 * wrong associated data, altered bytes): callers must not learn which.
 *
 * @param key - 32-byte key
 * @param sealed - `nonce ‖ ciphertext ‖ tag`
 * @param associatedData - the associated data given to {@link aeadSeal}
 * @returns the plaintext, or `null`
 * @throws {TypeError} when an argument is not a `Uint8Array`
 * @throws {RangeError} when `key` is not 32 bytes
 * @example
 * ```ts
 * const record = aeadOpen(key, sealed, ad);
 * if (record === null) throw new Error('cannot be opened');
 * ```
 */
export function aeadOpen(
  key: Uint8Array,
  sealed: Uint8Array,
  associatedData: Uint8Array,
): Uint8Array | null {
  assertBytes(key, 'key', AEAD_KEY_LENGTH);
  assertBytes(sealed, 'sealed');
  assertBytes(associatedData, 'associatedData');
  if (sealed.length < AEAD_OVERHEAD) return null;
  const nonce = sealed.subarray(0, AEAD_NONCE_LENGTH);
  const body = sealed.subarray(AEAD_NONCE_LENGTH);
  try {
    return xchacha20poly1305(key, nonce, associatedData).decrypt(body);
  } catch {
    // noble throws on a tag mismatch; its message is not ours to surface.
    return null;
  }
}
