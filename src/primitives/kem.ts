/**
 * Key encapsulation keyed by a type byte, as libsignal serializes KEM keys and ciphertexts:
 *
 * - `0x08`: round-3 CRYSTALS-Kyber-1024, which is what libsignal calls "Kyber1024". Built on
 *   chiffre's ML-KEM-1024 (`./mlkem.ts`; identical K-PKE) with Kyber's differences applied around it:
 *   the encapsulation randomness is pre-hashed (`m = SHA3-256(rand)`) and the shared secret is
 *   `SHAKE256(K̄ ‖ SHA3-256(ct), 32)`, on success and on implicit rejection alike.
 * - `0x0A`: FIPS 203 ML-KEM-1024, unchanged.
 *
 * Public keys, secret keys and ciphertexts are all `type byte ‖ raw bytes`. Facts:
 * `docs/protocol.md` (KEM).
 *
 * @module
 */
import { KEM_TYPE_KYBER1024, KEM_TYPE_MLKEM1024 } from '../constants.js';
import { InvalidKeyError, InvalidMessageError, isSignalError } from '../errors.js';
import { assertBytes, concatBytes, wipe } from './bytes.js';
import { sha3_256, shake256 } from './hash.js';
import {
  ML_KEM_1024,
  type MlKemEncapsulation,
  mlkemDecaps,
  mlkemEncaps,
  mlkemKeyGen,
} from './mlkem.js';
import { drawRandom, type RandomSource, secureRandom } from './random.js';

/** The KEM type bytes chiffre implements. */
export type KemType = typeof KEM_TYPE_KYBER1024 | typeof KEM_TYPE_MLKEM1024;

/** Raw sizes (without the type byte) shared by Kyber-1024 and ML-KEM-1024. */
export const KEM1024_PUBLIC_KEY_LENGTH = 1568;
/** Raw secret key length. */
export const KEM1024_SECRET_KEY_LENGTH = 3168;
/** Raw ciphertext length. */
export const KEM1024_CIPHERTEXT_LENGTH = 1568;
/** Shared secret length. */
export const KEM_SHARED_SECRET_LENGTH = 32;

/** True when `type` is a KEM type byte chiffre implements. */
export function isKemType(type: number): type is KemType {
  return type === KEM_TYPE_KYBER1024 || type === KEM_TYPE_MLKEM1024;
}

/** A serialized key pair: both halves carry the type byte. */
export interface SerializedKemKeyPair {
  /** `type ‖ public key`. */
  readonly publicKey: Uint8Array;
  /** `type ‖ secret key`. Secret. */
  readonly secretKey: Uint8Array;
}

/** Output of {@link kemEncapsulate}. */
export interface KemEncapsulation {
  /** `type byte ‖ ciphertext`, as sent on the wire. */
  readonly ciphertext: Uint8Array;
  /** 32-byte shared secret. */
  readonly sharedSecret: Uint8Array;
}

function checkSerialized(bytes: Uint8Array, rawLength: number, what: 'public' | 'secret'): KemType {
  const kind = what === 'public' ? 'kem-public' : 'kem-secret';
  if (bytes.length === 0) throw new InvalidKeyError(`empty KEM ${what} key`, kind);
  const type = bytes[0] as number;
  if (!isKemType(type)) {
    throw new InvalidKeyError(`unsupported KEM key type ${String(type)}`, kind);
  }
  if (bytes.length !== rawLength + 1) {
    throw new InvalidKeyError(
      `KEM ${what} key must be ${String(rawLength + 1)} bytes, got ${String(bytes.length)}`,
      kind,
    );
  }
  return type;
}

/** Validate a serialized KEM public key and return its type. @throws {InvalidKeyError} */
export function checkKemPublicKey(publicKey: Uint8Array): KemType {
  assertBytes(publicKey, 'publicKey');
  return checkSerialized(publicKey, KEM1024_PUBLIC_KEY_LENGTH, 'public');
}

/** Validate a serialized KEM secret key and return its type. @throws {InvalidKeyError} */
export function checkKemSecretKey(secretKey: Uint8Array): KemType {
  assertBytes(secretKey, 'secretKey');
  return checkSerialized(secretKey, KEM1024_SECRET_KEY_LENGTH, 'secret');
}

/**
 * Generate a KEM key pair of the given type. For Kyber-1024 the FIPS 203 seed expansion is used;
 * no party can tell the difference (libsignal accepts such keys as type 0x08).
 */
export function kemGenerateKeyPair(
  type: KemType,
  random: RandomSource = secureRandom,
): SerializedKemKeyPair {
  if (!isKemType(type)) throw new RangeError('unsupported KEM type');
  const seed = drawRandom(random, 64);
  let pair: { ek: Uint8Array; dk: Uint8Array };
  try {
    pair = mlkemKeyGen(ML_KEM_1024, seed);
  } finally {
    wipe(seed);
  }
  const { ek, dk } = pair;
  const out = {
    publicKey: concatBytes(Uint8Array.of(type), ek),
    secretKey: concatBytes(Uint8Array.of(type), dk),
  };
  wipe(dk);
  return out;
}

/** Kyber round 3: `K = SHAKE256(K̄ ‖ SHA3-256(ct), 32)`. */
function kyberSharedSecret(kBar: Uint8Array, rawCiphertext: Uint8Array): Uint8Array {
  const input = concatBytes(kBar, sha3_256(rawCiphertext));
  const k = shake256(input, KEM_SHARED_SECRET_LENGTH);
  wipe(input, kBar);
  return k;
}

/**
 * Encapsulate to a serialized public key.
 *
 * @throws {InvalidKeyError} `ERR_INVALID_KEY` for a wrong type byte, a wrong length, or a key
 *   that fails the FIPS 203 modulus check
 */
export function kemEncapsulate(
  publicKey: Uint8Array,
  random: RandomSource = secureRandom,
): KemEncapsulation {
  // Checked and copied before the random source (caller code) runs: the key checked is the key
  // used, however the caller's buffer changes afterwards.
  const { type, raw } = readInput('kem-public', () => {
    const t = checkKemPublicKey(publicKey);
    return { type: t, raw: new Uint8Array(publicKey.subarray(1)) };
  });
  if (raw.length !== KEM1024_PUBLIC_KEY_LENGTH) {
    throw new InvalidKeyError('KEM public key changed while it was read', 'kem-public');
  }
  const rand = drawRandom(random, 32);
  let m: Uint8Array | undefined;
  let result: MlKemEncapsulation | undefined;
  try {
    m = type === KEM_TYPE_KYBER1024 ? sha3_256(rand) : rand;
    result = mlkemEncaps(ML_KEM_1024, raw, m);
  } finally {
    wipe(rand, m);
  }
  if (result === undefined) throw new InvalidKeyError('invalid KEM public key', 'kem-public');
  const sharedSecret =
    type === KEM_TYPE_KYBER1024
      ? kyberSharedSecret(result.sharedSecret, result.ciphertext)
      : result.sharedSecret;
  return { ciphertext: concatBytes(Uint8Array.of(type), result.ciphertext), sharedSecret };
}

/**
 * Run the checks and copies of caller input. Our errors and misuse errors pass through; anything
 * else the input throws while it is read (a Proxy, a detached buffer) becomes an
 * `InvalidKeyError` of `kind`, with the original as its cause.
 */
function readInput<T>(kind: 'kem-public' | 'kem-secret', read: () => T): T {
  try {
    return read();
  } catch (cause) {
    if (isSignalError(cause) || cause instanceof TypeError || cause instanceof RangeError) {
      throw cause;
    }
    const what = kind === 'kem-public' ? 'KEM public key' : 'KEM secret key or ciphertext';
    throw new InvalidKeyError(`unreadable ${what}`, kind, { cause });
  }
}

/**
 * Decapsulate a serialized ciphertext with a serialized secret key of the same type. A corrupted
 * ciphertext does not fail: it yields the implicit-rejection secret, as the KEM specifies.
 *
 * @throws {InvalidKeyError} `ERR_INVALID_KEY` for a malformed secret key
 * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` for a ciphertext of the wrong type or length
 */
export function kemDecapsulate(secretKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  // Private copies: ML-KEM and the Kyber secret below read the same bytes the checks saw.
  const { type, sk, rawCt } = readInput('kem-secret', () => {
    const t = checkKemSecretKey(secretKey);
    assertBytes(ciphertext, 'ciphertext');
    if (ciphertext.length === 0 || ciphertext[0] !== t) {
      throw new InvalidMessageError('KEM ciphertext type does not match the key', 'kem-ciphertext');
    }
    if (ciphertext.length !== KEM1024_CIPHERTEXT_LENGTH + 1) {
      throw new InvalidMessageError(
        `KEM ciphertext must be ${String(KEM1024_CIPHERTEXT_LENGTH + 1)} bytes, got ${String(ciphertext.length)}`,
        'kem-ciphertext',
      );
    }
    // The ciphertext first: nothing read after the secret key's copy can throw and leave it.
    const ct = new Uint8Array(ciphertext.subarray(1));
    return { type: t, rawCt: ct, sk: new Uint8Array(secretKey.subarray(1)) };
  });
  try {
    if (sk.length !== KEM1024_SECRET_KEY_LENGTH || rawCt.length !== KEM1024_CIPHERTEXT_LENGTH) {
      throw new InvalidKeyError('KEM input changed while it was read', 'kem-secret');
    }
    const kBar = mlkemDecaps(ML_KEM_1024, sk, rawCt);
    if (kBar === undefined) throw new InvalidKeyError('invalid KEM secret key', 'kem-secret');
    return type === KEM_TYPE_KYBER1024 ? kyberSharedSecret(kBar, rawCt) : kBar;
  } finally {
    wipe(sk);
  }
}

/** The public key embedded in a serialized secret key (FIPS 203 layout: ŝ ‖ pk ‖ H(pk) ‖ z). */
export function kemPublicKeyFromSecretKey(secretKey: Uint8Array): Uint8Array {
  const type = checkKemSecretKey(secretKey);
  const start = 1 + 1536;
  return concatBytes(
    Uint8Array.of(type),
    secretKey.subarray(start, start + KEM1024_PUBLIC_KEY_LENGTH),
  );
}
