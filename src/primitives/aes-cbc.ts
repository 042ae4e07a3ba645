/**
 * AES-256-CBC with PKCS#7 padding, as libsignal uses for message bodies.
 *
 * @module
 */
import { cbc } from '@noble/ciphers/aes.js';
import { assertBytes } from './bytes.js';

/** Encrypt with AES-256-CBC and PKCS#7 padding. Output length is a non-zero multiple of 16. */
export function aes256CbcEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  assertBytes(key, 'key', 32);
  assertBytes(iv, 'iv', 16);
  assertBytes(plaintext, 'plaintext');
  return cbc(key, iv).encrypt(plaintext);
}

/**
 * Decrypt AES-256-CBC with PKCS#7 padding. Returns `null` for any failure (length not a positive
 * multiple of 16, bad padding): callers must not learn which, and map it to one error.
 */
export function aes256CbcDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | null {
  assertBytes(key, 'key', 32);
  assertBytes(iv, 'iv', 16);
  assertBytes(ciphertext, 'ciphertext');
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) return null;
  try {
    return cbc(key, iv).decrypt(ciphertext);
  } catch {
    return null;
  }
}
