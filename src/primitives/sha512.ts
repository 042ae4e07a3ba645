/**
 * SHA-512 (FIPS 180-4 §6.4), which chiffre needs only inside XEdDSA (the nonce and the challenge
 * hash of every signature). Written here rather than imported so that the main entry does not
 * carry noble's whole SHA-2 module for it (about 2.9 KiB of the gzipped bundle); tested against
 * noble on random inputs and against the FIPS 180-4 examples.
 *
 * 64-bit words are pairs of 32-bit halves. The round constants and the initial hash value are
 * computed from their definition (the first 64 fractional bits of the cube roots of the first 80
 * primes, and of the square roots of the first 8) once, on first use. No secret-dependent
 * branches or indices; the message schedule is wiped after every call.
 *
 * @module
 */

import { hashBlocks, plainParts } from './merkle-damgard.js';

const BLOCK = 128;
/** Length of a SHA-512 digest in bytes. */
export const SHA512_LENGTH = 64;

/** floor(n^(1/k)) for k = 2 or 3, by Newton's method from above. */
function integerRoot(n: bigint, k: 2n | 3n): bigint {
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / Number(k)) + 1);
  for (;;) {
    const next = ((k - 1n) * x + n / x ** (k - 1n)) / k;
    if (next >= x) return x;
    x = next;
  }
}

/** The first 64 fractional bits of the k-th root of `p`, as [high, low] 32-bit halves. */
function fractionalBits(p: number, k: 2n | 3n): [number, number] {
  const v = integerRoot(BigInt(p) << (64n * k), k) & 0xffff_ffff_ffff_ffffn;
  return [Number(v >> 32n) | 0, Number(v & 0xffff_ffffn) | 0];
}

// Round constants (high and low halves) and the initial hash value H(0) (eight words as 16
// halves, high first), computed on first use.
let KH: Int32Array | undefined;
let KL: Int32Array | undefined;
let IV: Int32Array | undefined;

function initialState(): Int32Array {
  if (IV === undefined) {
    const primes: number[] = [];
    for (let n = 2; primes.length < 80; n++) {
      if (primes.every((p) => n % p !== 0)) primes.push(n);
    }
    const kh = new Int32Array(80);
    const kl = new Int32Array(80);
    primes.forEach((p, i) => {
      [kh[i], kl[i]] = fractionalBits(p, 3n);
    });
    const iv = new Int32Array(16);
    for (let i = 0; i < 8; i++) {
      [iv[2 * i], iv[2 * i + 1]] = fractionalBits(primes[i] as number, 2n);
    }
    KH = kh;
    KL = kl;
    IV = iv;
  }
  return IV.slice();
}

// Message schedule, shared by every call (nothing here yields, and inputs pass `plainParts`, so
// no caller code runs during a call) and wiped after each.
const WH = new Int32Array(80);
const WL = new Int32Array(80);

/** One compression of `block[offset .. offset + 128]` into `h` (16 halves, high first). */
function compress(h: Int32Array, block: Uint8Array, offset: number): void {
  const kh = KH as Int32Array;
  const kl = KL as Int32Array;
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 8;
    WH[i] =
      ((block[j] as number) << 24) |
      ((block[j + 1] as number) << 16) |
      ((block[j + 2] as number) << 8) |
      (block[j + 3] as number);
    WL[i] =
      ((block[j + 4] as number) << 24) |
      ((block[j + 5] as number) << 16) |
      ((block[j + 6] as number) << 8) |
      (block[j + 7] as number);
  }
  for (let i = 16; i < 80; i++) {
    // σ0(w15) = rotr 1 ^ rotr 8 ^ shr 7; σ1(w2) = rotr 19 ^ rotr 61 ^ shr 6.
    const ah = WH[i - 15] as number;
    const al = WL[i - 15] as number;
    const s0h = ((ah >>> 1) | (al << 31)) ^ ((ah >>> 8) | (al << 24)) ^ (ah >>> 7);
    const s0l = ((al >>> 1) | (ah << 31)) ^ ((al >>> 8) | (ah << 24)) ^ ((al >>> 7) | (ah << 25));
    const bh = WH[i - 2] as number;
    const bl = WL[i - 2] as number;
    const s1h = ((bh >>> 19) | (bl << 13)) ^ ((bl >>> 29) | (bh << 3)) ^ (bh >>> 6);
    const s1l = ((bl >>> 19) | (bh << 13)) ^ ((bh >>> 29) | (bl << 3)) ^ ((bl >>> 6) | (bh << 26));
    const lo =
      (s0l >>> 0) + (s1l >>> 0) + ((WL[i - 7] as number) >>> 0) + ((WL[i - 16] as number) >>> 0);
    WL[i] = lo | 0;
    WH[i] =
      (s0h +
        s1h +
        (WH[i - 7] as number) +
        (WH[i - 16] as number) +
        Math.floor(lo / 0x1_0000_0000)) |
      0;
  }
  let ah = h[0] as number;
  let al = h[1] as number;
  let bh = h[2] as number;
  let bl = h[3] as number;
  let ch = h[4] as number;
  let cl = h[5] as number;
  let dh = h[6] as number;
  let dl = h[7] as number;
  let eh = h[8] as number;
  let el = h[9] as number;
  let fh = h[10] as number;
  let fl = h[11] as number;
  let gh = h[12] as number;
  let gl = h[13] as number;
  let hh = h[14] as number;
  let hl = h[15] as number;
  for (let i = 0; i < 80; i++) {
    // Σ1(e) = rotr 14 ^ rotr 18 ^ rotr 41; Ch(e, f, g) = (e & f) ^ (~e & g).
    const S1h = ((eh >>> 14) | (el << 18)) ^ ((eh >>> 18) | (el << 14)) ^ ((el >>> 9) | (eh << 23));
    const S1l = ((el >>> 14) | (eh << 18)) ^ ((el >>> 18) | (eh << 14)) ^ ((eh >>> 9) | (el << 23));
    const chh = (eh & fh) ^ (~eh & gh);
    const chl = (el & fl) ^ (~el & gl);
    const t1lo =
      (hl >>> 0) +
      (S1l >>> 0) +
      (chl >>> 0) +
      ((kl[i] as number) >>> 0) +
      ((WL[i] as number) >>> 0);
    const t1l = t1lo | 0;
    const t1h =
      (hh + S1h + chh + (kh[i] as number) + (WH[i] as number) + Math.floor(t1lo / 0x1_0000_0000)) |
      0;
    // Σ0(a) = rotr 28 ^ rotr 34 ^ rotr 39; Maj(a, b, c) = (a & b) ^ (a & c) ^ (b & c).
    const S0h = ((ah >>> 28) | (al << 4)) ^ ((al >>> 2) | (ah << 30)) ^ ((al >>> 7) | (ah << 25));
    const S0l = ((al >>> 28) | (ah << 4)) ^ ((ah >>> 2) | (al << 30)) ^ ((ah >>> 7) | (al << 25));
    const majh = (ah & bh) ^ (ah & ch) ^ (bh & ch);
    const majl = (al & bl) ^ (al & cl) ^ (bl & cl);
    const t2lo = (S0l >>> 0) + (majl >>> 0);
    const t2l = t2lo | 0;
    const t2h = (S0h + majh + Math.floor(t2lo / 0x1_0000_0000)) | 0;
    hh = gh;
    hl = gl;
    gh = fh;
    gl = fl;
    fh = eh;
    fl = el;
    const elo = (dl >>> 0) + (t1l >>> 0);
    el = elo | 0;
    eh = (dh + t1h + Math.floor(elo / 0x1_0000_0000)) | 0;
    dh = ch;
    dl = cl;
    ch = bh;
    cl = bl;
    bh = ah;
    bl = al;
    const alo = (t1l >>> 0) + (t2l >>> 0);
    al = alo | 0;
    ah = (t1h + t2h + Math.floor(alo / 0x1_0000_0000)) | 0;
  }
  const words = [ah, al, bh, bl, ch, cl, dh, dl, eh, el, fh, fl, gh, gl, hh, hl];
  for (let i = 0; i < 16; i += 2) {
    const lo = ((h[i + 1] as number) >>> 0) + ((words[i + 1] as number) >>> 0);
    h[i + 1] = lo | 0;
    h[i] = ((h[i] as number) + (words[i] as number) + Math.floor(lo / 0x1_0000_0000)) | 0;
  }
}

/** SHA-512 of the concatenation of `parts`. */
export function sha512Parts(...input: Uint8Array[]): Uint8Array {
  const parts = plainParts(input);
  const h = initialState();
  const pending = new Uint8Array(BLOCK);
  try {
    hashBlocks(h, compress, pending, 16, parts, 0);
    const out = new Uint8Array(SHA512_LENGTH);
    for (let i = 0; i < 16; i++) {
      const v = h[i] as number;
      out[i * 4] = v >>> 24;
      out[i * 4 + 1] = v >>> 16;
      out[i * 4 + 2] = v >>> 8;
      out[i * 4 + 3] = v;
    }
    return out;
  } finally {
    h.fill(0);
    pending.fill(0);
    WH.fill(0);
    WL.fill(0);
  }
}
