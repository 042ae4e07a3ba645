/**
 * Incremental ML-KEM-768: encaps1 ‖ encaps2 must be byte-for-byte the standard FIPS 203
 * encapsulation (noble's `ml_kem768` is the oracle), the header/ek split must match the standard
 * public key, and the ek-vs-header check must reject every modification.
 */
import { sha3_256 as nobleSha3, shake256 as nobleShake } from '@noble/hashes/sha3.js';
import { ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidKeyError } from '../../src/errors.js';
import { concatBytes } from '../../src/primitives/bytes.js';
import {
  decodeEncapsState,
  encodeEncapsState,
  MLKEM768_CT1_LENGTH,
  MLKEM768_CT2_LENGTH,
  MLKEM768_DK_LENGTH,
  MLKEM768_EK_LENGTH,
  MLKEM768_ENCAPS_STATE_LENGTH,
  MLKEM768_HEADER_LENGTH,
  mlkem768Decapsulate,
  mlkem768Encaps1,
  mlkem768Encaps2,
  mlkem768Generate,
  mlkem768HeaderMatchesEk,
  type MlKem768EncapsState,
} from '../../src/primitives/mlkem768-incremental.js';
import { catchError, fcParams, fixedRandom, seededRandom } from './helpers.js';

const seed64 = fc.uint8Array({ minLength: 64, maxLength: 64 });
const rand32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
/** A canonical 12-bit-packed t̂: 768 coefficients, each in [0, q). */
const canonicalEk = fc
  .array(fc.integer({ min: 0, max: 3328 }), { minLength: 768, maxLength: 768 })
  .map(packCoefficients);

/** ByteEncode12 of 768 coefficients (two per three bytes), written independently of src/. */
function packCoefficients(coeffs: readonly number[]): Uint8Array {
  const out = new Uint8Array((coeffs.length * 3) / 2);
  for (let i = 0; i < coeffs.length / 2; i++) {
    const a = coeffs[2 * i]!;
    const b = coeffs[2 * i + 1]!;
    out[3 * i] = a & 0xff;
    out[3 * i + 1] = (a >> 8) | ((b & 0x0f) << 4);
    out[3 * i + 2] = b >> 4;
  }
  return out;
}

/** Run both halves with a fixed `m` and return the joined ciphertext and the secret. */
function incremental(
  header: Uint8Array,
  ek: Uint8Array,
  m: Uint8Array,
): { ct: Uint8Array; sharedSecret: Uint8Array; state: MlKem768EncapsState } {
  const { ct1, sharedSecret, state } = mlkem768Encaps1(header, fixedRandom(m));
  expect(ct1).toHaveLength(MLKEM768_CT1_LENGTH);
  const ct2 = mlkem768Encaps2(ek, state);
  expect(ct2).toHaveLength(MLKEM768_CT2_LENGTH);
  return { ct: concatBytes(ct1, ct2), sharedSecret, state };
}

const fixedPair = mlkem768Generate(seededRandom('mlkem768 incremental fixed'));

describe('mlkem768 incremental', () => {
  it('sizes: header 64, ek 1152, ct1 960, ct2 128, dk 2400, state 64', () => {
    expect(MLKEM768_HEADER_LENGTH).toBe(64);
    expect(MLKEM768_EK_LENGTH).toBe(1152);
    expect(MLKEM768_CT1_LENGTH).toBe(960);
    expect(MLKEM768_CT2_LENGTH).toBe(128);
    expect(MLKEM768_DK_LENGTH).toBe(2400);
    expect(MLKEM768_ENCAPS_STATE_LENGTH).toBe(64);
    expect(MLKEM768_CT1_LENGTH + MLKEM768_CT2_LENGTH).toBe(ml_kem768.lengths.cipherText);
    expect(fixedPair.header).toHaveLength(64);
    expect(fixedPair.ek).toHaveLength(1152);
    expect(fixedPair.dk).toHaveLength(2400);
  });

  it('key generation is ml_kem768.keygen(seed), split into ek = pk[0..1152] and header = rho ‖ SHA3-256(pk)', () => {
    fc.assert(
      fc.property(seed64, (seed) => {
        const ours = mlkem768Generate(fixedRandom(seed));
        const noble = ml_kem768.keygen(seed.slice());
        const pk = noble.publicKey;
        expect(ours.dk).toEqual(noble.secretKey);
        expect(concatBytes(ours.ek, ours.header.subarray(0, 32))).toEqual(pk);
        expect(ours.header.subarray(32)).toEqual(nobleSha3(pk));
        expect(mlkem768HeaderMatchesEk(ours.header, ours.ek)).toBe(true);
      }),
      fcParams(8),
    );
  });

  it('encaps1 ‖ encaps2 equals ml_kem768.encapsulate(pk, m) byte for byte, and dk recovers the secret (property)', () => {
    fc.assert(
      fc.property(seed64, rand32, (seed, m) => {
        const { header, ek, dk } = mlkem768Generate(fixedRandom(seed));
        const pk = concatBytes(ek, header.subarray(0, 32));
        const expected = ml_kem768.encapsulate(pk, m.slice());
        const { ct, sharedSecret } = incremental(header, ek, m);
        expect(ct).toEqual(expected.cipherText);
        expect(sharedSecret).toEqual(expected.sharedSecret);
        expect(
          mlkem768Decapsulate(
            dk,
            ct.subarray(0, MLKEM768_CT1_LENGTH),
            ct.subarray(MLKEM768_CT1_LENGTH),
          ),
        ).toEqual(sharedSecret);
      }),
      fcParams(32),
    );
  });

  it('matches ml_kem768.encapsulate for arbitrary canonical public keys, not only generated ones (property)', () => {
    // Covers t̂ coefficients at the edges (0 and q − 1), which keygen output rarely hits.
    const edges = fc.constantFrom(0, 1, 3327, 3328);
    const edgeEk = fc.array(edges, { minLength: 768, maxLength: 768 }).map(packCoefficients);
    fc.assert(
      fc.property(fc.oneof(canonicalEk, edgeEk), rand32, rand32, (ek, rho, m) => {
        const pk = concatBytes(ek, rho);
        const header = concatBytes(rho, nobleSha3(pk));
        expect(mlkem768HeaderMatchesEk(header, ek)).toBe(true);
        const expected = ml_kem768.encapsulate(pk, m.slice());
        const { ct, sharedSecret } = incremental(header, ek, m);
        expect(ct).toEqual(expected.cipherText);
        expect(sharedSecret).toEqual(expected.sharedSecret);
      }),
      fcParams(12),
    );
  });

  it('the shared secret is SHA3-512(m ‖ header[32..64])[0..32] and is known before ek', () => {
    const m = seededRandom('mlkem768 m')(32);
    const { sharedSecret, state } = mlkem768Encaps1(fixedPair.header, fixedRandom(m));
    const pk = concatBytes(fixedPair.ek, fixedPair.header.subarray(0, 32));
    expect(sharedSecret).toEqual(ml_kem768.encapsulate(pk, m.slice()).sharedSecret);
    expect(state.m).toEqual(m);
  });

  it('a fresh m is drawn per call with the default random source', () => {
    const a = mlkem768Encaps1(fixedPair.header);
    const b = mlkem768Encaps1(fixedPair.header);
    expect(a.sharedSecret).not.toEqual(b.sharedSecret);
    expect(a.ct1).not.toEqual(b.ct1);
    const ct2 = mlkem768Encaps2(fixedPair.ek, a.state);
    expect(mlkem768Decapsulate(fixedPair.dk, a.ct1, ct2)).toEqual(a.sharedSecret);
  });

  it('encaps state: encode/decode round trip gives an identical ct2, and encaps2 leaves the state intact', () => {
    fc.assert(
      fc.property(rand32, (m) => {
        const { ct1, sharedSecret, state } = mlkem768Encaps1(fixedPair.header, fixedRandom(m));
        const before = encodeEncapsState(state);
        expect(before).toHaveLength(MLKEM768_ENCAPS_STATE_LENGTH);
        const ct2 = mlkem768Encaps2(fixedPair.ek, state);
        expect(encodeEncapsState(state)).toEqual(before);
        const decoded = decodeEncapsState(before);
        expect(encodeEncapsState(decoded)).toEqual(before);
        expect(mlkem768Encaps2(fixedPair.ek, decoded)).toEqual(ct2);
        // The decoded state owns its bytes.
        before.fill(0);
        expect(mlkem768Encaps2(fixedPair.ek, decoded)).toEqual(ct2);
        expect(mlkem768Decapsulate(fixedPair.dk, ct1, ct2)).toEqual(sharedSecret);
      }),
      fcParams(8),
    );
  });

  it('mlkem768HeaderMatchesEk is false for a modified ek, rho, or hash', () => {
    const { header, ek } = fixedPair;
    for (const at of [0, 1, 383, 384, 700, 1151]) {
      const bad = ek.slice();
      bad[at] = (bad[at]! ^ 0x01) & 0xff;
      expect(mlkem768HeaderMatchesEk(header, bad)).toBe(false);
    }
    for (const at of [0, 31, 32, 63]) {
      const bad = header.slice();
      bad[at] = (bad[at]! ^ 0x80) & 0xff;
      expect(mlkem768HeaderMatchesEk(bad, ek)).toBe(false);
    }
    const other = mlkem768Generate(seededRandom('mlkem768 other'));
    expect(mlkem768HeaderMatchesEk(header, other.ek)).toBe(false);
    expect(mlkem768HeaderMatchesEk(other.header, ek)).toBe(false);
  });

  it('an ek with a coefficient ≥ q fails the header check even when its hash matches, and encaps2 rejects it', () => {
    for (const value of [3329, 4095]) {
      const coeffs = Array.from({ length: 768 }, (_, i) => (i * 7) % 3329);
      coeffs[767] = value;
      const ek = packCoefficients(coeffs);
      const rho = seededRandom('mlkem768 rho')(32);
      const header = concatBytes(rho, nobleSha3(concatBytes(ek, rho)));
      expect(mlkem768HeaderMatchesEk(header, ek)).toBe(false);
      // noble agrees that this public key is invalid.
      expect(() => ml_kem768.encapsulate(concatBytes(ek, rho))).toThrow();
      const { state } = mlkem768Encaps1(header);
      const e = catchError(() => mlkem768Encaps2(ek, state));
      expect(e).toBeInstanceOf(InvalidKeyError);
      expect(e).toMatchObject({ code: 'ERR_INVALID_KEY', keyType: 'kem-public' });
    }
  });

  it('decapsulation of a modified ciphertext yields the implicit-rejection secret', () => {
    const { ct1, sharedSecret, state } = mlkem768Encaps1(fixedPair.header);
    const ct2 = mlkem768Encaps2(fixedPair.ek, state);
    const z = fixedPair.dk.subarray(MLKEM768_DK_LENGTH - 32);
    for (const [c1, c2] of [
      [ct1.slice(), ct2],
      [ct1, ct2.slice()],
    ] as const) {
      const target = c1 === ct1 ? c2 : c1;
      target[5] = (target[5]! ^ 0x04) & 0xff;
      const got = mlkem768Decapsulate(fixedPair.dk, c1, c2);
      expect(got).not.toEqual(sharedSecret);
      expect(got).toEqual(nobleShake(concatBytes(z, c1, c2), { dkLen: 32 }));
    }
  });

  it('decapsulation leaves dk intact and rejects a dk that fails the FIPS 203 hash check', () => {
    const { ct1, state } = mlkem768Encaps1(fixedPair.header);
    const ct2 = mlkem768Encaps2(fixedPair.ek, state);
    const dk = fixedPair.dk.slice();
    mlkem768Decapsulate(dk, ct1, ct2);
    expect(dk).toEqual(fixedPair.dk);
    dk[2400 - 40] = dk[2400 - 40]! ^ 1; // inside H(ek)
    const e = catchError(() => mlkem768Decapsulate(dk, ct1, ct2));
    expect(e).toBeInstanceOf(InvalidKeyError);
    expect(e).toMatchObject({ code: 'ERR_INVALID_KEY', keyType: 'kem-secret' });
  });

  it('wrong lengths throw RangeError', () => {
    const { header, ek, dk } = fixedPair;
    const { ct1, state } = mlkem768Encaps1(header);
    const ct2 = mlkem768Encaps2(ek, state);
    const short = (b: Uint8Array): Uint8Array => b.subarray(0, b.length - 1);
    const long = (b: Uint8Array): Uint8Array => concatBytes(b, Uint8Array.of(0));
    for (const f of [short, long]) {
      expect(() => mlkem768Encaps1(f(header))).toThrow(RangeError);
      expect(() => mlkem768Encaps2(f(ek), state)).toThrow(RangeError);
      expect(() => mlkem768Encaps2(ek, { m: f(state.m), r: state.r })).toThrow(RangeError);
      expect(() => mlkem768Encaps2(ek, { m: state.m, r: f(state.r) })).toThrow(RangeError);
      expect(() => mlkem768HeaderMatchesEk(f(header), ek)).toThrow(RangeError);
      expect(() => mlkem768HeaderMatchesEk(header, f(ek))).toThrow(RangeError);
      expect(() => mlkem768Decapsulate(f(dk), ct1, ct2)).toThrow(RangeError);
      expect(() => mlkem768Decapsulate(dk, f(ct1), ct2)).toThrow(RangeError);
      expect(() => mlkem768Decapsulate(dk, ct1, f(ct2))).toThrow(RangeError);
      expect(() => encodeEncapsState({ m: f(state.m), r: state.r })).toThrow(RangeError);
      expect(() => decodeEncapsState(f(encodeEncapsState(state)))).toThrow(RangeError);
    }
    expect(() => decodeEncapsState(new Uint8Array(0))).toThrow(RangeError);
  });

  it('wrong types throw TypeError, and so does a random source returning the wrong length', () => {
    const { header, ek, dk } = fixedPair;
    const { ct1, state } = mlkem768Encaps1(header);
    const ct2 = mlkem768Encaps2(ek, state);
    const notBytes = [...header] as unknown as Uint8Array;
    expect(() => mlkem768Encaps1(notBytes)).toThrow(TypeError);
    expect(() => mlkem768Encaps2(notBytes, state)).toThrow(TypeError);
    expect(() => mlkem768Encaps2(ek, null as unknown as MlKem768EncapsState)).toThrow(TypeError);
    expect(() => mlkem768Encaps2(ek, { m: state.m } as MlKem768EncapsState)).toThrow(TypeError);
    expect(() => mlkem768HeaderMatchesEk(notBytes, ek)).toThrow(TypeError);
    expect(() => mlkem768Decapsulate(dk, ct1, notBytes)).toThrow(TypeError);
    expect(() => decodeEncapsState(notBytes)).toThrow(TypeError);
    expect(() => encodeEncapsState(undefined as unknown as MlKem768EncapsState)).toThrow(TypeError);
    expect(() => mlkem768Encaps1(header, () => new Uint8Array(31))).toThrow(TypeError);
    expect(() => mlkem768Generate(() => new Uint8Array(32))).toThrow(TypeError);
    expect(ct2).toHaveLength(128);
  });
});
