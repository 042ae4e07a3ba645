/**
 * PreKeySignalMessage, byte for byte as libsignal writes and reads it (no outer MAC):
 *
 * ```
 * version byte ‖ protobuf { 1 pre_key_id, 2 base_key, 3 identity_key, 4 message,
 *                           5 registration_id, 6 signed_pre_key_id, 7 kyber_pre_key_id,
 *                           8 kyber_ciphertext }
 * ```
 *
 * Version 4 requires both Kyber fields; version 3 parses (both or neither) so that the session
 * layer can refuse it with a precise error.
 *
 * @module
 */
import { CIPHERTEXT_MESSAGE_CURRENT_VERSION } from '../constants.js';
import { InvalidMessageError, isSignalError } from '../errors.js';
import { PublicKey, publicKeyBytes } from '../keys/index.js';
import { assertBytes } from '../primitives/index.js';
import { ProtobufMessage, ProtobufWriter } from './protobuf.js';
import { decodeSignalMessage, type SignalMessage } from './signal-message.js';
import { decodeVersionByte, encodeVersionByte } from './version.js';

/** Fields of a PreKeySignalMessage. */
export interface PreKeySignalMessageFields {
  /** Message version (4 for PQXDH). */
  readonly messageVersion: number;
  /** The sender's registration id (absent on the wire → 0). */
  readonly registrationId: number;
  /** One-time prekey id, when one was used. */
  readonly preKeyId: number | undefined;
  /** Signed prekey id. */
  readonly signedPreKeyId: number;
  /** Kyber prekey id (required for version 4). */
  readonly kyberPreKeyId: number | undefined;
  /** `type ‖ ciphertext` (1569 bytes for Kyber-1024; required for version 4). */
  readonly kyberCiphertext: Uint8Array | undefined;
  /** The initiator's base (ephemeral) key. */
  readonly baseKey: PublicKey;
  /** The initiator's identity key. */
  readonly identityKey: PublicKey;
  /** The complete inner SignalMessage bytes (with its own version byte and MAC). */
  readonly message: Uint8Array;
}

/** A parsed PreKeySignalMessage. */
export interface PreKeySignalMessage extends PreKeySignalMessageFields {
  /** The inner SignalMessage, parsed. */
  readonly signalMessage: SignalMessage;
  /** The complete message as received. */
  readonly serialized: Uint8Array;
}

function fail(reason: string): never {
  throw new InvalidMessageError(`invalid PreKeySignalMessage: ${reason}`, 'prekey');
}

/** Encode a PreKeySignalMessage, fields in tag order. */
export function encodePreKeySignalMessage(fields: PreKeySignalMessageFields): Uint8Array {
  assertBytes(fields.message, 'message');
  const w = new ProtobufWriter().raw(Uint8Array.of(encodeVersionByte(fields.messageVersion)));
  if (fields.preKeyId !== undefined) w.uint32(1, fields.preKeyId);
  w.bytes(2, publicKeyBytes(fields.baseKey))
    .bytes(3, publicKeyBytes(fields.identityKey))
    .bytes(4, fields.message)
    .uint32(5, fields.registrationId)
    .uint32(6, fields.signedPreKeyId);
  if (fields.kyberPreKeyId !== undefined) w.uint32(7, fields.kyberPreKeyId);
  if (fields.kyberCiphertext !== undefined) w.bytes(8, fields.kyberCiphertext);
  return w.finish();
}

/**
 * Parse a PreKeySignalMessage and its inner SignalMessage.
 *
 * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` for malformed bytes
 * @throws {UnsupportedVersionError} `ERR_UNSUPPORTED_VERSION` for a legacy or future version
 */
export function decodePreKeySignalMessage(bytes: Uint8Array): PreKeySignalMessage {
  assertBytes(bytes, 'message');
  if (bytes.length < 1) fail('empty');
  const messageVersion = decodeVersionByte(bytes[0] as number);
  const serialized = bytes.slice();
  const m = new ProtobufMessage(serialized.subarray(1), fail);
  const key = (field: number): PublicKey => {
    try {
      return PublicKey.deserialize(m.requiredBytes(field));
    } catch (e) {
      if (isSignalError(e, 'ERR_INVALID_KEY')) fail(`bad key in field ${String(field)}`);
      throw e;
    }
  };
  const preKeyId = m.uint32(1);
  const baseKey = key(2);
  const identityKey = key(3);
  const message = m.requiredBytes(4);
  const registrationId = m.uint32(5) ?? 0;
  const signedPreKeyId = m.requiredUint32(6);
  const kyberPreKeyId = m.uint32(7);
  const kyberCiphertext = m.bytes(8);
  if ((kyberPreKeyId === undefined) !== (kyberCiphertext === undefined)) {
    fail('Kyber prekey id and ciphertext must come together');
  }
  if (messageVersion === CIPHERTEXT_MESSAGE_CURRENT_VERSION && kyberPreKeyId === undefined) {
    fail('Kyber prekey must be present for this session version');
  }
  let signalMessage: SignalMessage;
  try {
    signalMessage = decodeSignalMessage(message);
  } catch (e) {
    if (isSignalError(e, 'ERR_INVALID_MESSAGE')) fail('bad inner message');
    throw e;
  }
  return {
    messageVersion,
    registrationId,
    preKeyId,
    signedPreKeyId,
    kyberPreKeyId,
    kyberCiphertext,
    baseKey,
    identityKey,
    message,
    signalMessage,
    serialized,
  };
}
