/**
 * Identity keys: an identity key is a Curve25519 {@link PublicKey}; an identity key pair adds the
 * private half and serializes as libsignal's `IdentityKeyPairStructure` protobuf
 * (`0a 21 ‖ public33 ‖ 12 20 ‖ private32`, 69 bytes).
 *
 * @module
 */
import { InvalidKeyError } from '../errors.js';
import { assertBytes, concatBytes, type RandomSource, secureRandom } from '../primitives/index.js';
import { KeyPair, PrivateKey, PublicKey, publicKeyBytes } from './curve.js';
import { installInspect, REDACTED } from './redact.js';

/** An identity key is a Curve25519 public key. */
export type IdentityKey = PublicKey;

const PUBLIC_TAG = Uint8Array.of(0x0a, 0x21);
const PRIVATE_TAG = Uint8Array.of(0x12, 0x20);
const SERIALIZED_LENGTH = 2 + 33 + 2 + 32;

/** A long-term identity key pair. */
export class IdentityKeyPair {
  /** The identity key (public). */
  readonly publicKey: IdentityKey;
  /** The private half (redacted in every rendering). */
  readonly privateKey: PrivateKey;

  constructor(publicKey: IdentityKey, privateKey: PrivateKey) {
    this.publicKey = publicKey;
    this.privateKey = privateKey;
  }

  /**
   * Generate a fresh identity key pair. A device generates one once and keeps it for its
   * lifetime; peers pin its public half.
   *
   * @param random - the randomness source; the platform CSPRNG by default (inject one only in
   *   tests)
   * @returns the new key pair
   * @example
   * ```ts
   * import { IdentityKeyPair } from 'chiffre';
   *
   * const identity = IdentityKeyPair.generate();
   * const bytes = identity.serialize(); // 69 bytes, secret: store it protected
   * IdentityKeyPair.deserialize(bytes).publicKey.equals(identity.publicKey); // true
   * ```
   */
  static generate(random: RandomSource = secureRandom): IdentityKeyPair {
    const pair = KeyPair.generate(random);
    return new IdentityKeyPair(pair.publicKey, pair.privateKey);
  }

  /** The libsignal-compatible 69-byte serialization. Secret: store it protected. */
  serialize(): Uint8Array {
    return concatBytes(
      PUBLIC_TAG,
      publicKeyBytes(this.publicKey),
      PRIVATE_TAG,
      this.privateKey.serialize(),
    );
  }

  /**
   * Parse the 69-byte form libsignal writes. The public key must match the private key.
   *
   * @throws {InvalidKeyError} `ERR_INVALID_KEY` for any other layout or a mismatched pair
   */
  static deserialize(bytes: Uint8Array): IdentityKeyPair {
    assertBytes(bytes, 'identityKeyPair');
    if (
      bytes.length !== SERIALIZED_LENGTH ||
      bytes[0] !== 0x0a ||
      bytes[1] !== 0x21 ||
      bytes[35] !== 0x12 ||
      bytes[36] !== 0x20
    ) {
      throw new InvalidKeyError('malformed identity key pair', 'curve25519-private');
    }
    const publicKey = PublicKey.deserialize(bytes.subarray(2, 35));
    const privateKey = PrivateKey.deserialize(bytes.subarray(37, 69));
    if (!privateKey.getPublicKey().equals(publicKey)) {
      throw new InvalidKeyError('identity key pair halves do not match', 'curve25519-private');
    }
    return new IdentityKeyPair(publicKey, privateKey);
  }

  /**
   * The JSON rendering: the public half only.
   *
   * @returns the identity key's hex and `'<redacted>'` for the private half
   */
  toJSON(): {
    /** Lower-case hex of the 33-byte serialized identity key. */
    publicKey: string;
    /** Always `'<redacted>'`. */
    privateKey: string;
  } {
    return { publicKey: this.publicKey.toHex(), privateKey: REDACTED };
  }

  /**
   * A redacted rendering, also used by `util.inspect`.
   *
   * @returns `IdentityKeyPair(<public hex>, <redacted>)`
   */
  toString(): string {
    return `IdentityKeyPair(${this.publicKey.toHex()}, ${REDACTED})`;
  }
}

installInspect(IdentityKeyPair);
