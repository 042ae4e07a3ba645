/**
 * ML-KEM (FIPS 203) for the two parameter sets chiffre needs: ML-KEM-768 (k = 3, SPQR) and
 * ML-KEM-1024 (k = 4, under libsignal's Kyber-1024 and ML-KEM-1024 key types). Both use
 * η1 = η2 = 2, so only SamplePolyCBD_2 is implemented.
 *
 * Key generation, encapsulation and decapsulation follow FIPS 203 Algorithms 16–18 (the
 * `_internal` forms: randomness comes in as arguments) with the input checks of §7.2 and §7.3.
 * The K-PKE steps are exported separately for `./mlkem768-incremental.ts`, which splits
 * encryption in two.
 *
 * The three top-level functions copy their inputs first and work on the copies (checking their
 * lengths), so an input whose contents change while they run (a view of a buffer someone
 * resizes, a Proxy) can neither bypass a check nor mix two keys; the copies of secrets are wiped.
 *
 * Representation: a polynomial is a `Uint16Array(256)` with coefficients in [0, q); the
 * polynomials of one operation are views into one buffer, wiped at the end. Arithmetic on
 * secret-derived values has no secret-dependent branch, table index or integer division:
 * reductions mod q and the compression rounding multiply by a reciprocal in floating point
 * and correct the result with masks. Matrix sampling (rejection on public ρ) branches freely.
 *
 * @module
 * @internal
 */
import { wipe } from './bytes.js';
import { Shake128Reader, sha3_256Parts, sha3_512Parts, shake256Parts } from './keccak.js';

/** An ML-KEM parameter set (FIPS 203 §8, Table 2), η1 = η2 = 2. */
export interface MlKemParams {
  /** Module rank. */
  readonly k: 3 | 4;
  /** Bits per coefficient of the compressed `u`. */
  readonly du: 10 | 11;
  /** Bits per coefficient of the compressed `v`. */
  readonly dv: 4 | 5;
}

/** ML-KEM-768. */
export const ML_KEM_768: MlKemParams = { k: 3, du: 10, dv: 4 };
/** ML-KEM-1024. */
export const ML_KEM_1024: MlKemParams = { k: 4, du: 11, dv: 5 };

const N = 256;
const Q = 3329;
/** 128⁻¹ mod q, the scale of the inverse NTT (FIPS 203 Algorithm 10, line 14). */
const INV_128 = 3303;
/** Bytes of one ByteEncode_12 polynomial. */
const POLY12_BYTES = 384;
const INV_Q = 1 / Q;
const INV_2Q = 1 / (2 * Q);

/** Encapsulation key bytes: `ByteEncode12(t̂) ‖ ρ`. */
export function ekLength(p: MlKemParams): number {
  return POLY12_BYTES * p.k + 32;
}

/** Decapsulation key bytes: `ByteEncode12(ŝ) ‖ ek ‖ H(ek) ‖ z`. */
export function dkLength(p: MlKemParams): number {
  return 2 * POLY12_BYTES * p.k + 96;
}

/** Bytes of the compressed `u` (the first ciphertext part). */
export function c1Length(p: MlKemParams): number {
  return 32 * p.du * p.k;
}

/** Ciphertext bytes: compressed `u` ‖ compressed `v`. */
export function ctLength(p: MlKemParams): number {
  return c1Length(p) + 32 * p.dv;
}

function bitRev7(i: number): number {
  let r = 0;
  for (let b = 0; b < 7; b++) r |= ((i >> b) & 1) << (6 - b);
  return r;
}

/** `ZETAS[i] = ζ^BitRev7(i)` and `GAMMAS[i] = ζ^(2·BitRev7(i) + 1)` mod q, ζ = 17 (Appendix A). */
const ZETAS = new Uint16Array(128);
const GAMMAS = new Uint16Array(128);
{
  const powers = new Uint16Array(256);
  powers[0] = 1;
  for (let e = 1; e < 256; e++) powers[e] = ((powers[e - 1] as number) * 17) % Q;
  for (let i = 0; i < 128; i++) {
    ZETAS[i] = powers[bitRev7(i)] as number;
    GAMMAS[i] = powers[2 * bitRev7(i) + 1] as number;
  }
}

/** `x mod q` for an integer 0 ≤ x < 2^31, without division or branch. */
function modQ(x: number): number {
  // The float quotient is exact except that it may fall one short at an exact multiple of q.
  const r = (x - Math.floor(x * INV_Q) * Q - Q) | 0;
  return r + ((r >> 31) & Q);
}

/** `(a + b) mod q` for a, b in [0, q). */
function addQ(a: number, b: number): number {
  const r = a + b - Q;
  return r + ((r >> 31) & Q);
}

/** `(a − b) mod q` for a, b in [0, q). */
function subQ(a: number, b: number): number {
  const r = a - b;
  return r + ((r >> 31) & Q);
}

/** NTT in place (FIPS 203 Algorithm 9). */
export function ntt(f: Uint16Array): void {
  let i = 1;
  for (let len = 128; len >= 2; len >>= 1) {
    for (let start = 0; start < N; start += 2 * len) {
      const zeta = ZETAS[i++] as number;
      for (let j = start; j < start + len; j++) {
        const t = modQ(zeta * (f[j + len] as number));
        const a = f[j] as number;
        f[j + len] = subQ(a, t);
        f[j] = addQ(a, t);
      }
    }
  }
}

/** Inverse NTT in place (FIPS 203 Algorithm 10). */
export function invNtt(f: Uint16Array): void {
  let i = 127;
  for (let len = 2; len <= 128; len <<= 1) {
    for (let start = 0; start < N; start += 2 * len) {
      const zeta = ZETAS[i--] as number;
      for (let j = start; j < start + len; j++) {
        const t = f[j] as number;
        const u = f[j + len] as number;
        f[j] = addQ(t, u);
        f[j + len] = modQ(zeta * subQ(u, t));
      }
    }
  }
  for (let j = 0; j < N; j++) f[j] = modQ((f[j] as number) * INV_128);
}

/** `acc += f ∘ g` in T_q (FIPS 203 Algorithms 11 and 12). */
export function multiplyNttsAdd(acc: Uint16Array, f: Uint16Array, g: Uint16Array): void {
  for (let i = 0; i < 128; i++) {
    const a0 = f[2 * i] as number;
    const a1 = f[2 * i + 1] as number;
    const b0 = g[2 * i] as number;
    const b1 = g[2 * i + 1] as number;
    const c0 = modQ(a0 * b0 + modQ(a1 * b1) * (GAMMAS[i] as number));
    const c1 = modQ(a0 * b1 + a1 * b0);
    acc[2 * i] = addQ(acc[2 * i] as number, c0);
    acc[2 * i + 1] = addQ(acc[2 * i + 1] as number, c1);
  }
}

/** `a += b` in place. */
export function polyAdd(a: Uint16Array, b: Uint16Array): void {
  for (let i = 0; i < N; i++) a[i] = addQ(a[i] as number, b[i] as number);
}

/**
 * SampleNTT (FIPS 203 Algorithm 7) of `SHAKE128(ρ ‖ x ‖ y)` into `out`. ρ is public, so the
 * rejection loop may branch.
 */
export function sampleNtt(rho: Uint8Array, x: number, y: number, out: Uint16Array): void {
  const reader = new Shake128Reader(rho, Uint8Array.of(x, y));
  let j = 0;
  while (j < N) {
    const b = reader.next();
    for (let i = 0; j < N && i < b.length; i += 3) {
      const b1 = b[i + 1] as number;
      const d1 = (b[i] as number) | ((b1 & 0x0f) << 8);
      const d2 = (b1 >> 4) | ((b[i + 2] as number) << 4);
      if (d1 < Q) out[j++] = d1;
      if (j < N && d2 < Q) out[j++] = d2;
    }
  }
  reader.wipe();
}

/**
 * `SamplePolyCBD_2(PRF_2(seed, nonce))` into `out` (FIPS 203 Algorithm 8 and eq. 4.3, PRF =
 * SHAKE256(seed ‖ nonce), 128 bytes): each byte gives two coefficients `(b0 + b1) − (b2 + b3)`.
 */
export function sampleCbd2(seed: Uint8Array, nonce: number, out: Uint16Array): void {
  const bytes = shake256Parts([seed, Uint8Array.of(nonce)], 128);
  for (let i = 0; i < 128; i++) {
    const b = bytes[i] as number;
    const lo = (b & 1) + ((b >> 1) & 1) - ((b >> 2) & 1) - ((b >> 3) & 1);
    const hi = ((b >> 4) & 1) + ((b >> 5) & 1) - ((b >> 6) & 1) - ((b >> 7) & 1);
    out[2 * i] = lo + ((lo >> 31) & Q);
    out[2 * i + 1] = hi + ((hi >> 31) & Q);
  }
  wipe(bytes);
}

/** ByteEncode_d (FIPS 203 Algorithm 5) of words below `2^d` into `out[offset…]`. */
export function byteEncode(words: Uint16Array, d: number, out: Uint8Array, offset: number): void {
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

/** ByteDecode_d (FIPS 203 Algorithm 6) for d < 12: `d`-bit words from `bytes[offset…]`. */
function byteDecode(bytes: Uint8Array, offset: number, d: number, out: Uint16Array): void {
  const mask = (1 << d) - 1;
  let buf = 0;
  let bits = 0;
  let pos = offset;
  for (let i = 0; i < N; i++) {
    while (bits < d) {
      buf |= (bytes[pos++] as number) << bits;
      bits += 8;
    }
    out[i] = buf & mask;
    buf >>>= d;
    bits -= d;
  }
}

/**
 * ByteDecode_12 of `bytes[offset…]` into `out`, reduced mod q (FIPS 203 Algorithm 6 with m = q).
 * Returns whether every 12-bit value was already below q, which is the §7.2 modulus check
 * `ByteEncode12(ByteDecode12(ek)) = ek`. Constant-time in the values.
 */
export function byteDecode12(bytes: Uint8Array, offset: number, out: Uint16Array): boolean {
  let over = 0;
  for (let i = 0; i < N / 2; i++) {
    const b0 = bytes[offset + 3 * i] as number;
    const b1 = bytes[offset + 3 * i + 1] as number;
    const b2 = bytes[offset + 3 * i + 2] as number;
    const d1 = (b0 | ((b1 & 0x0f) << 8)) - Q;
    const d2 = ((b1 >> 4) | (b2 << 4)) - Q;
    over |= ~(d1 & d2); // sign bit set here when either value was ≥ q
    out[2 * i] = d1 + ((d1 >> 31) & Q);
    out[2 * i + 1] = d2 + ((d2 >> 31) & Q);
  }
  return over >= 0;
}

/** Compress_d then ByteEncode_d of `poly` into `out[offset…]` (FIPS 203 eq. 4.7). Clobbers `poly`. */
export function compressEncode(
  poly: Uint16Array,
  d: number,
  out: Uint8Array,
  offset: number,
): void {
  const mask = (1 << d) - 1;
  for (let i = 0; i < N; i++) {
    // round(2^d · x / q) = ⌊(2^(d+1) · x + q) / 2q⌋; the float quotient may fall one short at an
    // exact multiple, which the remainder check adds back.
    const v = (poly[i] as number) * (2 << d) + Q;
    let t = Math.floor(v * INV_2Q);
    t += ((2 * Q - 1 - (v - t * 2 * Q)) >>> 31) & 1;
    poly[i] = t & mask;
  }
  byteEncode(poly, d, out, offset);
}

/** ByteDecode_d then Decompress_d of `bytes[offset…]` into `out`. */
function decodeDecompress(bytes: Uint8Array, offset: number, d: number, out: Uint16Array): void {
  byteDecode(bytes, offset, d, out);
  const half = 1 << (d - 1);
  for (let i = 0; i < N; i++) out[i] = ((out[i] as number) * Q + half) >> d;
}

/** A private copy of `bytes`, which must be `length` long (RangeError otherwise). */
function copyOf(bytes: Uint8Array, length: number, name: string): Uint8Array {
  const copy = new Uint8Array(bytes);
  if (copy.length !== length) {
    wipe(copy);
    throw new RangeError(`${name} must be ${String(length)} bytes`);
  }
  return copy;
}

/** Polynomials as views into one buffer, so that an operation allocates (and wipes) once. */
export function polys(count: number): { readonly buffer: Uint16Array; readonly at: Uint16Array[] } {
  const buffer = new Uint16Array(count * N);
  const at: Uint16Array[] = [];
  for (let i = 0; i < count; i++) at.push(buffer.subarray(i * N, (i + 1) * N));
  return { buffer, at };
}

/** ŷ = NTT(y), y from nonces 0…k−1 (FIPS 203 Algorithm 14, lines 9–12), into `yHat`. */
export function sampleYHat(p: MlKemParams, r: Uint8Array, yHat: readonly Uint16Array[]): void {
  for (let i = 0; i < p.k; i++) {
    const y = yHat[i] as Uint16Array;
    sampleCbd2(r, i, y);
    ntt(y);
  }
}

/**
 * The first ciphertext part (FIPS 203 Algorithm 14, lines 13–21 for `u`):
 * `ByteEncode_du(Compress_du(NTT⁻¹(Âᵀ ∘ ŷ) + e1))`, e1 from nonces k…2k−1, into `out[offset…]`.
 * Needs only ρ of the encapsulation key. `scratch` holds two polynomials' room.
 */
export function encryptU(
  p: MlKemParams,
  rho: Uint8Array,
  r: Uint8Array,
  yHat: readonly Uint16Array[],
  scratch: readonly Uint16Array[],
  out: Uint8Array,
  offset: number,
): void {
  const acc = scratch[0] as Uint16Array;
  const tmp = scratch[1] as Uint16Array;
  const bytes = 32 * p.du;
  for (let i = 0; i < p.k; i++) {
    acc.fill(0);
    for (let j = 0; j < p.k; j++) {
      // Âᵀ[i][j] = Â[j][i], which Algorithm 13 samples from ρ ‖ i ‖ j.
      sampleNtt(rho, i, j, tmp);
      multiplyNttsAdd(acc, tmp, yHat[j] as Uint16Array);
    }
    invNtt(acc);
    sampleCbd2(r, p.k + i, tmp);
    polyAdd(acc, tmp);
    compressEncode(acc, p.du, out, offset + i * bytes);
  }
  acc.fill(0);
  tmp.fill(0);
}

/**
 * The second ciphertext part (FIPS 203 Algorithm 14, lines 19–23 for `v`):
 * `ByteEncode_dv(Compress_dv(NTT⁻¹(t̂ᵀ ∘ ŷ) + e2 + Decompress_1(m)))`, e2 from nonce 2k, into
 * `out[offset…]`. `scratch` holds two polynomials' room.
 */
export function encryptV(
  p: MlKemParams,
  tHat: readonly Uint16Array[],
  m: Uint8Array,
  r: Uint8Array,
  yHat: readonly Uint16Array[],
  scratch: readonly Uint16Array[],
  out: Uint8Array,
  offset: number,
): void {
  const v = scratch[0] as Uint16Array;
  const e2 = scratch[1] as Uint16Array;
  v.fill(0);
  for (let i = 0; i < p.k; i++) multiplyNttsAdd(v, tHat[i] as Uint16Array, yHat[i] as Uint16Array);
  invNtt(v);
  sampleCbd2(r, 2 * p.k, e2);
  polyAdd(v, e2);
  for (let i = 0; i < N; i++) {
    // Decompress_1: bit b becomes b · ⌈q/2⌋ = b · 1665.
    const bit = ((m[i >> 3] as number) >> (i & 7)) & 1;
    v[i] = addQ(v[i] as number, bit * 1665);
  }
  compressEncode(v, p.dv, out, offset);
  e2.fill(0);
}

/** K-PKE.Encrypt (FIPS 203 Algorithm 14) with t̂ already decoded, into `out`. */
function kpkeEncrypt(
  p: MlKemParams,
  tHat: readonly Uint16Array[],
  rho: Uint8Array,
  m: Uint8Array,
  r: Uint8Array,
  out: Uint8Array,
): void {
  const work = polys(p.k + 2);
  const yHat = work.at.slice(0, p.k);
  const scratch = work.at.slice(p.k);
  try {
    sampleYHat(p, r, yHat);
    encryptU(p, rho, r, yHat, scratch, out, 0);
    encryptV(p, tHat, m, r, yHat, scratch, out, c1Length(p));
  } finally {
    work.buffer.fill(0);
  }
}

/** An encoded key pair. */
export interface MlKemKeyPair {
  /** Encapsulation key, {@link ekLength} bytes. Public. */
  readonly ek: Uint8Array;
  /** Decapsulation key, {@link dkLength} bytes. Secret. */
  readonly dk: Uint8Array;
}

/**
 * ML-KEM.KeyGen_internal (FIPS 203 Algorithm 16 with K-PKE.KeyGen, Algorithm 13) from the
 * 64-byte seed `d ‖ z`.
 */
export function mlkemKeyGen(p: MlKemParams, seedInput: Uint8Array): MlKemKeyPair {
  const { k } = p;
  const ekBytes = ekLength(p);
  const seed = copyOf(seedInput, 64, 'seed');
  const work = polys(2 * k + 1);
  const sHat = work.at.slice(0, k);
  const tHat = work.at.slice(k, 2 * k);
  const tmp = work.at[2 * k] as Uint16Array;
  const dk = new Uint8Array(dkLength(p));
  let g: Uint8Array | undefined;
  try {
    g = sha3_512Parts(seed.subarray(0, 32), Uint8Array.of(k));
    const rho = g.subarray(0, 32);
    const sigma = g.subarray(32, 64);
    for (let i = 0; i < k; i++) {
      const s = sHat[i] as Uint16Array;
      sampleCbd2(sigma, i, s);
      ntt(s);
    }
    for (let i = 0; i < k; i++) {
      const t = tHat[i] as Uint16Array;
      sampleCbd2(sigma, k + i, t);
      ntt(t);
      for (let j = 0; j < k; j++) {
        // Â[i][j] from ρ ‖ j ‖ i.
        sampleNtt(rho, j, i, tmp);
        multiplyNttsAdd(t, tmp, sHat[j] as Uint16Array);
      }
    }
    const ekOffset = POLY12_BYTES * k;
    for (let i = 0; i < k; i++) {
      byteEncode(sHat[i] as Uint16Array, 12, dk, i * POLY12_BYTES);
      byteEncode(tHat[i] as Uint16Array, 12, dk, ekOffset + i * POLY12_BYTES);
    }
    dk.set(rho, ekOffset + ekBytes - 32);
    const ek = dk.slice(ekOffset, ekOffset + ekBytes);
    dk.set(sha3_256Parts(ek), ekOffset + ekBytes);
    dk.set(seed.subarray(32, 64), ekOffset + ekBytes + 32);
    return { ek, dk };
  } catch (e) {
    wipe(dk);
    throw e;
  } finally {
    work.buffer.fill(0);
    wipe(g, seed);
  }
}

/**
 * Decode t̂ from the start of an encapsulation key into `out` (reduced mod q); `false` when a
 * coefficient fails the §7.2 modulus check.
 */
export function decodeTHat(p: MlKemParams, ek: Uint8Array, out: readonly Uint16Array[]): boolean {
  let ok = true;
  for (let i = 0; i < p.k; i++) {
    if (!byteDecode12(ek, i * POLY12_BYTES, out[i] as Uint16Array)) ok = false;
  }
  return ok;
}

/** Output of {@link mlkemEncaps}. */
export interface MlKemEncapsulation {
  /** {@link ctLength} bytes. */
  readonly ciphertext: Uint8Array;
  /** 32 bytes. Secret. */
  readonly sharedSecret: Uint8Array;
}

/**
 * ML-KEM.Encaps_internal (FIPS 203 Algorithm 17) with the 32-byte message `m`, after the §7.2
 * input check: `undefined` when `ek` fails the modulus check.
 *
 * @throws {RangeError} for an `ek` or `m` of the wrong length
 */
export function mlkemEncaps(
  p: MlKemParams,
  ekInput: Uint8Array,
  mInput: Uint8Array,
): MlKemEncapsulation | undefined {
  const ek = copyOf(ekInput, ekLength(p), 'ek');
  const m = copyOf(mInput, 32, 'm');
  const work = polys(p.k);
  let kr: Uint8Array | undefined;
  try {
    if (!decodeTHat(p, ek, work.at)) return undefined;
    kr = sha3_512Parts(m, sha3_256Parts(ek));
    const ciphertext = new Uint8Array(ctLength(p));
    const rho = ek.subarray(POLY12_BYTES * p.k);
    kpkeEncrypt(p, work.at, rho, m, kr.subarray(32), ciphertext);
    return { ciphertext, sharedSecret: kr.slice(0, 32) };
  } finally {
    work.buffer.fill(0);
    wipe(kr, m);
  }
}

/**
 * K-PKE.Decrypt (FIPS 203 Algorithm 15): the 32-byte message of `ct` under the encoded ŝ at
 * `dk[0…384k]`.
 */
function kpkeDecrypt(p: MlKemParams, dk: Uint8Array, ct: Uint8Array): Uint8Array {
  const work = polys(3);
  const [u, sHat, w] = work.at as [Uint16Array, Uint16Array, Uint16Array];
  const m = new Uint8Array(32);
  try {
    for (let i = 0; i < p.k; i++) {
      decodeDecompress(ct, i * 32 * p.du, p.du, u);
      ntt(u);
      byteDecode12(dk, i * POLY12_BYTES, sHat);
      multiplyNttsAdd(w, sHat, u);
    }
    invNtt(w);
    decodeDecompress(ct, c1Length(p), p.dv, u); // v
    for (let i = 0; i < N; i++) {
      const x = subQ(u[i] as number, w[i] as number);
      // Compress_1: 1 exactly for 833 ≤ x ≤ 2496.
      const bit = ((832 - x) & (x - 2497)) >>> 31;
      m[i >> 3] = (m[i >> 3] as number) | (bit << (i & 7));
    }
    return m;
  } catch (e) {
    wipe(m);
    throw e;
  } finally {
    work.buffer.fill(0);
  }
}

/**
 * ML-KEM.Decaps_internal (FIPS 203 Algorithm 18) after the §7.3 hash check: `undefined` when
 * the hash stored in `dk` is not `H(ek)`. A ciphertext that does not re-encrypt to itself yields
 * the implicit-rejection key `J(z ‖ c)`, chosen without a branch.
 *
 * @throws {RangeError} for a `dk` or `ct` of the wrong length
 */
export function mlkemDecaps(
  p: MlKemParams,
  dkInput: Uint8Array,
  ctInput: Uint8Array,
): Uint8Array | undefined {
  const ct = copyOf(ctInput, ctLength(p), 'ciphertext');
  const dk = copyOf(dkInput, dkLength(p), 'dk');
  const ekStart = POLY12_BYTES * p.k;
  const ekEnd = ekStart + ekLength(p);
  const ek = dk.subarray(ekStart, ekEnd);
  const h = dk.subarray(ekEnd, ekEnd + 32);
  const z = dk.subarray(ekEnd + 32, ekEnd + 64);
  const work = polys(p.k);
  const again = new Uint8Array(ct.length);
  let m: Uint8Array | undefined;
  let kr: Uint8Array | undefined;
  try {
    const hash = sha3_256Parts(ek);
    let differ = 0;
    for (let i = 0; i < 32; i++) differ |= (hash[i] as number) ^ (h[i] as number);
    if (differ !== 0) return undefined;
    m = kpkeDecrypt(p, dk, ct);
    kr = sha3_512Parts(m, h);
    decodeTHat(p, ek, work.at);
    kpkeEncrypt(p, work.at, ek.subarray(POLY12_BYTES * p.k), m, kr.subarray(32), again);
    let diff = 0;
    for (let i = 0; i < ct.length; i++) diff |= (ct[i] as number) ^ (again[i] as number);
    const keep = ((diff - 1) >> 8) & 0xff; // 0xff when the ciphertexts are equal, else 0
    const reject = shake256Parts([z, ct], 32);
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) {
      out[i] = ((kr[i] as number) & keep) | ((reject[i] as number) & ~keep);
    }
    wipe(reject);
    return out;
  } finally {
    work.buffer.fill(0);
    wipe(m, kr, again, dk);
  }
}
