/**
 * PreKeyRecord, SignedPreKeyRecord and KyberPreKeyRecord: byte-identical round trips, the
 * format-version byte, field-level refusals, and the signatures they carry.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  KEM_TYPE_KYBER1024,
  KEM_TYPE_MLKEM1024,
  RECORD_FORMAT_VERSION,
} from '../../src/constants.js';
import {
  IdentityKeyPair,
  KemKeyPair,
  KeyPair,
  KyberPreKeyRecord,
  PreKeyRecord,
  SignedPreKeyRecord,
} from '../../src/index.js';
import { ProtobufWriter } from '../../src/wire/index.js';
import { bytesToHex } from '../support/hex.js';
import { expectSignalErrorSync, fcRuns, seededRandom } from '../support/session-helpers.js';

const identity = IdentityKeyPair.generate(seededRandom('prekey-records identity'));
const kem = KemKeyPair.generate(KEM_TYPE_KYBER1024, seededRandom('prekey-records kem'));
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const timestamp = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });

const withVersion = (body: Uint8Array, version = RECORD_FORMAT_VERSION): Uint8Array => {
  const out = new Uint8Array(body.length + 1);
  out[0] = version;
  out.set(body, 1);
  return out;
};

type AnyRecordClass = {
  deserialize(bytes: Uint8Array): { serialize(): Uint8Array };
};
const samples: [string, string, AnyRecordClass, () => Uint8Array][] = [
  ['PreKeyRecord', 'prekey record', PreKeyRecord, () => PreKeyRecord.generate(7).serialize()],
  [
    'SignedPreKeyRecord',
    'signed prekey record',
    SignedPreKeyRecord,
    () => SignedPreKeyRecord.generate(identity, 9, 1_700_000_000_000).serialize(),
  ],
  [
    'KyberPreKeyRecord',
    'kyber prekey record',
    KyberPreKeyRecord,
    () =>
      new KyberPreKeyRecord(
        11,
        kem,
        identity.privateKey.sign(kem.publicKey.serialize()),
        5,
        true,
      ).serialize(),
  ],
];

describe('prekey record round trips', () => {
  it('PreKeyRecord: any id and key pair', () => {
    fc.assert(
      fc.property(u32, fc.uint8Array({ minLength: 32, maxLength: 32 }), (id, seed) => {
        const keyPair = KeyPair.generate(() => seed.slice());
        const r = new PreKeyRecord(id, keyPair);
        const bytes = r.serialize();
        expect(bytes[0]).toBe(RECORD_FORMAT_VERSION);
        const back = PreKeyRecord.deserialize(bytes);
        expect(back.id).toBe(id);
        expect(back.keyPair.publicKey.equals(keyPair.publicKey)).toBe(true);
        expect(back.keyPair.privateKey.serialize()).toEqual(keyPair.privateKey.serialize());
        expect(bytesToHex(back.serialize())).toBe(bytesToHex(bytes));
      }),
      fcRuns(100),
    );
  });

  it('SignedPreKeyRecord: any id and millisecond timestamp; the signature verifies', () => {
    const spk = SignedPreKeyRecord.generate(identity, 1, 0);
    fc.assert(
      fc.property(u32, timestamp, (id, ts) => {
        const r = new SignedPreKeyRecord(id, spk.keyPair, spk.signature, ts);
        const bytes = r.serialize();
        expect(bytes[0]).toBe(RECORD_FORMAT_VERSION);
        const back = SignedPreKeyRecord.deserialize(bytes);
        expect(back.id).toBe(id);
        expect(back.timestamp).toBe(ts);
        expect(back.signature).toEqual(spk.signature);
        expect(bytesToHex(back.serialize())).toBe(bytesToHex(bytes));
      }),
      fcRuns(200),
    );
    expect(
      identity.publicKey.verifySignature(spk.keyPair.publicKey.serialize(), spk.signature),
    ).toBe(true);
  });

  it('KyberPreKeyRecord: any id, timestamp and last-resort flag; the signature verifies', () => {
    const signature = identity.privateKey.sign(kem.publicKey.serialize());
    fc.assert(
      fc.property(u32, timestamp, fc.boolean(), (id, ts, lastResort) => {
        const r = new KyberPreKeyRecord(id, kem, signature, ts, lastResort);
        const bytes = r.serialize();
        expect(bytes[0]).toBe(RECORD_FORMAT_VERSION);
        const back = KyberPreKeyRecord.deserialize(bytes);
        expect(back.id).toBe(id);
        expect(back.timestamp).toBe(ts);
        expect(back.lastResort).toBe(lastResort);
        expect(back.keyPair.publicKey.equals(kem.publicKey)).toBe(true);
        expect(bytesToHex(back.serialize())).toBe(bytesToHex(bytes));
      }),
      fcRuns(40),
    );
    expect(identity.publicKey.verifySignature(kem.publicKey.serialize(), signature)).toBe(true);
  });

  it('KyberPreKeyRecord.generate signs the serialized KEM key, for both KEM types', () => {
    for (const kemType of [KEM_TYPE_KYBER1024, KEM_TYPE_MLKEM1024] as const) {
      const r = KyberPreKeyRecord.generate(identity, 3, 4, { kemType, lastResort: true });
      expect(r.keyPair.publicKey.type).toBe(kemType);
      expect(identity.publicKey.verifySignature(r.keyPair.publicKey.serialize(), r.signature)).toBe(
        true,
      );
      const back = KyberPreKeyRecord.deserialize(r.serialize());
      expect(back.keyPair.publicKey.type).toBe(kemType);
      expect(back.serialize()).toEqual(r.serialize());
    }
  });

  it('generation is deterministic under an injected random source', () => {
    const a = SignedPreKeyRecord.generate(identity, 5, 6, seededRandom('spk'));
    const b = SignedPreKeyRecord.generate(identity, 5, 6, seededRandom('spk'));
    expect(a.serialize()).toEqual(b.serialize());
    const c = KyberPreKeyRecord.generate(identity, 5, 6, { random: seededRandom('kyber') });
    const d = KyberPreKeyRecord.generate(identity, 5, 6, { random: seededRandom('kyber') });
    expect(c.serialize()).toEqual(d.serialize());
  });
});

describe.each(samples)('%s format version', (_name, kind, cls, make) => {
  it('opens with RECORD_FORMAT_VERSION', () => {
    expect(make()[0]).toBe(RECORD_FORMAT_VERSION);
  });

  it.each([RECORD_FORMAT_VERSION + 1, 0xff])(
    'format version %i → ERR_INVALID_RECORD "newer"',
    (v) => {
      const bytes = make();
      bytes[0] = v;
      const e = expectSignalErrorSync(
        () => cls.deserialize(bytes),
        'ERR_INVALID_RECORD',
        `invalid record: ${kind}: format version ${String(v)} is newer than this library supports`,
      );
      expect(e.reason).toContain('newer');
    },
  );

  it('format version 0 and empty input → ERR_INVALID_RECORD', () => {
    const bytes = make();
    bytes[0] = 0;
    expectSignalErrorSync(
      () => cls.deserialize(bytes),
      'ERR_INVALID_RECORD',
      /unknown format version 0/,
    );
    expectSignalErrorSync(() => cls.deserialize(new Uint8Array(0)), 'ERR_INVALID_RECORD', /empty/);
  });
});

describe('prekey record field checks', () => {
  const kp = KeyPair.generate();
  const other = KeyPair.generate();

  it('PreKeyRecord: mismatched key pair, missing fields, wrong lengths → ERR_INVALID_RECORD', () => {
    const build = (
      pub: Uint8Array | undefined,
      priv: Uint8Array | undefined,
      id: number | undefined,
    ): Uint8Array => {
      const w = new ProtobufWriter();
      if (id !== undefined) w.uint32(1, id);
      if (pub !== undefined) w.bytes(2, pub);
      if (priv !== undefined) w.bytes(3, priv);
      return withVersion(w.finish());
    };
    const pub = kp.publicKey.serialize();
    const priv = kp.privateKey.serialize();
    expect(PreKeyRecord.deserialize(build(pub, priv, 4)).id).toBe(4);
    expectSignalErrorSync(
      () => PreKeyRecord.deserialize(build(other.publicKey.serialize(), priv, 4)),
      'ERR_INVALID_RECORD',
      'invalid record: prekey record: key pair mismatch',
    );
    expectSignalErrorSync(
      () => PreKeyRecord.deserialize(build(pub, priv, undefined)),
      'ERR_INVALID_RECORD',
      /missing field 1/,
    );
    expectSignalErrorSync(
      () => PreKeyRecord.deserialize(build(undefined, priv, 4)),
      'ERR_INVALID_RECORD',
      /missing field 2/,
    );
    expectSignalErrorSync(
      () => PreKeyRecord.deserialize(build(pub, undefined, 4)),
      'ERR_INVALID_RECORD',
      /missing field 3/,
    );
    expectSignalErrorSync(
      () => PreKeyRecord.deserialize(build(pub, priv.subarray(1), 4)),
      'ERR_INVALID_RECORD',
      /field 3 has the wrong length/,
    );
    expectSignalErrorSync(
      () => PreKeyRecord.deserialize(build(pub.subarray(1), priv, 4)),
      'ERR_INVALID_RECORD',
      'invalid record: prekey record: bad public key',
    );
  });

  it('SignedPreKeyRecord: timestamps beyond 2^53-1, missing timestamp, short signature → ERR_INVALID_RECORD', () => {
    const build = (ts: bigint | undefined, sig: Uint8Array): Uint8Array => {
      const w = new ProtobufWriter()
        .uint32(1, 1)
        .bytes(2, kp.publicKey.serialize())
        .bytes(3, kp.privateKey.serialize())
        .bytes(4, sig);
      if (ts !== undefined) w.uint64(5, ts);
      return withVersion(w.finish());
    };
    const sig = new Uint8Array(64).fill(3);
    expect(
      SignedPreKeyRecord.deserialize(build(BigInt(Number.MAX_SAFE_INTEGER), sig)).timestamp,
    ).toBe(Number.MAX_SAFE_INTEGER);
    expectSignalErrorSync(
      () => SignedPreKeyRecord.deserialize(build(BigInt(Number.MAX_SAFE_INTEGER) + 1n, sig)),
      'ERR_INVALID_RECORD',
      'invalid record: signed prekey record: bad timestamp',
    );
    expectSignalErrorSync(
      () => SignedPreKeyRecord.deserialize(build(undefined, sig)),
      'ERR_INVALID_RECORD',
      /bad timestamp/,
    );
    expectSignalErrorSync(
      () => SignedPreKeyRecord.deserialize(build(1n, sig.subarray(1))),
      'ERR_INVALID_RECORD',
      /field 4 has the wrong length/,
    );
  });

  it('KyberPreKeyRecord: bad secret key, non-bool flag → ERR_INVALID_RECORD; absent flag = one-time', () => {
    const sk = kem.secretKey.serialize();
    const build = (secret: Uint8Array, flag: bigint | undefined): Uint8Array => {
      const w = new ProtobufWriter()
        .uint32(1, 1)
        .bytes(2, secret)
        .bytes(3, new Uint8Array(64))
        .uint64(4, 0n);
      if (flag !== undefined) w.uint64(5, flag);
      return withVersion(w.finish());
    };
    expect(KyberPreKeyRecord.deserialize(build(sk, undefined)).lastResort).toBe(false);
    expect(KyberPreKeyRecord.deserialize(build(sk, 1n)).lastResort).toBe(true);
    expectSignalErrorSync(
      () => KyberPreKeyRecord.deserialize(build(sk, 2n)),
      'ERR_INVALID_RECORD',
      /field 5 is not a bool/,
    );
    expectSignalErrorSync(
      () => KyberPreKeyRecord.deserialize(build(sk.subarray(0, 100), 0n)),
      'ERR_INVALID_RECORD',
      'invalid record: kyber prekey record: bad KEM secret key',
    );
    const wrongType = sk.slice();
    wrongType[0] = 0x07;
    expectSignalErrorSync(
      () => KyberPreKeyRecord.deserialize(build(wrongType, 0n)),
      'ERR_INVALID_RECORD',
      /bad KEM secret key/,
    );
  });

  it('constructors refuse out-of-range ids and timestamps (RangeError: misuse)', () => {
    expect(() => new PreKeyRecord(-1, kp)).toThrow(RangeError);
    expect(() => new PreKeyRecord(2 ** 32, kp)).toThrow(RangeError);
    expect(() => new SignedPreKeyRecord(1, kp, new Uint8Array(64), -1)).toThrow(RangeError);
    expect(() => new SignedPreKeyRecord(1, kp, new Uint8Array(63), 0)).toThrow(RangeError);
    expect(() => new KyberPreKeyRecord(1, kem, new Uint8Array(64), 2 ** 53, false)).toThrow(
      RangeError,
    );
  });
});
