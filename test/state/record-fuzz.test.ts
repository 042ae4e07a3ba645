/**
 * Corrupt persisted state (STYLE.md 1.11 "Fuzz"): truncated, bit-flipped, extended and random
 * records only ever load or throw ERR_INVALID_RECORD — never another code, never a foreign
 * exception. A record that does load must also save and load again.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { RECORD_FORMAT_VERSION } from '../../src/constants.js';
import {
  IdentityKeyPair,
  isSignalError,
  KyberPreKeyRecord,
  PreKeyRecord,
  SessionRecord,
  SignedPreKeyRecord,
} from '../../src/index.js';
import { expectSameBytes, fcRuns } from '../support/session-helpers.js';
import { mutate, mutationArb } from '../wire/wire-helpers.js';
import { busyRecords, handBuiltRecord, handBuiltState } from './state-helpers.js';

interface Codec {
  readonly name: string;
  deserialize(bytes: Uint8Array): { serialize(): Uint8Array };
}

const codecs: Codec[] = [
  {
    name: 'SessionRecord',
    // Archived states are decoded on first use, not on load: read them, so they are checked too.
    deserialize: (b) => {
      const record = SessionRecord.deserialize(b);
      expect(record.previousStates).toHaveLength(record.previousStateCount);
      return record;
    },
  },
  { name: 'PreKeyRecord', deserialize: (b) => PreKeyRecord.deserialize(b) },
  { name: 'SignedPreKeyRecord', deserialize: (b) => SignedPreKeyRecord.deserialize(b) },
  { name: 'KyberPreKeyRecord', deserialize: (b) => KyberPreKeyRecord.deserialize(b) },
];

/** Load `bytes`; success must re-save and re-load; failure must be ERR_INVALID_RECORD only. */
function loadOrInvalid(codec: Codec, bytes: Uint8Array): 'ok' | 'invalid' {
  let record: { serialize(): Uint8Array };
  try {
    record = codec.deserialize(bytes);
  } catch (e) {
    if (!isSignalError(e, 'ERR_INVALID_RECORD')) {
      expect.fail(
        `${codec.name}: expected ERR_INVALID_RECORD, got ${isSignalError(e) ? e.code : String(e)}`,
      );
    }
    return 'invalid';
  }
  const saved = record.serialize();
  expect(saved[0]).toBe(RECORD_FORMAT_VERSION);
  expectSameBytes(codec.deserialize(saved).serialize(), saved);
  return 'ok';
}

const seeds = new Map<string, Uint8Array[]>();

beforeAll(async () => {
  const busy = await busyRecords();
  const identity = IdentityKeyPair.generate();
  seeds.set('SessionRecord', [
    busy.aliceRecord.serialize(),
    busy.bobRecord.serialize(),
    busy.pendingRecord.serialize(),
    handBuiltRecord(handBuiltState({ chains: 2, skippedPerChain: 2, pending: true }), [
      handBuiltState(),
    ]),
  ]);
  seeds.set('PreKeyRecord', [PreKeyRecord.generate(1).serialize()]);
  seeds.set('SignedPreKeyRecord', [SignedPreKeyRecord.generate(identity, 2, 3).serialize()]);
  seeds.set('KyberPreKeyRecord', [
    KyberPreKeyRecord.generate(identity, 4, 5).serialize(),
    KyberPreKeyRecord.generate(identity, 6, 7, { lastResort: true }).serialize(),
  ]);
});

describe.each(codecs)('$name under corruption', (codec) => {
  const seedsOf = (): Uint8Array[] => seeds.get(codec.name)!;

  it('truncations: only ERR_INVALID_RECORD (or a shorter valid record)', () => {
    for (const seed of seedsOf()) {
      const cuts = new Set<number>();
      for (let n = 0; n < Math.min(seed.length, 300); n++) cuts.add(n);
      const step = Math.max(1, Math.floor(seed.length / 400));
      for (let n = 0; n < seed.length; n += step) cuts.add(n);
      for (let n = Math.max(0, seed.length - 300); n < seed.length; n++) cuts.add(n);
      let invalid = 0;
      for (const n of cuts) if (loadOrInvalid(codec, seed.subarray(0, n)) === 'invalid') invalid++;
      expect(invalid).toBeGreaterThan(cuts.size * 0.9);
    }
  });

  it('every strict prefix of a prekey record is refused', () => {
    if (codec.name === 'SessionRecord' || codec.name === 'KyberPreKeyRecord') return;
    for (const seed of seedsOf()) {
      for (let n = 0; n < seed.length; n++)
        expect(loadOrInvalid(codec, seed.subarray(0, n))).toBe('invalid');
    }
  });

  it('random mutations (bit flips, overwrites, truncations, extensions, insertions, deletions)', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        (which, mutations) => {
          const all = seedsOf();
          loadOrInvalid(codec, mutate(all[which % all.length]!, mutations));
        },
      ),
      fcRuns(codec.name === 'SessionRecord' ? 400 : 300),
    );
  });

  it('random bytes, with and without a valid format-version byte', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.uint8Array({ maxLength: 300 }), (prefix, rest) => {
        const bytes = prefix ? Uint8Array.from([RECORD_FORMAT_VERSION, ...rest]) : rest;
        loadOrInvalid(codec, bytes);
      }),
      fcRuns(1500),
    );
  });
});

// Loading a record does not re-derive the sender ratchet public key from its private key (that
// would cost a scalar multiplication per message); record integrity is the store's job, and the
// encrypting backend detects any flipped bit. The flipped key is carried as stored.
it('a bit flip in a session record’s sender ratchet public key loads as stored (no re-derivation)', () => {
  const bytes = handBuiltRecord(handBuiltState());
  const pub =
    SessionRecord.deserialize(bytes).currentState!.senderChain.ratchetKeyPair.publicKey.serialize();
  let at = -1;
  for (let i = 0; i + pub.length <= bytes.length && at < 0; i++) {
    if (pub.every((b, j) => bytes[i + j] === b)) at = i;
  }
  expect(at).toBeGreaterThan(0);
  for (let bit = 0; bit < 8; bit++) {
    const b = bytes.slice();
    b[at + 5] = (b[at + 5] as number) ^ (1 << bit);
    const loaded = SessionRecord.deserialize(b).currentState!.senderChain.ratchetKeyPair.publicKey;
    expect(loaded.serialize()).not.toEqual(pub);
  }
});
