/**
 * Safety numbers: the displayable (60-digit) and scannable fingerprints two users compare to
 * check that their identity keys were not swapped, computed exactly as libsignal computes them
 * (`fingerprint.rs`), so users on chiffre and on official Signal libraries see the same digits.
 *
 * Per side: `H = SHA-512(0x0000 ‖ identityKey33 ‖ stableId ‖ identityKey33)`, then
 * `iterations − 1` more rounds of `H = SHA-512(H ‖ identityKey33)`. Displayable: the first 30
 * bytes of H as six 5-byte big-endian numbers mod 100000 (5 digits each) per side, both 30-digit
 * halves joined smaller first. Scannable: protobuf `{1 version, 2 {1 local32}, 3 {1 remote32}}`.
 *
 * @module
 */
import { InvalidMessageError, UnsupportedVersionError } from '../errors.js';
import { type PublicKey, publicKeyBytes } from '../keys/index.js';
import { assertBytes, concatBytes, equalConstantTime, sha512 } from '../primitives/index.js';
import { ProtobufMessage, ProtobufWriter } from '../wire/index.js';

/** Iterations Signal uses. */
export const FINGERPRINT_ITERATIONS = 5200;
const MIN_ITERATIONS = 2;
const MAX_ITERATIONS = 1_000_000;

function sideHash(iterations: number, stableId: Uint8Array, key: PublicKey): Uint8Array {
  const keyBytes = publicKeyBytes(key);
  let h = sha512(concatBytes(Uint8Array.of(0, 0), keyBytes, stableId, keyBytes));
  for (let i = 1; i < iterations; i++) h = sha512(concatBytes(h, keyBytes));
  return h;
}

function displayHalf(h: Uint8Array): string {
  let out = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let n = 0;
    for (let i = 0; i < 5; i++) n = n * 256 + (h[chunk * 5 + i] as number);
    out += String(n % 100000).padStart(5, '0');
  }
  return out;
}

function scannableBytes(version: number, local: Uint8Array, remote: Uint8Array): Uint8Array {
  return new ProtobufWriter()
    .uint32(1, version)
    .bytes(2, new ProtobufWriter().bytes(1, local).finish())
    .bytes(3, new ProtobufWriter().bytes(1, remote).finish())
    .finish();
}

/**
 * A pair of fingerprints between us and a peer: the safety number both users read
 * (`displayable`) and the QR payload one device scans from the other (`scannable`).
 *
 * @example
 * ```ts
 * import { FINGERPRINT_ITERATIONS, Fingerprint, IdentityKeyPair } from 'chiffre';
 *
 * const aliceKey = IdentityKeyPair.generate().publicKey;
 * const bobKey = IdentityKeyPair.generate().publicKey;
 * // Stable ids: version 1 uses the E.164 number's bytes, version 2 the 16 ACI bytes.
 * const aliceId = new TextEncoder().encode('+14155550100');
 * const bobId = new TextEncoder().encode('+14155550111');
 * const ours = Fingerprint.create(FINGERPRINT_ITERATIONS, 1, aliceId, aliceKey, bobId, bobKey);
 * const theirs = Fingerprint.create(FINGERPRINT_ITERATIONS, 1, bobId, bobKey, aliceId, aliceKey);
 * ours.displayable === theirs.displayable; // true: 60 digits, shown in groups of five
 * ours.compareScannable(theirs.scannable); // true
 * ```
 */
export class Fingerprint {
  /** 60 digits, the same on both devices. */
  readonly displayable: string;
  /** The bytes to put in a QR code. */
  readonly scannable: Uint8Array;
  readonly #version: number;
  readonly #local: Uint8Array;
  readonly #remote: Uint8Array;

  private constructor(version: number, local: Uint8Array, remote: Uint8Array, display: string) {
    this.#version = version;
    this.#local = local;
    this.#remote = remote;
    this.displayable = display;
    this.scannable = scannableBytes(version, local, remote);
  }

  /**
   * Compute the fingerprints.
   *
   * @param iterations - hash iterations (Signal: 5200), 2 to 1,000,000
   * @param version - scannable format version (Signal: 2 with ACI bytes as ids, formerly 1)
   * @param localId - our stable identifier (e.g. the 16 ACI bytes, or the E.164 string bytes)
   * @param localKey - our identity key
   * @param remoteId - the peer's stable identifier
   * @param remoteKey - the peer's identity key
   * @returns the fingerprints; the peer, with the sides swapped, gets the same `displayable`
   * @throws {RangeError} for iterations out of range or a version outside u32
   * @throws {TypeError} when an id is not a `Uint8Array`
   */
  static create(
    iterations: number,
    version: number,
    localId: Uint8Array,
    localKey: PublicKey,
    remoteId: Uint8Array,
    remoteKey: PublicKey,
  ): Fingerprint {
    if (
      !Number.isInteger(iterations) ||
      iterations < MIN_ITERATIONS ||
      iterations > MAX_ITERATIONS
    ) {
      throw new RangeError('iterations must be between 2 and 1000000');
    }
    if (!Number.isInteger(version) || version < 0 || version > 0xffff_ffff) {
      throw new RangeError('version must be a u32');
    }
    assertBytes(localId, 'localId');
    assertBytes(remoteId, 'remoteId');
    const local = sideHash(iterations, localId, localKey);
    const remote = sideHash(iterations, remoteId, remoteKey);
    const a = displayHalf(local);
    const b = displayHalf(remote);
    return new Fingerprint(version, local.slice(0, 32), remote.slice(0, 32), a < b ? a + b : b + a);
  }

  /**
   * Compare with the peer's scannable fingerprint (scanned from their screen): true when their
   * "local" is our "remote" and vice versa. Compared in constant time.
   *
   * @param theirs - the bytes decoded from the peer's QR code
   * @returns whether both identity keys match
   * @throws {UnsupportedVersionError} `ERR_UNSUPPORTED_VERSION` when the versions differ
   * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` for malformed bytes
   */
  compareScannable(theirs: Uint8Array): boolean {
    assertBytes(theirs, 'theirs');
    const fail = (reason: string): never => {
      throw new InvalidMessageError(`invalid scannable fingerprint: ${reason}`, 'fingerprint');
    };
    const m = new ProtobufMessage(theirs, fail);
    const version = m.uint32(1) ?? 0;
    if (version !== this.#version) {
      throw new UnsupportedVersionError(
        `fingerprint version ${String(version)} does not match ${String(this.#version)}`,
        version,
      );
    }
    const theirLocal = new ProtobufMessage(m.requiredBytes(2), fail).requiredBytes(1);
    const theirRemote = new ProtobufMessage(m.requiredBytes(3), fail).requiredBytes(1);
    const a = equalConstantTime(theirLocal, this.#remote);
    const b = equalConstantTime(theirRemote, this.#local);
    return a && b;
  }
}
