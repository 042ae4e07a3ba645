import { hkdf as nobleHkdf } from '@noble/hashes/hkdf.js';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KDF_INFO_MESSAGE_KEYS } from '../../src/constants.js';
import {
  hkdfSha256,
  hmacSha256,
  sha256,
  sha3_256,
  sha512,
  shake256,
} from '../../src/primitives/index.js';
import { bytesToHex, hexToBytes, utf8 } from '../support/hex.js';
import { fcParams, loadVector } from './helpers.js';

interface HkdfVectors {
  cases: {
    comment: string;
    ikm: string;
    salt: string;
    info: string;
    length: number;
    prk: string;
    okm: string;
  }[];
}
interface HmacVectors {
  cases: { comment: string; key: string; data: string; mac: string; truncated?: boolean }[];
}
interface HashVectors {
  sha256: { input: string; digest: string }[];
  sha512: { input: string; digest: string }[];
  sha3_256: { input: string; digest: string }[];
  shake256_32: { input: string; digest: string }[];
}
interface ChainKat {
  chainKey: {
    chainKey: string;
    cipherKey: string;
    macKey: string;
    iv: string;
    nextChainKey: string;
  };
}

const hkdfVectors = loadVector<HkdfVectors>('hkdf-sha256-rfc5869.json');
const hmacVectors = loadVector<HmacVectors>('hmac-sha256-rfc4231.json');
const hashVectors = loadVector<HashVectors>('hashes.json');
const kat = loadVector<ChainKat>('libsignal-kat.json');

describe('HKDF-SHA256 (RFC 5869 Appendix A)', () => {
  it.each(hkdfVectors.cases)('$comment', ({ ikm, salt, info, length, prk, okm }) => {
    expect(
      bytesToHex(hkdfSha256(hexToBytes(ikm), hexToBytes(salt), hexToBytes(info), length)),
    ).toBe(okm);
    // The PRK is HMAC-SHA256(salt, IKM), with an empty salt standing for HashLen zero bytes.
    const saltBytes = salt === '' ? new Uint8Array(32) : hexToBytes(salt);
    expect(bytesToHex(hmacSha256(saltBytes, hexToBytes(ikm)))).toBe(prk);
  });

  it('test case 3: an absent salt equals an empty salt equals 32 zero bytes', () => {
    const c = hkdfVectors.cases[2]!;
    expect(c.salt).toBe('');
    const ikm = hexToBytes(c.ikm);
    const none = hkdfSha256(ikm, undefined, new Uint8Array(0), c.length);
    expect(bytesToHex(none)).toBe(c.okm);
    expect(hkdfSha256(ikm, new Uint8Array(0), new Uint8Array(0), c.length)).toEqual(none);
    expect(hkdfSha256(ikm, new Uint8Array(32), new Uint8Array(0), c.length)).toEqual(none);
  });

  it('output length bounds: 1..8160, otherwise RangeError', () => {
    const ikm = new Uint8Array(32);
    expect(hkdfSha256(ikm, undefined, new Uint8Array(0), 1)).toHaveLength(1);
    expect(hkdfSha256(ikm, undefined, new Uint8Array(0), 8160)).toHaveLength(8160);
    for (const bad of [0, -1, 8161, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => hkdfSha256(ikm, undefined, new Uint8Array(0), bad)).toThrow(RangeError);
    }
  });

  it('a shorter output is a prefix of a longer one, and matches noble directly', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.option(fc.uint8Array({ maxLength: 80 }), { nil: undefined }),
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: 1, max: 200 }),
        (ikm, salt, info, length) => {
          const long = hkdfSha256(ikm, salt, info, 200);
          const short = hkdfSha256(ikm, salt, info, length);
          expect(short).toEqual(long.subarray(0, length));
          expect(short).toEqual(nobleHkdf(nobleSha256, ikm, salt, info, length));
        },
      ),
      fcParams(200),
    );
  });

  it('does not modify its inputs', () => {
    const ikm = hexToBytes(hkdfVectors.cases[0]!.ikm);
    const salt = hexToBytes(hkdfVectors.cases[0]!.salt);
    const info = hexToBytes(hkdfVectors.cases[0]!.info);
    const copies = [ikm.slice(), salt.slice(), info.slice()];
    hkdfSha256(ikm, salt, info, 42);
    expect([ikm, salt, info]).toEqual(copies);
  });
});

describe('HMAC-SHA256 (RFC 4231 §4)', () => {
  it.each(hmacVectors.cases)('$comment', ({ key, data, mac, truncated }) => {
    const out = hmacSha256(hexToBytes(key), hexToBytes(data));
    expect(out).toHaveLength(32);
    if (truncated === true) expect(bytesToHex(out.subarray(0, mac.length / 2))).toBe(mac);
    else expect(bytesToHex(out)).toBe(mac);
  });

  it('covers test cases 1-7', () => {
    expect(hmacVectors.cases).toHaveLength(7);
  });
});

describe('hashes (FIPS 180-2 / FIPS 202)', () => {
  it.each(hashVectors.sha256)('SHA-256 of $input', ({ input, digest }) => {
    expect(bytesToHex(sha256(hexToBytes(input)))).toBe(digest);
  });
  it.each(hashVectors.sha512)('SHA-512 of $input', ({ input, digest }) => {
    expect(bytesToHex(sha512(hexToBytes(input)))).toBe(digest);
  });
  it.each(hashVectors.sha3_256)('SHA3-256 of $input', ({ input, digest }) => {
    expect(bytesToHex(sha3_256(hexToBytes(input)))).toBe(digest);
  });
  it.each(hashVectors.shake256_32)('SHAKE256/32 of $input', ({ input, digest }) => {
    expect(bytesToHex(shake256(hexToBytes(input), 32))).toBe(digest);
  });

  it('SHAKE256 output is extendable (prefix property)', () => {
    const data = utf8('abc');
    const long = shake256(data, 200);
    expect(shake256(data, 32)).toEqual(long.subarray(0, 32));
    expect(shake256(data, 0)).toHaveLength(0);
  });
});

describe('libsignal chain-key KAT (rust/protocol/src/ratchet/keys.rs)', () => {
  it('chain key -> cipher key, MAC key, IV, next chain key', () => {
    const ck = hexToBytes(kat.chainKey.chainKey);
    const seed = hmacSha256(ck, Uint8Array.of(0x01));
    expect(bytesToHex(KDF_INFO_MESSAGE_KEYS)).toBe(bytesToHex(utf8('WhisperMessageKeys')));
    const keys = hkdfSha256(seed, undefined, utf8('WhisperMessageKeys'), 80);
    expect(bytesToHex(keys.subarray(0, 32))).toBe(kat.chainKey.cipherKey);
    expect(bytesToHex(keys.subarray(32, 64))).toBe(kat.chainKey.macKey);
    expect(bytesToHex(keys.subarray(64, 80))).toBe(kat.chainKey.iv);
    expect(bytesToHex(hmacSha256(ck, Uint8Array.of(0x02)))).toBe(kat.chainKey.nextChainKey);
  });
});
