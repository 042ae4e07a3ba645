/**
 * Keccak-f[1600] and the SHA-3 functions built on it (FIPS 202): SHA3-256, SHA3-512, SHAKE256,
 * and SHAKE128 as a block reader. Written for ML-KEM, which runs hundreds of permutations per
 * handshake: the permutation keeps the state in 50 local 32-bit variables and spells each round
 * out, which measured about 2.5 times faster than a loop over a state array.
 *
 * State layout: lane `x + 5y` (FIPS 202 §3.1.2) is words `2(x + 5y)` (bits 0–31) and
 * `2(x + 5y) + 1` (bits 32–63) of an `Int32Array(50)`. Bytes enter and leave little-endian (byte
 * `i` of the rate is bits `8(i mod 8)…` of lane `i >> 3`), whatever the platform's byte order.
 *
 * The permutation is data-independent (no branch or table index depends on the state). A hash
 * wipes its sponge state when it finishes; a {@link Shake128Reader} keeps its state until
 * {@link Shake128Reader.wipe}.
 *
 * @module
 * @internal
 */

/** Rounds of Keccak-f[1600]. */
const ROUNDS = 24;

/** The round constants (FIPS 202 §3.2.5), low and high 32-bit halves, from the rc(t) LFSR. */
const RC_LO = new Int32Array(ROUNDS);
const RC_HI = new Int32Array(ROUNDS);
{
  let lfsr = 1;
  for (let round = 0; round < ROUNDS; round++) {
    for (let j = 0; j < 7; j++) {
      if ((lfsr & 1) !== 0) {
        const bit = (1 << j) - 1; // bit 2^j − 1 of the lane
        if (bit < 32) RC_LO[round] = (RC_LO[round] as number) | (1 << bit);
        else RC_HI[round] = (RC_HI[round] as number) | (1 << (bit - 32));
      }
      lfsr = ((lfsr << 1) ^ ((lfsr & 0x80) !== 0 ? 0x71 : 0)) & 0xff;
    }
  }
}

/**
 * Keccak-f[1600] on `s` in place. Each round is spelled out: θ (column parities `c`, then
 * `d[x] = c[x−1] ⊕ rot(c[x+1], 1)` added to every lane of column x), ρ and π together (lane
 * (x, y), rotated by its FIPS 202 offset, moves to (y, 2x + 3y)), χ (`b[x] ⊕ (¬b[x+1] ∧ b[x+2])`
 * along each row) and ι (the round constant into lane 0). Variables: `l`/`h` are the low and high
 * halves of lane i, `c`/`d` the θ values of column x, `t` lane i after θ, `b` lane j after ρ and
 * π. A 64-bit rotation by n is two 32-bit shifts per half, the halves trading places when n ≥ 32.
 */
export function keccakF1600(s: Int32Array): void {
  let l0 = s[0] as number;
  let h0 = s[1] as number;
  let l1 = s[2] as number;
  let h1 = s[3] as number;
  let l2 = s[4] as number;
  let h2 = s[5] as number;
  let l3 = s[6] as number;
  let h3 = s[7] as number;
  let l4 = s[8] as number;
  let h4 = s[9] as number;
  let l5 = s[10] as number;
  let h5 = s[11] as number;
  let l6 = s[12] as number;
  let h6 = s[13] as number;
  let l7 = s[14] as number;
  let h7 = s[15] as number;
  let l8 = s[16] as number;
  let h8 = s[17] as number;
  let l9 = s[18] as number;
  let h9 = s[19] as number;
  let l10 = s[20] as number;
  let h10 = s[21] as number;
  let l11 = s[22] as number;
  let h11 = s[23] as number;
  let l12 = s[24] as number;
  let h12 = s[25] as number;
  let l13 = s[26] as number;
  let h13 = s[27] as number;
  let l14 = s[28] as number;
  let h14 = s[29] as number;
  let l15 = s[30] as number;
  let h15 = s[31] as number;
  let l16 = s[32] as number;
  let h16 = s[33] as number;
  let l17 = s[34] as number;
  let h17 = s[35] as number;
  let l18 = s[36] as number;
  let h18 = s[37] as number;
  let l19 = s[38] as number;
  let h19 = s[39] as number;
  let l20 = s[40] as number;
  let h20 = s[41] as number;
  let l21 = s[42] as number;
  let h21 = s[43] as number;
  let l22 = s[44] as number;
  let h22 = s[45] as number;
  let l23 = s[46] as number;
  let h23 = s[47] as number;
  let l24 = s[48] as number;
  let h24 = s[49] as number;
  for (let round = 0; round < ROUNDS; round++) {
    const cl0 = l0 ^ l5 ^ l10 ^ l15 ^ l20;
    const ch0 = h0 ^ h5 ^ h10 ^ h15 ^ h20;
    const cl1 = l1 ^ l6 ^ l11 ^ l16 ^ l21;
    const ch1 = h1 ^ h6 ^ h11 ^ h16 ^ h21;
    const cl2 = l2 ^ l7 ^ l12 ^ l17 ^ l22;
    const ch2 = h2 ^ h7 ^ h12 ^ h17 ^ h22;
    const cl3 = l3 ^ l8 ^ l13 ^ l18 ^ l23;
    const ch3 = h3 ^ h8 ^ h13 ^ h18 ^ h23;
    const cl4 = l4 ^ l9 ^ l14 ^ l19 ^ l24;
    const ch4 = h4 ^ h9 ^ h14 ^ h19 ^ h24;
    const dl0 = cl4 ^ ((cl1 << 1) | (ch1 >>> 31));
    const dh0 = ch4 ^ ((ch1 << 1) | (cl1 >>> 31));
    const dl1 = cl0 ^ ((cl2 << 1) | (ch2 >>> 31));
    const dh1 = ch0 ^ ((ch2 << 1) | (cl2 >>> 31));
    const dl2 = cl1 ^ ((cl3 << 1) | (ch3 >>> 31));
    const dh2 = ch1 ^ ((ch3 << 1) | (cl3 >>> 31));
    const dl3 = cl2 ^ ((cl4 << 1) | (ch4 >>> 31));
    const dh3 = ch2 ^ ((ch4 << 1) | (cl4 >>> 31));
    const dl4 = cl3 ^ ((cl0 << 1) | (ch0 >>> 31));
    const dh4 = ch3 ^ ((ch0 << 1) | (cl0 >>> 31));
    const tl0 = l0 ^ dl0;
    const th0 = h0 ^ dh0;
    const bl0 = tl0;
    const bh0 = th0;
    const tl1 = l1 ^ dl1;
    const th1 = h1 ^ dh1;
    const bl10 = (tl1 << 1) | (th1 >>> 31);
    const bh10 = (th1 << 1) | (tl1 >>> 31);
    const tl2 = l2 ^ dl2;
    const th2 = h2 ^ dh2;
    const bl20 = (th2 << 30) | (tl2 >>> 2);
    const bh20 = (tl2 << 30) | (th2 >>> 2);
    const tl3 = l3 ^ dl3;
    const th3 = h3 ^ dh3;
    const bl5 = (tl3 << 28) | (th3 >>> 4);
    const bh5 = (th3 << 28) | (tl3 >>> 4);
    const tl4 = l4 ^ dl4;
    const th4 = h4 ^ dh4;
    const bl15 = (tl4 << 27) | (th4 >>> 5);
    const bh15 = (th4 << 27) | (tl4 >>> 5);
    const tl5 = l5 ^ dl0;
    const th5 = h5 ^ dh0;
    const bl16 = (th5 << 4) | (tl5 >>> 28);
    const bh16 = (tl5 << 4) | (th5 >>> 28);
    const tl6 = l6 ^ dl1;
    const th6 = h6 ^ dh1;
    const bl1 = (th6 << 12) | (tl6 >>> 20);
    const bh1 = (tl6 << 12) | (th6 >>> 20);
    const tl7 = l7 ^ dl2;
    const th7 = h7 ^ dh2;
    const bl11 = (tl7 << 6) | (th7 >>> 26);
    const bh11 = (th7 << 6) | (tl7 >>> 26);
    const tl8 = l8 ^ dl3;
    const th8 = h8 ^ dh3;
    const bl21 = (th8 << 23) | (tl8 >>> 9);
    const bh21 = (tl8 << 23) | (th8 >>> 9);
    const tl9 = l9 ^ dl4;
    const th9 = h9 ^ dh4;
    const bl6 = (tl9 << 20) | (th9 >>> 12);
    const bh6 = (th9 << 20) | (tl9 >>> 12);
    const tl10 = l10 ^ dl0;
    const th10 = h10 ^ dh0;
    const bl7 = (tl10 << 3) | (th10 >>> 29);
    const bh7 = (th10 << 3) | (tl10 >>> 29);
    const tl11 = l11 ^ dl1;
    const th11 = h11 ^ dh1;
    const bl17 = (tl11 << 10) | (th11 >>> 22);
    const bh17 = (th11 << 10) | (tl11 >>> 22);
    const tl12 = l12 ^ dl2;
    const th12 = h12 ^ dh2;
    const bl2 = (th12 << 11) | (tl12 >>> 21);
    const bh2 = (tl12 << 11) | (th12 >>> 21);
    const tl13 = l13 ^ dl3;
    const th13 = h13 ^ dh3;
    const bl12 = (tl13 << 25) | (th13 >>> 7);
    const bh12 = (th13 << 25) | (tl13 >>> 7);
    const tl14 = l14 ^ dl4;
    const th14 = h14 ^ dh4;
    const bl22 = (th14 << 7) | (tl14 >>> 25);
    const bh22 = (tl14 << 7) | (th14 >>> 25);
    const tl15 = l15 ^ dl0;
    const th15 = h15 ^ dh0;
    const bl23 = (th15 << 9) | (tl15 >>> 23);
    const bh23 = (tl15 << 9) | (th15 >>> 23);
    const tl16 = l16 ^ dl1;
    const th16 = h16 ^ dh1;
    const bl8 = (th16 << 13) | (tl16 >>> 19);
    const bh8 = (tl16 << 13) | (th16 >>> 19);
    const tl17 = l17 ^ dl2;
    const th17 = h17 ^ dh2;
    const bl18 = (tl17 << 15) | (th17 >>> 17);
    const bh18 = (th17 << 15) | (tl17 >>> 17);
    const tl18 = l18 ^ dl3;
    const th18 = h18 ^ dh3;
    const bl3 = (tl18 << 21) | (th18 >>> 11);
    const bh3 = (th18 << 21) | (tl18 >>> 11);
    const tl19 = l19 ^ dl4;
    const th19 = h19 ^ dh4;
    const bl13 = (tl19 << 8) | (th19 >>> 24);
    const bh13 = (th19 << 8) | (tl19 >>> 24);
    const tl20 = l20 ^ dl0;
    const th20 = h20 ^ dh0;
    const bl14 = (tl20 << 18) | (th20 >>> 14);
    const bh14 = (th20 << 18) | (tl20 >>> 14);
    const tl21 = l21 ^ dl1;
    const th21 = h21 ^ dh1;
    const bl24 = (tl21 << 2) | (th21 >>> 30);
    const bh24 = (th21 << 2) | (tl21 >>> 30);
    const tl22 = l22 ^ dl2;
    const th22 = h22 ^ dh2;
    const bl9 = (th22 << 29) | (tl22 >>> 3);
    const bh9 = (tl22 << 29) | (th22 >>> 3);
    const tl23 = l23 ^ dl3;
    const th23 = h23 ^ dh3;
    const bl19 = (th23 << 24) | (tl23 >>> 8);
    const bh19 = (tl23 << 24) | (th23 >>> 8);
    const tl24 = l24 ^ dl4;
    const th24 = h24 ^ dh4;
    const bl4 = (tl24 << 14) | (th24 >>> 18);
    const bh4 = (th24 << 14) | (tl24 >>> 18);
    l0 = bl0 ^ (~bl1 & bl2) ^ (RC_LO[round] as number);
    h0 = bh0 ^ (~bh1 & bh2) ^ (RC_HI[round] as number);
    l1 = bl1 ^ (~bl2 & bl3);
    h1 = bh1 ^ (~bh2 & bh3);
    l2 = bl2 ^ (~bl3 & bl4);
    h2 = bh2 ^ (~bh3 & bh4);
    l3 = bl3 ^ (~bl4 & bl0);
    h3 = bh3 ^ (~bh4 & bh0);
    l4 = bl4 ^ (~bl0 & bl1);
    h4 = bh4 ^ (~bh0 & bh1);
    l5 = bl5 ^ (~bl6 & bl7);
    h5 = bh5 ^ (~bh6 & bh7);
    l6 = bl6 ^ (~bl7 & bl8);
    h6 = bh6 ^ (~bh7 & bh8);
    l7 = bl7 ^ (~bl8 & bl9);
    h7 = bh7 ^ (~bh8 & bh9);
    l8 = bl8 ^ (~bl9 & bl5);
    h8 = bh8 ^ (~bh9 & bh5);
    l9 = bl9 ^ (~bl5 & bl6);
    h9 = bh9 ^ (~bh5 & bh6);
    l10 = bl10 ^ (~bl11 & bl12);
    h10 = bh10 ^ (~bh11 & bh12);
    l11 = bl11 ^ (~bl12 & bl13);
    h11 = bh11 ^ (~bh12 & bh13);
    l12 = bl12 ^ (~bl13 & bl14);
    h12 = bh12 ^ (~bh13 & bh14);
    l13 = bl13 ^ (~bl14 & bl10);
    h13 = bh13 ^ (~bh14 & bh10);
    l14 = bl14 ^ (~bl10 & bl11);
    h14 = bh14 ^ (~bh10 & bh11);
    l15 = bl15 ^ (~bl16 & bl17);
    h15 = bh15 ^ (~bh16 & bh17);
    l16 = bl16 ^ (~bl17 & bl18);
    h16 = bh16 ^ (~bh17 & bh18);
    l17 = bl17 ^ (~bl18 & bl19);
    h17 = bh17 ^ (~bh18 & bh19);
    l18 = bl18 ^ (~bl19 & bl15);
    h18 = bh18 ^ (~bh19 & bh15);
    l19 = bl19 ^ (~bl15 & bl16);
    h19 = bh19 ^ (~bh15 & bh16);
    l20 = bl20 ^ (~bl21 & bl22);
    h20 = bh20 ^ (~bh21 & bh22);
    l21 = bl21 ^ (~bl22 & bl23);
    h21 = bh21 ^ (~bh22 & bh23);
    l22 = bl22 ^ (~bl23 & bl24);
    h22 = bh22 ^ (~bh23 & bh24);
    l23 = bl23 ^ (~bl24 & bl20);
    h23 = bh23 ^ (~bh24 & bh20);
    l24 = bl24 ^ (~bl20 & bl21);
    h24 = bh24 ^ (~bh20 & bh21);
  }
  s[0] = l0;
  s[1] = h0;
  s[2] = l1;
  s[3] = h1;
  s[4] = l2;
  s[5] = h2;
  s[6] = l3;
  s[7] = h3;
  s[8] = l4;
  s[9] = h4;
  s[10] = l5;
  s[11] = h5;
  s[12] = l6;
  s[13] = h6;
  s[14] = l7;
  s[15] = h7;
  s[16] = l8;
  s[17] = h8;
  s[18] = l9;
  s[19] = h9;
  s[20] = l10;
  s[21] = h10;
  s[22] = l11;
  s[23] = h11;
  s[24] = l12;
  s[25] = h12;
  s[26] = l13;
  s[27] = h13;
  s[28] = l14;
  s[29] = h14;
  s[30] = l15;
  s[31] = h15;
  s[32] = l16;
  s[33] = h16;
  s[34] = l17;
  s[35] = h17;
  s[36] = l18;
  s[37] = h18;
  s[38] = l19;
  s[39] = h19;
  s[40] = l20;
  s[41] = h20;
  s[42] = l21;
  s[43] = h21;
  s[44] = l22;
  s[45] = h22;
  s[46] = l23;
  s[47] = h23;
  s[48] = l24;
  s[49] = h24;
}

/** Rates in bytes, `200 − capacity / 8` (FIPS 202 §6.1–6.2). */
const RATE_SHA3_256 = 136;
const RATE_SHA3_512 = 72;
const RATE_SHAKE128 = 168;
const RATE_SHAKE256 = 136;
/** The domain bits and the first bit of pad10*1, as one byte: SHA-3 appends `01`, SHAKE `1111`. */
const SUFFIX_SHA3 = 0x06;
const SUFFIX_SHAKE = 0x1f;

/**
 * One spare state, so that a hash allocates none. A hash called while another is running (an
 * input whose element reads run code) finds it taken and allocates its own.
 */
let spareState: Int32Array | undefined = new Int32Array(50);

function takeState(): Int32Array {
  const s = spareState ?? new Int32Array(50);
  spareState = undefined;
  return s;
}

function releaseState(s: Int32Array): void {
  s.fill(0);
  spareState = s;
}

/** XOR `data` into the rate from byte `pos`, permuting whenever the rate fills; the new `pos`. */
function absorb(s: Int32Array, rate: number, pos: number, data: Uint8Array): number {
  let p = pos;
  let i = 0;
  const n = data.length;
  while (i < n) {
    if ((p & 3) === 0 && i + 4 <= n) {
      // A whole word: rates are multiples of 8, so it never straddles the end of the rate.
      s[p >> 2] =
        (s[p >> 2] as number) ^
        ((data[i] as number) |
          ((data[i + 1] as number) << 8) |
          ((data[i + 2] as number) << 16) |
          ((data[i + 3] as number) << 24));
      p += 4;
      i += 4;
    } else {
      s[p >> 2] = (s[p >> 2] as number) ^ ((data[i] as number) << ((p & 3) << 3));
      p++;
      i++;
    }
    if (p === rate) {
      keccakF1600(s);
      p = 0;
    }
  }
  return p;
}

/** Append the suffix and pad10*1 after byte `pos`, then permute: the first output block is ready. */
function pad(s: Int32Array, rate: number, pos: number, suffix: number): void {
  s[pos >> 2] = (s[pos >> 2] as number) ^ (suffix << ((pos & 3) << 3));
  const last = rate - 1;
  s[last >> 2] = (s[last >> 2] as number) ^ (0x80 << ((last & 3) << 3));
  keccakF1600(s);
}

/** Copy the first `n` bytes of the rate to `out[offset…]`. */
function readRate(s: Int32Array, out: Uint8Array, offset: number, n: number): void {
  for (let i = 0; i < n; i++) out[offset + i] = (s[i >> 2] as number) >>> ((i & 3) << 3);
}

function sponge(
  rate: number,
  suffix: number,
  parts: readonly Uint8Array[],
  length: number,
): Uint8Array {
  const out = new Uint8Array(length);
  const s = takeState();
  try {
    let pos = 0;
    for (const part of parts) pos = absorb(s, rate, pos, part);
    pad(s, rate, pos, suffix);
    for (let done = 0; ;) {
      const n = Math.min(rate, length - done);
      readRate(s, out, done, n);
      done += n;
      if (done === length) break;
      keccakF1600(s);
    }
  } finally {
    releaseState(s);
  }
  return out;
}

/** SHA3-256 of the concatenation of `parts`. */
export function sha3_256Parts(...parts: Uint8Array[]): Uint8Array {
  return sponge(RATE_SHA3_256, SUFFIX_SHA3, parts, 32);
}

/** SHA3-512 of the concatenation of `parts`. */
export function sha3_512Parts(...parts: Uint8Array[]): Uint8Array {
  return sponge(RATE_SHA3_512, SUFFIX_SHA3, parts, 64);
}

/** SHAKE256 of the concatenation of `parts`, `length` bytes (the caller bounds `length`). */
export function shake256Parts(parts: readonly Uint8Array[], length: number): Uint8Array {
  return sponge(RATE_SHAKE256, SUFFIX_SHAKE, parts, length);
}

/**
 * SHAKE128 output read one 168-byte block at a time, as ML-KEM's matrix sampling consumes it.
 * Holds its own state (the input may be secret in other uses): call {@link Shake128Reader.wipe}.
 */
export class Shake128Reader {
  readonly #s = new Int32Array(50);
  /** The most recent block; overwritten by every {@link Shake128Reader.next}. */
  readonly block: Uint8Array = new Uint8Array(RATE_SHAKE128);

  /** @param parts - the input, concatenated */
  constructor(...parts: Uint8Array[]) {
    try {
      let pos = 0;
      for (const part of parts) pos = absorb(this.#s, RATE_SHAKE128, pos, part);
      pad(this.#s, RATE_SHAKE128, pos, SUFFIX_SHAKE);
    } catch (e) {
      this.#s.fill(0);
      throw e;
    }
  }

  /** The next 168 output bytes, in {@link Shake128Reader.block}. */
  next(): Uint8Array {
    readRate(this.#s, this.block, 0, RATE_SHAKE128);
    keccakF1600(this.#s);
    return this.block;
  }

  /** Clear the state and the last block. */
  wipe(): void {
    this.#s.fill(0);
    this.block.fill(0);
  }
}
