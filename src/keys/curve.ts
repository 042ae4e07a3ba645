/**
 * Curve25519 key types with libsignal's encodings: public keys are `0x05 ‖ u` (33 bytes),
 * private keys are 32 clamped bytes. Private keys live in `#private` fields and never render.
 *
 * @module
 */
import {
  CURVE25519_KEY_LENGTH,
  CURVE25519_KEY_TYPE,
  CURVE25519_PUBLIC_KEY_LENGTH,
  SIGNATURE_LENGTH,
} from '../constants.js';
import { InvalidKeyError } from '../errors.js';
import {
  assertBytes,
  clampPrivateKey,
  equalBytes,
  generateX25519PrivateKey,
  isLowOrderX25519PublicKey,
  type RandomSource,
  secureRandom,
  toHex,
  webCryptoX25519Agree,
  webCryptoXeddsaVerify,
  webCryptoX25519Generate,
  x25519Agree,
  x25519PublicKey,
  xeddsaEdwardsPublicKey,
  xeddsaSignWithPoint,
  xeddsaVerify,
} from '../primitives/index.js';
import { installInspect, REDACTED } from './redact.js';

/** The serialized bytes of a public key, reached only through {@link publicKeyBytes}. */
let serializedOf: (key: PublicKey) => Uint8Array;

/** A Curve25519 public key (X25519 agreement, XEdDSA verification). */
export class PublicKey {
  readonly #serialized: Uint8Array;
  /** {@link PublicKey.toHex}, once computed (native key handles are looked up by it). */
  #hex: string | undefined;

  static {
    serializedOf = (key) => key.#serialized;
  }

  private constructor(serialized: Uint8Array) {
    this.#serialized = serialized;
  }

  /**
   * Parse the 33-byte `0x05 ‖ u` form. Stricter than libsignal, which drops trailing bytes: chiffre
   * requires exactly 33.
   *
   * @throws {InvalidKeyError} `ERR_INVALID_KEY` for a wrong type byte or length
   */
  static deserialize(bytes: Uint8Array): PublicKey {
    assertBytes(bytes, 'publicKey');
    if (bytes.length === 0) throw new InvalidKeyError('empty public key', 'curve25519-public');
    if (bytes[0] !== CURVE25519_KEY_TYPE) {
      throw new InvalidKeyError(
        `unsupported public key type ${String(bytes[0])}`,
        'curve25519-public',
      );
    }
    if (bytes.length !== CURVE25519_PUBLIC_KEY_LENGTH) {
      throw new InvalidKeyError(
        `public key must be 33 bytes, got ${String(bytes.length)}`,
        'curve25519-public',
      );
    }
    return new PublicKey(bytes.slice());
  }

  /** Wrap a raw 32-byte u-coordinate. @throws {RangeError} for a wrong length */
  static fromRaw(raw: Uint8Array): PublicKey {
    assertBytes(raw, 'publicKey', CURVE25519_KEY_LENGTH);
    const out = new Uint8Array(CURVE25519_PUBLIC_KEY_LENGTH);
    out[0] = CURVE25519_KEY_TYPE;
    out.set(raw, 1);
    return new PublicKey(out);
  }

  /** The 33-byte serialized form (a copy). */
  serialize(): Uint8Array {
    return this.#serialized.slice();
  }

  /** The raw 32-byte u-coordinate (a copy). */
  getPublicKeyBytes(): Uint8Array {
    return this.#serialized.slice(1);
  }

  /** True when this key is one of the low-order points (rejected by every agreement). */
  isLowOrder(): boolean {
    return isLowOrderX25519PublicKey(this.#serialized.subarray(1));
  }

  /** Verify an XEdDSA signature made by the matching private key. */
  verifySignature(message: Uint8Array, signature: Uint8Array): boolean {
    assertBytes(message, 'message');
    assertBytes(signature, 'signature');
    if (signature.length !== SIGNATURE_LENGTH) return false;
    return xeddsaVerify(this.#serialized.subarray(1), message, signature);
  }

  /**
   * Verify an XEdDSA signature like {@link PublicKey.verifySignature}, with the same verdict, but
   * on the platform's native Ed25519 (WebCrypto) where it exists, several times faster. Signatures
   * where an RFC 8032 verifier could disagree with libsignal (see `webCryptoXeddsaVerify`) and
   * platforms without Ed25519 are verified in JavaScript.
   */
  async verifySignatureAsync(message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    assertBytes(message, 'message');
    assertBytes(signature, 'signature');
    if (signature.length !== SIGNATURE_LENGTH) return false;
    const raw = this.#serialized.subarray(1);
    const native = await webCryptoXeddsaVerify(raw, message, signature);
    return native ?? xeddsaVerify(raw, message, signature);
  }

  /** Byte equality with another public key. */
  equals(other: PublicKey): boolean {
    return equalBytes(this.#serialized, other.#serialized);
  }

  /** Lower-case hex of the serialized key (public data). */
  toHex(): string {
    this.#hex ??= toHex(this.#serialized);
    return this.#hex;
  }

  /**
   * The JSON rendering (public data only).
   *
   * @returns the class tag and the key's hex
   */
  toJSON(): {
    /** Always `'PublicKey'`. */
    type: 'PublicKey';
    /** Lower-case hex of the 33-byte serialized key. */
    key: string;
  } {
    return { type: 'PublicKey', key: this.toHex() };
  }

  /**
   * A readable rendering, also used by `util.inspect`.
   *
   * @returns `PublicKey(<hex>)`
   */
  toString(): string {
    return `PublicKey(${this.toHex()})`;
  }
}

/** Agreements computed ahead on a faster (asynchronous) backend, kept per key at most this many. */
const MAX_PREFETCHED_AGREEMENTS = 8;

/** A Curve25519 private key. Its bytes never appear in strings, JSON or `inspect`. */
export class PrivateKey {
  readonly #bytes: Uint8Array;
  #publicKey: PublicKey | undefined;
  /** Agreements computed ahead by {@link PrivateKey.prefetchAgreement}, by their public key. */
  #prefetched: Map<string, Uint8Array> | undefined;
  /** The XEdDSA Edwards public point (public data), once the key has signed. */
  #edwardsPublicKey: Uint8Array | undefined;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /**
   * Generate a key pair with the platform's native X25519 (WebCrypto), for the acceleration
   * path. Equivalent to {@link PrivateKey.generate} with the platform CSPRNG.
   *
   * @internal
   */
  static async generateNative(): Promise<PrivateKey> {
    const { privateKey, publicKey } = await webCryptoX25519Generate();
    const key = new PrivateKey(privateKey);
    key.#publicKey = PublicKey.fromRaw(publicKey);
    return key;
  }

  /**
   * Compute the agreement with `theirKey` ahead, on the platform's native X25519 (WebCrypto), so
   * that a later synchronous {@link PrivateKey.calculateAgreement} with the same key is a lookup.
   * Errors are left for the synchronous call to report.
   *
   * @internal
   */
  async prefetchAgreement(theirKey: PublicKey): Promise<void> {
    const id = theirKey.toHex();
    if (this.#prefetched?.has(id) === true) return;
    let shared: Uint8Array;
    try {
      shared = await webCryptoX25519Agree(
        this.#bytes,
        publicKeyRaw(theirKey),
        this.#publicKey === undefined ? undefined : publicKeyRaw(this.#publicKey),
      );
    } catch {
      return;
    }
    this.#prefetched ??= new Map();
    if (this.#prefetched.size >= MAX_PREFETCHED_AGREEMENTS) this.#prefetched.clear();
    this.#prefetched.set(id, shared);
  }

  /** Generate a fresh clamped private key from the CSPRNG (or an injected test source). */
  static generate(random: RandomSource = secureRandom): PrivateKey {
    return new PrivateKey(generateX25519PrivateKey(random));
  }

  /**
   * Load 32 raw bytes. The copy is clamped, like libsignal does on deserialization.
   *
   * @throws {InvalidKeyError} `ERR_INVALID_KEY` for a wrong length
   */
  static deserialize(bytes: Uint8Array): PrivateKey {
    assertBytes(bytes, 'privateKey');
    if (bytes.length !== CURVE25519_KEY_LENGTH) {
      throw new InvalidKeyError(
        `private key must be 32 bytes, got ${String(bytes.length)}`,
        'curve25519-private',
      );
    }
    return new PrivateKey(clampPrivateKey(bytes.slice()));
  }

  /** The 32 raw bytes (a copy). Only for persistence: treat the result as secret. */
  serialize(): Uint8Array {
    return this.#bytes.slice();
  }

  /**
   * Remember `publicKey` as this key's public half when none is known yet (a stored pair is
   * trusted as stored: re-deriving it would cost a scalar multiplication per load).
   *
   * @internal
   */
  adoptPublicKey(publicKey: PublicKey): void {
    this.#publicKey ??= publicKey;
  }

  /** The matching public key. */
  getPublicKey(): PublicKey {
    this.#publicKey ??= PublicKey.fromRaw(x25519PublicKey(this.#bytes));
    return this.#publicKey;
  }

  /**
   * X25519 with `theirKey`.
   *
   * @throws {InvalidKeyError} `ERR_INVALID_KEY` when `theirKey` is low-order or the result is zero
   */
  calculateAgreement(theirKey: PublicKey): Uint8Array {
    if (this.#prefetched !== undefined && this.#prefetched.size > 0) {
      const id = theirKey.toHex();
      const prefetched = this.#prefetched.get(id);
      if (prefetched !== undefined) {
        // One use per prefetch: no agreement lingers on a long-lived key.
        this.#prefetched.delete(id);
        return prefetched;
      }
    }
    return x25519Agree(this.#bytes, publicKeyRaw(theirKey));
  }

  /** XEdDSA signature over `message` (libsignal's variant). */
  sign(message: Uint8Array, random: RandomSource = secureRandom): Uint8Array {
    // The Edwards point a·B is the same for every signature: computed on the first one only.
    this.#edwardsPublicKey ??= xeddsaEdwardsPublicKey(this.#bytes);
    return xeddsaSignWithPoint(this.#bytes, this.#edwardsPublicKey, message, random);
  }

  /**
   * The JSON rendering. The key bytes are replaced by a placeholder.
   *
   * @returns the class tag and `'<redacted>'`
   */
  toJSON(): {
    /** Always `'PrivateKey'`. */
    type: 'PrivateKey';
    /** Always `'<redacted>'`. */
    key: string;
  } {
    return { type: 'PrivateKey', key: REDACTED };
  }

  /**
   * A redacted rendering, also used by `util.inspect`.
   *
   * @returns `PrivateKey(<redacted>)`
   */
  toString(): string {
    return `PrivateKey(${REDACTED})`;
  }
}

/** A Curve25519 key pair. */
export class KeyPair {
  /** The public half. */
  readonly publicKey: PublicKey;
  /** The private half (redacted in every rendering). */
  readonly privateKey: PrivateKey;

  constructor(publicKey: PublicKey, privateKey: PrivateKey) {
    this.publicKey = publicKey;
    this.privateKey = privateKey;
    privateKey.adoptPublicKey(publicKey);
  }

  /** Generate a fresh key pair. */
  static generate(random: RandomSource = secureRandom): KeyPair {
    const privateKey = PrivateKey.generate(random);
    return new KeyPair(privateKey.getPublicKey(), privateKey);
  }

  /**
   * Generate a key pair with the platform's native X25519 (WebCrypto) and CSPRNG.
   *
   * @internal
   */
  static async generateNative(): Promise<KeyPair> {
    const privateKey = await PrivateKey.generateNative();
    return new KeyPair(privateKey.getPublicKey(), privateKey);
  }

  /** Rebuild a key pair from a private key. */
  static fromPrivateKey(privateKey: PrivateKey): KeyPair {
    return new KeyPair(privateKey.getPublicKey(), privateKey);
  }

  /**
   * The JSON rendering: the public half only.
   *
   * @returns the public key's hex and `'<redacted>'` for the private half
   */
  toJSON(): {
    /** Lower-case hex of the 33-byte serialized public key. */
    publicKey: string;
    /** Always `'<redacted>'`. */
    privateKey: string;
  } {
    return { publicKey: this.publicKey.toHex(), privateKey: REDACTED };
  }

  /**
   * A redacted rendering, also used by `util.inspect`.
   *
   * @returns `KeyPair(<public hex>, <redacted>)`
   */
  toString(): string {
    return `KeyPair(${this.publicKey.toHex()}, ${REDACTED})`;
  }
}

installInspect(PublicKey);
installInspect(PrivateKey);
installInspect(KeyPair);

/**
 * The 33-byte serialized form of `key` without a copy, for encoders and MACs. Not part of the
 * public API: writing to the bytes would change the key.
 *
 * @internal
 */
export function publicKeyBytes(key: PublicKey): Uint8Array {
  return serializedOf(key);
}

/**
 * The raw 32-byte u-coordinate of `key` without a copy (see {@link publicKeyBytes}).
 *
 * @internal
 */
export function publicKeyRaw(key: PublicKey): Uint8Array {
  return serializedOf(key).subarray(1);
}
