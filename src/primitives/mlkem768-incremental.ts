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
 * generation and decapsulation are plain FIPS 203 (noble's `ml_kem768`). Facts:
 * `libsignal-extras.md` §D.4–D.5.
 *
 * This module owns the K-PKE arithmetic the split needs (sampling, NTT products, compression,
 * byte coding; NTT and the SHAKE128 reader come from noble's `_crystals`). It knows nothing of
 * SCKA epochs, chunking, MACs or the authenticator: the caller checks the header MAC, collects the
 * ek chunks, and calls {@link mlkem768HeaderMatchesEk} before {@link mlkem768Encaps2}.
 *
 * @module
 */
import { genCrystals, XOF128 } from '@noble/post-quantum/_crystals.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { sha3_512 } from '@noble/hashes/sha3.js';
import { InvalidKeyError } from '../errors.js';
import { assertBytes, concatBytes, equalConstantTime, wipe } from './bytes.js';
import { sha3_256, shake256 } from './hash.js';
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

/** FIPS 203 §8 Table 2, ML-KEM-768. @internal */
const K = 3;
/** @internal */
const N = 256;
/** @internal */
const Q = 3329;
/** Length of one 12-bit-encoded polynomial. @internal */
const POLY12_BYTES = 384;

/**
 * Noble's CRYSTALS helpers in ML-KEM mode (same parameters as its `ml_kem768`): the NTT over
 * `Z_q[X]/(X^256 + 1)` with the FIPS 203 Appendix A zeta table.
 *
 * @internal
 */
const crystals = /* @__PURE__ */ genCrystals({
  N,
  Q,
  F: 3303, // 128^-1 mod q (FIPS 203 Algorithm 10, line 14)
  ROOT_OF_UNITY: 17,
  newPoly: (n: number) => new Uint16Array(n),
  brvBits: 7,
  isKyber: true,
});

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

// ---------------------------------------------------------------------------------------------
// K-PKE pieces (FIPS 203 §4.2 and §5.2). Polynomials are Uint16Array with coefficients in [0, q).

/** `a mod q` in [0, q) for any int32-safe `a`. @internal */
function modQ(a: number): number {
  const r = a % Q;
  return r < 0 ? r + Q : r;
}

/** `a += b` in place. @internal */
function polyAdd(a: Uint16Array, b: Uint16Array): void {
  for (let i = 0; i < N; i++) {
    const s = (a[i] as number) + (b[i] as number);
    a[i] = s >= Q ? s - Q : s;
  }
}

/**
 * `acc += f ∘ g` in T_q (FIPS 203 Algorithms 11 and 12, MultiplyNTTs/BaseCaseMultiply). The
 * zeta for pair `i` is `ζ^(2·BitRev7(i)+1)`: noble's table holds `ζ^BitRev7(64 + i/2)` at
 * index `64 + (i >> 1)`, negated for odd `i`.
 *
 * @internal
 */
function multiplyNttsAdd(acc: Uint16Array, f: Uint16Array, g: Uint16Array): void {
  const zetas = crystals.nttZetas;
  for (let i = 0; i < N / 2; i++) {
    let z = zetas[64 + (i >> 1)] as number;
    if (i & 1) z = -z;
    const a0 = f[2 * i] as number;
    const a1 = f[2 * i + 1] as number;
    const b0 = g[2 * i] as number;
    const b1 = g[2 * i + 1] as number;
    // Reduce a1·b1 before the zeta product so every intermediate stays an exact integer.
    const c0 = modQ(modQ(a1 * b1) * z + a0 * b0);
    const c1 = modQ(a0 * b1 + a1 * b0);
    const s0 = (acc[2 * i] as number) + c0;
    const s1 = (acc[2 * i + 1] as number) + c1;
    acc[2 * i] = s0 >= Q ? s0 - Q : s0;
    acc[2 * i + 1] = s1 >= Q ? s1 - Q : s1;
  }
}

/**
 * `PRF_2(r, nonce) = SHAKE256(r ‖ nonce, 128)` then SamplePolyCBD_2 (FIPS 203 §4.1 eq. 4.3,
 * Algorithm 8). Each byte yields two coefficients `(b0 + b1) − (b2 + b3)`.
 *
 * @internal
 */
function sampleCbd2(r: Uint8Array, nonce: number): Uint16Array {
  const input = concatBytes(r, Uint8Array.of(nonce));
  const bytes = shake256(input, 128);
  const out = new Uint16Array(N);
  for (let i = 0; i < 128; i++) {
    const b = bytes[i] as number;
    const lo = (b & 1) + ((b >> 1) & 1) - ((b >> 2) & 1) - ((b >> 3) & 1);
    const hi = ((b >> 4) & 1) + ((b >> 5) & 1) - ((b >> 6) & 1) - ((b >> 7) & 1);
    out[2 * i] = lo < 0 ? lo + Q : lo;
    out[2 * i + 1] = hi < 0 ? hi + Q : hi;
  }
  wipe(input, bytes);
  return out;
}

/**
 * SampleNTT (FIPS 203 Algorithm 7) from a SHAKE128 reader already bound to `ρ ‖ j ‖ i`. Noble's
 * reader returns 168-byte blocks, a multiple of 3.
 *
 * @internal
 */
function sampleNtt(next: () => Uint8Array): Uint16Array {
  const out = new Uint16Array(N);
  let j = 0;
  while (j < N) {
    const b = next();
    for (let i = 0; j < N && i + 3 <= b.length; i += 3) {
      const b0 = b[i] as number;
      const b1 = b[i + 1] as number;
      const b2 = b[i + 2] as number;
      const d1 = b0 | ((b1 & 0x0f) << 8);
      const d2 = (b1 >> 4) | (b2 << 4);
      if (d1 < Q) out[j++] = d1;
      if (j < N && d2 < Q) out[j++] = d2;
    }
  }
  return out;
}

/** `ŷ = NTT(y)`, y sampled with nonces 0..k−1 (FIPS 203 Algorithm 14, lines 9–12). @internal */
function sampleYHat(r: Uint8Array): Uint16Array[] {
  const yHat: Uint16Array[] = [];
  for (let i = 0; i < K; i++) yHat.push(crystals.NTT.encode(sampleCbd2(r, i)));
  return yHat;
}

/**
 * ByteEncode_d of `d`-bit words (FIPS 203 Algorithm 5), little-endian bit order, written into
 * `out` at `offset`. `words[i]` must already be below `2^d`.
 *
 * @internal
 */
function byteEncode(words: Uint16Array, d: number, out: Uint8Array, offset: number): void {
  let buf = 0;
  let bits = 0;
  let pos = offset;
  for (let i = 0; i < N; i++) {
    buf |= (words[i] as number) << bits;
    bits += d;
    while (bits >= 8) {
      out[pos++] = buf & 0xff;
      buf >>>= 8;
      bits -= 8;
    }
  }
}

/** Compress_d in place (FIPS 203 eq. 4.7): `round(2^d · x / q) mod 2^d`, exact in integers. @internal */
function compressInPlace(poly: Uint16Array, d: number): void {
  const mask = (1 << d) - 1;
  for (let i = 0; i < N; i++) {
    poly[i] = Math.floor(((poly[i] as number) * (2 << d) + Q) / (2 * Q)) & mask;
  }
}

/**
 * Read the 12-bit coefficients of `ek` (ByteDecode_12, FIPS 203 Algorithm 6) without reducing
 * them. Returns `undefined` when any coefficient is ≥ q: the FIPS 203 §7.2 modulus check, which
 * is equivalent to `ByteEncode12(ByteDecode12(ek)) == ek`.
 *
 * @internal
 */
function decodeTHat(ek: Uint8Array): Uint16Array[] | undefined {
  const tHat: Uint16Array[] = [];
  let ok = true;
  for (let p = 0; p < K; p++) {
    const poly = new Uint16Array(N);
    const base = p * POLY12_BYTES;
    for (let i = 0; i < N / 2; i++) {
      const b0 = ek[base + 3 * i] as number;
      const b1 = ek[base + 3 * i + 1] as number;
      const b2 = ek[base + 3 * i + 2] as number;
      const d1 = b0 | ((b1 & 0x0f) << 8);
      const d2 = (b1 >> 4) | (b2 << 4);
      if (d1 >= Q || d2 >= Q) ok = false;
      poly[2 * i] = d1;
      poly[2 * i + 1] = d2;
    }
    tHat.push(poly);
  }
  return ok ? tHat : undefined;
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
  let keys: { publicKey: Uint8Array; secretKey: Uint8Array };
  try {
    keys = ml_kem768.keygen(seed);
  } finally {
    wipe(seed);
  }
  const pk = keys.publicKey;
  return {
    header: concatBytes(pk.subarray(MLKEM768_EK_LENGTH), sha3_256(pk)),
    ek: pk.slice(0, MLKEM768_EK_LENGTH),
    dk: keys.secretKey,
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
  const rho = header.subarray(0, 32);
  const m = drawRandom(random, 32);
  // FIPS 203 Algorithm 17 line 1: (K, r) ← G(m ‖ H(ek)); H(ek) is the second half of the header.
  const kr = sha3_512.create().update(m).update(header.subarray(32)).digest();
  const sharedSecret = kr.slice(0, 32);
  const r = kr.slice(32);
  wipe(kr);

  const yHat = sampleYHat(r);
  const ct1 = new Uint8Array(MLKEM768_CT1_LENGTH);
  // Âᵀ[i][j] = Â[j][i] = SampleNTT(ρ ‖ i ‖ j) (Algorithm 13 line 6 fills Â[i][j] from ρ ‖ j ‖ i).
  const xof = XOF128(rho);
  try {
    for (let i = 0; i < K; i++) {
      const acc = new Uint16Array(N);
      for (let j = 0; j < K; j++) {
        multiplyNttsAdd(acc, sampleNtt(xof.get(i, j)), yHat[j] as Uint16Array);
      }
      const u = crystals.NTT.decode(acc);
      const e1 = sampleCbd2(r, K + i); // nonces 3..5
      polyAdd(u, e1);
      compressInPlace(u, 10);
      byteEncode(u, 10, ct1, i * 320);
      u.fill(0);
      e1.fill(0);
    }
  } finally {
    xof.clean();
    for (const p of yHat) p.fill(0);
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
  const tHat = decodeTHat(ek);
  if (tHat === undefined) {
    throw new InvalidKeyError('ML-KEM-768 ek fails the modulus check', 'kem-public');
  }
  const yHat = sampleYHat(state.r);
  const acc = new Uint16Array(N);
  for (let i = 0; i < K; i++) multiplyNttsAdd(acc, tHat[i] as Uint16Array, yHat[i] as Uint16Array);
  const v = crystals.NTT.decode(acc);
  const e2 = sampleCbd2(state.r, 2 * K); // nonce 6
  polyAdd(v, e2);
  // Decompress1(ByteDecode1(m)): bit b becomes b · round(q/2) = b · 1665.
  const { m } = state;
  for (let i = 0; i < N; i++) {
    const bit = ((m[i >> 3] as number) >> (i & 7)) & 1;
    const s = (v[i] as number) + bit * 1665;
    v[i] = s >= Q ? s - Q : s;
  }
  compressInPlace(v, 4);
  const ct2 = new Uint8Array(MLKEM768_CT2_LENGTH);
  byteEncode(v, 4, ct2, 0);
  v.fill(0);
  e2.fill(0);
  for (const p of yHat) p.fill(0);
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
  const full = concatBytes(ek, header.subarray(0, 32));
  const hashOk = equalConstantTime(sha3_256(full), header.subarray(32));
  // ek is public: the modulus check need not be constant-time, only present.
  const modulusOk = decodeTHat(ek) !== undefined;
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
  // noble 0.7.1 leaves its secret-key argument intact, but a private copy keeps that an
  // implementation detail of noble rather than a contract we rely on.
  const sk = dk.slice();
  try {
    return ml_kem768.decapsulate(concatBytes(ct1, ct2), sk);
  } catch (cause) {
    throw new InvalidKeyError('invalid ML-KEM-768 decapsulation key', 'kem-secret', { cause });
  } finally {
    wipe(sk);
  }
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
