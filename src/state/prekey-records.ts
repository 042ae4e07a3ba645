/**
 * Prekey records: one-time prekeys, signed prekeys and Kyber prekeys (one-time or last-resort),
 * with generation (signatures made with the identity key, over the serialized public key exactly
 * as libsignal signs it) and their byte format (`RECORD_FORMAT_VERSION ‖ protobuf`).
 *
 * @module
 */
import { KEM_TYPE_KYBER1024 } from '../constants.js';
import {
  type IdentityKeyPair,
  installInspect,
  KemKeyPair,
  kemPublicKeyBytes,
  KemSecretKey,
  KeyPair,
  type KyberPreKeyId,
  kyberPreKeyId,
  type PreKeyId,
  preKeyId,
  PrivateKey,
  PublicKey,
  publicKeyBytes,
  REDACTED,
  type SignedPreKeyId,
  signedPreKeyId,
} from '../keys/index.js';
import { assertBytes, type KemType, type RandomSource, secureRandom } from '../primitives/index.js';
import { ProtobufWriter } from '../wire/index.js';
import { decodeKey, openRecord, recordFail, withFormatVersion } from './codec.js';

function u64Timestamp(value: bigint | undefined, fail: (r: string) => never): number {
  if (value === undefined || value > BigInt(Number.MAX_SAFE_INTEGER)) return fail('bad timestamp');
  return Number(value);
}

function checkTimestamp(timestamp: number): number {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError('timestamp must be a non-negative safe integer (milliseconds)');
  }
  return timestamp;
}

/** A one-time (EC) prekey. */
export class PreKeyRecord {
  /** The prekey id, as published in bundles and referenced by PreKeySignalMessages. */
  readonly id: PreKeyId;
  /** The Curve25519 key pair (the private half is redacted in every rendering). */
  readonly keyPair: KeyPair;

  /**
   * @param id - the prekey id, a u32
   * @param keyPair - the Curve25519 key pair
   * @throws {RangeError} for an id outside u32
   */
  constructor(id: number, keyPair: KeyPair) {
    this.id = preKeyId(id);
    this.keyPair = keyPair;
  }

  /**
   * Generate a one-time prekey with the given id.
   *
   * @param id - the prekey id, a u32
   * @param random - the randomness source; the platform CSPRNG by default
   * @returns a record holding a fresh key pair
   * @throws {RangeError} for an id outside u32
   */
  static generate(id: number, random: RandomSource = secureRandom): PreKeyRecord {
    return new PreKeyRecord(id, KeyPair.generate(random));
  }

  /** Serialize (contains the private key). */
  serialize(): Uint8Array {
    return withFormatVersion(
      new ProtobufWriter()
        .uint32(1, this.id)
        .bytes(2, publicKeyBytes(this.keyPair.publicKey))
        .bytes(3, this.keyPair.privateKey.serialize())
        .finish(),
    );
  }

  /** Parse. @throws {InvalidRecordError} `ERR_INVALID_RECORD` */
  static deserialize(bytes: Uint8Array): PreKeyRecord {
    const kind = 'prekey record';
    const m = openRecord(bytes, kind).body;
    const keyPair = decodeKeyPair(kind, m.requiredBytes(2), m.requiredBytes(3, 32));
    return new PreKeyRecord(m.requiredUint32(1), keyPair);
  }

  /**
   * The JSON rendering. The private key is replaced by a placeholder.
   *
   * @returns the class tag, the id, the public key's hex and `'<redacted>'`
   */
  toJSON(): {
    /** Always `'PreKeyRecord'`. */
    type: 'PreKeyRecord';
    /** The prekey id. */
    id: number;
    /** Lower-case hex of the 33-byte serialized public key. */
    publicKey: string;
    /** Always `'<redacted>'`. */
    privateKey: string;
  } {
    return {
      type: 'PreKeyRecord',
      id: this.id,
      publicKey: this.keyPair.publicKey.toHex(),
      privateKey: REDACTED,
    };
  }

  /**
   * A redacted rendering, also used by `util.inspect`.
   *
   * @returns `PreKeyRecord(<id>, <redacted>)`
   */
  toString(): string {
    return `PreKeyRecord(${String(this.id)}, ${REDACTED})`;
  }
}

/** A signed prekey: a Curve25519 key pair signed by the identity key. */
export class SignedPreKeyRecord {
  /** The signed prekey id, as published in bundles. */
  readonly id: SignedPreKeyId;
  /** The Curve25519 key pair (the private half is redacted in every rendering). */
  readonly keyPair: KeyPair;
  /** XEdDSA signature over the 33-byte serialized public key. */
  readonly signature: Uint8Array;
  /** Creation time in milliseconds since the epoch. */
  readonly timestamp: number;

  /**
   * Wrap an existing signed prekey. The signature is not checked here; use
   * {@link SignedPreKeyRecord.generate} to make a new one.
   *
   * @param id - the signed prekey id, a u32
   * @param keyPair - the Curve25519 key pair
   * @param signature - the 64-byte XEdDSA signature over the serialized public key
   * @param timestamp - creation time in milliseconds since the epoch
   * @throws {RangeError} for an id outside u32, a signature that is not 64 bytes, or a negative
   *   or non-integer timestamp
   */
  constructor(id: number, keyPair: KeyPair, signature: Uint8Array, timestamp: number) {
    this.id = signedPreKeyId(id);
    this.keyPair = keyPair;
    this.signature = assertBytes(signature, 'signature', 64).slice();
    this.timestamp = checkTimestamp(timestamp);
  }

  /**
   * Generate and sign a new signed prekey: a fresh Curve25519 key pair whose 33-byte serialized
   * public key is signed with the identity key (XEdDSA).
   *
   * @param identity - the identity key pair that signs
   * @param id - the signed prekey id, a u32
   * @param timestamp - creation time in milliseconds since the epoch
   * @param random - the randomness source; the platform CSPRNG by default
   * @returns the signed record; store it with `storeSignedPreKey` and publish it in the bundle
   * @throws {RangeError} for an id outside u32 or a negative or non-integer timestamp
   * @example
   * ```ts
   * import { IdentityKeyPair, SignedPreKeyRecord } from 'chiffre';
   *
   * const identity = IdentityKeyPair.generate();
   * const spk = SignedPreKeyRecord.generate(identity, 1, Date.now());
   * identity.publicKey.verifySignature(spk.keyPair.publicKey.serialize(), spk.signature); // true
   * ```
   */
  static generate(
    identity: IdentityKeyPair,
    id: number,
    timestamp: number,
    random: RandomSource = secureRandom,
  ): SignedPreKeyRecord {
    const keyPair = KeyPair.generate(random);
    const signature = identity.privateKey.sign(publicKeyBytes(keyPair.publicKey), random);
    return new SignedPreKeyRecord(id, keyPair, signature, timestamp);
  }

  /** Serialize (contains the private key). */
  serialize(): Uint8Array {
    return withFormatVersion(
      new ProtobufWriter()
        .uint32(1, this.id)
        .bytes(2, publicKeyBytes(this.keyPair.publicKey))
        .bytes(3, this.keyPair.privateKey.serialize())
        .bytes(4, this.signature)
        .uint64(5, BigInt(this.timestamp))
        .finish(),
    );
  }

  /** Parse. @throws {InvalidRecordError} `ERR_INVALID_RECORD` */
  static deserialize(bytes: Uint8Array): SignedPreKeyRecord {
    const kind = 'signed prekey record';
    const m = openRecord(bytes, kind).body;
    const keyPair = decodeKeyPair(kind, m.requiredBytes(2), m.requiredBytes(3, 32));
    return new SignedPreKeyRecord(
      m.requiredUint32(1),
      keyPair,
      m.requiredBytes(4, 64),
      u64Timestamp(m.uint64(5), recordFail(kind)),
    );
  }

  /**
   * The JSON rendering. The private key is replaced by a placeholder.
   *
   * @returns the class tag, the id, the public key's hex and `'<redacted>'`
   */
  toJSON(): {
    /** Always `'SignedPreKeyRecord'`. */
    type: 'SignedPreKeyRecord';
    /** The signed prekey id. */
    id: number;
    /** Lower-case hex of the 33-byte serialized public key. */
    publicKey: string;
    /** Always `'<redacted>'`. */
    privateKey: string;
  } {
    return {
      type: 'SignedPreKeyRecord',
      id: this.id,
      publicKey: this.keyPair.publicKey.toHex(),
      privateKey: REDACTED,
    };
  }

  /**
   * A redacted rendering, also used by `util.inspect`.
   *
   * @returns `SignedPreKeyRecord(<id>, <redacted>)`
   */
  toString(): string {
    return `SignedPreKeyRecord(${String(this.id)}, ${REDACTED})`;
  }
}

/** A Kyber prekey: a KEM key pair signed by the identity key; one-time or last-resort. */
export class KyberPreKeyRecord {
  /** The Kyber prekey id, as published in bundles. */
  readonly id: KyberPreKeyId;
  /** The KEM key pair (the secret half is redacted in every rendering). */
  readonly keyPair: KemKeyPair;
  /** XEdDSA signature over the serialized KEM public key (`type ‖ key`). */
  readonly signature: Uint8Array;
  /** Creation time in milliseconds since the epoch. */
  readonly timestamp: number;
  /** A last-resort key may be used by many sessions; a one-time key is deleted after use. */
  readonly lastResort: boolean;

  /**
   * Wrap an existing Kyber prekey. The signature is not checked here; use
   * {@link KyberPreKeyRecord.generate} to make a new one.
   *
   * @param id - the Kyber prekey id, a u32
   * @param keyPair - the KEM key pair
   * @param signature - the 64-byte XEdDSA signature over the serialized KEM public key
   * @param timestamp - creation time in milliseconds since the epoch
   * @param lastResort - whether the key may be reused by many sessions
   * @throws {RangeError} for an id outside u32, a signature that is not 64 bytes, or a negative
   *   or non-integer timestamp
   */
  constructor(
    id: number,
    keyPair: KemKeyPair,
    signature: Uint8Array,
    timestamp: number,
    lastResort: boolean,
  ) {
    this.id = kyberPreKeyId(id);
    this.keyPair = keyPair;
    this.signature = assertBytes(signature, 'signature', 64).slice();
    this.timestamp = checkTimestamp(timestamp);
    this.lastResort = lastResort;
  }

  /**
   * Generate and sign a new Kyber prekey (Kyber-1024, type 0x08, unless another type is given).
   * The serialized KEM public key (`type ‖ key`) is signed with the identity key (XEdDSA).
   *
   * @param identity - the identity key pair that signs
   * @param id - the Kyber prekey id, a u32
   * @param timestamp - creation time in milliseconds since the epoch
   * @param options - `lastResort` (default `false`), `kemType` (default
   *   {@link KEM_TYPE_KYBER1024}) and `random` (default: the platform CSPRNG)
   * @returns the signed record; store it with `storeKyberPreKey` and publish it in the bundle
   * @throws {RangeError} for an id outside u32 or a negative or non-integer timestamp
   * @example
   * ```ts
   * import { IdentityKeyPair, KyberPreKeyRecord } from 'chiffre';
   *
   * const identity = IdentityKeyPair.generate();
   * const oneTime = KyberPreKeyRecord.generate(identity, 2, Date.now());
   * const lastResort = KyberPreKeyRecord.generate(identity, 1, Date.now(), { lastResort: true });
   * ```
   */
  static generate(
    identity: IdentityKeyPair,
    id: number,
    timestamp: number,
    options: { lastResort?: boolean; kemType?: KemType; random?: RandomSource } = {},
  ): KyberPreKeyRecord {
    const random = options.random ?? secureRandom;
    const keyPair = KemKeyPair.generate(options.kemType ?? KEM_TYPE_KYBER1024, random);
    const signature = identity.privateKey.sign(kemPublicKeyBytes(keyPair.publicKey), random);
    return new KyberPreKeyRecord(id, keyPair, signature, timestamp, options.lastResort ?? false);
  }

  /** Serialize (contains the secret key). */
  serialize(): Uint8Array {
    return withFormatVersion(
      new ProtobufWriter()
        .uint32(1, this.id)
        .bytes(2, this.keyPair.secretKey.serialize())
        .bytes(3, this.signature)
        .uint64(4, BigInt(this.timestamp))
        .bool(5, this.lastResort)
        .finish(),
    );
  }

  /** Parse. @throws {InvalidRecordError} `ERR_INVALID_RECORD` */
  static deserialize(bytes: Uint8Array): KyberPreKeyRecord {
    const kind = 'kyber prekey record';
    const m = openRecord(bytes, kind).body;
    const secretKey = decodeKey(kind, 'KEM secret key', () =>
      KemSecretKey.deserialize(m.requiredBytes(2)),
    );
    const keyPair = decodeKey(kind, 'KEM secret key', () => KemKeyPair.fromSecretKey(secretKey));
    return new KyberPreKeyRecord(
      m.requiredUint32(1),
      keyPair,
      m.requiredBytes(3, 64),
      u64Timestamp(m.uint64(4), recordFail(kind)),
      m.bool(5) ?? false,
    );
  }

  /**
   * The JSON rendering. The secret key is replaced by a placeholder.
   *
   * @returns the class tag, the id, the last-resort flag and `'<redacted>'`
   */
  toJSON(): {
    /** Always `'KyberPreKeyRecord'`. */
    type: 'KyberPreKeyRecord';
    /** The Kyber prekey id. */
    id: number;
    /** Whether this is a last-resort key. */
    lastResort: boolean;
    /** Always `'<redacted>'`. */
    secretKey: string;
  } {
    return {
      type: 'KyberPreKeyRecord',
      id: this.id,
      lastResort: this.lastResort,
      secretKey: REDACTED,
    };
  }

  /**
   * A redacted rendering, also used by `util.inspect`.
   *
   * @returns `KyberPreKeyRecord(<id>, last-resort | one-time, <redacted>)`
   */
  toString(): string {
    return `KyberPreKeyRecord(${String(this.id)}, ${this.lastResort ? 'last-resort' : 'one-time'}, ${REDACTED})`;
  }
}

function decodeKeyPair(kind: string, pub: Uint8Array, priv: Uint8Array): KeyPair {
  const publicKey = decodeKey(kind, 'public key', () => PublicKey.deserialize(pub));
  const privateKey = decodeKey(kind, 'private key', () => PrivateKey.deserialize(priv));
  if (!privateKey.getPublicKey().equals(publicKey)) recordFail(kind)('key pair mismatch');
  return new KeyPair(publicKey, privateKey);
}

installInspect(PreKeyRecord);
installInspect(SignedPreKeyRecord);
installInspect(KyberPreKeyRecord);
