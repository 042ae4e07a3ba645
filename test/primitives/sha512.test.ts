/**
 * chiffre's SHA-512 (src/primitives/sha512.ts, used by XEdDSA) against @noble/hashes on random
 * inputs, every length around the 128-byte padding boundaries and random splits into parts, and
 * against FIPS 180-4 examples. (More vectors run through the `hash.ts` wrapper in hash.test.ts.)
 */
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sha512Parts } from '../../src/primitives/sha512.js';
import { bytesToHex } from '../support/hex.js';
import { fcParams, proxyRunningOnRead, split } from './helpers.js';

const hex = bytesToHex;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('SHA-512', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(hex(sha512Parts(utf8('abc')))).toBe(
      'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a' +
        '2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    );
    expect(hex(sha512Parts(new Uint8Array(0)))).toBe(
      'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce' +
        '47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
    );
    expect(
      hex(
        sha512Parts(
          utf8(
            'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq' +
              'klmnopqrlmnopqrsmnopqrstnopqrstu',
          ),
        ),
      ),
    ).toBe(
      '8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018' +
        '501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909',
    );
    expect(hex(sha512Parts(new Uint8Array(1_000_000).fill(0x61)))).toBe(
      'e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb' +
        'de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b',
    );
  });

  it('matches noble for every length up to three blocks', () => {
    for (let len = 0; len <= 3 * 128 + 1; len++) {
      const data = new Uint8Array(len).map((_, i) => (i * 131 + len) & 0xff);
      expect(hex(sha512Parts(data)), `length ${String(len)}`).toBe(hex(sha512(data)));
    }
  });

  it('matches noble on random inputs split into random parts', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 700 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (data, cuts) => {
          expect(hex(sha512Parts(...split(data, cuts)))).toBe(hex(sha512(data)));
        },
      ),
      fcParams(200),
    );
  });

  it('refuses what is not bytes', () => {
    expect(() => sha512Parts('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('inputs that run code while they are read', () => {
  it('a hash started from inside another (a Proxy input) leaves both right', () => {
    const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    const other = Uint8Array.from({ length: 100 }, (_, i) => i);
    let inner: Uint8Array | undefined;
    // Reading element 150 (in the second block) or the iterator starts another hash.
    const proxy = proxyRunningOnRead(
      data,
      () => (inner = sha512Parts(other)),
      (key) => key === '150' || key === Symbol.iterator,
    );
    expect(sha512Parts(proxy)).toEqual(sha512(data));
    expect(inner).toEqual(sha512(other));
  });
});
