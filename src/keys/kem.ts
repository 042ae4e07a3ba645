/**
 * KEM key types, serialized with their type byte (`0x08` Kyber-1024 as libsignal uses it, `0x0A`
 * ML-KEM-1024). The secret key lives in a `#private` field and never renders.
 *
 * @module
 */
import { KEM_TYPE_KYBER1024 } from '../constants.js';
import {
  checkKemPublicKey,
  checkKemSecretKey,
  equalBytes,
  kemDecapsulate,
  kemEncapsulate,
  kemGenerateKeyPair,
  kemPublicKeyFromSecretKey,
  type KemEncapsulation,
  type KemType,
  type RandomSource,
  secureRandom,
  sha256,
  toHex,
} from '../primitives/index.js';
import { installInspect, REDACTED } from './redact.js';

/** The serialized bytes of a KEM public key, reached only through {@link kemPublicKeyBytes}. */
let kemSerializedOf: (key: KemPublicKey) => Uint8Array;

/** A serialized KEM public key (`type ‖ 1568 bytes`). */
export class KemPublicKey {
  readonly #serialized: Uint8Array;
  /** The KEM type byte. */
  readonly type: KemType;

  private constructor(serialized: Uint8Array, type: KemType) {
    this.#serialized = serialized;
    this.type = type;
  }

  /** Parse `type ‖ key`. @throws {InvalidKeyError} `ERR_INVALID_KEY` */
  static deserialize(bytes: Uint8Array): KemPublicKey {
    const type = checkKemPublicKey(bytes);
    return new KemPublicKey(bytes.slice(), type);
  }

  /** The serialized form (a copy). */
  serialize(): Uint8Array {
    return this.#serialized.slice();
  }

  static {
    kemSerializedOf = (key) => key.#serialized;
  }

  /** Encapsulate a fresh shared secret to this key. */
  encapsulate(random: RandomSource = secureRandom): KemEncapsulation {
    return kemEncapsulate(this.#serialized, random);
  }

  /** Byte equality. */
  equals(other: KemPublicKey): boolean {
    return equalBytes(this.#serialized, other.#serialized);
  }

  /**
   * The JSON rendering: a SHA-256 digest stands in for the 1569-byte key.
   *
   * @returns the class tag, the KEM type byte and the key's digest
   */
  toJSON(): {
    /** Always `'KemPublicKey'` (the KEM type byte is `kemType`). */
    type: 'KemPublicKey';
    /** The KEM type byte. */
    kemType: number;
    /** Lower-case hex of SHA-256 over the serialized key. */
    sha256: string;
  } {
    return { type: 'KemPublicKey', kemType: this.type, sha256: toHex(sha256(this.#serialized)) };
  }

  /**
   * A short rendering, also used by `util.inspect`.
   *
   * @returns `KemPublicKey(type <byte>, sha256 <hex>)`
   */
  toString(): string {
    return `KemPublicKey(type ${String(this.type)}, sha256 ${toHex(sha256(this.#serialized))})`;
  }
}

/** A serialized KEM secret key (`type ‖ 3168 bytes`). Never rendered. */
export class KemSecretKey {
  readonly #serialized: Uint8Array;
  /** The KEM type byte. */
  readonly type: KemType;

  private constructor(serialized: Uint8Array, type: KemType) {
    this.#serialized = serialized;
    this.type = type;
  }

  /** Parse `type ‖ key`. @throws {InvalidKeyError} `ERR_INVALID_KEY` */
  static deserialize(bytes: Uint8Array): KemSecretKey {
    const type = checkKemSecretKey(bytes);
    return new KemSecretKey(bytes.slice(), type);
  }

  /** The serialized form (a copy). Secret. */
  serialize(): Uint8Array {
    return this.#serialized.slice();
  }

  /**
   * Decapsulate a serialized ciphertext. A corrupted ciphertext yields the implicit-rejection
   * secret rather than an error, as the KEM specifies.
   *
   * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` for a ciphertext of the wrong type or length
   */
  decapsulate(ciphertext: Uint8Array): Uint8Array {
    return kemDecapsulate(this.#serialized, ciphertext);
  }

  /** The public key embedded in this secret key. */
  getPublicKey(): KemPublicKey {
    return KemPublicKey.deserialize(kemPublicKeyFromSecretKey(this.#serialized));
  }

  /**
   * The JSON rendering. The key bytes are replaced by a placeholder.
   *
   * @returns the class tag, the KEM type byte and `'<redacted>'`
   */
  toJSON(): {
    /** Always `'KemSecretKey'` (the KEM type byte is `kemType`). */
    type: 'KemSecretKey';
    /** The KEM type byte. */
    kemType: number;
    /** Always `'<redacted>'`. */
    key: string;
  } {
    return { type: 'KemSecretKey', kemType: this.type, key: REDACTED };
  }

  /**
   * A redacted rendering, also used by `util.inspect`.
   *
   * @returns `KemSecretKey(type <byte>, <redacted>)`
   */
  toString(): string {
    return `KemSecretKey(type ${String(this.type)}, ${REDACTED})`;
  }
}

/** A KEM key pair. */
export class KemKeyPair {
  /** The public half. */
  readonly publicKey: KemPublicKey;
  /** The secret half (redacted in every rendering). */
  readonly secretKey: KemSecretKey;

  constructor(publicKey: KemPublicKey, secretKey: KemSecretKey) {
    this.publicKey = publicKey;
    this.secretKey = secretKey;
  }

  /** Generate a key pair; Kyber-1024 (`0x08`, what libsignal accepts) by default. */
  static generate(
    type: KemType = KEM_TYPE_KYBER1024,
    random: RandomSource = secureRandom,
  ): KemKeyPair {
    const { publicKey, secretKey } = kemGenerateKeyPair(type, random);
    return new KemKeyPair(KemPublicKey.deserialize(publicKey), KemSecretKey.deserialize(secretKey));
  }

  /** Rebuild a pair from a secret key (the public key is embedded in it). */
  static fromSecretKey(secretKey: KemSecretKey): KemKeyPair {
    return new KemKeyPair(secretKey.getPublicKey(), secretKey);
  }

  /**
   * The JSON rendering: the public half's rendering only.
   *
   * @returns the public key's {@link KemPublicKey.toJSON} and `'<redacted>'` for the secret half
   */
  toJSON(): {
    /** The public key's JSON rendering. */
    publicKey: ReturnType<KemPublicKey['toJSON']>;
    /** Always `'<redacted>'`. */
    secretKey: string;
  } {
    return { publicKey: this.publicKey.toJSON(), secretKey: REDACTED };
  }

  /**
   * A redacted rendering, also used by `util.inspect`.
   *
   * @returns `KemKeyPair(<public key rendering>, <redacted>)`
   */
  toString(): string {
    return `KemKeyPair(${this.publicKey.toString()}, ${REDACTED})`;
  }
}

installInspect(KemPublicKey);
installInspect(KemSecretKey);
installInspect(KemKeyPair);

/**
 * The serialized form (`type ‖ key`) of `key` without a copy, for signatures and encoders. Not
 * part of the public API: writing to the bytes would change the key.
 *
 * @internal
 */
export function kemPublicKeyBytes(key: KemPublicKey): Uint8Array {
  return kemSerializedOf(key);
}
