/**
 * SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869), written for the
 * per-message path: chain-key steps, message-key and SPQR-key derivation, and the MAC of every
 * message.
 *
 * `@noble/hashes` computes the same functions; for inputs this short most of its time goes to
 * per-call overhead (hash objects, views, re-padding the HMAC key), which here is avoided: a
 * keyed HMAC is two 8-word states computed once ({@link HmacSha256Key}), inputs are hashed from
 * several parts without concatenating them, and the working state is a few preallocated arrays.
 * The tests compare every function with noble on random inputs, lengths and splits, and with the
 * RFC 4231 / RFC 5869 / FIPS 180-4 vectors.
 *
 * SHA-256 has no secret-dependent branches, indices or table lookups; the scratch arrays are
 * wiped after every call.
 *
 * @module
 */

import { hashBlocks, isPlainUint8Array, plainParts, typedArrayLength } from './merkle-damgard.js';

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** The initial hash value H(0). */
const IV = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const BLOCK = 64;
/** Length of a SHA-256 digest (and of an HMAC-SHA256 output) in bytes. */
export const SHA256_LENGTH = 32;

// Scratch shared by every call: JavaScript runs one call at a time, nothing here yields, and no
// caller code runs while it is in use (inputs pass `plainParts` first), so two calls never
// interleave on it. Wiped before each public function returns.
const W = new Int32Array(64);
const pending = new Uint8Array(BLOCK);
const state = new Int32Array(8);
const innerDigest = new Uint8Array(SHA256_LENGTH);

/** One compression of `block[offset .. offset + 64]` into `h`. */
function compress(h: Int32Array, block: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    W[i] =
      ((block[j] as number) << 24) |
      ((block[j + 1] as number) << 16) |
      ((block[j + 2] as number) << 8) |
      (block[j + 3] as number);
  }
  for (let i = 16; i < 64; i++) {
    const w15 = W[i - 15] as number;
    const w2 = W[i - 2] as number;
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    W[i] = (s1 + (W[i - 7] as number) + s0 + (W[i - 16] as number)) | 0;
  }
  let a = h[0] as number;
  let b = h[1] as number;
  let c = h[2] as number;
  let d = h[3] as number;
  let e = h[4] as number;
  let f = h[5] as number;
  let g = h[6] as number;
  let k = h[7] as number;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (k + S1 + ch + (K[i] as number) + (W[i] as number)) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + S0 + maj) | 0;
  }
  h[0] = ((h[0] as number) + a) | 0;
  h[1] = ((h[1] as number) + b) | 0;
  h[2] = ((h[2] as number) + c) | 0;
  h[3] = ((h[3] as number) + d) | 0;
  h[4] = ((h[4] as number) + e) | 0;
  h[5] = ((h[5] as number) + f) | 0;
  h[6] = ((h[6] as number) + g) | 0;
  h[7] = ((h[7] as number) + k) | 0;
}

/**
 * Hash `parts` as one message into `h`, which already holds `prefixBlocks` compressed blocks
 * (an HMAC key state), and write the digest to `out[outOffset .. outOffset + 32]`.
 */
function finishInto(
  h: Int32Array,
  prefixBlocks: number,
  parts: readonly Uint8Array[],
  out: Uint8Array,
  outOffset: number,
): void {
  hashBlocks(h, compress, pending, 8, parts, prefixBlocks * BLOCK);
  for (let i = 0; i < 8; i++) {
    const v = h[i] as number;
    const j = outOffset + i * 4;
    out[j] = v >>> 24;
    out[j + 1] = v >>> 16;
    out[j + 2] = v >>> 8;
    out[j + 3] = v;
  }
}

function wipeScratch(): void {
  W.fill(0);
  pending.fill(0);
  state.fill(0);
  innerDigest.fill(0);
}

/** SHA-256 of the concatenation of `parts`. */
export function sha256Parts(...input: Uint8Array[]): Uint8Array {
  const parts = plainParts(input);
  const out = new Uint8Array(SHA256_LENGTH);
  try {
    state.set(IV);
    finishInto(state, 0, parts, out, 0);
  } finally {
    wipeScratch();
  }
  return out;
}

/**
 * An HMAC-SHA256 key made ready once: the compressed inner and outer padded-key blocks, so each
 * MAC under it costs two compressions plus the message's. Holds key-derived secrets:
 * {@link HmacSha256Key.wipe} clears them.
 */
export class HmacSha256Key {
  readonly #inner = new Int32Array(8);
  readonly #outer = new Int32Array(8);

  /** @param key - the HMAC key, any length (longer than 64 bytes is hashed first) */
  constructor(keyInput: Uint8Array) {
    if (!(keyInput instanceof Uint8Array)) throw new TypeError('key must be a Uint8Array');
    const [key] = plainParts([keyInput]) as [Uint8Array];
    const padded = new Uint8Array(BLOCK);
    if (typedArrayLength.call(key) > BLOCK) {
      const hashed = sha256Parts(key);
      padded.set(hashed);
      hashed.fill(0);
    } else {
      padded.set(key);
    }
    for (let i = 0; i < BLOCK; i++) padded[i] = (padded[i] as number) ^ 0x36;
    this.#inner.set(IV);
    compress(this.#inner, padded, 0);
    for (let i = 0; i < BLOCK; i++) padded[i] = (padded[i] as number) ^ (0x36 ^ 0x5c);
    this.#outer.set(IV);
    compress(this.#outer, padded, 0);
    padded.fill(0);
    W.fill(0);
  }

  /** HMAC of the concatenation of `parts`, written to `out[offset .. offset + 32]`. */
  macInto(input: readonly Uint8Array[], out: Uint8Array, offset: number): void {
    const parts = plainParts(input);
    // A real Uint8Array (not a Proxy), so that writing the result runs no caller code.
    if (!isPlainUint8Array(out)) throw new TypeError('output must be a Uint8Array');
    if (
      !Number.isInteger(offset) ||
      offset < 0 ||
      offset + SHA256_LENGTH > typedArrayLength.call(out)
    ) {
      throw new RangeError('output does not fit');
    }
    try {
      state.set(this.#inner);
      finishInto(state, 1, parts, innerDigest, 0);
      state.set(this.#outer);
      finishInto(state, 1, [innerDigest], out, offset);
    } finally {
      wipeScratch();
    }
  }

  /** HMAC of the concatenation of `parts` (32 new bytes). */
  mac(...parts: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(SHA256_LENGTH);
    this.macInto(parts, out, 0);
    return out;
  }

  /** Clear the key state; the object must not be used afterwards. */
  wipe(): void {
    this.#inner.fill(0);
    this.#outer.fill(0);
  }
}

/** HMAC-SHA256 of the concatenation of `parts` under `key`. */
export function hmacSha256Parts(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const k = new HmacSha256Key(key);
  const out = k.mac(...parts);
  k.wipe();
  return out;
}

const ZERO_SALT = new Uint8Array(SHA256_LENGTH);

/** The extract key for an absent salt, prepared once (it is a public constant). */
let zeroSaltKey: HmacSha256Key | undefined;

/**
 * HKDF-SHA256: extract with `salt` (32 zero bytes when absent, RFC 5869 §2.2), then expand to
 * `length` bytes with `info`. The caller checks `1 ≤ length ≤ 8160`.
 */
export function hkdfSha256Raw(
  ikm: Uint8Array,
  salt: Uint8Array | undefined,
  info: Uint8Array,
  length: number,
): Uint8Array {
  let prk: Uint8Array;
  if (salt === undefined) {
    zeroSaltKey ??= new HmacSha256Key(ZERO_SALT);
    prk = zeroSaltKey.mac(ikm);
  } else {
    prk = hmacSha256Parts(salt, ikm);
  }
  const key = new HmacSha256Key(prk);
  prk.fill(0);
  const blocks = Math.ceil(length / SHA256_LENGTH);
  const okm = new Uint8Array(blocks * SHA256_LENGTH);
  const counter = new Uint8Array(1);
  for (let i = 0; i < blocks; i++) {
    counter[0] = i + 1;
    const previous = okm.subarray(Math.max(0, i - 1) * SHA256_LENGTH, i * SHA256_LENGTH);
    key.macInto([previous, info, counter], okm, i * SHA256_LENGTH);
  }
  key.wipe();
  if (okm.length === length) return okm;
  const out = okm.slice(0, length);
  okm.fill(0);
  return out;
}
