/**
 * AES-256-CBC with PKCS#7 padding, as libsignal uses for message bodies (FIPS 197, SP 800-38A).
 *
 * chiffre's own code: the classic four-table formulation, where one round of a column is four
 * lookups in 1 KiB tables and a key XOR. noble's AES, which this replaced, merges the tables
 * pairwise into 256 KiB ones; those are faster in a loop that does nothing else, but in a
 * session, where hashing and encoding run between two encryptions, they fall out of the CPU
 * caches, and the small tables won by about 15% per message. `@noble/ciphers` remains the test
 * oracle.
 *
 * Timing: the lookups are indexed by state bytes, as in every table-based AES (noble's
 * included), so cache timing depends on the data; see docs/security.md.
 *
 * @module
 */
import { assertBytes } from './bytes.js';

const ROUNDS = 14;
/** Round-key words of AES-256: (ROUNDS + 1) four-word round keys. */
const SCHEDULE_WORDS = 4 * (ROUNDS + 1);

/** Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1 (table setup only). */
function gfMul(a: number, b: number): number {
  let product = 0;
  for (let x = a, y = b; y !== 0; y >>>= 1) {
    if ((y & 1) !== 0) product ^= x;
    x = (x << 1) ^ ((x & 0x80) !== 0 ? 0x11b : 0);
  }
  return product;
}

/** The S-box, its inverse, and the round tables; built once at module load (about 0.1 ms). */
const SBOX = new Uint8Array(256);
const INV_SBOX = new Uint8Array(256);
// ENC[256·r + b]: the column that S-box output of byte b contributes in row r after MixColumns,
// packed big-endian (row 0 in the top byte). DEC likewise for InvSubBytes then InvMixColumns.
const ENC = new Int32Array(1024);
const DEC = new Int32Array(1024);

{
  // Walk the multiplicative group with generator 3 to get each byte's inverse, then apply the
  // affine map of FIPS 197 §5.1.1.
  const exp = new Uint8Array(255);
  const log = new Uint8Array(256);
  for (let i = 0, x = 1; i < 255; i++) {
    exp[i] = x;
    log[x] = i;
    x = gfMul(x, 3);
  }
  for (let b = 0; b < 256; b++) {
    const inv = b === 0 ? 0 : (exp[(255 - (log[b] as number)) % 255] as number);
    let s = inv;
    for (let shift = 1; shift <= 4; shift++) s ^= ((inv << shift) | (inv >>> (8 - shift))) & 0xff;
    s ^= 0x63;
    SBOX[b] = s;
    INV_SBOX[s] = b;
  }
  for (let b = 0; b < 256; b++) {
    const s = SBOX[b] as number;
    const e = (gfMul(s, 2) << 24) | (s << 16) | (s << 8) | gfMul(s, 3);
    const v = INV_SBOX[b] as number;
    const d = (gfMul(v, 14) << 24) | (gfMul(v, 9) << 16) | (gfMul(v, 13) << 8) | gfMul(v, 11);
    for (let r = 0; r < 4; r++) {
      ENC[256 * r + b] = (e >>> (8 * r)) | (e << (32 - 8 * r));
      DEC[256 * r + b] = (d >>> (8 * r)) | (d << (32 - 8 * r));
    }
  }
}

// Round keys live in these two buffers for the length of one call and are wiped before it
// returns. The functions are synchronous, and they copy every input into a plain array before
// the first round key is written, so no caller code (a Proxy's trap, a subclass's getter) runs
// while the buffers are in use and no two calls share them.
const encryptionKeys = new Int32Array(SCHEDULE_WORDS);
const decryptionKeys = new Int32Array(SCHEDULE_WORDS);

/**
 * Four S-box lookups packed into a word: the top byte of `a`, the second of `b`, the third of `c`
 * and the low byte of `d`, each through `box`. With one word four times it is SubWord of the key
 * expansion; with the rotated state words, the last round's SubBytes and (Inv)ShiftRows.
 */
function sboxWord(box: Uint8Array, a: number, b: number, c: number, d: number): number {
  return (
    ((box[a >>> 24] as number) << 24) |
    ((box[(b >>> 16) & 0xff] as number) << 16) |
    ((box[(c >>> 8) & 0xff] as number) << 8) |
    (box[d & 0xff] as number)
  );
}

/** FIPS 197 §5.2 key expansion for a 32-byte key into {@link encryptionKeys}. */
function expandKey(key: Uint8Array): void {
  const w = encryptionKeys;
  for (let i = 0; i < 8; i++) w[i] = readWord(key, 4 * i);
  for (let i = 8, rcon = 1; i < SCHEDULE_WORDS; i++) {
    let t = w[i - 1] as number;
    if (i % 8 === 0) {
      const rotated = (t << 8) | (t >>> 24);
      t = sboxWord(SBOX, rotated, rotated, rotated, rotated) ^ (rcon << 24);
      rcon = gfMul(rcon, 2);
    } else if (i % 8 === 4) {
      t = sboxWord(SBOX, t, t, t, t);
    }
    w[i] = (w[i - 8] as number) ^ t;
  }
}

/**
 * Round keys for the equivalent inverse cipher (FIPS 197 §5.3.5) into {@link decryptionKeys}:
 * the encryption keys in reverse round order, with InvMixColumns applied to all but the first
 * and last. `DEC[SBOX[b]]` is InvMixColumns of a lone byte b, so four lookups do a column.
 */
function expandDecryptionKey(key: Uint8Array): void {
  expandKey(key);
  const e = encryptionKeys;
  const d = decryptionKeys;
  for (let round = 0; round <= ROUNDS; round++) {
    for (let j = 0; j < 4; j++) {
      const w = e[4 * (ROUNDS - round) + j] as number;
      d[4 * round + j] =
        round === 0 || round === ROUNDS
          ? w
          : (DEC[SBOX[w >>> 24] as number] as number) ^
            (DEC[256 + (SBOX[(w >>> 16) & 0xff] as number)] as number) ^
            (DEC[512 + (SBOX[(w >>> 8) & 0xff] as number)] as number) ^
            (DEC[768 + (SBOX[w & 0xff] as number)] as number);
    }
  }
  e.fill(0);
}

function readWord(b: Uint8Array, o: number): number {
  return (
    ((b[o] as number) << 24) |
    ((b[o + 1] as number) << 16) |
    ((b[o + 2] as number) << 8) |
    (b[o + 3] as number)
  );
}

function writeWord(b: Uint8Array, o: number, w: number): void {
  b[o] = w >>> 24;
  b[o + 1] = w >>> 16;
  b[o + 2] = w >>> 8;
  b[o + 3] = w;
}

/**
 * Encrypt `data` in place, block after block, chaining from `iv`. `data.length` is a multiple of
 * 16; the round keys are in {@link encryptionKeys}.
 */
function cbcEncryptInPlace(iv: Uint8Array, data: Uint8Array): void {
  const k = encryptionKeys;
  let c0 = readWord(iv, 0);
  let c1 = readWord(iv, 4);
  let c2 = readWord(iv, 8);
  let c3 = readWord(iv, 12);
  for (let o = 0; o < data.length; o += 16) {
    let s0 = readWord(data, o) ^ c0 ^ (k[0] as number);
    let s1 = readWord(data, o + 4) ^ c1 ^ (k[1] as number);
    let s2 = readWord(data, o + 8) ^ c2 ^ (k[2] as number);
    let s3 = readWord(data, o + 12) ^ c3 ^ (k[3] as number);
    for (let r = 4; r < 4 * ROUNDS; r += 4) {
      // SubBytes, ShiftRows (row i of column j comes from column j + i) and MixColumns.
      const t0 =
        (ENC[s0 >>> 24] as number) ^
        (ENC[256 + ((s1 >>> 16) & 0xff)] as number) ^
        (ENC[512 + ((s2 >>> 8) & 0xff)] as number) ^
        (ENC[768 + (s3 & 0xff)] as number) ^
        (k[r] as number);
      const t1 =
        (ENC[s1 >>> 24] as number) ^
        (ENC[256 + ((s2 >>> 16) & 0xff)] as number) ^
        (ENC[512 + ((s3 >>> 8) & 0xff)] as number) ^
        (ENC[768 + (s0 & 0xff)] as number) ^
        (k[r + 1] as number);
      const t2 =
        (ENC[s2 >>> 24] as number) ^
        (ENC[256 + ((s3 >>> 16) & 0xff)] as number) ^
        (ENC[512 + ((s0 >>> 8) & 0xff)] as number) ^
        (ENC[768 + (s1 & 0xff)] as number) ^
        (k[r + 2] as number);
      const t3 =
        (ENC[s3 >>> 24] as number) ^
        (ENC[256 + ((s0 >>> 16) & 0xff)] as number) ^
        (ENC[512 + ((s1 >>> 8) & 0xff)] as number) ^
        (ENC[768 + (s2 & 0xff)] as number) ^
        (k[r + 3] as number);
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
    }
    // The last round has no MixColumns: S-box bytes only.
    const last = 4 * ROUNDS;
    c0 = sboxWord(SBOX, s0, s1, s2, s3) ^ (k[last] as number);
    c1 = sboxWord(SBOX, s1, s2, s3, s0) ^ (k[last + 1] as number);
    c2 = sboxWord(SBOX, s2, s3, s0, s1) ^ (k[last + 2] as number);
    c3 = sboxWord(SBOX, s3, s0, s1, s2) ^ (k[last + 3] as number);
    writeWord(data, o, c0);
    writeWord(data, o + 4, c1);
    writeWord(data, o + 8, c2);
    writeWord(data, o + 12, c3);
  }
}

/**
 * Decrypt `data` in place (a multiple of 16 bytes), chaining from `iv`; the round keys are in
 * {@link decryptionKeys}.
 */
function cbcDecryptInPlace(iv: Uint8Array, data: Uint8Array): void {
  const k = decryptionKeys;
  let p0 = readWord(iv, 0);
  let p1 = readWord(iv, 4);
  let p2 = readWord(iv, 8);
  let p3 = readWord(iv, 12);
  for (let o = 0; o < data.length; o += 16) {
    const x0 = readWord(data, o);
    const x1 = readWord(data, o + 4);
    const x2 = readWord(data, o + 8);
    const x3 = readWord(data, o + 12);
    let s0 = x0 ^ (k[0] as number);
    let s1 = x1 ^ (k[1] as number);
    let s2 = x2 ^ (k[2] as number);
    let s3 = x3 ^ (k[3] as number);
    for (let r = 4; r < 4 * ROUNDS; r += 4) {
      // InvShiftRows takes row i of column j from column j − i.
      const t0 =
        (DEC[s0 >>> 24] as number) ^
        (DEC[256 + ((s3 >>> 16) & 0xff)] as number) ^
        (DEC[512 + ((s2 >>> 8) & 0xff)] as number) ^
        (DEC[768 + (s1 & 0xff)] as number) ^
        (k[r] as number);
      const t1 =
        (DEC[s1 >>> 24] as number) ^
        (DEC[256 + ((s0 >>> 16) & 0xff)] as number) ^
        (DEC[512 + ((s3 >>> 8) & 0xff)] as number) ^
        (DEC[768 + (s2 & 0xff)] as number) ^
        (k[r + 1] as number);
      const t2 =
        (DEC[s2 >>> 24] as number) ^
        (DEC[256 + ((s1 >>> 16) & 0xff)] as number) ^
        (DEC[512 + ((s0 >>> 8) & 0xff)] as number) ^
        (DEC[768 + (s3 & 0xff)] as number) ^
        (k[r + 2] as number);
      const t3 =
        (DEC[s3 >>> 24] as number) ^
        (DEC[256 + ((s2 >>> 16) & 0xff)] as number) ^
        (DEC[512 + ((s1 >>> 8) & 0xff)] as number) ^
        (DEC[768 + (s0 & 0xff)] as number) ^
        (k[r + 3] as number);
      s0 = t0;
      s1 = t1;
      s2 = t2;
      s3 = t3;
    }
    const last = 4 * ROUNDS;
    writeWord(data, o, sboxWord(INV_SBOX, s0, s3, s2, s1) ^ (k[last] as number) ^ p0);
    writeWord(data, o + 4, sboxWord(INV_SBOX, s1, s0, s3, s2) ^ (k[last + 1] as number) ^ p1);
    writeWord(data, o + 8, sboxWord(INV_SBOX, s2, s1, s0, s3) ^ (k[last + 2] as number) ^ p2);
    writeWord(data, o + 12, sboxWord(INV_SBOX, s3, s2, s1, s0) ^ (k[last + 3] as number) ^ p3);
    p0 = x0;
    p1 = x1;
    p2 = x2;
    p3 = x3;
  }
}

/** Encrypt with AES-256-CBC and PKCS#7 padding. Output length is a non-zero multiple of 16. */
export function aes256CbcEncrypt(
  key: Uint8Array,
  iv: Uint8Array,
  plaintext: Uint8Array,
): Uint8Array {
  assertBytes(key, 'key', 32);
  assertBytes(iv, 'iv', 16);
  assertBytes(plaintext, 'plaintext');
  const k = new Uint8Array(key);
  const v = new Uint8Array(iv);
  const n = plaintext.length;
  const out = new Uint8Array(n + 16 - (n % 16));
  out.set(plaintext);
  out.fill(out.length - n, n);
  try {
    expandKey(k);
    cbcEncryptInPlace(v, out);
  } finally {
    encryptionKeys.fill(0);
    k.fill(0);
  }
  return out;
}

/**
 * Decrypt AES-256-CBC with PKCS#7 padding. Returns `null` for any failure (length not a positive
 * multiple of 16, bad padding): callers must not learn which, and map it to one error. The
 * padding is checked without branching on its bytes.
 */
export function aes256CbcDecrypt(
  key: Uint8Array,
  iv: Uint8Array,
  ciphertext: Uint8Array,
): Uint8Array | null {
  assertBytes(key, 'key', 32);
  assertBytes(iv, 'iv', 16);
  assertBytes(ciphertext, 'ciphertext');
  const k = new Uint8Array(key);
  const v = new Uint8Array(iv);
  // Decrypted in place: each block is read before its plaintext is written.
  const out = new Uint8Array(ciphertext);
  const n = out.length;
  if (n === 0 || n % 16 !== 0) {
    k.fill(0);
    return null;
  }
  try {
    expandDecryptionKey(k);
    cbcDecryptInPlace(v, out);
  } finally {
    encryptionKeys.fill(0);
    decryptionKeys.fill(0);
    k.fill(0);
  }
  // PKCS#7: the last byte p must be 1..16 and the last p bytes must all equal p. Accumulate
  // every difference over the final block instead of stopping at the first.
  const pad = out[n - 1] as number;
  let bad = ((pad - 1) >>> 8) | ((16 - pad) >>> 31);
  for (let i = 1; i <= 16; i++) {
    // inPad is all ones for the positions covered by the padding (i ≤ pad), else zero.
    const inPad = (i - pad - 1) >> 31;
    bad |= inPad & ((out[n - i] as number) ^ pad);
  }
  if (bad !== 0) {
    out.fill(0);
    return null;
  }
  return out.subarray(0, n - pad);
}
