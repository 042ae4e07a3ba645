/**
 * SignalMessage, byte for byte as libsignal writes and reads it:
 *
 * ```
 * version byte ‖ protobuf { 1 ratchet_key, 2 counter, 3 previous_counter, 4 ciphertext,
 *                           5 pq_ratchet, 6 addresses } ‖ MAC (8 bytes)
 * ```
 *
 * This module only moves bytes: computing and checking the MAC belongs to the session cipher.
 *
 * @module
 */
import { MAC_LENGTH } from '../constants.js';
import { InvalidMessageError, isSignalError } from '../errors.js';
import { PublicKey, publicKeyBytes } from '../keys/index.js';
import { assertBytes, concatBytes } from '../primitives/index.js';
import { ProtobufMessage, ProtobufWriter } from './protobuf.js';
import { decodeVersionByte, encodeVersionByte } from './version.js';

/** Fields of a SignalMessage, before the MAC is attached. */
export interface SignalMessageFields {
  /** Message version (4 for PQXDH sessions). */
  readonly messageVersion: number;
  /** The sender's current ratchet public key. */
  readonly ratchetKey: PublicKey;
  /** Index of this message in the sender's chain. */
  readonly counter: number;
  /** libsignal's "previous counter" (parsed, never used by receivers). */
  readonly previousCounter: number;
  /** AES-256-CBC output. */
  readonly ciphertext: Uint8Array;
  /** Field 5, the SPQR message; `undefined` when absent or empty (both mean SPQR V0). */
  readonly pqRatchet?: Uint8Array | undefined;
  /** Field 6, the 36-byte sender/recipient binding; `undefined` when absent. */
  readonly addresses?: Uint8Array | undefined;
}

/** A parsed SignalMessage. */
export interface SignalMessage extends SignalMessageFields {
  /** The bytes the MAC covers (version byte ‖ protobuf). */
  readonly macInput: Uint8Array;
  /** The received 8-byte MAC. */
  readonly mac: Uint8Array;
  /** The complete message as received. */
  readonly serialized: Uint8Array;
}

function fail(reason: string): never {
  throw new InvalidMessageError(`invalid SignalMessage: ${reason}`, 'whisper');
}

/** Encode the MAC-covered part: version byte ‖ protobuf, fields in tag order. */
export function encodeSignalMessageBody(fields: SignalMessageFields): Uint8Array {
  assertBytes(fields.ciphertext, 'ciphertext');
  const w = new ProtobufWriter()
    .raw(Uint8Array.of(encodeVersionByte(fields.messageVersion)))
    .bytes(1, publicKeyBytes(fields.ratchetKey))
    .uint32(2, fields.counter)
    .uint32(3, fields.previousCounter)
    .bytes(4, fields.ciphertext);
  if (fields.pqRatchet !== undefined && fields.pqRatchet.length > 0) w.bytes(5, fields.pqRatchet);
  if (fields.addresses !== undefined) w.bytes(6, fields.addresses);
  return w.finish();
}

/** Attach the 8-byte MAC to an encoded body. */
export function attachMac(body: Uint8Array, mac: Uint8Array): Uint8Array {
  assertBytes(mac, 'mac', MAC_LENGTH);
  return concatBytes(body, mac);
}

/**
 * Parse a SignalMessage. Unknown protobuf fields are skipped (the MAC still covers them).
 *
 * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` for malformed bytes
 * @throws {UnsupportedVersionError} `ERR_UNSUPPORTED_VERSION` for a legacy or future version
 */
export function decodeSignalMessage(bytes: Uint8Array): SignalMessage {
  assertBytes(bytes, 'message');
  if (bytes.length < 1 + MAC_LENGTH) fail('too short');
  const messageVersion = decodeVersionByte(bytes[0] as number);
  const serialized = bytes.slice();
  const macInput = serialized.subarray(0, serialized.length - MAC_LENGTH);
  const mac = serialized.subarray(serialized.length - MAC_LENGTH);
  const m = new ProtobufMessage(macInput.subarray(1), fail);
  let ratchetKey: PublicKey;
  try {
    ratchetKey = PublicKey.deserialize(m.requiredBytes(1));
  } catch (e) {
    if (isSignalError(e, 'ERR_INVALID_KEY')) fail('bad ratchet key');
    throw e;
  }
  const counter = m.requiredUint32(2);
  const previousCounter = m.uint32(3) ?? 0;
  const ciphertext = m.requiredBytes(4);
  const pq = m.bytes(5);
  const addresses = m.bytes(6);
  return {
    messageVersion,
    ratchetKey,
    counter,
    previousCounter,
    ciphertext,
    pqRatchet: pq !== undefined && pq.length > 0 ? pq : undefined,
    addresses,
    macInput,
    mac,
    serialized,
  };
}
