/**
 * chiffre's ML-KEM (FIPS 203) for k = 3 and k = 4: byte-for-byte noble's `ml_kem768` /
 * `ml_kem1024` (the oracle, itself checked against the NIST vectors) for key generation,
 * encapsulation, decapsulation and implicit rejection; the §7.2 and §7.3 input checks; and the
 * arithmetic underneath checked against definitions written here (schoolbook multiplication in
 * Z_q[X]/(X^256 + 1), the exact rounding formula of Compress_d).
 */
import { ml_kem1024, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  c1Length,
  compressEncode,
  ctLength,
  dkLength,
  ekLength,
  invNtt,
  ML_KEM_1024,
  ML_KEM_768,
  type MlKemParams,
  mlkemDecaps,
  mlkemEncaps,
  mlkemKeyGen,
  multiplyNttsAdd,
  ntt,
} from '../../src/primitives/mlkem.js';
import { fcParams, seededRandom } from './helpers.js';

const Q = 3329;
const random = seededRandom('mlkem.test');
const sets: readonly [string, MlKemParams, typeof ml_kem768][] = [
  ['ML-KEM-768', ML_KEM_768, ml_kem768],
  ['ML-KEM-1024', ML_KEM_1024, ml_kem1024],
];

function randomPoly(): Uint16Array {
  const p = new Uint16Array(256);
  const bytes = random(512);
  for (let i = 0; i < 256; i++) p[i] = ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!) % Q;
  return p;
}

/** a · b in Z_q[X]/(X^256 + 1), the slow way. */
function schoolbook(a: Uint16Array, b: Uint16Array): Uint16Array {
  const acc = new Array<number>(256).fill(0);
  for (let i = 0; i < 256; i++) {
    for (let j = 0; j < 256; j++) {
      const k = i + j;
      const term = (a[i]! * b[j]!) % Q;
      if (k < 256) acc[k] = (acc[k]! + term) % Q;
      else acc[k - 256] = (acc[k - 256]! - term + Q) % Q;
    }
  }
  return Uint16Array.from(acc);
}

/** Unpack 256 little-endian `d`-bit words. */
function unpack(bytes: Uint8Array, d: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 256; i++) {
    let w = 0;
    for (let b = 0; b < d; b++) {
      const bit = i * d + b;
      w |= ((bytes[bit >> 3]! >> (bit & 7)) & 1) << b;
    }
    out.push(w);
  }
  return out;
}

describe('arithmetic', () => {
  it('NTT⁻¹(NTT(a) ∘ NTT(b)) is the negacyclic product, and NTT⁻¹ undoes NTT', () => {
    for (let t = 0; t < 5; t++) {
      const a = randomPoly();
      const b = randomPoly();
      const aHat = a.slice();
      const bHat = b.slice();
      ntt(aHat);
      ntt(bHat);
      const product = new Uint16Array(256);
      multiplyNttsAdd(product, aHat, bHat);
      invNtt(product);
      expect(product).toEqual(schoolbook(a, b));
      invNtt(aHat);
      expect(aHat).toEqual(a);
    }
  });

  it('every coefficient stays in [0, q), including the extremes', () => {
    const extremes = new Uint16Array(256).map((_, i) =>
      i % 3 === 0 ? Q - 1 : i % 3 === 1 ? 0 : 1,
    );
    const f = extremes.slice();
    ntt(f);
    expect(f.every((x) => x < Q)).toBe(true);
    const acc = new Uint16Array(256).fill(Q - 1);
    multiplyNttsAdd(acc, f, f);
    expect(acc.every((x) => x < Q)).toBe(true);
    invNtt(f);
    expect(f).toEqual(extremes);
  });

  it('Compress_d is round(2^d · x / q) mod 2^d for every x < q and every d in use', () => {
    for (const d of [1, 4, 5, 10, 11]) {
      for (let base = 0; base < Q; base += 256) {
        const poly = new Uint16Array(256).map((_, i) => Math.min(base + i, Q - 1));
        const xs = Array.from(poly);
        const out = new Uint8Array(32 * d);
        compressEncode(poly, d, out, 0);
        // Exact: integers below 2^24 divide exactly enough in doubles for floor() to be right.
        const expected = xs.map((x) => Math.floor((x * 2 ** (d + 1) + Q) / (2 * Q)) % 2 ** d);
        expect(unpack(out, d)).toEqual(expected);
      }
    }
  });
});

describe.each(sets)('%s', (_name, p, noble) => {
  it('sizes follow FIPS 203 Table 3', () => {
    expect([ekLength(p), dkLength(p), ctLength(p)]).toEqual([
      noble.lengths.publicKey,
      noble.lengths.secretKey,
      noble.lengths.cipherText,
    ]);
    expect(c1Length(p)).toBe(32 * p.du * p.k);
  });

  it('key generation, encapsulation and decapsulation equal noble’s (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (seed, m) => {
          const ours = mlkemKeyGen(p, seed);
          const theirs = noble.keygen(seed);
          expect(ours.ek).toEqual(theirs.publicKey);
          expect(ours.dk).toEqual(theirs.secretKey);
          const enc = mlkemEncaps(p, ours.ek, m);
          const ref = noble.encapsulate(theirs.publicKey, m);
          expect(enc?.ciphertext).toEqual(ref.cipherText);
          expect(enc?.sharedSecret).toEqual(ref.sharedSecret);
          expect(mlkemDecaps(p, ours.dk, enc!.ciphertext)).toEqual(ref.sharedSecret);
        },
      ),
      fcParams(40),
    );
  });

  it('implicit rejection: any flipped ciphertext bit gives noble’s rejection secret', () => {
    const seed = random(64);
    const { ek, dk } = mlkemKeyGen(p, seed);
    const { ciphertext, sharedSecret } = mlkemEncaps(p, ek, random(32))!;
    fc.assert(
      fc.property(fc.nat({ max: ciphertext.length * 8 - 1 }), (bit) => {
        const bad = ciphertext.slice();
        bad[bit >> 3] = bad[bit >> 3]! ^ (1 << (bit & 7));
        const secret = mlkemDecaps(p, dk, bad)!;
        expect(secret).toEqual(noble.decapsulate(bad, dk));
        expect(secret).not.toEqual(sharedSecret);
      }),
      fcParams(60),
    );
  });

  it('the modulus check: an ek with a coefficient ≥ q is refused exactly when noble refuses it', () => {
    const { ek } = mlkemKeyGen(p, random(64));
    fc.assert(
      fc.property(
        fc.nat({ max: 256 * p.k - 1 }),
        fc.integer({ min: Q - 2, max: 4095 }),
        (index, value) => {
          const bad = ek.slice();
          const at = Math.floor(index / 2) * 3;
          if (index % 2 === 0) {
            bad[at] = value & 0xff;
            bad[at + 1] = (bad[at + 1]! & 0xf0) | (value >> 8);
          } else {
            bad[at + 1] = (bad[at + 1]! & 0x0f) | ((value & 0x0f) << 4);
            bad[at + 2] = value >> 4;
          }
          const nobleRefuses = (() => {
            try {
              noble.encapsulate(bad, new Uint8Array(32));
              return false;
            } catch {
              return true;
            }
          })();
          expect(nobleRefuses).toBe(value >= Q);
          expect(mlkemEncaps(p, bad, new Uint8Array(32)) === undefined).toBe(value >= Q);
        },
      ),
      fcParams(60),
    );
  });

  it('the hash check: a dk whose ek or stored hash was changed is refused', () => {
    const { ek, dk } = mlkemKeyGen(p, random(64));
    const { ciphertext } = mlkemEncaps(p, ek, random(32))!;
    const ekStart = 384 * p.k;
    for (const at of [ekStart, ekStart + ekLength(p) - 1, ekStart + ekLength(p), dk.length - 33]) {
      const bad = dk.slice();
      bad[at] = bad[at]! ^ 0x01;
      expect(mlkemDecaps(p, bad, ciphertext)).toBeUndefined();
    }
    // ŝ and z are not covered by the hash: changing them is not an input error.
    const otherS = dk.slice();
    otherS[0] = otherS[0]! ^ 1;
    expect(mlkemDecaps(p, otherS, ciphertext)).toEqual(noble.decapsulate(ciphertext, otherS));
  });

  it('does not modify its inputs', () => {
    const seed = random(64);
    const m = random(32);
    const seedCopy = seed.slice();
    const { ek, dk } = mlkemKeyGen(p, seed);
    const ekCopy = ek.slice();
    const dkCopy = dk.slice();
    const { ciphertext } = mlkemEncaps(p, ek, m)!;
    const ctCopy = ciphertext.slice();
    mlkemDecaps(p, dk, ciphertext);
    expect([seed, m.length, ek, dk, ciphertext]).toEqual([seedCopy, 32, ekCopy, dkCopy, ctCopy]);
  });
});
