import { sha3_256 as nobleSha3, shake256 as nobleShake } from '@noble/hashes/sha3.js';
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEM_TYPE_KYBER1024, KEM_TYPE_MLKEM1024 } from '../../src/constants.js';
import { InvalidKeyError, InvalidMessageError } from '../../src/errors.js';
import { KemKeyPair, KemPublicKey, KemSecretKey } from '../../src/keys/index.js';
import {
  checkKemPublicKey,
  checkKemSecretKey,
  concatBytes,
  kemDecapsulate,
  kemEncapsulate,
  kemGenerateKeyPair,
  kemPublicKeyFromSecretKey,
  type KemType,
} from '../../src/primitives/index.js';
import { catchError, fcParams, fixedRandom, isAllowedError, seededRandom } from './helpers.js';

const TYPES: readonly KemType[] = [KEM_TYPE_KYBER1024, KEM_TYPE_MLKEM1024];
const seed64 = fc.uint8Array({ minLength: 64, maxLength: 64 });
const rand32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

/** The implicit-rejection secret, computed independently of src/. */
function rejectionSecret(type: KemType, secretKey: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const z = secretKey.subarray(secretKey.length - 32);
  const ct = ciphertext.subarray(1);
  const kBar = nobleShake(concatBytes(z, ct), { dkLen: 32 });
  if (type === KEM_TYPE_MLKEM1024) return kBar;
  return nobleShake(concatBytes(kBar, nobleSha3(ct)), { dkLen: 32 });
}

// One fixed key pair per type, shared by the cheaper tests.
const fixed = new Map(
  TYPES.map((t) => [t, kemGenerateKeyPair(t, seededRandom(`kem fixed ${String(t)}`))] as const),
);
function pairOf(t: KemType): { publicKey: Uint8Array; secretKey: Uint8Array } {
  return fixed.get(t)!;
}

describe.each(TYPES.map((type) => ({ type, label: `0x${type.toString(16).padStart(2, '0')}` })))(
  'KEM type $label',
  ({ type }) => {
    it('serialized lengths are 1569 / 3169 / 1569 and carry the type byte', () => {
      const { publicKey, secretKey } = pairOf(type);
      expect(publicKey).toHaveLength(1569);
      expect(secretKey).toHaveLength(3169);
      expect(publicKey[0]).toBe(type);
      expect(secretKey[0]).toBe(type);
      const { ciphertext, sharedSecret } = kemEncapsulate(publicKey);
      expect(ciphertext).toHaveLength(1569);
      expect(ciphertext[0]).toBe(type);
      expect(sharedSecret).toHaveLength(32);
      expect(checkKemPublicKey(publicKey)).toBe(type);
      expect(checkKemSecretKey(secretKey)).toBe(type);
    });

    it('secret key layout: s ‖ pk ‖ SHA3-256(pk) ‖ z', () => {
      const { publicKey, secretKey } = pairOf(type);
      const raw = secretKey.subarray(1);
      expect(raw.subarray(1536, 3104)).toEqual(publicKey.subarray(1));
      expect(raw.subarray(3104, 3136)).toEqual(nobleSha3(publicKey.subarray(1)));
      expect(kemPublicKeyFromSecretKey(secretKey)).toEqual(publicKey);
    });

    it('key generation is ml_kem1024.keygen(seed) with the type byte prepended', () => {
      const seed = seededRandom('kem keygen')(64);
      const ours = kemGenerateKeyPair(type, fixedRandom(seed));
      const noble = ml_kem1024.keygen(seed.slice());
      expect(ours.publicKey).toEqual(concatBytes(Uint8Array.of(type), noble.publicKey));
      expect(ours.secretKey).toEqual(concatBytes(Uint8Array.of(type), noble.secretKey));
    });

    it('round trip (property)', () => {
      fc.assert(
        fc.property(seed64, rand32, (seed, r) => {
          const { publicKey, secretKey } = kemGenerateKeyPair(type, fixedRandom(seed));
          const { ciphertext, sharedSecret } = kemEncapsulate(publicKey, fixedRandom(r));
          expect(kemDecapsulate(secretKey, ciphertext)).toEqual(sharedSecret);
        }),
        fcParams(50),
      );
    });

    it('encapsulation matches the Kyber / ML-KEM recipe computed with noble directly', () => {
      const { publicKey } = pairOf(type);
      fc.assert(
        fc.property(rand32, (r) => {
          const ours = kemEncapsulate(publicKey, fixedRandom(r));
          const raw = publicKey.subarray(1);
          if (type === KEM_TYPE_MLKEM1024) {
            const ref = ml_kem1024.encapsulate(raw, r.slice());
            expect(ours.ciphertext).toEqual(concatBytes(Uint8Array.of(type), ref.cipherText));
            expect(ours.sharedSecret).toEqual(ref.sharedSecret);
          } else {
            // Kyber round 3: m = SHA3-256(rand), K = SHAKE256(K̄ ‖ SHA3-256(ct), 32).
            const ref = ml_kem1024.encapsulate(raw, nobleSha3(r));
            expect(ours.ciphertext).toEqual(concatBytes(Uint8Array.of(type), ref.cipherText));
            const k = nobleShake(concatBytes(ref.sharedSecret, nobleSha3(ref.cipherText)), {
              dkLen: 32,
            });
            expect(ours.sharedSecret).toEqual(k);
          }
        }),
        fcParams(20),
      );
    });

    it('implicit rejection: a corrupted ciphertext gives the deterministic rejection secret', () => {
      const { publicKey, secretKey } = pairOf(type);
      fc.assert(
        fc.property(
          rand32,
          fc.integer({ min: 1, max: 1568 }),
          fc.integer({ min: 1, max: 255 }),
          (r, i, mask) => {
            const { ciphertext, sharedSecret } = kemEncapsulate(publicKey, fixedRandom(r));
            const bad = ciphertext.slice();
            bad[i] = bad[i]! ^ mask;
            const k1 = kemDecapsulate(secretKey, bad);
            expect(k1).not.toEqual(sharedSecret);
            expect(kemDecapsulate(secretKey, bad)).toEqual(k1);
            expect(k1).toEqual(rejectionSecret(type, secretKey, bad));
          },
        ),
        fcParams(50),
      );
    });

    it('the key classes round-trip and interoperate', () => {
      const pair = KemKeyPair.generate(type, seededRandom(`classes ${String(type)}`));
      expect(pair.publicKey.type).toBe(type);
      expect(pair.secretKey.type).toBe(type);
      const pub = KemPublicKey.deserialize(pair.publicKey.serialize());
      const sec = KemSecretKey.deserialize(pair.secretKey.serialize());
      expect(pub.equals(pair.publicKey)).toBe(true);
      expect(sec.getPublicKey().equals(pub)).toBe(true);
      expect(KemKeyPair.fromSecretKey(sec).publicKey.equals(pub)).toBe(true);
      const { ciphertext, sharedSecret } = pub.encapsulate();
      expect(sec.decapsulate(ciphertext)).toEqual(sharedSecret);
      expect(pair.secretKey.decapsulate(ciphertext)).toEqual(sharedSecret);
    });

    it('wrong type bytes on keys are InvalidKeyError ERR_INVALID_KEY', () => {
      const { publicKey, secretKey } = pairOf(type);
      for (const t of [0x00, 0x05, 0x07, 0x09, 0x0b, 0xff]) {
        const pk = publicKey.slice();
        pk[0] = t;
        const sk = secretKey.slice();
        sk[0] = t;
        for (const f of [() => KemPublicKey.deserialize(pk), () => kemEncapsulate(pk)]) {
          const e = catchError(f);
          expect(e).toBeInstanceOf(InvalidKeyError);
          expect(e).toMatchObject({
            code: 'ERR_INVALID_KEY',
            message: `unsupported KEM key type ${String(t)}`,
            keyType: 'kem-public',
          });
        }
        for (const f of [
          () => KemSecretKey.deserialize(sk),
          () => kemDecapsulate(sk, kemEncapsulate(publicKey).ciphertext),
        ]) {
          expect(catchError(f)).toMatchObject({
            code: 'ERR_INVALID_KEY',
            message: `unsupported KEM key type ${String(t)}`,
            keyType: 'kem-secret',
          });
        }
      }
    });

    it('wrong key lengths are InvalidKeyError ERR_INVALID_KEY', () => {
      const { publicKey, secretKey } = pairOf(type);
      for (const pk of [
        publicKey.subarray(0, 1568),
        Uint8Array.of(...publicKey, 0),
        publicKey.subarray(0, 1),
        secretKey,
      ]) {
        expect(catchError(() => KemPublicKey.deserialize(pk))).toMatchObject({
          code: 'ERR_INVALID_KEY',
          message: `KEM public key must be 1569 bytes, got ${String(pk.length)}`,
        });
      }
      for (const sk of [secretKey.subarray(0, 3168), Uint8Array.of(...secretKey, 0), publicKey]) {
        expect(catchError(() => KemSecretKey.deserialize(sk))).toMatchObject({
          code: 'ERR_INVALID_KEY',
          message: `KEM secret key must be 3169 bytes, got ${String(sk.length)}`,
        });
      }
      expect(catchError(() => KemPublicKey.deserialize(new Uint8Array(0)))).toMatchObject({
        code: 'ERR_INVALID_KEY',
        message: 'empty KEM public key',
      });
      expect(catchError(() => KemSecretKey.deserialize(new Uint8Array(0)))).toMatchObject({
        code: 'ERR_INVALID_KEY',
        message: 'empty KEM secret key',
      });
    });

    it('ciphertexts of the wrong type or length are InvalidMessageError ERR_INVALID_MESSAGE', () => {
      const { publicKey, secretKey } = pairOf(type);
      const { ciphertext } = kemEncapsulate(publicKey);
      const other = type === KEM_TYPE_KYBER1024 ? KEM_TYPE_MLKEM1024 : KEM_TYPE_KYBER1024;
      // Without its type byte the ciphertext starts with a random byte, which equals the type
      // byte once in 256 runs: flip it then, so that this case always tests the missing type.
      const withoutType = ciphertext.slice(1);
      if (withoutType[0] === type) withoutType[0] = type ^ 0x80;
      const cases: [Uint8Array, string][] = [
        [
          concatBytes(Uint8Array.of(other), ciphertext.subarray(1)),
          'KEM ciphertext type does not match the key',
        ],
        [
          concatBytes(Uint8Array.of(0x07), ciphertext.subarray(1)),
          'KEM ciphertext type does not match the key',
        ],
        [withoutType, 'KEM ciphertext type does not match the key'],
        [new Uint8Array(0), 'KEM ciphertext type does not match the key'],
        [ciphertext.subarray(0, 1568), 'KEM ciphertext must be 1569 bytes, got 1568'],
        [Uint8Array.of(...ciphertext, 0), 'KEM ciphertext must be 1569 bytes, got 1570'],
        [Uint8Array.of(type), 'KEM ciphertext must be 1569 bytes, got 1'],
      ];
      for (const [ct, message] of cases) {
        const e = catchError(() => kemDecapsulate(secretKey, ct));
        expect(e).toBeInstanceOf(InvalidMessageError);
        expect(e).toMatchObject({
          code: 'ERR_INVALID_MESSAGE',
          message,
          messageType: 'kem-ciphertext',
        });
        expect(catchError(() => KemSecretKey.deserialize(secretKey).decapsulate(ct))).toMatchObject(
          {
            code: 'ERR_INVALID_MESSAGE',
            message,
          },
        );
      }
    });

    it('a public key failing the FIPS 203 modulus check is InvalidKeyError', () => {
      const pk = new Uint8Array(1569).fill(0xff);
      pk[0] = type;
      expect(KemPublicKey.deserialize(pk).type).toBe(type); // structure is fine
      const e = catchError(() => kemEncapsulate(pk));
      expect(e).toBeInstanceOf(InvalidKeyError);
      expect(e).toMatchObject({
        code: 'ERR_INVALID_KEY',
        message: 'invalid KEM public key',
        keyType: 'kem-public',
      });
    });

    it('a secret key whose embedded H(pk) is wrong is InvalidKeyError', () => {
      const { publicKey, secretKey } = pairOf(type);
      const { ciphertext } = kemEncapsulate(publicKey);
      const sk = secretKey.slice();
      sk[1 + 3104] = sk[1 + 3104]! ^ 1;
      expect(catchError(() => kemDecapsulate(sk, ciphertext))).toMatchObject({
        code: 'ERR_INVALID_KEY',
        message: 'invalid KEM secret key',
        keyType: 'kem-secret',
      });
    });

    it('does not modify its inputs; draws 64 bytes for keygen and 32 for encapsulation', () => {
      const asked: number[] = [];
      const counting = (n: number): Uint8Array => {
        asked.push(n);
        return new Uint8Array(n).fill(n);
      };
      const { publicKey, secretKey } = kemGenerateKeyPair(type, counting);
      const pkCopy = publicKey.slice();
      const skCopy = secretKey.slice();
      const { ciphertext } = kemEncapsulate(publicKey, counting);
      const ctCopy = ciphertext.slice();
      kemDecapsulate(secretKey, ciphertext);
      const bad = ciphertext.slice();
      bad[5] = bad[5]! ^ 1;
      kemDecapsulate(secretKey, bad);
      expect(asked).toEqual([64, 32]);
      expect(publicKey).toEqual(pkCopy);
      expect(secretKey).toEqual(skCopy);
      expect(ciphertext).toEqual(ctCopy);
    });

    it('encapsulates to the key it checked, even when the random source shrinks the key buffer', () => {
      const { publicKey, secretKey } = pairOf(type);
      // A resizable ArrayBuffer (ES2024; typed here because the test build targets ES2022 types).
      const Resizable = ArrayBuffer as unknown as new (
        length: number,
        options: { maxByteLength: number },
      ) => ArrayBuffer & { resize(length: number): void };
      const buffer = new Resizable(publicKey.length, { maxByteLength: publicKey.length });
      const view = new Uint8Array(buffer);
      view.set(publicKey);
      const m = new Uint8Array(32).fill(7);
      // Caller code runs between the check and the encapsulation: it cuts the key to its type byte.
      const shrinking = (n: number): Uint8Array => {
        buffer.resize(1);
        return m.slice(0, n);
      };
      const { ciphertext, sharedSecret } = kemEncapsulate(view, shrinking);
      // The result is the encapsulation to the original key (an all-zero t̂ would put m in v).
      expect(kemDecapsulate(secretKey, ciphertext)).toEqual(sharedSecret);
      expect(kemEncapsulate(publicKey, fixedRandom(m)).ciphertext).toEqual(ciphertext);
    });

    it('input that throws while it is read gives a typed error, never the thrown one', () => {
      const { publicKey, secretKey } = pairOf(type);
      const m = new Uint8Array(32).fill(3);
      const { ciphertext, sharedSecret } = kemEncapsulate(publicKey, fixedRandom(m));
      // A Proxy (still `instanceof Uint8Array`) on which every property read (elements, length,
      // methods, the iterator) throws after the first few; arrays its methods return (slice,
      // subarray) are such proxies too.
      const failingAfter = (real: Uint8Array, reads: number): Uint8Array => {
        let n = 0;
        const wrap = (arr: Uint8Array): Uint8Array =>
          new Proxy(arr, {
            get(target, key) {
              if (++n > reads) {
                throw new Error('boom from input');
              }
              const value: unknown = Reflect.get(target, key, target);
              if (typeof value !== 'function') return value;
              return (...args: unknown[]): unknown => {
                const r: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
                return r instanceof Uint8Array ? wrap(r) : r;
              };
            },
          });
        return wrap(real);
      };
      // Every budget of successful reads, from none to more than the calls make: each call either
      // gives the right answer or throws one of our errors (or TypeError/RangeError for misuse).
      const outcome = (f: () => Uint8Array): unknown => {
        try {
          return f();
        } catch (e) {
          return isAllowedError(e) ? 'allowed error' : e;
        }
      };
      for (let reads = 0; reads <= 40; reads++) {
        const results = [
          outcome(
            () => kemEncapsulate(failingAfter(publicKey, reads), fixedRandom(m)).sharedSecret,
          ),
          outcome(() => kemDecapsulate(failingAfter(secretKey, reads), ciphertext)),
          outcome(() => kemDecapsulate(secretKey, failingAfter(ciphertext, reads))),
        ];
        for (const r of results) {
          expect(r === 'allowed error' ? r : r instanceof Uint8Array ? [...r] : r).toEqual(
            r === 'allowed error' ? r : [...sharedSecret],
          );
        }
      }
    });
  },
);

describe('KEM 0x08 versus 0x0A', () => {
  it('the same raw key and ciphertext give different secrets under the two types', () => {
    fc.assert(
      fc.property(seed64, rand32, (seed, r) => {
        const kyber = kemGenerateKeyPair(KEM_TYPE_KYBER1024, fixedRandom(seed));
        const mlkem = kemGenerateKeyPair(KEM_TYPE_MLKEM1024, fixedRandom(seed));
        expect(kyber.secretKey.subarray(1)).toEqual(mlkem.secretKey.subarray(1));
        const { ciphertext, sharedSecret } = kemEncapsulate(kyber.publicKey, fixedRandom(r));
        const asMlkem = concatBytes(Uint8Array.of(KEM_TYPE_MLKEM1024), ciphertext.subarray(1));
        const k8 = kemDecapsulate(kyber.secretKey, ciphertext);
        const k10 = kemDecapsulate(mlkem.secretKey, asMlkem);
        expect(k8).toEqual(sharedSecret);
        expect(k10).not.toEqual(k8);
        // The Kyber secret is the ML-KEM one post-processed: SHAKE256(K̄ ‖ SHA3-256(ct), 32).
        const ct = ciphertext.subarray(1);
        expect(k8).toEqual(nobleShake(concatBytes(k10, nobleSha3(ct)), { dkLen: 32 }));
      }),
      fcParams(10),
    );
  });

  it('an unsupported type for generation is a RangeError', () => {
    expect(() => kemGenerateKeyPair(0x07 as KemType)).toThrow(RangeError);
    expect(() => KemKeyPair.generate(0x05 as KemType)).toThrow(RangeError);
  });

  it('KemKeyPair.generate defaults to Kyber-1024 (0x08)', () => {
    expect(KemKeyPair.generate().publicKey.type).toBe(KEM_TYPE_KYBER1024);
  });
});
