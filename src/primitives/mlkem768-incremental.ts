/**
 * Incremental ML-KEM-768 (FIPS 203, k = 3, η1 = η2 = 2, du = 10, dv = 4), as SPQR uses it: the
 * encapsulator sends the first ciphertext part before it has the whole public key.
 *
 * The standard 1184-byte encapsulation key `ek_full = t̂(1152) ‖ ρ(32)` is split in two:
 *
 * - the **header** (64 bytes) `ρ ‖ SHA3-256(ek_full)`: enough to derive the shared secret and the
 *   first ciphertext part `ct1 = Encode10(Compress10(u))` (960 bytes);
 * - the **ek** (1152 bytes) `t̂`: needed only for the second part `ct2 = Encode4(Compress4(v))`
 *   (128 bytes).
 *
 * {@link mlkem768Encaps1} followed by {@link mlkem768Encaps2} yields exactly the standard
 * ciphertext `ct1 ‖ ct2` and shared secret of `ML-KEM.Encaps(ek_full)` with the same `m`, so key
 * generation and decapsulation are plain FIPS 203 (`./mlkem.ts`). Facts:
 * `libsignal-extras.md` §D.4–D.5.
 *
 * The K-PKE arithmetic is `./mlkem.ts`'s; this module only splits it. It knows nothing of SCKA
 * epochs, chunking, MACs or the authenticator: the caller checks the header MAC, collects the ek
 * chunks, and calls {@link mlkem768HeaderMatchesEk} before {@link mlkem768Encaps2}.
 *
 * @module
 */
import { InvalidKeyError } from '../errors.js';
import { assertBytes, concatBytes, equalConstantTime, wipe } from './bytes.js';
import { sha3_256Parts, sha3_512Parts } from './keccak.js';
import {
  decodeTHat,
  encryptU,
  encryptV,
  ML_KEM_768,
  mlkemDecaps,
  mlkemKeyGen,
  polys,
  sampleYHat,
} from './mlkem.js';
import { drawRandom, type RandomSource, secureRandom } from './random.js';

/** Header length: `ρ(32) ‖ SHA3-256(ek_full)(32)`. */
export const MLKEM768_HEADER_LENGTH = 64;
/** Encapsulation key length without ρ: `t̂`, the first 1152 bytes of the standard public key. */
export const MLKEM768_EK_LENGTH = 1152;
/** First ciphertext part: compressed `u` (du = 10), the first 960 bytes of the standard ciphertext. */
export const MLKEM768_CT1_LENGTH = 960;
/** Second ciphertext part: compressed `v` (dv = 4), the last 128 bytes of the standard ciphertext. */
export const MLKEM768_CT2_LENGTH = 128;
/** Standard FIPS 203 ML-KEM-768 decapsulation key length. */
export const MLKEM768_DK_LENGTH = 2400;
/** Length of a serialized {@link MlKem768EncapsState}: `m(32) ‖ r(32)`. */
export const MLKEM768_ENCAPS_STATE_LENGTH = 64;

/** Rank of ML-KEM-768. @internal */
const K = ML_KEM_768.k;

/** A key pair split for SPQR. */
export interface MlKem768KeyPair {
  /** `ρ ‖ SHA3-256(ek_full)`, 64 bytes. Public. */
  readonly header: Uint8Array;
  /** `t̂`, 1152 bytes. Public. */
  readonly ek: Uint8Array;
  /** The standard 2400-byte decapsulation key. Secret. */
  readonly dk: Uint8Array;
}

/**
 * What {@link mlkem768Encaps1} leaves for {@link mlkem768Encaps2}. Secret: `m` alone determines
 * the shared secret. Persist it only through {@link encodeEncapsState}; wipe both fields when done.
 *
 * The state holds the K-PKE seeds rather than `ŷ` and `e2`: those are re-derived from `r` in
 * encaps2, which keeps the serialized form at 64 bytes with no encoding to validate.
 */
export interface MlKem768EncapsState {
  /** The 32-byte encapsulation message (FIPS 203 Algorithm 17 `m`). */
  readonly m: Uint8Array;
  /** The 32-byte K-PKE randomness `r = G(m ‖ H(ek))[32..64]`. */
  readonly r: Uint8Array;
}

/** Output of {@link mlkem768Encaps1}. */
export interface MlKem768Encaps1Result {
  /** First ciphertext part, 960 bytes. */
  readonly ct1: Uint8Array;
  /** The 32-byte shared secret `K`, known before `ek` arrives. */
  readonly sharedSecret: Uint8Array;
  /** Input for {@link mlkem768Encaps2}. */
  readonly state: MlKem768EncapsState;
}

/** @internal */
function assertState(state: MlKem768EncapsState): void {
  if (typeof state !== 'object' || state === null) {
    throw new TypeError('state must be an ML-KEM-768 encapsulation state');
  }
  assertBytes(state.m, 'state.m', 32);
  assertBytes(state.r, 'state.r', 32);
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Generate an ML-KEM-768 key pair (FIPS 203 ML-KEM.KeyGen_internal from a 64-byte seed `d ‖ z`)
 * and split its public key into header and ek.
 *
 * @param random - Source of the 64-byte seed; defaults to the platform CSPRNG.
 * @returns `header = ρ ‖ SHA3-256(pk)`, `ek = t̂`, and the standard 2400-byte `dk`.
 * @throws {TypeError} when `random` returns the wrong number of bytes
 * @example
 * ```ts
 * const { header, ek, dk } = mlkem768Generate();
 * ```
 */
export function mlkem768Generate(random: RandomSource = secureRandom): MlKem768KeyPair {
  const seed = drawRandom(random, 64);
  let keys: { ek: Uint8Array; dk: Uint8Array };
  try {
    keys = mlkemKeyGen(ML_KEM_768, seed);
  } finally {
    wipe(seed);
  }
  const pk = keys.ek;
  // dk ends with H(ek_full) ‖ z: the header's hash is already there.
  const hashAt = MLKEM768_DK_LENGTH - 64;
  return {
    header: concatBytes(pk.subarray(MLKEM768_EK_LENGTH), keys.dk.subarray(hashAt, hashAt + 32)),
    ek: pk.slice(0, MLKEM768_EK_LENGTH),
    dk: keys.dk,
  };
}

/**
 * First half of encapsulation, from the header alone (FIPS 203 Algorithm 17 lines 1–2 and
 * Algorithm 14 up to `u`): draws `m`, derives `(K, r) = SHA3-512(m ‖ H(ek_full))`, and computes
 * `ct1 = ByteEncode10(Compress10(NTT⁻¹(Âᵀ ∘ ŷ) + e1))`.
 *
 * The header's hash is trusted here; the caller authenticates the header (SPQR's header MAC)
 * and later checks ek against it with {@link mlkem768HeaderMatchesEk}.
 *
 * @param header - `ρ ‖ SHA3-256(ek_full)`, 64 bytes.
 * @param random - Source of the 32-byte `m`; defaults to the platform CSPRNG.
 * @returns `ct1` (960 bytes), the 32-byte shared secret, and the state for
 *   {@link mlkem768Encaps2}.
 * @throws {TypeError} when `header` is not a `Uint8Array` or `random` misbehaves
 * @throws {RangeError} when `header` is not 64 bytes
 * @example
 * ```ts
 * const { ct1, sharedSecret, state } = mlkem768Encaps1(header);
 * ```
 */
export function mlkem768Encaps1(
  header: Uint8Array,
  random: RandomSource = secureRandom,
): MlKem768Encaps1Result {
  assertBytes(header, 'header', MLKEM768_HEADER_LENGTH);
  // One read of the header: ρ is used k² times below.
  const ownHeader = new Uint8Array(header);
  if (ownHeader.length !== MLKEM768_HEADER_LENGTH) throw new RangeError('header changed length');
  const rho = ownHeader.subarray(0, 32);
  const m = drawRandom(random, 32);
  // FIPS 203 Algorithm 17 line 1: (K, r) ← G(m ‖ H(ek)); H(ek) is the second half of the header.
  const kr = sha3_512Parts(m, ownHeader.subarray(32));
  const sharedSecret = kr.slice(0, 32);
  const r = kr.slice(32);
  wipe(kr);

  const ct1 = new Uint8Array(MLKEM768_CT1_LENGTH);
  const work = polys(K + 2);
  try {
    const yHat = work.at.slice(0, K);
    sampleYHat(ML_KEM_768, r, yHat);
    encryptU(ML_KEM_768, rho, r, yHat, work.at.slice(K), ct1, 0);
  } finally {
    work.buffer.fill(0);
  }
  return { ct1, sharedSecret, state: { m, r } };
}

/**
 * Second half of encapsulation, once `ek` has arrived (FIPS 203 Algorithm 14 lines 19–23):
 * `ct2 = ByteEncode4(Compress4(NTT⁻¹(t̂ᵀ ∘ ŷ) + e2 + Decompress1(m)))`. Does not modify `state`.
 *
 * Call {@link mlkem768HeaderMatchesEk} first: the shared secret from encaps1 is bound to the hash
 * in the header, so a ct2 computed for any other ek would not decapsulate to it.
 *
 * @param ek - `t̂`, 1152 bytes.
 * @param state - The state returned by {@link mlkem768Encaps1} (or {@link decodeEncapsState}).
 * @returns `ct2`, 128 bytes.
 * @throws {TypeError} for a non-`Uint8Array` ek or a malformed state
 * @throws {RangeError} for a wrong ek or state field length
 * @throws {InvalidKeyError} `ERR_INVALID_KEY` when `ek` fails the FIPS 203 modulus check
 * @example
 * ```ts
 * if (!mlkem768HeaderMatchesEk(header, ek)) throw new Error('bad ek');
 * const ct2 = mlkem768Encaps2(ek, state);
 * ```
 */
export function mlkem768Encaps2(ek: Uint8Array, state: MlKem768EncapsState): Uint8Array {
  assertBytes(ek, 'ek', MLKEM768_EK_LENGTH);
  assertState(state);
  const work = polys(2 * K + 2);
  const ct2 = new Uint8Array(MLKEM768_CT2_LENGTH);
  try {
    const tHat = work.at.slice(0, K);
    if (!decodeTHat(ML_KEM_768, ek, tHat)) {
      throw new InvalidKeyError('ML-KEM-768 ek fails the modulus check', 'kem-public');
    }
    const yHat = work.at.slice(K, 2 * K);
    sampleYHat(ML_KEM_768, state.r, yHat);
    encryptV(ML_KEM_768, tHat, state.m, state.r, yHat, work.at.slice(2 * K), ct2, 0);
  } finally {
    work.buffer.fill(0);
  }
  return ct2;
}

/**
 * Check a received ek against a header: `SHA3-256(ek ‖ ρ) == header[32..64]` (constant-time
 * comparison), and the FIPS 203 §7.2 modulus check (every 12-bit coefficient of `ek` below q).
 *
 * @param header - 64 bytes.
 * @param ek - 1152 bytes.
 * @returns `true` only when both checks pass.
 * @throws {TypeError} when an argument is not a `Uint8Array`
 * @throws {RangeError} when an argument has the wrong length
 * @example
 * ```ts
 * mlkem768HeaderMatchesEk(pair.header, pair.ek); // true
 * ```
 */
export function mlkem768HeaderMatchesEk(header: Uint8Array, ek: Uint8Array): boolean {
  assertBytes(header, 'header', MLKEM768_HEADER_LENGTH);
  assertBytes(ek, 'ek', MLKEM768_EK_LENGTH);
  // One read of ek, so that both checks see the same bytes.
  const ownEk = new Uint8Array(ek);
  if (ownEk.length !== MLKEM768_EK_LENGTH) throw new RangeError('ek changed length');
  const hashOk = equalConstantTime(
    sha3_256Parts(ownEk, header.subarray(0, 32)),
    header.subarray(32),
  );
  const work = polys(K);
  const modulusOk = decodeTHat(ML_KEM_768, ownEk, work.at);
  return hashOk && modulusOk;
}

/**
 * Standard FIPS 203 ML-KEM-768 decapsulation of `ct1 ‖ ct2`. A corrupted ciphertext does not
 * fail: it yields the implicit-rejection secret.
 *
 * @param dk - The 2400-byte decapsulation key from {@link mlkem768Generate}.
 * @param ct1 - 960 bytes.
 * @param ct2 - 128 bytes.
 * @returns The 32-byte shared secret.
 * @throws {TypeError} when an argument is not a `Uint8Array`
 * @throws {RangeError} when an argument has the wrong length
 * @throws {InvalidKeyError} `ERR_INVALID_KEY` when `dk` fails the FIPS 203 §7.3 hash check
 * @example
 * ```ts
 * const sharedSecret = mlkem768Decapsulate(dk, ct1, ct2);
 * ```
 */
export function mlkem768Decapsulate(dk: Uint8Array, ct1: Uint8Array, ct2: Uint8Array): Uint8Array {
  assertBytes(dk, 'dk', MLKEM768_DK_LENGTH);
  assertBytes(ct1, 'ct1', MLKEM768_CT1_LENGTH);
  assertBytes(ct2, 'ct2', MLKEM768_CT2_LENGTH);
  const secret = mlkemDecaps(ML_KEM_768, dk, concatBytes(ct1, ct2));
  if (secret === undefined) {
    throw new InvalidKeyError('invalid ML-KEM-768 decapsulation key', 'kem-secret');
  }
  return secret;
}

/**
 * Serialize an encapsulation state: `m(32) ‖ r(32)`. The output is secret.
 *
 * @param state - A state from {@link mlkem768Encaps1}.
 * @returns 64 bytes.
 * @throws {TypeError} for a malformed state
 * @throws {RangeError} for a wrong field length
 * @example
 * ```ts
 * const bytes = encodeEncapsState(state);
 * ```
 */
export function encodeEncapsState(state: MlKem768EncapsState): Uint8Array {
  assertState(state);
  return concatBytes(state.m, state.r);
}

/**
 * Parse the output of {@link encodeEncapsState}. Every 64-byte string is a valid state.
 *
 * @param bytes - 64 bytes.
 * @returns A state with fresh copies of `m` and `r`.
 * @throws {TypeError} when `bytes` is not a `Uint8Array`
 * @throws {RangeError} when `bytes` is not 64 bytes
 * @example
 * ```ts
 * const ct2 = mlkem768Encaps2(ek, decodeEncapsState(stored));
 * ```
 */
export function decodeEncapsState(bytes: Uint8Array): MlKem768EncapsState {
  assertBytes(bytes, 'bytes', MLKEM768_ENCAPS_STATE_LENGTH);
  return { m: bytes.slice(0, 32), r: bytes.slice(32, 64) };
}
