/**
 * chiffre's own Curve25519 arithmetic (`curve25519-field.ts`, `edwards25519.ts`, the X25519
 * ladder) against @noble/curves, which chiffre used before and keeps as a test oracle: field
 * inversion and square roots, point encoding and decoding, fixed-base and variable-base
 * multiplication, the subgroup check, X25519 on canonical and non-canonical u.
 */
import { ED25519_TORSION_SUBGROUP, ed25519, x25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bigintToLe32,
  canonical,
  feInv,
  feMul,
  feSqr,
  leToBigint,
  P,
  sqrtRatio,
} from '../../src/primitives/curve25519-field.js';
import {
  add,
  BASE,
  decode,
  double,
  encode,
  IDENTITY,
  isTorsionFree,
  L,
  multiplyBase,
  multiplyPublic,
  negate,
} from '../../src/primitives/edwards25519.js';
import { x25519Agree, x25519PublicKey } from '../../src/primitives/x25519.js';
import { bytesToHex } from '../support/hex.js';
import { fcParams } from './helpers.js';

const NoblePoint = ed25519.Point;
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const fieldElement = bytes32.map((b) => leToBigint(b) % P);
/** Scalars below 2^255, biased towards the edges of the digit recoding (nibbles 7, 8, 15). */
const scalar255 = fc.oneof(
  bytes32.map((b) => leToBigint(b) & ((1n << 255n) - 1n)),
  fc
    .array(fc.constantFrom(0, 7, 8, 9, 15), { minLength: 64, maxLength: 64 })
    .map((nibbles) => nibbles.reduce((acc, n, i) => acc | (BigInt(n) << BigInt(4 * i)), 0n))
    .map((k) => k & ((1n << 255n) - 1n)),
);

const hex = (p: Parameters<typeof encode>[0]): string => bytesToHex(encode(p));
const nobleHex = (p: InstanceType<typeof NoblePoint>): string => bytesToHex(p.toBytes());

describe('GF(2^255 − 19)', () => {
  it('inverts like a modular exponentiation and leaves 0 at 0', () => {
    fc.assert(
      fc.property(fieldElement, (a) => {
        const inv = canonical(feInv(a));
        if (a === 0n) expect(inv).toBe(0n);
        else expect(canonical(feMul(a, inv))).toBe(1n);
      }),
      fcParams(200),
    );
    // Loose inputs (not reduced) give the same answers.
    expect(canonical(feMul(P + 5n, feInv(P + 5n)))).toBe(1n);
  });

  it('finds square roots of squares and refuses non-squares', () => {
    fc.assert(
      fc.property(fieldElement, fieldElement, (x, v0) => {
        const v = v0 === 0n ? 1n : v0;
        const u = feMul(feSqr(x), v); // u/v = x²
        const root = sqrtRatio(u, v);
        expect(root).toBeDefined();
        expect(canonical(feSqr(root as bigint))).toBe(canonical(feSqr(x)));
        // 2 is not a square mod p (p ≡ 5 mod 8), so 2x² is not one either, unless x = 0.
        if (canonical(x) !== 0n) expect(sqrtRatio(feMul(2n, u), v)).toBeUndefined();
      }),
      fcParams(200),
    );
  });

  it('converts little-endian bytes both ways', () => {
    fc.assert(
      fc.property(bytes32, (b) => {
        expect(bigintToLe32(leToBigint(b))).toEqual(b);
      }),
      fcParams(100),
    );
  });
});

describe('edwards25519 against noble', () => {
  it('fixed-base multiplication matches for scalars below 2^255, edges included', () => {
    for (const k of [0n, 1n, 7n, 8n, 15n, 16n, L - 1n, L, L + 1n, (1n << 255n) - 1n, 8n << 248n]) {
      expect(hex(multiplyBase(k)), String(k)).toBe(nobleHex(NoblePoint.BASE.multiplyUnsafe(k % L)));
    }
    fc.assert(
      fc.property(scalar255, (k) => {
        expect(hex(multiplyBase(k))).toBe(nobleHex(NoblePoint.BASE.multiplyUnsafe(k % L)));
      }),
      fcParams(150),
    );
    expect(() => multiplyBase(1n << 255n)).toThrow(RangeError);
    expect(() => multiplyBase(-1n)).toThrow(RangeError);
  });

  it('variable-base multiplication, addition, doubling and negation match', () => {
    fc.assert(
      fc.property(scalar255, scalar255, (a, k) => {
        const ours = multiplyBase(a);
        const theirs = NoblePoint.BASE.multiplyUnsafe(a % L);
        expect(hex(multiplyPublic(ours, k))).toBe(nobleHex(theirs.multiplyUnsafe(k % L)));
        expect(hex(double(ours))).toBe(nobleHex(theirs.double()));
        expect(hex(add(ours, BASE))).toBe(nobleHex(theirs.add(NoblePoint.BASE)));
        expect(hex(negate(ours))).toBe(nobleHex(theirs.negate()));
      }),
      fcParams(60),
    );
    expect(hex(multiplyPublic(BASE, 0n))).toBe(hex(IDENTITY));
  });

  it('decodes exactly what noble decodes, except x = 0 with the sign bit (accepted, as dalek does)', () => {
    const check = (b: Uint8Array): void => {
      let theirs: string | undefined;
      try {
        theirs = nobleHex(NoblePoint.fromBytes(b));
      } catch {
        theirs = undefined;
      }
      const ours = decode(b);
      expect(ours === undefined ? undefined : hex(ours)).toBe(theirs);
    };
    fc.assert(fc.property(bytes32, check), fcParams(300));
    // Valid points with both signs, and y ≥ p (refused by both).
    fc.assert(
      fc.property(scalar255, (k) => {
        const enc = NoblePoint.BASE.multiplyUnsafe(k % L).toBytes();
        check(enc);
        const flipped = enc.slice();
        flipped[31] = (flipped[31] as number) ^ 0x80;
        check(flipped);
      }),
      fcParams(100),
    );
    check(bigintToLe32(P));
    check(bigintToLe32(P + 1n));
    // y = 1 and y = −1 have x = 0: with the sign bit set noble refuses, chiffre (like dalek) accepts.
    for (const y of [1n, P - 1n]) {
      const enc = bigintToLe32(y);
      enc[31] = (enc[31] as number) | 0x80;
      expect(() => NoblePoint.fromBytes(enc)).toThrow();
      const point = decode(enc);
      expect(point).toBeDefined();
      expect(hex(point!)).toBe(bytesToHex(bigintToLe32(y)));
    }
    expect(decode(new Uint8Array(31))).toBeUndefined();
  });

  it('tells the prime-order subgroup from the points with a torsion component', () => {
    const torsion = ED25519_TORSION_SUBGROUP.map((h) => decode(NoblePoint.fromHex(h).toBytes())!);
    expect(torsion.map((t) => isTorsionFree(t))).toEqual([
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    fc.assert(
      fc.property(scalar255, fc.integer({ min: 0, max: 7 }), (k, t) => {
        const point = add(multiplyBase(k), torsion[t]!);
        const expected = NoblePoint.fromBytes(encode(point)).isTorsionFree();
        expect(isTorsionFree(point)).toBe(expected);
        expect(expected).toBe(t === 0);
      }),
      fcParams(40),
    );
  });
});

describe('X25519 against noble', () => {
  it('public keys match for any 32 bytes (clamping included)', () => {
    fc.assert(
      fc.property(bytes32, (k) => {
        expect(bytesToHex(x25519PublicKey(k))).toBe(bytesToHex(x25519.getPublicKey(k)));
      }),
      fcParams(150),
    );
  });

  it('agreements match, with u ≥ p and bit 255 set on the public key', () => {
    fc.assert(
      fc.property(bytes32, bytes32, fc.boolean(), (k, u, highBit) => {
        const pub = u.slice();
        if (highBit) pub[31] = (pub[31] as number) | 0x80;
        let theirs: string;
        try {
          theirs = bytesToHex(x25519.getSharedSecret(k, pub));
        } catch {
          theirs = 'refused';
        }
        let ours: string;
        try {
          ours = bytesToHex(x25519Agree(k, pub));
        } catch {
          ours = 'refused';
        }
        expect(ours).toBe(theirs);
      }),
      fcParams(100),
    );
    // u in [p, 2^255): reduced before the ladder.
    const k = new Uint8Array(32).fill(0x42);
    for (const u of [P + 9n, P + 2n ** 32n]) {
      expect(bytesToHex(x25519Agree(k, bigintToLe32(u)))).toBe(
        bytesToHex(x25519.getSharedSecret(k, bigintToLe32(u))),
      );
    }
  });
});
