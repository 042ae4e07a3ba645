/**
 * chiffre's SHA-256 / HMAC-SHA256 / HKDF-SHA256 (src/primitives/sha256.ts) against @noble/hashes
 * on random inputs, every length around the padding boundaries, random splits into parts, key
 * lengths on both sides of the block size, and FIPS 180-4 examples. (The RFC 4231 and RFC 5869
 * vectors run through the `hash.ts` wrappers in hash.test.ts.)
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HmacSha256Key,
  hkdfSha256Raw,
  hmacSha256Parts,
  sha256Parts,
} from '../../src/primitives/sha256.js';
import { bytesToHex } from '../support/hex.js';
import { fcParams, proxyRunningOnRead, split } from './helpers.js';

const hex = bytesToHex;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const input = fc.uint8Array({ maxLength: 400 });
const cuts = fc.array(fc.nat(), { maxLength: 5 });

describe('SHA-256', () => {
  it('matches the FIPS 180-4 examples', () => {
    expect(hex(sha256Parts(utf8('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(hex(sha256Parts(utf8('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(hex(sha256Parts())).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });

  it('matches noble for every length 0..200 and a 1 MiB input', () => {
    const data = crypto.getRandomValues(new Uint8Array(200));
    for (let n = 0; n <= 200; n++) {
      expect(hex(sha256Parts(data.subarray(0, n)))).toBe(hex(sha256(data.subarray(0, n))));
    }
    const big = new Uint8Array(1 << 20).map((_, i) => (i * 31) & 0xff);
    expect(hex(sha256Parts(big))).toBe(hex(sha256(big)));
  });

  it('gives the same digest however the input is split into parts', () => {
    fc.assert(
      fc.property(input, cuts, (data, c) => {
        expect(hex(sha256Parts(...split(data, c)))).toBe(hex(sha256(data)));
      }),
      fcParams(500),
    );
  });
});

describe('HMAC-SHA256', () => {
  it('matches noble for keys shorter than, equal to and longer than the block', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 150 }), input, cuts, (key, data, c) => {
        expect(hex(hmacSha256Parts(key, ...split(data, c)))).toBe(hex(hmac(sha256, key, data)));
      }),
      fcParams(500),
    );
    for (const keyLength of [0, 1, 32, 63, 64, 65, 128, 200]) {
      const key = new Uint8Array(keyLength).fill(0xa5);
      const data = utf8('message');
      expect(hex(hmacSha256Parts(key, data))).toBe(hex(hmac(sha256, key, data)));
    }
  });

  it('keeps giving correct MACs from one prepared key, into any offset', () => {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const k = new HmacSha256Key(key);
    const out = new Uint8Array(100);
    for (let i = 0; i < 20; i++) {
      const data = crypto.getRandomValues(new Uint8Array(i * 7));
      expect(hex(k.mac(data))).toBe(hex(hmac(sha256, key, data)));
      k.macInto([data], out, i);
      expect(hex(out.subarray(i, i + 32))).toBe(hex(hmac(sha256, key, data)));
    }
    k.wipe();
    // A wiped key is all-zero state: its MACs are no longer the key's.
    expect(hex(k.mac(utf8('x')))).not.toBe(hex(hmac(sha256, key, utf8('x'))));
  });

  it('does not read or change its inputs beyond their views', () => {
    const backing = crypto.getRandomValues(new Uint8Array(100));
    const copy = backing.slice();
    const key = backing.subarray(10, 42);
    const data = backing.subarray(50, 90);
    expect(hex(hmacSha256Parts(key, data))).toBe(hex(hmac(sha256, key.slice(), data.slice())));
    expect(backing).toEqual(copy);
  });
});

describe('HKDF-SHA256', () => {
  it('matches noble for any salt, info and length', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.option(fc.uint8Array({ maxLength: 100 }), { nil: undefined }),
        fc.uint8Array({ maxLength: 100 }),
        fc.integer({ min: 1, max: 300 }),
        (ikm, salt, info, length) => {
          expect(hex(hkdfSha256Raw(ikm, salt, info, length))).toBe(
            hex(hkdf(sha256, ikm, salt, info, length)),
          );
        },
      ),
      fcParams(400),
    );
  });

  it('treats an absent salt as 32 zero bytes', () => {
    const ikm = utf8('input keying material');
    expect(hex(hkdfSha256Raw(ikm, undefined, utf8('i'), 80))).toBe(
      hex(hkdfSha256Raw(ikm, new Uint8Array(32), utf8('i'), 80)),
    );
  });
});

describe('inputs that run code while they are read', () => {
  // The first property read on the input starts another hash.
  const reentering = (bytes: Uint8Array, onRead: () => void): Uint8Array =>
    proxyRunningOnRead(bytes, onRead);
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
  const other = Uint8Array.from({ length: 100 }, (_, i) => i);
  const key = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);

  it('a hash started from inside another leaves both right', () => {
    let inner: Uint8Array | undefined;
    expect(sha256Parts(reentering(data, () => (inner = sha256Parts(other))))).toEqual(sha256(data));
    expect(inner).toEqual(sha256(other));
    const mac = hmacSha256Parts(
      key,
      reentering(data, () => (inner = hmacSha256Parts(key, other))),
    );
    expect(mac).toEqual(hmac(sha256, key, data));
    expect(inner).toEqual(hmac(sha256, key, other));
  });

  it('an own `length` getter on an input is not consulted', () => {
    const bytes = data.slice();
    Object.defineProperty(bytes, 'length', {
      get: () => {
        sha256Parts(other);
        return 7;
      },
    });
    expect(sha256Parts(bytes)).toEqual(sha256(data));
  });

  it('a parts array whose element getter starts another MAC leaves both right', () => {
    const parts: Uint8Array[] = [];
    let inner: Uint8Array | undefined;
    Object.defineProperty(parts, 0, {
      // Every read starts another MAC; only a read while the outer MAC runs could disturb it.
      get: () => {
        inner = hmacSha256Parts(key, other);
        return data;
      },
    });
    const out = new Uint8Array(32);
    new HmacSha256Key(key).macInto(parts, out, 0);
    expect(out).toEqual(hmac(sha256, key, data));
    expect(inner).toEqual(hmac(sha256, key, other));
  });

  it('a key whose class reports another length is hashed by its real bytes', () => {
    class Longer extends Uint8Array {
      override get length(): number {
        return 65;
      }
    }
    const longer = new Longer(10).fill(9);
    expect(hmacSha256Parts(longer, data)).toEqual(hmac(sha256, new Uint8Array(10).fill(9), data));
  });

  it('refuses other typed arrays dressed as Uint8Array, and outputs at a non-integer offset', () => {
    const dressed = new Uint16Array(8);
    Object.setPrototypeOf(dressed, Uint8Array.prototype);
    expect(() => sha256Parts(dressed as unknown as Uint8Array)).toThrow(TypeError);
    for (const offset of [Number.NaN, 0.5]) {
      expect(() => {
        new HmacSha256Key(key).macInto([data], new Uint8Array(64), offset);
      }).toThrow(RangeError);
    }
  });

  it('refuses an output that is not a plain Uint8Array', () => {
    const out = new Proxy(new Uint8Array(32), {});
    expect(() => {
      new HmacSha256Key(key).macInto([data], out, 0);
    }).toThrow(TypeError);
  });
});
