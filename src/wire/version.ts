/**
 * The version byte that opens SignalMessage and PreKeySignalMessage: `(message_version << 4) |
 * CURRENT_VERSION`. Receivers look only at the high nibble (the low nibble is covered by the MAC).
 *
 * @module
 */
import {
  CIPHERTEXT_MESSAGE_CURRENT_VERSION,
  CIPHERTEXT_MESSAGE_PRE_KYBER_VERSION,
} from '../constants.js';
import { UnsupportedVersionError } from '../errors.js';

/** The byte chiffre writes for a message of `messageVersion`. */
export function encodeVersionByte(messageVersion: number): number {
  return ((messageVersion << 4) | CIPHERTEXT_MESSAGE_CURRENT_VERSION) & 0xff;
}

/**
 * The message version carried by a version byte.
 *
 * @throws {UnsupportedVersionError} `ERR_UNSUPPORTED_VERSION` below 3 (legacy) or above 4 (future)
 */
export function decodeVersionByte(byte: number): number {
  const version = byte >> 4;
  if (version < CIPHERTEXT_MESSAGE_PRE_KYBER_VERSION) {
    throw new UnsupportedVersionError(`legacy message version ${String(version)}`, version);
  }
  if (version > CIPHERTEXT_MESSAGE_CURRENT_VERSION) {
    throw new UnsupportedVersionError(`unrecognized message version ${String(version)}`, version);
  }
  return version;
}
