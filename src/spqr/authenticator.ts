/**
 * SPQR's authenticator: a small key schedule that MACs the ML-KEM header and ciphertext of each
 * epoch. It starts from the PQXDH-derived auth key (as the epoch-1 update) and is updated with
 * every epoch secret.
 *
 * - update(e, k): `HKDF(salt 0^32, root ‖ k, "…Authenticator Update" ‖ u64be(e), 64)` → root ‖ mac key
 * - header MAC: `HMAC(mac key, "…ekheader" ‖ u64be(e) ‖ hdr)`
 * - ciphertext MAC: `HMAC(mac key, "…ciphertext" ‖ u64be(e) ‖ ct1 ‖ ct2)`
 *
 * @module
 */
import {
  SPQR_AUTH_UPDATE_INFO,
  SPQR_CIPHERTEXT_MAC_INFO,
  SPQR_HEADER_MAC_INFO,
} from '../constants.js';
import { concatBytes, equalConstantTime, hkdfSha256, hmacSha256 } from '../primitives/index.js';

/** Authenticator keys. */
export interface Authenticator {
  readonly rootKey: Uint8Array;
  readonly macKey: Uint8Array;
}

/** `u64` big-endian of a (safe-integer) epoch. */
export function epochBytes(epoch: number): Uint8Array {
  const out = new Uint8Array(8);
  let v = BigInt(epoch);
  for (let i = 7; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** The authenticator after `update(epoch, key)`. */
export function updateAuthenticator(
  auth: Authenticator,
  epoch: number,
  key: Uint8Array,
): Authenticator {
  const out = hkdfSha256(
    concatBytes(auth.rootKey, key),
    new Uint8Array(32),
    concatBytes(SPQR_AUTH_UPDATE_INFO, epochBytes(epoch)),
    64,
  );
  return { rootKey: out.slice(0, 32), macKey: out.slice(32, 64) };
}

/** The initial authenticator: zero keys updated with the auth key at epoch 1. */
export function initialAuthenticator(authKey: Uint8Array): Authenticator {
  return updateAuthenticator(
    { rootKey: new Uint8Array(32), macKey: new Uint8Array(32) },
    1,
    authKey,
  );
}

/** MAC of an epoch's KEM header. */
export function macHeader(auth: Authenticator, epoch: number, header: Uint8Array): Uint8Array {
  return hmacSha256(auth.macKey, concatBytes(SPQR_HEADER_MAC_INFO, epochBytes(epoch), header));
}

/** MAC of an epoch's KEM ciphertext (`ct1 ‖ ct2`). */
export function macCiphertext(
  auth: Authenticator,
  epoch: number,
  ciphertext: Uint8Array,
): Uint8Array {
  return hmacSha256(
    auth.macKey,
    concatBytes(SPQR_CIPHERTEXT_MAC_INFO, epochBytes(epoch), ciphertext),
  );
}

/** Constant-time check of a received header MAC. */
export function verifyHeaderMac(
  auth: Authenticator,
  epoch: number,
  header: Uint8Array,
  mac: Uint8Array,
): boolean {
  return equalConstantTime(macHeader(auth, epoch, header), mac);
}

/** Constant-time check of a received ciphertext MAC. */
export function verifyCiphertextMac(
  auth: Authenticator,
  epoch: number,
  ciphertext: Uint8Array,
  mac: Uint8Array,
): boolean {
  return equalConstantTime(macCiphertext(auth, epoch, ciphertext), mac);
}
