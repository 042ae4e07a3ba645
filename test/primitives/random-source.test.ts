/**
 * Regression tests: randomness drawn from a RandomSource is copied before use, so a source that
 * reuses a buffer (or a test source returning a fixed array) never aliases key material, is never
 * clamped in place, and is never wiped. (Found by these tests: `drawRandom` once returned the
 * source's own buffer.)
 */
import { describe, expect, it } from 'vitest';
import { KEM_TYPE_MLKEM1024 } from '../../src/constants.js';
import { PrivateKey } from '../../src/keys/index.js';
import {
  kemEncapsulate,
  kemGenerateKeyPair,
  type RandomSource,
} from '../../src/primitives/index.js';
import { seededRandom } from './helpers.js';

/** A source that refills one scratch buffer on every call (a common pooling pattern). */
function pooledSource(): RandomSource {
  const scratch = new Uint8Array(64);
  const next = seededRandom('pooled');
  return (length: number): Uint8Array => {
    scratch.set(next(length));
    return scratch.subarray(0, length);
  };
}

describe('BUG: random-source output is aliased, not copied', () => {
  it('a private key does not change when its random source is used again', () => {
    const random = pooledSource();
    const a = PrivateKey.generate(random);
    const before = a.serialize();
    const publicBefore = a.getPublicKey().toHex();
    const b = PrivateKey.generate(random);
    expect(a.serialize()).toEqual(before); // today: a's bytes are now b's bytes
    expect(a.serialize()).not.toEqual(b.serialize());
    expect(PrivateKey.deserialize(a.serialize()).getPublicKey().toHex()).toBe(publicBefore);
  });

  it('PrivateKey.generate does not clamp the caller’s buffer in place', () => {
    const bytes = new Uint8Array(32).fill(0xff);
    PrivateKey.generate(() => bytes);
    expect(bytes).toEqual(new Uint8Array(32).fill(0xff)); // today: bytes[0] = 0xf8, bytes[31] = 0x7f
  });

  it('xeddsaSign does not wipe the caller’s Z (a fixed-Z source stays reusable)', () => {
    const key = PrivateKey.generate();
    const z = new Uint8Array(64).fill(7);
    const message = new Uint8Array(3);
    const first = key.sign(message, () => z);
    expect(z).toEqual(new Uint8Array(64).fill(7)); // today: zeroed
    expect(key.sign(message, () => z)).toEqual(first);
  });

  it('KEM key generation and encapsulation do not wipe the caller’s randomness', () => {
    const seed = new Uint8Array(64).fill(1);
    const pair = kemGenerateKeyPair(KEM_TYPE_MLKEM1024, () => seed);
    const rand = new Uint8Array(32).fill(2);
    kemEncapsulate(pair.publicKey, () => rand);
    expect(seed).toEqual(new Uint8Array(64).fill(1)); // today: zeroed
    expect(rand).toEqual(new Uint8Array(32).fill(2)); // today: zeroed
  });
});
