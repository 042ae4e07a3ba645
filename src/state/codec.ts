/**
 * Shared helpers of the record codecs: the format-version byte, strict field access that reports
 * {@link InvalidRecordError}, and key decoding that never leaks a key error as anything else.
 *
 * @module
 */
import { RECORD_FORMAT_OLDEST_READABLE, RECORD_FORMAT_VERSION } from '../constants.js';
import { InvalidRecordError, isSignalError } from '../errors.js';
import { concatBytes } from '../primitives/index.js';
import { ProtobufMessage, ProtobufWriter } from '../wire/index.js';

/** Throw the record error for `kind`. */
export function recordFail(kind: string): (reason: string) => never {
  return (reason: string): never => {
    throw new InvalidRecordError(`${kind}: ${reason}`);
  };
}

/** Prefix an encoded body with the record format version. */
export function withFormatVersion(body: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(RECORD_FORMAT_VERSION), body);
}

/** A writer that starts with the record format version; write the protobuf body into it. */
export function recordWriter(): ProtobufWriter {
  return new ProtobufWriter().raw(Uint8Array.of(RECORD_FORMAT_VERSION));
}

/** An opened record: its protobuf body and the format version it was written with. */
export interface OpenedRecord {
  readonly body: ProtobufMessage;
  readonly formatVersion: number;
}

/** Check the format version and open the protobuf body. */
export function openRecord(bytes: Uint8Array, kind: string): OpenedRecord {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${kind} must be a Uint8Array`);
  const fail = recordFail(kind);
  if (bytes.length === 0) fail('empty');
  const version = bytes[0] as number;
  if (version > RECORD_FORMAT_VERSION) {
    fail(`format version ${String(version)} is newer than this library supports`);
  }
  if (version < RECORD_FORMAT_OLDEST_READABLE) fail(`unknown format version ${String(version)}`);
  return { body: new ProtobufMessage(bytes.subarray(1), fail), formatVersion: version };
}

/** Run a key decoder, turning its key errors into record errors. */
export function decodeKey<T>(kind: string, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (isSignalError(e) || e instanceof TypeError || e instanceof RangeError) {
      return recordFail(kind)(`bad ${what}`);
    }
    throw e;
  }
}
