/**
 * Bad input to every primitive and key deserializer: the only permitted outcomes are success, a
 * chiffre error (`isSignalError`), or `TypeError`/`RangeError` for misuse (STYLE.md 1.7, 1.11).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEM_TYPE_KYBER1024, KEM_TYPE_MLKEM1024 } from '../../src/constants.js';
import { isSignalError } from '../../src/errors.js';
import {
  IdentityKeyPair,
  KemPublicKey,
  KemSecretKey,
  PrivateKey,
  PublicKey,
} from '../../src/keys/index.js';
import {
  aes256CbcDecrypt,
  aes256CbcEncrypt,
  checkKemPublicKey,
  checkKemSecretKey,
  clampPrivateKey,
  hkdfSha256,
  hmacSha256,
  isLowOrderX25519PublicKey,
  kemDecapsulate,
  kemEncapsulate,
  kemGenerateKeyPair,
  kemPublicKeyFromSecretKey,
  sha256,
  sha3_256,
  sha512,
  shake256,
  x25519Agree,
  x25519PublicKey,
  xeddsaSign,
  xeddsaVerify,
} from '../../src/primitives/index.js';
import { catchError, fcParams, isAllowedError, seededRandom } from './helpers.js';

const b = (n: number): Uint8Array => new Uint8Array(n).fill(9);
const kyber = kemGenerateKeyPair(KEM_TYPE_KYBER1024, seededRandom('bad-input kyber'));
const mlkem = kemGenerateKeyPair(KEM_TYPE_MLKEM1024, seededRandom('bad-input mlkem'));
const kyberCt = kemEncapsulate(kyber.publicKey).ciphertext;
const privateKey = PrivateKey.generate(seededRandom('bad-input x25519'));
const publicKey = privateKey.getPublicKey();

/** Values that are not `Uint8Array`s. */
const NOT_BYTES: readonly [string, unknown][] = [
  ['undefined', undefined],
  ['null', null],
  ['number', 33],
  ['string', '05'.repeat(33)],
  ['array', Array.from({ length: 33 }, () => 5)],
  ['array-like', { length: 33, 0: 5 }],
  ['ArrayBuffer', new ArrayBuffer(33)],
  ['DataView', new DataView(new ArrayBuffer(33))],
  ['Uint16Array', new Uint16Array(33)],
  ['Int8Array', new Int8Array(33)],
  ['Uint8ClampedArray', new Uint8ClampedArray(33)],
  ['bigint', 5n],
  ['symbol', Symbol('x')],
];

/** Every entry point that takes bytes, with the byte argument replaced by `x`. */
const TARGETS: readonly [string, (x: unknown) => unknown][] = [
  ['PublicKey.deserialize', (x) => PublicKey.deserialize(x as Uint8Array)],
  ['PublicKey.fromRaw', (x) => PublicKey.fromRaw(x as Uint8Array)],
  ['PrivateKey.deserialize', (x) => PrivateKey.deserialize(x as Uint8Array)],
  ['IdentityKeyPair.deserialize', (x) => IdentityKeyPair.deserialize(x as Uint8Array)],
  ['KemPublicKey.deserialize', (x) => KemPublicKey.deserialize(x as Uint8Array)],
  ['KemSecretKey.deserialize', (x) => KemSecretKey.deserialize(x as Uint8Array)],
  ['PublicKey#verifySignature(message)', (x) => publicKey.verifySignature(x as Uint8Array, b(64))],
  ['PublicKey#verifySignature(sig)', (x) => publicKey.verifySignature(b(3), x as Uint8Array)],
  ['PrivateKey#sign', (x) => privateKey.sign(x as Uint8Array)],
  [
    'KemSecretKey#decapsulate',
    (x) => KemSecretKey.deserialize(kyber.secretKey).decapsulate(x as Uint8Array),
  ],
  ['sha256', (x) => sha256(x as Uint8Array)],
  ['sha512', (x) => sha512(x as Uint8Array)],
  ['sha3_256', (x) => sha3_256(x as Uint8Array)],
  ['shake256', (x) => shake256(x as Uint8Array, 32)],
  ['hmacSha256(key)', (x) => hmacSha256(x as Uint8Array, b(3))],
  ['hmacSha256(data)', (x) => hmacSha256(b(32), x as Uint8Array)],
  ['hkdfSha256(ikm)', (x) => hkdfSha256(x as Uint8Array, undefined, b(1), 32)],
  ['hkdfSha256(salt)', (x) => hkdfSha256(b(32), x as Uint8Array, b(1), 32)],
  ['hkdfSha256(info)', (x) => hkdfSha256(b(32), undefined, x as Uint8Array, 32)],
  ['aes256CbcEncrypt(key)', (x) => aes256CbcEncrypt(x as Uint8Array, b(16), b(5))],
  ['aes256CbcEncrypt(iv)', (x) => aes256CbcEncrypt(b(32), x as Uint8Array, b(5))],
  ['aes256CbcEncrypt(plaintext)', (x) => aes256CbcEncrypt(b(32), b(16), x as Uint8Array)],
  ['aes256CbcDecrypt(key)', (x) => aes256CbcDecrypt(x as Uint8Array, b(16), b(16))],
  ['aes256CbcDecrypt(iv)', (x) => aes256CbcDecrypt(b(32), x as Uint8Array, b(16))],
  ['aes256CbcDecrypt(ciphertext)', (x) => aes256CbcDecrypt(b(32), b(16), x as Uint8Array)],
  ['clampPrivateKey', (x) => clampPrivateKey(x as Uint8Array)],
  ['x25519PublicKey', (x) => x25519PublicKey(x as Uint8Array)],
  ['x25519Agree(private)', (x) => x25519Agree(x as Uint8Array, b(32))],
  ['x25519Agree(public)', (x) => x25519Agree(b(32), x as Uint8Array)],
  ['isLowOrderX25519PublicKey', (x) => isLowOrderX25519PublicKey(x as Uint8Array)],
  ['xeddsaSign(key)', (x) => xeddsaSign(x as Uint8Array, b(3))],
  ['xeddsaSign(message)', (x) => xeddsaSign(privateKey.serialize(), x as Uint8Array)],
  ['xeddsaVerify(key)', (x) => xeddsaVerify(x as Uint8Array, b(3), b(64))],
  ['xeddsaVerify(message)', (x) => xeddsaVerify(b(32), x as Uint8Array, b(64))],
  ['xeddsaVerify(signature)', (x) => xeddsaVerify(b(32), b(3), x as Uint8Array)],
  ['checkKemPublicKey', (x) => checkKemPublicKey(x as Uint8Array)],
  ['checkKemSecretKey', (x) => checkKemSecretKey(x as Uint8Array)],
  ['kemEncapsulate', (x) => kemEncapsulate(x as Uint8Array)],
  ['kemDecapsulate(secretKey)', (x) => kemDecapsulate(x as Uint8Array, kyberCt)],
  ['kemDecapsulate(ciphertext)', (x) => kemDecapsulate(kyber.secretKey, x as Uint8Array)],
  ['kemPublicKeyFromSecretKey', (x) => kemPublicKeyFromSecretKey(x as Uint8Array)],
];

/** Byte strings of wrong lengths and type bytes. */
const BAD_BYTES: readonly [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['1 byte', Uint8Array.of(5)],
  ['31 bytes', b(31)],
  ['32 bytes 0x05…', Uint8Array.of(5, ...b(31))],
  ['33 bytes type 0x06', Uint8Array.of(6, ...b(32))],
  ['34 bytes 0x05…', Uint8Array.of(5, ...b(33))],
  ['64 bytes', b(64)],
  ['69 bytes of zeros', new Uint8Array(69)],
  ['1568 bytes', b(1568)],
  ['1569 bytes type 0x07', Uint8Array.of(7, ...b(1568))],
  ['1570 bytes type 0x08', Uint8Array.of(8, ...b(1569))],
  ['3169 bytes type 0x0b', Uint8Array.of(0x0b, ...b(3168))],
  ['3170 bytes type 0x0a', Uint8Array.of(0x0a, ...b(3169))],
];

/** Targets for which `undefined` is a valid value (an absent HKDF salt). */
const UNDEFINED_OK = new Set(['hkdfSha256(salt)']);

describe('non-Uint8Array arguments', () => {
  it.each(TARGETS)('%s throws TypeError for every non-Uint8Array value', (name, call) => {
    for (const [what, value] of NOT_BYTES) {
      if (value === undefined && UNDEFINED_OK.has(name)) continue;
      const e = catchError(() => call(value));
      expect(e, what).toBeInstanceOf(TypeError);
      expect(isSignalError(e), what).toBe(false);
    }
  });

  it('a Buffer is accepted as a Uint8Array', () => {
    expect(PublicKey.deserialize(Buffer.from(publicKey.serialize())).equals(publicKey)).toBe(true);
    expect(sha256(Buffer.from('abc'))).toHaveLength(32);
  });
});

describe('wrong lengths and type bytes', () => {
  it.each(TARGETS)('%s: success, SignalError, TypeError or RangeError only', (_name, call) => {
    for (const [what, bytes] of BAD_BYTES) {
      try {
        call(bytes);
      } catch (e) {
        expect(isAllowedError(e), `${what}: ${String(e)}`).toBe(true);
      }
    }
  });

  it('key deserializers report wrong lengths and type bytes as ERR_INVALID_KEY', () => {
    const cases: [() => unknown, string][] = [
      [() => PublicKey.deserialize(new Uint8Array(0)), 'empty public key'],
      [() => PublicKey.deserialize(Uint8Array.of(6, ...b(32))), 'unsupported public key type 6'],
      [() => PublicKey.deserialize(b(32)), 'unsupported public key type 9'],
      [
        () => PublicKey.deserialize(Uint8Array.of(5, ...b(31))),
        'public key must be 33 bytes, got 32',
      ],
      [
        () => PublicKey.deserialize(Uint8Array.of(5, ...b(33))),
        'public key must be 33 bytes, got 34',
      ],
      [() => PrivateKey.deserialize(b(31)), 'private key must be 32 bytes, got 31'],
      [() => PrivateKey.deserialize(b(33)), 'private key must be 32 bytes, got 33'],
      [() => PrivateKey.deserialize(new Uint8Array(0)), 'private key must be 32 bytes, got 0'],
      [() => IdentityKeyPair.deserialize(new Uint8Array(0)), 'malformed identity key pair'],
      [() => IdentityKeyPair.deserialize(new Uint8Array(69)), 'malformed identity key pair'],
      [() => KemPublicKey.deserialize(Uint8Array.of(7, ...b(1568))), 'unsupported KEM key type 7'],
      [
        () => KemSecretKey.deserialize(Uint8Array.of(8, ...b(100))),
        'KEM secret key must be 3169 bytes, got 101',
      ],
    ];
    for (const [f, message] of cases) {
      expect(catchError(f)).toMatchObject({ code: 'ERR_INVALID_KEY', message });
    }
  });

  it('wrong raw lengths in the primitives are RangeError', () => {
    expect(() => PublicKey.fromRaw(b(33))).toThrow(RangeError);
    expect(() => x25519Agree(b(31), b(32))).toThrow(RangeError);
    expect(() => x25519Agree(b(32), b(33))).toThrow(RangeError);
    expect(() => x25519PublicKey(b(33))).toThrow(RangeError);
    expect(() => clampPrivateKey(b(16))).toThrow(RangeError);
    expect(() => isLowOrderX25519PublicKey(b(33))).toThrow(RangeError);
    expect(() => xeddsaSign(b(33), b(1))).toThrow(RangeError);
    expect(() => xeddsaVerify(b(33), b(1), b(64))).toThrow(RangeError);
    expect(() => shake256(b(1), -1)).toThrow(RangeError);
    expect(() => kemGenerateKeyPair(0x09 as never)).toThrow(RangeError);
  });

  it('a random source that returns the wrong thing is a TypeError', () => {
    const bad = [
      () => new Uint8Array(3),
      () => 'x' as unknown as Uint8Array,
      () => new Uint16Array(64) as unknown as Uint8Array,
    ];
    for (const src of bad) {
      expect(() => PrivateKey.generate(src)).toThrow(TypeError);
      expect(() => privateKey.sign(b(1), src)).toThrow(TypeError);
      expect(() => kemGenerateKeyPair(KEM_TYPE_MLKEM1024, src)).toThrow(TypeError);
      expect(() => kemEncapsulate(mlkem.publicKey, src)).toThrow(TypeError);
    }
  });
});

/** Random bytes, plus byte strings biased towards the interesting lengths and type bytes. */
const fuzzBytes = fc.oneof(
  fc.uint8Array({ maxLength: 4000 }),
  fc
    .tuple(
      fc.constantFrom(0x00, 0x05, 0x07, 0x08, 0x0a, 0x0b, 0x12, 0xff),
      fc.constantFrom(0, 1, 31, 32, 33, 34, 67, 68, 69, 70, 1567, 1568, 1569, 3167, 3168, 3169),
      fc.integer({ min: 0, max: 0xffffffff }),
    )
    .map(([type, length, seed]) => {
      const out = seededRandom(`fuzz ${String(seed)}`)(length + 1);
      out[0] = type;
      return out;
    }),
  // Identity-key-pair shaped: correct tags, random halves.
  fc
    .tuple(
      fc.uint8Array({ minLength: 33, maxLength: 33 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.boolean(),
    )
    .map(([pub, priv, fixType]) => {
      if (fixType) pub[0] = 5;
      return Uint8Array.of(0x0a, 0x21, ...pub, 0x12, 0x20, ...priv);
    }),
);

function onlySuccessOrSignalError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    expect(isSignalError(e), String(e)).toBe(true);
  }
}

describe('fuzz: random bytes give success or a SignalError, nothing else', () => {
  it('PublicKey.deserialize', () => {
    fc.assert(
      fc.property(fuzzBytes, (bytes) => {
        onlySuccessOrSignalError(() => {
          expect(PublicKey.deserialize(bytes).serialize()).toEqual(bytes);
        });
      }),
      fcParams(300),
    );
  });

  it('PrivateKey.deserialize', () => {
    fc.assert(
      fc.property(fuzzBytes, (bytes) => {
        onlySuccessOrSignalError(() => PrivateKey.deserialize(bytes).getPublicKey());
      }),
      fcParams(300),
    );
  });

  it('IdentityKeyPair.deserialize', () => {
    const valid = IdentityKeyPair.generate(seededRandom('fuzz identity')).serialize();
    fc.assert(
      fc.property(fc.oneof(fuzzBytes, fc.constant(valid)), (bytes) => {
        onlySuccessOrSignalError(() => {
          expect(IdentityKeyPair.deserialize(bytes).serialize()).toEqual(bytes);
        });
      }),
      fcParams(300),
    );
  });

  it('KemPublicKey.deserialize', () => {
    fc.assert(
      fc.property(fuzzBytes, (bytes) => {
        onlySuccessOrSignalError(() => {
          expect(KemPublicKey.deserialize(bytes).serialize()).toEqual(bytes);
        });
      }),
      fcParams(300),
    );
  });

  it('KemSecretKey.deserialize', () => {
    fc.assert(
      fc.property(fuzzBytes, (bytes) => {
        onlySuccessOrSignalError(() => {
          expect(KemSecretKey.deserialize(bytes).serialize()).toEqual(bytes);
        });
      }),
      fcParams(300),
    );
  });

  it('kemDecapsulate with a valid key (both types)', () => {
    fc.assert(
      fc.property(fuzzBytes, fc.boolean(), (bytes, useKyber) => {
        const sk = useKyber ? kyber.secretKey : mlkem.secretKey;
        onlySuccessOrSignalError(() => {
          expect(kemDecapsulate(sk, bytes)).toHaveLength(32);
        });
      }),
      fcParams(60),
    );
  });

  it('kemDecapsulate with well-formed random ciphertexts always succeeds (implicit rejection)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1568, maxLength: 1568 }),
        fc.boolean(),
        (raw, useKyber) => {
          const type = useKyber ? KEM_TYPE_KYBER1024 : KEM_TYPE_MLKEM1024;
          const sk = useKyber ? kyber.secretKey : mlkem.secretKey;
          expect(kemDecapsulate(sk, Uint8Array.of(type, ...raw))).toHaveLength(32);
        },
      ),
      fcParams(50),
    );
  });

  it('KemSecretKey.deserialize of random well-formed bytes, then decapsulate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (seed) => {
        const sk = seededRandom(`sk ${String(seed)}`)(3169);
        sk[0] = KEM_TYPE_KYBER1024;
        onlySuccessOrSignalError(() => KemSecretKey.deserialize(sk).decapsulate(kyberCt));
      }),
      fcParams(50),
    );
  });

  it('kemEncapsulate to random public keys', () => {
    fc.assert(
      fc.property(fuzzBytes, (bytes) => {
        onlySuccessOrSignalError(() => kemEncapsulate(bytes));
      }),
      fcParams(100),
    );
  });
});
