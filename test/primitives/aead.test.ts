/**
 * XChaCha20-Poly1305 sealing (src/primitives/aead.ts): the draft-irtf-cfrg-xchacha-03 known-answer
 * vector, round trips, and `null` (never an exception) for every byte string that does not open.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AEAD_NONCE_LENGTH,
  AEAD_OVERHEAD,
  aeadOpen,
  aeadSeal,
} from '../../src/primitives/index.js';
import { bytesToHex, hexToBytes } from '../support/hex.js';
import { fcParams } from './helpers.js';

// draft-irtf-cfrg-xchacha-03, Appendix A.3.1 (AEAD_XChaCha20_Poly1305).
const KAT = {
  key: '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f',
  nonce: '404142434445464748494a4b4c4d4e4f5051525354555657',
  aad: '50515253c0c1c2c3c4c5c6c7',
  plaintext:
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  ciphertext:
    'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e',
  tag: 'c0875924c1c7987947deafd8780acf49',
};

const key = hexToBytes(KAT.key);
const ad = hexToBytes(KAT.aad);
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('aeadSeal / aeadOpen', () => {
  it('draft-irtf-cfrg-xchacha-03 A.3.1: nonce ‖ ciphertext ‖ tag', () => {
    const nonce = hexToBytes(KAT.nonce);
    const sealed = aeadSeal(key, utf8(KAT.plaintext), ad, (n) => {
      expect(n).toBe(AEAD_NONCE_LENGTH);
      return nonce.slice();
    });
    expect(bytesToHex(sealed)).toBe(KAT.nonce + KAT.ciphertext + KAT.tag);
    expect(new TextDecoder().decode(aeadOpen(key, sealed, ad)!)).toBe(KAT.plaintext);
  });

  it('round-trips any plaintext and associated data, with fresh nonces', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 64 }),
        (pt, aad) => {
          const a = aeadSeal(key, pt, aad);
          const b = aeadSeal(key, pt, aad);
          expect(a).toHaveLength(pt.length + AEAD_OVERHEAD);
          expect(bytesToHex(a)).not.toBe(bytesToHex(b));
          expect(aeadOpen(key, a, aad)).toEqual(pt);
          expect(aeadOpen(key, b, aad)).toEqual(pt);
        },
      ),
      fcParams(100),
    );
  });

  it('returns null for a wrong key, wrong associated data, any flipped bit, or truncation', () => {
    const pt = utf8('record bytes');
    const sealed = aeadSeal(key, pt, ad);
    const otherKey = key.slice();
    otherKey[31]! ^= 1;
    expect(aeadOpen(otherKey, sealed, ad)).toBeNull();
    expect(aeadOpen(key, sealed, utf8('other id'))).toBeNull();
    expect(aeadOpen(key, sealed, new Uint8Array(0))).toBeNull();
    for (let i = 0; i < sealed.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const t = sealed.slice();
        t[i]! ^= bit;
        expect(aeadOpen(key, t, ad), `byte ${String(i)}`).toBeNull();
      }
    }
    for (let n = 0; n < sealed.length; n++) {
      expect(aeadOpen(key, sealed.subarray(0, n), ad), `length ${String(n)}`).toBeNull();
    }
    expect(aeadOpen(key, new Uint8Array([...sealed, 0]), ad)).toBeNull();
  });

  it('never throws for arbitrary sealed bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
        expect(aeadOpen(key, junk, ad)).toBeNull();
      }),
      fcParams(200),
    );
  });

  it('seals the empty plaintext', () => {
    const sealed = aeadSeal(key, new Uint8Array(0), ad);
    expect(sealed).toHaveLength(AEAD_OVERHEAD);
    expect(aeadOpen(key, sealed, ad)).toEqual(new Uint8Array(0));
  });

  it('TypeError / RangeError for misuse', () => {
    const bad = [1, 2, 3] as unknown as Uint8Array;
    expect(() => aeadSeal(new Uint8Array(16), ad, ad)).toThrow(RangeError);
    expect(() => aeadOpen(new Uint8Array(33), ad, ad)).toThrow(RangeError);
    expect(() => aeadSeal(bad, ad, ad)).toThrow(TypeError);
    expect(() => aeadSeal(key, bad, ad)).toThrow(TypeError);
    expect(() => aeadSeal(key, ad, bad)).toThrow(TypeError);
    expect(() => aeadOpen(key, bad, ad)).toThrow(TypeError);
    expect(() => aeadOpen(key, ad, bad)).toThrow(TypeError);
    expect(() => aeadSeal(key, ad, ad, () => new Uint8Array(12))).toThrow(TypeError);
  });
});
