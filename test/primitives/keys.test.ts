import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidKeyError } from '../../src/errors.js';
import {
  deviceId,
  IdentityKeyPair,
  KemKeyPair,
  KemPublicKey,
  kemPublicKeyBytes,
  KeyPair,
  kyberPreKeyId,
  preKeyId,
  PrivateKey,
  ProtocolAddress,
  PublicKey,
  publicKeyBytes,
  publicKeyRaw,
  registrationId,
  signedPreKeyId,
} from '../../src/keys/index.js';
import { bytesToHex, hexToBytes } from '../support/hex.js';
import { catchError, fcParams, fixedRandom, loadSharedVector } from './helpers.js';

interface BobKeys {
  bob: { identityPriv: string; identityPub33: string };
}
const bob = loadSharedVector<BobKeys>('vector_090.json').bob;
const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('PublicKey (0x05 ‖ u, 33 bytes)', () => {
  it('round-trips through serialize / deserialize / fromRaw', () => {
    fc.assert(
      fc.property(key32, (seed) => {
        const pub = PrivateKey.deserialize(seed).getPublicKey();
        const bytes = pub.serialize();
        expect(bytes).toHaveLength(33);
        expect(bytes[0]).toBe(0x05);
        expect(PublicKey.deserialize(bytes).equals(pub)).toBe(true);
        expect(PublicKey.fromRaw(bytes.subarray(1)).equals(pub)).toBe(true);
        expect(pub.getPublicKeyBytes()).toEqual(bytes.subarray(1));
        expect(pub.toHex()).toBe(bytesToHex(bytes));
      }),
      fcParams(100),
    );
  });

  it('copies on the way in and out', () => {
    const bytes = hexToBytes(bob.identityPub33);
    const pub = PublicKey.deserialize(bytes);
    bytes.fill(0);
    expect(pub.toHex()).toBe(bob.identityPub33);
    pub.serialize().fill(0);
    pub.getPublicKeyBytes().fill(0);
    expect(pub.toHex()).toBe(bob.identityPub33);
  });

  it('requires exactly 33 bytes (stricter than libsignal, which drops trailing bytes)', () => {
    const bytes = hexToBytes(bob.identityPub33);
    expect(catchError(() => PublicKey.deserialize(Uint8Array.of(...bytes, 0)))).toMatchObject({
      code: 'ERR_INVALID_KEY',
      message: 'public key must be 33 bytes, got 34',
      keyType: 'curve25519-public',
    });
    // A bare 32-byte key is read with its first byte as the type, as in libsignal.
    const e = catchError(() => PublicKey.deserialize(bytes.subarray(1)));
    expect(e).toBeInstanceOf(InvalidKeyError);
    expect(e).toMatchObject({ code: 'ERR_INVALID_KEY' });
  });

  it('equals compares bytes', () => {
    const a = PublicKey.deserialize(hexToBytes(bob.identityPub33));
    const b = PublicKey.deserialize(hexToBytes(bob.identityPub33));
    const c = KeyPair.generate().publicKey;
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });
});

describe('KeyPair', () => {
  it('generate and fromPrivateKey agree', () => {
    const seed = new Uint8Array(32).fill(0x42);
    const pair = KeyPair.generate(fixedRandom(seed));
    const again = KeyPair.fromPrivateKey(PrivateKey.deserialize(seed));
    expect(pair.publicKey.equals(again.publicKey)).toBe(true);
    expect(pair.privateKey.serialize()).toEqual(again.privateKey.serialize());
  });
});

describe('IdentityKeyPair (libsignal IdentityKeyPairStructure, 69 bytes)', () => {
  it('serializes as 0a 21 ‖ public33 ‖ 12 20 ‖ private32', () => {
    const pair = new IdentityKeyPair(
      PublicKey.deserialize(hexToBytes(bob.identityPub33)),
      PrivateKey.deserialize(hexToBytes(bob.identityPriv)),
    );
    expect(bytesToHex(pair.serialize())).toBe(`0a21${bob.identityPub33}1220${bob.identityPriv}`);
  });

  it('round-trips (property)', () => {
    fc.assert(
      fc.property(key32, (seed) => {
        const pair = IdentityKeyPair.generate(fixedRandom(seed));
        const bytes = pair.serialize();
        expect(bytes).toHaveLength(69);
        const back = IdentityKeyPair.deserialize(bytes);
        expect(back.publicKey.equals(pair.publicKey)).toBe(true);
        expect(back.privateKey.serialize()).toEqual(pair.privateKey.serialize());
        expect(back.serialize()).toEqual(bytes);
      }),
      fcParams(100),
    );
  });

  it('rejects mismatched halves', () => {
    const a = IdentityKeyPair.generate().serialize();
    const b = IdentityKeyPair.generate().serialize();
    const mixed = Uint8Array.of(...a.subarray(0, 37), ...b.subarray(37));
    const e = catchError(() => IdentityKeyPair.deserialize(mixed));
    expect(e).toBeInstanceOf(InvalidKeyError);
    expect(e).toMatchObject({
      code: 'ERR_INVALID_KEY',
      message: 'identity key pair halves do not match',
    });
  });

  it('rejects other layouts', () => {
    const good = IdentityKeyPair.generate().serialize();
    for (const i of [0, 1, 35, 36]) {
      const bad = good.slice();
      bad[i] = bad[i]! ^ 0x01;
      expect(catchError(() => IdentityKeyPair.deserialize(bad))).toMatchObject({
        code: 'ERR_INVALID_KEY',
        message: 'malformed identity key pair',
      });
    }
    const badType = good.slice();
    badType[2] = 0x06;
    expect(catchError(() => IdentityKeyPair.deserialize(badType))).toMatchObject({
      code: 'ERR_INVALID_KEY',
      message: 'unsupported public key type 6',
    });
    expect(catchError(() => IdentityKeyPair.deserialize(good.subarray(0, 68)))).toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
    expect(catchError(() => IdentityKeyPair.deserialize(Uint8Array.of(...good, 0)))).toMatchObject({
      code: 'ERR_INVALID_KEY',
    });
  });
});

describe('branded ids', () => {
  it('u32 ids accept 0..2^32-1 and reject anything else with RangeError', () => {
    for (const brand of [preKeyId, signedPreKeyId, kyberPreKeyId, registrationId]) {
      expect(brand(0)).toBe(0);
      expect(brand(51)).toBe(51);
      expect(brand(0xffff_ffff)).toBe(0xffff_ffff);
      for (const bad of [-1, 0x1_0000_0000, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => brand(bad)).toThrow(RangeError);
      }
    }
  });

  it('device ids start at 1', () => {
    expect(deviceId(1)).toBe(1);
    expect(deviceId(127)).toBe(127);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => deviceId(bad)).toThrow(RangeError);
  });
});

describe('ProtocolAddress', () => {
  it('renders as name.deviceId and compares by value', () => {
    const a = new ProtocolAddress('796abedb-ca4e-4f18-8803-1fde5b921f9f', 1);
    expect(String(a)).toBe('796abedb-ca4e-4f18-8803-1fde5b921f9f.1');
    expect(JSON.parse(JSON.stringify(a))).toEqual({
      name: '796abedb-ca4e-4f18-8803-1fde5b921f9f',
      deviceId: 1,
    });
    expect(a.equals(new ProtocolAddress('796abedb-ca4e-4f18-8803-1fde5b921f9f', 1))).toBe(true);
    expect(a.equals(new ProtocolAddress('796abedb-ca4e-4f18-8803-1fde5b921f9f', 2))).toBe(false);
  });

  it('rejects an empty name (TypeError) and a bad device id (RangeError)', () => {
    expect(() => new ProtocolAddress('', 1)).toThrow(TypeError);
    expect(() => new ProtocolAddress(5 as unknown as string, 1)).toThrow(TypeError);
    expect(() => new ProtocolAddress('alice', 0)).toThrow(RangeError);
  });
});

describe('public keys hand out copies only', () => {
  it('have no method that returns their own bytes; serialize() copies', () => {
    const key = KeyPair.generate().publicKey;
    const kem = KemKeyPair.generate().publicKey;
    for (const proto of [PublicKey.prototype, KemPublicKey.prototype]) {
      const names = Object.getOwnPropertyNames(proto);
      expect(names).not.toContain('serializedView');
      expect(names).not.toContain('rawView');
    }
    const before = key.toHex();
    key.serialize().fill(0);
    key.getPublicKeyBytes().fill(0);
    // Read the bytes again (toHex() keeps its first result, so it would not notice).
    expect(bytesToHex(key.serialize())).toBe(before);
    const kemBefore = bytesToHex(kem.serialize());
    kem.serialize().fill(0);
    expect(bytesToHex(kem.serialize())).toBe(kemBefore);
    // The internal accessors return the key's own bytes, for the encoders.
    expect(bytesToHex(publicKeyBytes(key))).toBe(before);
    expect(bytesToHex(publicKeyRaw(key))).toBe(before.slice(2));
    expect(bytesToHex(kemPublicKeyBytes(kem))).toBe(kemBefore);
  });
});
