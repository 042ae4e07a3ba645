import { cbc } from '@noble/ciphers/aes.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aes256CbcDecrypt, aes256CbcEncrypt, concatBytes } from '../../src/primitives/index.js';
import { bytesToHex, hexToBytes } from '../support/hex.js';
import { fcParams, loadVector } from './helpers.js';

interface AesVectors {
  nist: { comment: string; key: string; iv: string; plaintext: string; ciphertext: string }[];
  libsignal: {
    comment: string;
    key: string;
    iv: string;
    plaintext: string;
    ciphertext: string;
    flippedIv: string;
    flippedIvPlaintext: string;
  }[];
}

const vectors = loadVector<AesVectors>('aes256-cbc.json');

describe('AES-256-CBC, NIST SP 800-38A F.2.5 (unpadded vectors through the PKCS#7 API)', () => {
  it.each(vectors.nist)('encrypt: $comment', ({ key, iv, plaintext, ciphertext }) => {
    const out = aes256CbcEncrypt(hexToBytes(key), hexToBytes(iv), hexToBytes(plaintext));
    // 64 bytes of plaintext + one full padding block.
    expect(out).toHaveLength(80);
    expect(bytesToHex(out.subarray(0, 64))).toBe(ciphertext);
    // The padding block is E(K, 0x10*16 XOR previous block), i.e. the encryption of an empty
    // plaintext with the last ciphertext block as IV.
    const ct = hexToBytes(ciphertext);
    const padBlock = aes256CbcEncrypt(hexToBytes(key), ct.subarray(48, 64), new Uint8Array(0));
    expect(out.subarray(64)).toEqual(padBlock);
  });

  it.each(vectors.nist)('decrypt: $comment', ({ key, iv, plaintext, ciphertext }) => {
    const k = hexToBytes(key);
    const ct = hexToBytes(ciphertext);
    const padBlock = aes256CbcEncrypt(k, ct.subarray(48, 64), new Uint8Array(0));
    expect(padBlock).toHaveLength(16);
    const pt = aes256CbcDecrypt(k, hexToBytes(iv), concatBytes(ct, padBlock));
    expect(pt).not.toBeNull();
    expect(bytesToHex(pt!)).toBe(plaintext);
    // Without the padding block the last plaintext byte (0x10) is not valid PKCS#7 padding.
    expect(aes256CbcDecrypt(k, hexToBytes(iv), ct)).toBeNull();
  });
});

describe('AES-256-CBC, libsignal rust/crypto/src/aes_cbc.rs aes_cbc_test', () => {
  const v = vectors.libsignal[0]!;
  const key = hexToBytes(v.key);
  const iv = hexToBytes(v.iv);
  const ct = hexToBytes(v.ciphertext);

  it('encrypts to the recorded ciphertext and decrypts back', () => {
    expect(bytesToHex(aes256CbcEncrypt(key, iv, hexToBytes(v.plaintext)))).toBe(v.ciphertext);
    expect(bytesToHex(aes256CbcDecrypt(key, iv, ct)!)).toBe(v.plaintext);
  });

  it('rejects what libsignal rejects', () => {
    // The recovered plaintext is not a whole number of blocks.
    expect(aes256CbcDecrypt(key, iv, hexToBytes(v.plaintext))).toBeNull();
    // Using the ciphertext as the IV breaks the padding.
    expect(aes256CbcDecrypt(key, ct, ct)).toBeNull();
  });

  it('a flipped IV bit flips the same plaintext bit', () => {
    expect(bytesToHex(aes256CbcDecrypt(key, hexToBytes(v.flippedIv), ct)!)).toBe(
      v.flippedIvPlaintext,
    );
  });
});

describe('AES-256-CBC behaviour', () => {
  const key = new Uint8Array(32).map((_, i) => i);
  const iv = new Uint8Array(16).map((_, i) => 0xa0 + i);

  it('an empty plaintext gives one 16-byte block', () => {
    const ct = aes256CbcEncrypt(key, iv, new Uint8Array(0));
    expect(ct).toHaveLength(16);
    expect(aes256CbcDecrypt(key, iv, ct)).toEqual(new Uint8Array(0));
  });

  it('round-trips with the PKCS#7 length rule (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 300 }),
        (k, i, pt) => {
          const ct = aes256CbcEncrypt(k, i, pt);
          expect(ct.length).toBe(16 * (Math.floor(pt.length / 16) + 1));
          expect(aes256CbcDecrypt(k, i, ct)).toEqual(pt);
          // agrees with noble used directly
          expect(ct).toEqual(cbc(k, i).encrypt(pt));
        },
      ),
      fcParams(200),
    );
  });

  it('agrees with noble (the oracle) on views at odd offsets, both directions (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 1200 }),
        fc.integer({ min: 0, max: 15 }),
        (k, i, pt, shift) => {
          // Inputs as views into larger buffers, starting at any byte offset.
          const view = (b: Uint8Array): Uint8Array => {
            const host = new Uint8Array(b.length + shift + 3).fill(0xee);
            host.set(b, shift);
            return host.subarray(shift, shift + b.length);
          };
          const expected = cbc(k, i).encrypt(pt);
          expect(aes256CbcEncrypt(view(k), view(i), view(pt))).toEqual(expected);
          expect(aes256CbcDecrypt(view(k), view(i), view(expected))).toEqual(pt);
        },
      ),
      fcParams(300),
    );
  });

  it('agrees with noble on a 64 KiB message and on every single-block plaintext length', () => {
    const k = new Uint8Array(32).map((_, j) => (j * 29 + 3) & 0xff);
    const i = new Uint8Array(16).map((_, j) => (j * 31 + 7) & 0xff);
    const big = new Uint8Array(65536).map((_, j) => (j * 2654435761) >>> 24);
    const ct = aes256CbcEncrypt(k, i, big);
    expect(ct).toEqual(cbc(k, i).encrypt(big));
    expect(aes256CbcDecrypt(k, i, ct)).toEqual(big);
    for (let n = 0; n <= 32; n++) {
      const pt = big.subarray(7, 7 + n);
      expect(aes256CbcEncrypt(k, i, pt)).toEqual(cbc(k, i).encrypt(pt));
    }
  });

  it('FIPS 197 appendix C.3: one AES-256 block (CBC with a zero IV, padding block dropped)', () => {
    const k = hexToBytes('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    const pt = hexToBytes('00112233445566778899aabbccddeeff');
    const ct = aes256CbcEncrypt(k, new Uint8Array(16), pt);
    expect(bytesToHex(ct.subarray(0, 16))).toBe('8ea2b7ca516745bfeafc49904b496089');
  });

  it('caller code that runs while inputs are read cannot reach the shared round keys', () => {
    // A subclass getter and Proxy traps can run code in the middle of a call; inputs are copied
    // before the first round key is written, so a nested call cannot disturb the outer one.
    const k = new Uint8Array(32).map((_, j) => j + 1);
    const i = new Uint8Array(16).map((_, j) => 0x40 + j);
    const pt = new Uint8Array(48).map((_, j) => j * 7);
    const expected = cbc(k, i).encrypt(pt);
    const nested = (): void => {
      aes256CbcEncrypt(new Uint8Array(32).fill(9), new Uint8Array(16), new Uint8Array(5));
      aes256CbcDecrypt(new Uint8Array(32).fill(9), new Uint8Array(16), new Uint8Array(16));
    };
    class Sneaky extends Uint8Array {
      override get length(): number {
        nested();
        return super.length;
      }
    }
    const sneaky = new Sneaky(expected.length);
    sneaky.set(expected);
    expect(aes256CbcDecrypt(k, i, sneaky)).toEqual(pt);
    const trap = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(t, p) {
          nested();
          const v: unknown = Reflect.get(t, p);
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
    expect(aes256CbcEncrypt(trap(k.slice()), trap(i.slice()), trap(pt.slice()))).toEqual(expected);
    expect(aes256CbcDecrypt(trap(k.slice()), trap(i.slice()), trap(expected.slice()))).toEqual(pt);
  });

  it('returns null for any length that is not a positive multiple of 16', () => {
    for (const n of [0, 1, 15, 17, 31, 33]) {
      expect(aes256CbcDecrypt(key, iv, new Uint8Array(n))).toBeNull();
    }
  });

  it.each([
    ['pad byte 0', [0x00]],
    ['pad byte 17', [0x11]],
    ['pad byte 0xff', [0xff]],
    ['inconsistent 2-byte pad', [0x03, 0x02]],
    ['inconsistent 3-byte pad', [0x04, 0x03, 0x03]],
    ['16-byte pad with one wrong byte', [0x11, ...new Array<number>(15).fill(0x10)]],
  ])('returns null for bad padding: %s', (_name, tail) => {
    const block = new Uint8Array(16).fill(0x41);
    block.set(tail, 16 - tail.length);
    const ct = cbc(key, iv, { disablePadding: true }).encrypt(block);
    expect(aes256CbcDecrypt(key, iv, ct)).toBeNull();
  });

  it('accepts every valid padding length 1..16', () => {
    for (let pad = 1; pad <= 16; pad++) {
      const block = new Uint8Array(16).fill(0x41);
      block.fill(pad, 16 - pad);
      const ct = cbc(key, iv, { disablePadding: true }).encrypt(block);
      expect(aes256CbcDecrypt(key, iv, ct)).toEqual(new Uint8Array(16 - pad).fill(0x41));
    }
  });

  it('wrong key / IV lengths are RangeError, non-bytes are TypeError', () => {
    const pt = new Uint8Array(5);
    expect(() => aes256CbcEncrypt(new Uint8Array(16), iv, pt)).toThrow(RangeError);
    expect(() => aes256CbcEncrypt(new Uint8Array(24), iv, pt)).toThrow(RangeError);
    expect(() => aes256CbcEncrypt(key, new Uint8Array(12), pt)).toThrow(RangeError);
    expect(() => aes256CbcDecrypt(new Uint8Array(33), iv, new Uint8Array(16))).toThrow(RangeError);
    expect(() => aes256CbcDecrypt(key, new Uint8Array(17), new Uint8Array(16))).toThrow(RangeError);
    expect(() => aes256CbcEncrypt(key, iv, 'text' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => aes256CbcDecrypt(key, iv, [1, 2] as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('does not modify its inputs', () => {
    const pt = new Uint8Array(40).fill(7);
    const k = key.slice();
    const i = iv.slice();
    const ct = aes256CbcEncrypt(k, i, pt);
    const ctCopy = ct.slice();
    aes256CbcDecrypt(k, i, ct);
    expect(pt).toEqual(new Uint8Array(40).fill(7));
    expect(k).toEqual(key);
    expect(i).toEqual(iv);
    expect(ct).toEqual(ctCopy);
  });
});
