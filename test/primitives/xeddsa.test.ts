import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PrivateKey, PublicKey } from '../../src/keys/index.js';
import {
  x25519PublicKey,
  xeddsaEdwardsPublicKey,
  xeddsaSign,
  xeddsaSignWithPoint,
  xeddsaVerify,
} from '../../src/primitives/index.js';
import { bigintToLe32, leToBigint } from '../../src/primitives/curve25519-field.js';
import { hexToBytes } from '../support/hex.js';
import { fcParams, fixedRandom, loadVector } from './helpers.js';

interface XeddsaKat {
  xeddsa: { privateKey: string; publicKey: string; message: string; signature: string };
}

const kat = loadVector<XeddsaKat>('libsignal-kat.json').xeddsa;
const Q = ed25519.Point.Fn.ORDER;
const P = (1n << 255n) - 19n;

/** Replace the scalar s of a signature (keeping the sign bit in byte 63). */
function withS(sig: Uint8Array, s: bigint): Uint8Array {
  const out = sig.slice();
  const signBit = sig[63]! & 0x80;
  out.set(bigintToLe32(s), 32);
  out[63] = out[63]! | signBit;
  return out;
}
function sOf(sig: Uint8Array): bigint {
  const s = sig.slice(32, 64);
  s[31] = s[31]! & 0x7f;
  return leToBigint(s);
}

const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const z64 = fc.uint8Array({ minLength: 64, maxLength: 64 });
const message = fc.uint8Array({ maxLength: 200 });

describe('XEdDSA: libsignal test_signature KAT', () => {
  const pub = hexToBytes(kat.publicKey);
  const msg = hexToBytes(kat.message);
  const sig = hexToBytes(kat.signature);

  it('the private key derives the public key', () => {
    expect(PrivateKey.deserialize(hexToBytes(kat.privateKey)).getPublicKey().toHex()).toBe(
      `05${kat.publicKey}`,
    );
  });

  it('verifies (primitive and PublicKey)', () => {
    expect(xeddsaVerify(pub, msg, sig)).toBe(true);
    expect(PublicKey.fromRaw(pub).verifySignature(msg, sig)).toBe(true);
  });

  it('fails when any signature byte has its low bit flipped (as in libsignal)', () => {
    for (let i = 0; i < 64; i++) {
      const bad = sig.slice();
      bad[i] = bad[i]! ^ 0x01;
      expect(xeddsaVerify(pub, msg, bad), `byte ${String(i)}`).toBe(false);
    }
  });

  it('fails when any message byte is flipped, or the message is extended or truncated', () => {
    for (let i = 0; i < msg.length; i++) {
      const bad = msg.slice();
      bad[i] = bad[i]! ^ 0x80;
      expect(xeddsaVerify(pub, bad, sig)).toBe(false);
    }
    expect(xeddsaVerify(pub, msg.subarray(1), sig)).toBe(false);
    expect(xeddsaVerify(pub, msg.subarray(0, 32), sig)).toBe(false);
    expect(xeddsaVerify(pub, Uint8Array.of(...msg, 0), sig)).toBe(false);
  });

  it('does not modify its inputs', () => {
    const copies = [pub.slice(), msg.slice(), sig.slice()];
    xeddsaVerify(pub, msg, sig);
    expect([pub, msg, sig]).toEqual(copies);
  });
});

describe('XEdDSA: our sign, our verify', () => {
  it('verifies for many random keys and messages; tampering any byte fails', () => {
    fc.assert(
      fc.property(
        key32,
        message,
        z64,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (seed, msg, z, where, mask) => {
          const priv = PrivateKey.deserialize(seed);
          const pub = priv.getPublicKey();
          const sig = priv.sign(msg, fixedRandom(z));
          expect(sig).toHaveLength(64);
          expect(pub.verifySignature(msg, sig)).toBe(true);
          expect(xeddsaVerify(pub.getPublicKeyBytes(), msg, sig)).toBe(true);

          const badSig = sig.slice();
          const i = where % 64;
          badSig[i] = badSig[i]! ^ mask;
          expect(pub.verifySignature(msg, badSig)).toBe(false);

          if (msg.length > 0) {
            const badMsg = msg.slice();
            const j = where % msg.length;
            badMsg[j] = badMsg[j]! ^ mask;
            expect(pub.verifySignature(badMsg, sig)).toBe(false);
          }
          expect(pub.verifySignature(Uint8Array.of(...msg, mask), sig)).toBe(false);
        },
      ),
      fcParams(200),
    );
  });

  it('a signature does not verify under another key', () => {
    fc.assert(
      fc.property(key32, key32, message, (a, b, msg) => {
        fc.pre(a.some((x, i) => x !== b[i]));
        const sig = PrivateKey.deserialize(a).sign(msg);
        expect(PrivateKey.deserialize(b).getPublicKey().verifySignature(msg, sig)).toBe(false);
      }),
      fcParams(50),
    );
  });

  it('is an Ed25519 signature under the Edwards key of the clamped scalar (noble verifies it)', () => {
    fc.assert(
      fc.property(key32, message, z64, (seed, msg, z) => {
        const priv = PrivateKey.deserialize(seed);
        const scalar = leToBigint(priv.serialize()) % Q;
        const aEnc = ed25519.Point.BASE.multiply(scalar).toBytes();
        const sig = priv.sign(msg, fixedRandom(z));
        // libsignal carries the Edwards sign bit of A in bit 7 of the last signature byte.
        expect(sig[63]! & 0x80).toBe(aEnc[31]! & 0x80);
        const plain = sig.slice();
        plain[63] = plain[63]! & 0x7f;
        expect(ed25519.verify(plain, msg, aEnc)).toBe(true);
      }),
      fcParams(100),
    );
  });

  it('both sign-bit values occur', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 32 && seen.size < 2; i++) {
      seen.add(PrivateKey.generate().sign(new Uint8Array(1))[63]! & 0x80);
    }
    expect([...seen].sort()).toEqual([0, 0x80]);
  });

  it('is deterministic for a fixed Z and randomised otherwise', () => {
    const priv = PrivateKey.generate();
    const msg = new Uint8Array(10).fill(3);
    const z = new Uint8Array(64).fill(9);
    expect(priv.sign(msg, fixedRandom(z))).toEqual(priv.sign(msg, fixedRandom(z)));
    const a = priv.sign(msg);
    const b = priv.sign(msg);
    expect(a).not.toEqual(b);
    expect(priv.getPublicKey().verifySignature(msg, a)).toBe(true);
    expect(priv.getPublicKey().verifySignature(msg, b)).toBe(true);
  });

  it('draws exactly 64 bytes of randomness; a short source is a TypeError', () => {
    const asked: number[] = [];
    const priv = PrivateKey.generate();
    priv.sign(new Uint8Array(0), (n) => {
      asked.push(n);
      return new Uint8Array(n);
    });
    expect(asked).toEqual([64]);
    expect(() => priv.sign(new Uint8Array(0), () => new Uint8Array(32))).toThrow(TypeError);
  });
});

describe('XEdDSA: libsignal verification leniencies', () => {
  const cases = fc.tuple(key32, message, z64);

  it('bit 255 of the Montgomery public key is ignored', () => {
    fc.assert(
      fc.property(cases, ([seed, msg, z]) => {
        const priv = PrivateKey.deserialize(seed);
        const u = x25519PublicKey(priv.serialize());
        const sig = xeddsaSign(priv.serialize(), msg, fixedRandom(z));
        const high = u.slice();
        high[31] = high[31]! | 0x80;
        expect(xeddsaVerify(high, msg, sig)).toBe(true);
        expect(PublicKey.fromRaw(high).verifySignature(msg, sig)).toBe(true);
      }),
      fcParams(50),
    );
  });

  it('accepts s + q when it is below 2^253', () => {
    fc.assert(
      fc.property(cases, ([seed, msg, z]) => {
        const priv = PrivateKey.deserialize(seed);
        const pub = priv.getPublicKey();
        const sig = priv.sign(msg, fixedRandom(z));
        const s = sOf(sig);
        expect(s < Q).toBe(true);
        fc.pre(s + Q < 1n << 253n);
        expect(pub.verifySignature(msg, withS(sig, s + Q))).toBe(true);
      }),
      fcParams(50),
    );
  });

  it('rejects s >= 2^253 (s + 2^253, s + 2q, bits 5 and 6 of the last byte)', () => {
    fc.assert(
      fc.property(cases, ([seed, msg, z]) => {
        const priv = PrivateKey.deserialize(seed);
        const pub = priv.getPublicKey();
        const sig = priv.sign(msg, fixedRandom(z));
        const s = sOf(sig);
        // s + 2^253 ≡ s + 2^253 (mod q) is a different scalar, but it must be refused before that.
        expect(pub.verifySignature(msg, withS(sig, s + (1n << 253n)))).toBe(false);
        expect(pub.verifySignature(msg, withS(sig, s + 2n * Q))).toBe(false);
        for (const bit of [0x20, 0x40]) {
          const bad = sig.slice();
          bad[63] = bad[63]! | bit;
          expect(pub.verifySignature(msg, bad)).toBe(false);
        }
      }),
      fcParams(50),
    );
  });

  it('rejects a signature whose length is not 64 (returns false, does not throw)', () => {
    const priv = PrivateKey.generate();
    const pub = priv.getPublicKey();
    const msg = new Uint8Array(33);
    const sig = priv.sign(msg);
    for (const bad of [
      new Uint8Array(0),
      sig.subarray(0, 63),
      Uint8Array.of(...sig, 0),
      new Uint8Array(128),
    ]) {
      expect(xeddsaVerify(pub.getPublicKeyBytes(), msg, bad)).toBe(false);
      expect(pub.verifySignature(msg, bad)).toBe(false);
    }
  });

  it('rejects u = p - 1 (no Edwards point) and keys off the curve without throwing', () => {
    const sig = PrivateKey.generate().sign(new Uint8Array(4));
    const pMinus1 = bigintToLe32(P - 1n);
    expect(xeddsaVerify(pMinus1, new Uint8Array(4), sig)).toBe(false);
    fc.assert(
      fc.property(key32, fc.uint8Array({ minLength: 64, maxLength: 64 }), (u, s) => {
        expect(xeddsaVerify(u, new Uint8Array(4), s)).toBe(false);
      }),
      fcParams(100),
    );
  });
});

describe('XEdDSA: the Edwards public key computed once', () => {
  it('signs byte for byte as without it, for the same nonce randomness', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        (seed, message, z) => {
          const priv = PrivateKey.deserialize(seed).serialize(); // clamped
          const plain = xeddsaSign(priv, message, fixedRandom(z));
          const kept = xeddsaSignWithPoint(
            priv,
            xeddsaEdwardsPublicKey(priv),
            message,
            fixedRandom(z),
          );
          expect(kept).toEqual(plain);
          expect(xeddsaVerify(x25519PublicKey(priv), message, kept)).toBe(true);
        },
      ),
      fcParams(100),
    );
  });

  it('keeps a PrivateKey signing validly over many signatures', () => {
    const key = PrivateKey.generate();
    const pub = key.getPublicKey();
    for (let i = 0; i < 20; i++) {
      const message = Uint8Array.of(i, i + 1);
      expect(pub.verifySignature(message, key.sign(message))).toBe(true);
    }
  });
});
