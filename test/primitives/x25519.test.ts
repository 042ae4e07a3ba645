import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidKeyError } from '../../src/errors.js';
import { KeyPair, PrivateKey, PublicKey } from '../../src/keys/index.js';
import {
  clampPrivateKey,
  generateX25519PrivateKey,
  isLowOrderX25519PublicKey,
  x25519Agree,
  x25519PublicKey,
} from '../../src/primitives/index.js';
import { bytesToHex, hexToBytes } from '../support/hex.js';
import { catchError, fcParams, fixedRandom, loadVector } from './helpers.js';

interface Rfc7748 {
  scalarMult: { comment: string; scalar: string; u: string; output: string }[];
  iterated: { comment: string; iterations: number; output: string }[];
  dh: {
    alicePrivate: string;
    alicePublic: string;
    bobPrivate: string;
    bobPublic: string;
    shared: string;
  };
}
interface EdgeCases {
  scalar: string;
  lowOrder: { comment: string; u: string }[];
  lowOrderNonCanonical: { comment: string; u: string }[];
  acceptedNonCanonical: { comment: string; u: string; output: string }[];
}
interface LibsignalKat {
  agreement: {
    alicePrivate: string;
    alicePublic: string;
    bobPrivate: string;
    bobPublic: string;
    shared: string;
  };
}

const rfc = loadVector<Rfc7748>('x25519-rfc7748.json');
const edge = loadVector<EdgeCases>('x25519-edge-cases.json');
const libsignal = loadVector<LibsignalKat>('libsignal-kat.json');

function clamped(bytes: Uint8Array): Uint8Array {
  const c = bytes.slice();
  c[0] = c[0]! & 248;
  c[31] = (c[31]! & 127) | 64;
  return c;
}

describe('X25519 known answers (RFC 7748)', () => {
  it.each(rfc.scalarMult)('$comment', ({ scalar, u, output }) => {
    expect(bytesToHex(x25519Agree(hexToBytes(scalar), hexToBytes(u)))).toBe(output);
  });

  it.each(rfc.iterated)('$comment', ({ iterations, output }) => {
    let k: Uint8Array = hexToBytes('09'.padEnd(64, '0'));
    let u: Uint8Array = k.slice();
    for (let i = 0; i < iterations; i++) {
      const next = x25519Agree(k, u);
      u = k;
      k = next;
    }
    expect(bytesToHex(k)).toBe(output);
  });

  it('6.1 Diffie-Hellman: public keys and shared secret', () => {
    const { alicePrivate, alicePublic, bobPrivate, bobPublic, shared } = rfc.dh;
    expect(bytesToHex(x25519PublicKey(hexToBytes(alicePrivate)))).toBe(alicePublic);
    expect(bytesToHex(x25519PublicKey(hexToBytes(bobPrivate)))).toBe(bobPublic);
    expect(bytesToHex(x25519Agree(hexToBytes(alicePrivate), hexToBytes(bobPublic)))).toBe(shared);
    expect(bytesToHex(x25519Agree(hexToBytes(bobPrivate), hexToBytes(alicePublic)))).toBe(shared);
  });

  it('6.1 through the key classes (33-byte 0x05 public keys)', () => {
    const alice = PrivateKey.deserialize(hexToBytes(rfc.dh.alicePrivate));
    const bob = PrivateKey.deserialize(hexToBytes(rfc.dh.bobPrivate));
    expect(alice.getPublicKey().toHex()).toBe(`05${rfc.dh.alicePublic}`);
    expect(bob.getPublicKey().serialize()).toEqual(hexToBytes(`05${rfc.dh.bobPublic}`));
    const ab = alice.calculateAgreement(PublicKey.deserialize(hexToBytes(`05${rfc.dh.bobPublic}`)));
    const ba = bob.calculateAgreement(alice.getPublicKey());
    expect(bytesToHex(ab)).toBe(rfc.dh.shared);
    expect(ba).toEqual(ab);
  });

  it('libsignal test_agreement vector', () => {
    const { alicePrivate, alicePublic, bobPrivate, bobPublic, shared } = libsignal.agreement;
    const alice = PrivateKey.deserialize(hexToBytes(alicePrivate));
    const bob = PrivateKey.deserialize(hexToBytes(bobPrivate));
    expect(alice.getPublicKey().toHex()).toBe(`05${alicePublic}`);
    expect(bob.getPublicKey().toHex()).toBe(`05${bobPublic}`);
    expect(bytesToHex(alice.calculateAgreement(bob.getPublicKey()))).toBe(shared);
    expect(bytesToHex(bob.calculateAgreement(alice.getPublicKey()))).toBe(shared);
  });
});

describe('X25519 low-order and non-canonical public keys', () => {
  const scalar = hexToBytes(edge.scalar);
  const rejected = [...edge.lowOrder, ...edge.lowOrderNonCanonical];

  it('the vector file lists the 5 canonical low-order points', () => {
    expect(edge.lowOrder).toHaveLength(5);
  });

  it.each(rejected)('x25519Agree rejects $comment ($u)', ({ u }) => {
    const raw = hexToBytes(u);
    expect(isLowOrderX25519PublicKey(raw)).toBe(true);
    const e = catchError(() => x25519Agree(scalar, raw));
    expect(e).toBeInstanceOf(InvalidKeyError);
    expect(e).toMatchObject({
      code: 'ERR_INVALID_KEY',
      message: 'low-order public key',
      keyType: 'curve25519-public',
    });
  });

  it.each(rejected)('PrivateKey.calculateAgreement rejects $comment', ({ u }) => {
    const key = PublicKey.fromRaw(hexToBytes(u));
    expect(key.isLowOrder()).toBe(true);
    const ours = KeyPair.generate().privateKey;
    expect(catchError(() => ours.calculateAgreement(key))).toMatchObject({
      code: 'ERR_INVALID_KEY',
      message: 'low-order public key',
    });
  });

  it('low-order keys are rejected for random private keys too', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.constantFrom(...rejected),
        (priv, { u }) => {
          const e = catchError(() => x25519Agree(priv, hexToBytes(u)));
          expect(e).toMatchObject({ code: 'ERR_INVALID_KEY', message: 'low-order public key' });
        },
      ),
      fcParams(100),
    );
  });

  it('is exactly "u mod p (bit 255 ignored) is 0, 1, p − 1 or an order-8 point", near every edge', () => {
    const p = 2n ** 255n - 19n;
    const lowOrder = new Set(edge.lowOrder.map(({ u }) => leBigint(hexToBytes(u)) % p));
    expect(lowOrder.size).toBe(5);
    const reference = (raw: Uint8Array): boolean =>
      lowOrder.has((leBigint(raw) & (2n ** 255n - 1n)) % p);
    const candidates: bigint[] = [];
    for (const centre of [...lowOrder, p, 2n ** 255n - 1n, 2n ** 254n, 9n]) {
      for (let d = -20n; d <= 20n; d++) {
        const v = centre + d;
        if (v >= 0n && v < 2n ** 255n) candidates.push(v, v + 2n ** 255n);
      }
    }
    for (const v of candidates) {
      const raw = leBytes32(v);
      expect(isLowOrderX25519PublicKey(raw), v.toString(16)).toBe(reference(raw));
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (raw) => {
        expect(isLowOrderX25519PublicKey(raw)).toBe(reference(raw));
      }),
      fcParams(500),
    );
  });

  it.each(edge.acceptedNonCanonical)('accepts $comment (RFC 7748 §5)', ({ u, output }) => {
    const raw = hexToBytes(u);
    expect(isLowOrderX25519PublicKey(raw)).toBe(false);
    expect(bytesToHex(x25519Agree(scalar, raw))).toBe(output);
  });

  it('bit 255 of the u-coordinate is ignored in agreement', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (a, b) => {
          const pub = x25519PublicKey(b);
          const high = pub.slice();
          high[31] = high[31]! | 0x80;
          expect(x25519Agree(a, high)).toEqual(x25519Agree(a, pub));
        },
      ),
      fcParams(50),
    );
  });

  it('random keys are not low-order and agree symmetrically', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (aSeed, bSeed) => {
          const a = PrivateKey.deserialize(aSeed);
          const b = PrivateKey.deserialize(bSeed);
          expect(a.getPublicKey().isLowOrder()).toBe(false);
          expect(a.calculateAgreement(b.getPublicKey())).toEqual(
            b.calculateAgreement(a.getPublicKey()),
          );
        },
      ),
      fcParams(50),
    );
  });
});

describe('X25519 private-key clamping', () => {
  it('clampPrivateKey clears bits 0-2 and 255 and sets bit 254, in place', () => {
    const k = new Uint8Array(32).fill(0xff);
    const out = clampPrivateKey(k);
    expect(out).toBe(k);
    expect(k[0]).toBe(0xf8);
    expect(k[31]).toBe(0x7f);
    const z = clampPrivateKey(new Uint8Array(32));
    expect(z[0]).toBe(0);
    expect(z[31]).toBe(0x40);
  });

  it('generated private keys are clamped (extreme random sources)', () => {
    for (const fill of [0x00, 0xff, 0x55, 0xaa]) {
      const src = new Uint8Array(32).fill(fill);
      const expected = clamped(src);
      expect(generateX25519PrivateKey(fixedRandom(src))).toEqual(expected);
      expect(PrivateKey.generate(fixedRandom(src)).serialize()).toEqual(expected);
      expect(KeyPair.generate(fixedRandom(src)).privateKey.serialize()).toEqual(expected);
    }
  });

  it('generated and deserialized private keys are clamped (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (raw) => {
        const before = raw.slice();
        const expected = clamped(raw);
        const fromDeserialize = PrivateKey.deserialize(raw);
        expect(raw).toEqual(before); // the caller's bytes are not clamped in place
        expect(fromDeserialize.serialize()).toEqual(expected);
        expect(PrivateKey.generate(fixedRandom(raw)).serialize()).toEqual(expected);
        // Clamping is what X25519 does anyway: same public key as the raw scalar.
        expect(fromDeserialize.getPublicKey().getPublicKeyBytes()).toEqual(x25519PublicKey(raw));
      }),
      fcParams(100),
    );
  });

  it('serialize() returns a copy', () => {
    const key = PrivateKey.generate();
    const s = key.serialize();
    s.fill(0);
    expect(key.serialize()).not.toEqual(s);
  });

  it('random source returning the wrong length is a TypeError', () => {
    expect(() => generateX25519PrivateKey(() => new Uint8Array(31))).toThrow(TypeError);
    expect(() => PrivateKey.generate(() => new Uint8Array(33))).toThrow(TypeError);
  });
});

/** Little-endian bytes as a bigint (written here, independently of src/). */
function leBigint(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** A bigint below 2^256 as 32 little-endian bytes. */
function leBytes32(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}
