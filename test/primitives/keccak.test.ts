/**
 * chiffre's Keccak (SHA3-256, SHA3-512, SHAKE128 reader, SHAKE256): FIPS 202 known answers, then
 * noble's `@noble/hashes/sha3` as the oracle over every input length around the rate boundaries,
 * inputs split into parts, long outputs, and a hash started from inside another.
 */
import { keccakP } from '@noble/hashes/sha3.js';
import {
  sha3_256 as nobleSha3_256,
  sha3_512 as nobleSha3_512,
  shake128 as nobleShake128,
  shake256 as nobleShake256,
} from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import {
  keccakF1600,
  Shake128Reader,
  sha3_256Parts,
  sha3_512Parts,
  shake256Parts,
} from '../../src/primitives/keccak.js';
import { proxyRunningOnRead, seededRandom } from './helpers.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const random = seededRandom('keccak.test');

describe('Keccak-f[1600]', () => {
  it('of the zero state starts with lane F1258F7940E1DDE7 (FIPS 202 intermediate values)', () => {
    const s = new Int32Array(50);
    keccakF1600(s);
    expect((s[1]! >>> 0).toString(16)).toBe('f1258f79');
    expect((s[0]! >>> 0).toString(16)).toBe('40e1dde7');
  });

  it("equals noble's keccakP on random states (same lane layout)", () => {
    for (let i = 0; i < 200; i++) {
      const bytes = random(200);
      const ours = new Int32Array(bytes.slice().buffer);
      const theirs = new Uint32Array(bytes.slice().buffer);
      keccakF1600(ours);
      keccakP(theirs);
      expect(new Uint8Array(ours.buffer)).toEqual(new Uint8Array(theirs.buffer));
    }
  });
});

describe('SHA-3 and SHAKE known answers (FIPS 202 examples)', () => {
  it('SHA3-256', () => {
    expect(bytesToHex(sha3_256Parts())).toBe(
      'a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a',
    );
    expect(bytesToHex(sha3_256Parts(utf8('abc')))).toBe(
      '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532',
    );
  });

  it('SHA3-512', () => {
    expect(bytesToHex(sha3_512Parts(utf8('abc')))).toBe(
      'b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d0240d2712e' +
        '10e116e9192af3c91a7ec57647e3934057340b4cf408d5a56592f8274eec53f0',
    );
  });

  it('SHAKE128 and SHAKE256 of the empty string', () => {
    const reader = new Shake128Reader();
    expect(bytesToHex(reader.next().subarray(0, 32))).toBe(
      '7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26',
    );
    expect(bytesToHex(shake256Parts([], 64))).toBe(
      '46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f' +
        'd75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be',
    );
  });
});

describe('against noble', () => {
  // Every length up to three blocks of the largest rate and one byte more, so that each rate's
  // boundaries (72, 136, 168 and their multiples) and the word and byte paths are all crossed.
  const lengths = Array.from({ length: 3 * 168 + 2 }, (_, i) => i);

  it('SHA3-256 and SHA3-512 of every length, whole and split in three at odd places', () => {
    for (const len of lengths) {
      const data = random(len);
      const a = Math.floor(len / 3) | 1;
      const cut1 = Math.min(a, len);
      const cut2 = Math.max(len - 1, cut1);
      const parts = [data.subarray(0, cut1), data.subarray(cut1, cut2), data.subarray(cut2)];
      expect(sha3_256Parts(data)).toEqual(nobleSha3_256(data));
      expect(sha3_256Parts(...parts)).toEqual(nobleSha3_256(data));
      expect(sha3_512Parts(...parts)).toEqual(nobleSha3_512(data));
    }
  });

  it('SHAKE256 of every length, with outputs from 0 bytes to several blocks', () => {
    for (const len of lengths) {
      const data = random(len);
      const outLength = (len * 7) % 700;
      expect(
        shake256Parts([data.subarray(0, len >> 1), data.subarray(len >> 1)], outLength),
      ).toEqual(nobleShake256(data, { dkLen: outLength }));
    }
  });

  it('the SHAKE128 reader gives noble’s output block after block', () => {
    for (const len of [0, 1, 34, 167, 168, 169, 400]) {
      const data = random(len);
      const reader = new Shake128Reader(data.subarray(0, 5), data.subarray(5));
      const expected = nobleShake128(data, { dkLen: 168 * 6 });
      for (let block = 0; block < 6; block++) {
        expect(reader.next()).toEqual(expected.subarray(block * 168, (block + 1) * 168));
      }
      reader.wipe();
      expect(reader.block.every((b) => b === 0)).toBe(true);
    }
  });

  it('a 1 MiB input', () => {
    const data = random(1 << 20);
    expect(sha3_256Parts(data)).toEqual(nobleSha3_256(data));
  });

  it('does not modify its inputs', () => {
    const data = random(300);
    const copy = data.slice();
    sha3_256Parts(data);
    sha3_512Parts(data);
    shake256Parts([data], 500);
    new Shake128Reader(data).next();
    expect(data).toEqual(copy);
  });
});

describe('a hash started while another is running', () => {
  it('gives both hashes their right values (the shared state is not reused)', () => {
    const inner = random(200);
    const outerBytes = random(300);
    let innerDigest: Uint8Array | undefined;
    // Reading element 150 runs code: another hash.
    const outer = proxyRunningOnRead(
      outerBytes,
      () => (innerDigest = sha3_512Parts(inner)),
      (key) => key === '150',
    );
    expect(sha3_256Parts(outer)).toEqual(nobleSha3_256(outerBytes));
    expect(innerDigest).toEqual(nobleSha3_512(inner));
    // And the spare state is clean for the next caller.
    expect(sha3_256Parts(hexToBytes('616263'))).toEqual(nobleSha3_256(utf8('abc')));
  });
});
