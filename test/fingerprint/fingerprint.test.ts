/**
 * Safety numbers: libsignal's known answers, and interop with @signalapp/libsignal-client's
 * Fingerprint class (0.90 and 0.103) for random keys and identifiers, both directions.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Fingerprint, FINGERPRINT_ITERATIONS } from '../../src/fingerprint/index.js';
import { IdentityKeyPair, isSignalError, PublicKey } from '../../src/index.js';

const require = createRequire(import.meta.url);
const libs = {
  '0.90': require('libsignal-client-090'),
  '0.103': require('libsignal-client-0103'),
} as const;
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

const ALICE = PublicKey.deserialize(
  hex('0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868'),
);
const BOB = PublicKey.deserialize(
  hex('05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b'),
);
const ALICE_LOCAL32 = '1e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df';
const BOB_LOCAL32 = 'd62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d';

describe('known answers (libsignal fingerprint.rs)', () => {
  for (const version of [1, 2]) {
    it(`version ${String(version)}: displayable and scannable`, () => {
      const a = Fingerprint.create(
        5200,
        version,
        utf8('+14152222222'),
        ALICE,
        utf8('+14153333333'),
        BOB,
      );
      const b = Fingerprint.create(
        5200,
        version,
        utf8('+14153333333'),
        BOB,
        utf8('+14152222222'),
        ALICE,
      );
      expect(a.displayable).toBe('300354477692869396892869876765458257569162576843440918079131');
      expect(b.displayable).toBe(a.displayable);
      expect(Buffer.from(a.scannable).toString('hex')).toBe(
        `080${String(version)}12220a20${ALICE_LOCAL32}1a220a20${BOB_LOCAL32}`,
      );
      expect(a.compareScannable(b.scannable)).toBe(true);
      expect(b.compareScannable(a.scannable)).toBe(true);
    });
  }

  it('a mismatched key or identifier does not compare equal', () => {
    const a = Fingerprint.create(5200, 2, utf8('+14152222222'), ALICE, utf8('+14153333333'), BOB);
    const other = IdentityKeyPair.generate().publicKey;
    const mitm = Fingerprint.create(
      5200,
      2,
      utf8('+14153333333'),
      other,
      utf8('+14152222222'),
      ALICE,
    );
    expect(a.compareScannable(mitm.scannable)).toBe(false);
    expect(a.compareScannable(a.scannable)).toBe(false);
  });

  it('a version mismatch and malformed bytes are typed errors', () => {
    const a = Fingerprint.create(5200, 2, utf8('a'), ALICE, utf8('b'), BOB);
    const v1 = Fingerprint.create(5200, 1, utf8('b'), BOB, utf8('a'), ALICE);
    expect(() => a.compareScannable(v1.scannable)).toThrow(
      expect.objectContaining({ code: 'ERR_UNSUPPORTED_VERSION', version: 1 }),
    );
    for (const junk of [Uint8Array.of(0x08, 0x02), Uint8Array.of(0xff), a.scannable.slice(0, 20)]) {
      try {
        a.compareScannable(junk);
        throw new Error('accepted');
      } catch (e) {
        expect(isSignalError(e, 'ERR_INVALID_MESSAGE')).toBe(true);
      }
    }
    expect(() => Fingerprint.create(1, 2, utf8('a'), ALICE, utf8('b'), BOB)).toThrow(RangeError);
  });
});

for (const [name, lib] of Object.entries(libs)) {
  describe(`interop with libsignal ${name} Fingerprint`, () => {
    it('same displayable digits and mutually comparable scannable codes for random peers', () => {
      for (let i = 0; i < 6; i++) {
        const ours = IdentityKeyPair.generate();
        const theirs = lib.IdentityKeyPair.generate();
        const theirKey = PublicKey.deserialize(theirs.publicKey.serialize());
        const localId = crypto.getRandomValues(new Uint8Array(16));
        const remoteId = crypto.getRandomValues(new Uint8Array(16));
        const chiffre = Fingerprint.create(
          FINGERPRINT_ITERATIONS,
          2,
          localId,
          ours.publicKey,
          remoteId,
          theirKey,
        );
        const libFp = lib.Fingerprint.new(
          FINGERPRINT_ITERATIONS,
          2,
          Buffer.from(remoteId),
          theirs.publicKey,
          Buffer.from(localId),
          lib.PublicKey.deserialize(Buffer.from(ours.publicKey.serialize())),
        );
        expect(chiffre.displayable).toBe(libFp.displayableFingerprint().toString());
        const libScannable = new Uint8Array(libFp.scannableFingerprint().toBuffer());
        expect(chiffre.compareScannable(libScannable)).toBe(true);
        const ourScannable = lib.ScannableFingerprint._fromBuffer(Buffer.from(chiffre.scannable));
        expect(libFp.scannableFingerprint().compare(ourScannable)).toBe(true);
      }
    });
  });
}
