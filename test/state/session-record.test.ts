/**
 * SessionRecord format: byte-identical round trips of real records (skipped keys, several receiver
 * chains, archived states, pending prekey, SPQR state), the format-version byte, and the bounds
 * enforced on load (receiver chains ≤ 5, skipped keys ≤ 2000 per chain, archived states ≤ 40).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ARCHIVED_STATES_MAX_LENGTH,
  MAX_MESSAGE_KEYS,
  MAX_RECEIVER_CHAINS,
  RECORD_FORMAT_VERSION,
} from '../../src/constants.js';
import { SessionRecord } from '../../src/index.js';
import { concatBytes } from '../../src/primitives/index.js';
import { ProtobufMessage, ProtobufWriter } from '../../src/wire/index.js';
import { bytesToHex } from '../support/hex.js';
import { expectSignalErrorSync, snapshotOf } from '../support/session-helpers.js';
import { type BusyRecords, busyRecords, handBuiltRecord, handBuiltState } from './state-helpers.js';

let busy: BusyRecords;
beforeAll(async () => {
  busy = await busyRecords();
});

describe('SessionRecord round trip on real sessions', () => {
  it('the busy records really use every feature', () => {
    const a = busy.aliceRecord;
    const aliceCurrent = a.currentState!;
    expect(aliceCurrent.receiverChains.length).toBe(MAX_RECEIVER_CHAINS);
    expect(aliceCurrent.receiverChains.some((c) => c.skippedKeys.length > 0)).toBe(true);
    expect(a.previousStates.length).toBeGreaterThanOrEqual(2);
    expect(aliceCurrent.pendingPreKey).toBeUndefined();

    const b = busy.bobRecord;
    expect(b.currentState!.pendingPreKey).toBeDefined();
    expect(b.previousStates.length).toBeGreaterThanOrEqual(3);
    const busyBob = b.previousStates[0]!;
    expect(busyBob.receiverChains.length).toBe(MAX_RECEIVER_CHAINS);
    expect(busyBob.receiverChains.every((c) => c.skippedKeys.length === 2)).toBe(true);
    // Archiving clears the pending prekey (libsignal state/session.rs).
    expect(b.previousStates.every((s) => s.pendingPreKey === undefined)).toBe(true);

    const p = busy.pendingRecord;
    expect(p.currentState!.pendingPreKey).toBeDefined();
    expect(p.currentState!.receiverChains.length).toBe(1);
    expect(p.previousStates.length).toBe(0);
  });

  it('serialize → deserialize → serialize is byte-identical', () => {
    for (const record of [
      busy.aliceRecord,
      busy.bobRecord,
      busy.pendingRecord,
      SessionRecord.empty(),
    ]) {
      const bytes = record.serialize();
      const again = SessionRecord.deserialize(bytes).serialize();
      expect(bytesToHex(again)).toBe(bytesToHex(bytes));
    }
  });

  it('what the store holds is exactly record.serialize()', () => {
    expect(snapshotOf(busy.alice.store)[`session:${busy.bob.address.toString()}`]).toBe(
      bytesToHex(busy.aliceRecord.serialize()),
    );
    expect(snapshotOf(busy.bob.store)[`session:${busy.alice.address.toString()}`]).toBe(
      bytesToHex(busy.bobRecord.serialize()),
    );
  });

  it('the deserialized record carries the same states', () => {
    const copy = SessionRecord.deserialize(busy.aliceRecord.serialize());
    const [x, y] = [copy.currentState!, busy.aliceRecord.currentState!];
    expect(x.rootKey).toEqual(y.rootKey);
    expect(x.senderChain.chainKey).toEqual(y.senderChain.chainKey);
    expect(
      x.senderChain.ratchetKeyPair.publicKey.equals(y.senderChain.ratchetKeyPair.publicKey),
    ).toBe(true);
    expect(x.receiverChains.map((c) => c.ratchetKey.toHex())).toEqual(
      y.receiverChains.map((c) => c.ratchetKey.toHex()),
    );
    expect(x.receiverChains.map((c) => [...c.skippedKeys])).toEqual(
      y.receiverChains.map((c) => [...c.skippedKeys]),
    );
    expect(x.aliceBaseKey.equals(y.aliceBaseKey)).toBe(true);
    expect(x.localRegistrationId).toBe(y.localRegistrationId);
    expect(x.remoteRegistrationId).toBe(y.remoteRegistrationId);
    expect(copy.previousStates.length).toBe(busy.aliceRecord.previousStates.length);

    const pending = SessionRecord.deserialize(busy.bobRecord.serialize()).currentState!
      .pendingPreKey!;
    const original = busy.bobRecord.currentState!.pendingPreKey!;
    expect(pending.kyberCiphertext).toEqual(original.kyberCiphertext);
    expect(pending.timestamp).toBe(original.timestamp);
    expect(pending.preKeyId).toBe(original.preKeyId);
    expect(pending.signedPreKeyId).toBe(original.signedPreKeyId);
    expect(pending.kyberPreKeyId).toBe(original.kyberPreKeyId);
    expect(pending.baseKey.equals(original.baseKey)).toBe(true);
  });

  it('records are immutable values: changing a copy leaves the original bytes alone', () => {
    const bytes = busy.aliceRecord.serialize();
    const archived = busy.aliceRecord.archiveCurrentState();
    expect(archived.currentState).toBeUndefined();
    expect(busy.aliceRecord.serialize()).toEqual(bytes);
    expect(SessionRecord.deserialize(archived.serialize()).previousStates.length).toBe(
      Math.min(ARCHIVED_STATES_MAX_LENGTH, busy.aliceRecord.previousStates.length + 1),
    );
  });
});

describe('SessionRecord keeps the encoding of archived states', () => {
  it('re-serializes loaded archived states byte for byte, from its own copy of the input', () => {
    const bytes = busy.aliceRecord.serialize();
    const input = bytes.slice();
    const loaded = SessionRecord.deserialize(input);
    input.fill(0); // the caller reuses its buffer: the record must not notice
    expect(loaded.serialize()).toEqual(bytes);
    // A new current state, same archived states: the archived part of the bytes is unchanged.
    const current = loaded.currentState!;
    const bumped = loaded.withCurrentState({
      ...current,
      previousCounter: current.previousCounter + 1,
    });
    const again = SessionRecord.deserialize(bumped.serialize());
    expect(again.previousStates.length).toBe(loaded.previousStates.length);
    expect(again.currentState!.previousCounter).toBe(current.previousCounter + 1);
    const tail = (r: SessionRecord): string =>
      bytesToHex(SessionRecord.fromStates(undefined, r.previousStates).serialize());
    expect(tail(again)).toBe(tail(loaded));
  });

  it('encodes an archived state that was current before exactly as a fresh encoding would', () => {
    const loaded = SessionRecord.deserialize(busy.aliceRecord.serialize());
    const archived = loaded.archiveCurrentState();
    // Through the cache (the archived states were loaded) and without it (rebuilt from decoded
    // copies, which are new objects): the same bytes.
    const rebuilt = SessionRecord.deserialize(archived.serialize());
    const fresh = SessionRecord.fromStates(
      undefined,
      rebuilt.previousStates.map((s) => ({ ...s })),
    );
    expect(bytesToHex(fresh.serialize())).toBe(bytesToHex(archived.serialize()));
  });
});

describe('SessionRecord: archived states from an older format', () => {
  it('re-encodes them in the current format on the next save', () => {
    // Bob's format-1 record keeps two skipped keys in the legacy layout (field 4, one message per
    // key); as an archived state it must come out packed (field 5) under the current version.
    const fixture = JSON.parse(
      readFileSync(
        fileURLToPath(new URL('../fixtures/records-format-1.json', import.meta.url)),
        'utf8',
      ),
    ) as { bob: { session: string } };
    const format1 = Uint8Array.from(Buffer.from(fixture.bob.session, 'hex'));
    expect(format1[0]).toBe(1);
    const stateBytes = new ProtobufMessage(format1.subarray(1), () => {
      throw new Error('bad fixture');
    }).bytes(1)!;
    const crafted = concatBytes(
      Uint8Array.of(1),
      new ProtobufWriter().bytes(2, stateBytes).finish(),
    );
    const loaded = SessionRecord.deserialize(crafted);
    expect(loaded.currentState).toBeUndefined();
    expect(loaded.previousStates.length).toBe(1);
    const saved = loaded.serialize();
    expect(saved[0]).toBe(RECORD_FORMAT_VERSION);
    const fresh = SessionRecord.fromStates(
      undefined,
      loaded.previousStates.map((st) => ({ ...st })),
    ).serialize();
    expect(bytesToHex(saved)).toBe(bytesToHex(fresh));
    expect(bytesToHex(saved.subarray(1))).not.toBe(bytesToHex(crafted.subarray(1)));
  });

  it("offers no method that hands out the record's own bytes", () => {
    const record = SessionRecord.deserialize(busy.aliceRecord.serialize());
    expect(Object.getOwnPropertyNames(SessionRecord.prototype)).not.toContain('serializedView');
    const a = record.serialize();
    a.fill(0);
    expect(record.serialize()).toEqual(busy.aliceRecord.serialize());
  });
});

describe('SessionRecord format version', () => {
  it('opens with RECORD_FORMAT_VERSION', () => {
    expect(busy.aliceRecord.serialize()[0]).toBe(RECORD_FORMAT_VERSION);
    expect(SessionRecord.empty().serialize()).toEqual(Uint8Array.of(RECORD_FORMAT_VERSION));
  });

  it.each([RECORD_FORMAT_VERSION + 1, 0x7f, 0xff])(
    'a future format version %i → ERR_INVALID_RECORD saying it is newer',
    (version) => {
      const bytes = busy.aliceRecord.serialize();
      bytes[0] = version;
      const e = expectSignalErrorSync(
        () => SessionRecord.deserialize(bytes),
        'ERR_INVALID_RECORD',
        `invalid record: session record: format version ${String(version)} is newer than this library supports`,
      );
      expect(e.reason).toMatch(/newer/);
    },
  );

  it('format version 0 → ERR_INVALID_RECORD (unknown)', () => {
    expectSignalErrorSync(
      () => SessionRecord.deserialize(Uint8Array.of(0)),
      'ERR_INVALID_RECORD',
      'invalid record: session record: unknown format version 0',
    );
  });

  it('empty input → ERR_INVALID_RECORD; a non-Uint8Array → TypeError', () => {
    expectSignalErrorSync(
      () => SessionRecord.deserialize(new Uint8Array(0)),
      'ERR_INVALID_RECORD',
      'invalid record: session record: empty',
    );
    expect(() => SessionRecord.deserialize([1] as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('a hand-built record without SPQR state loads, in the current format', () => {
    const r = SessionRecord.deserialize(
      handBuiltRecord(handBuiltState({ chains: 2, skippedPerChain: 3, pending: true })),
    );
    const s = r.currentState!;
    expect(s.receiverChains.length).toBe(2);
    expect(s.receiverChains[0]!.skippedKeys.length).toBe(3);
    expect(s.pendingPreKey!.timestamp).toBe(1_700_000_000);
    const again = r.serialize();
    expect(again[0]).toBe(RECORD_FORMAT_VERSION);
    expect(SessionRecord.deserialize(again).serialize()).toEqual(again);
  });
});

describe('SessionRecord archived states are decoded on first use', () => {
  // A state missing its required fields: the record framing is intact, the state is not.
  const broken = new ProtobufWriter().uint32(1, 4).finish();

  it('loading, changing the current state and saving carry an archived state over byte for byte', () => {
    const bytes = handBuiltRecord(handBuiltState(), [handBuiltState({ chains: 2 }), broken]);
    const loaded = SessionRecord.deserialize(bytes);
    expect(loaded.previousStateCount).toBe(2);
    const s = loaded.currentState!;
    const saved = loaded.withCurrentState({ ...s, previousCounter: 7 }).serialize();
    const body = new ProtobufMessage(saved.subarray(1), (m: string): never => {
      throw new Error(m);
    });
    const archived = body.repeatedBytes(2);
    expect(archived.map(bytesToHex)).toEqual(
      [handBuiltState({ chains: 2 }), broken].map(bytesToHex),
    );
    // Archiving the current state keeps them too, behind it; so does promoting a decoded state.
    const promoted = SessionRecord.deserialize(saved).promoteState({ ...s, previousCounter: 8 });
    expect(promoted.previousStateCount).toBe(3);
    expect(promoted.serialize().length).toBeGreaterThan(saved.length);
  });

  it('a malformed archived state is ERR_INVALID_RECORD when the archived states are read', () => {
    const loaded = SessionRecord.deserialize(handBuiltRecord(handBuiltState(), [broken]));
    expect(loaded.currentState).toBeDefined();
    expectSignalErrorSync(() => loaded.previousStates, 'ERR_INVALID_RECORD', /session record/);
    // Reading again fails again (nothing half-decoded is kept).
    expectSignalErrorSync(() => loaded.previousStates, 'ERR_INVALID_RECORD', /session record/);
  });

  it('decoded on first use, archived states equal what eager decoding gave and re-encode identically', () => {
    const bytes = handBuiltRecord(handBuiltState({ pending: true }), [
      handBuiltState({ chains: 3, skippedPerChain: 2 }),
      handBuiltState({ chains: 1 }),
    ]);
    const a = SessionRecord.deserialize(bytes);
    const b = SessionRecord.deserialize(bytes);
    expect(a.previousStates).toEqual(b.allStates().slice(1));
    expect(a.previousStates[0]!.receiverChains).toHaveLength(3);
    expect(a.previousStates[0]!.receiverChains[0]!.skippedKeys.length).toBe(2);
    // The same object on every read of one record.
    expect(a.previousStates).toBe(a.previousStates);
    expect(SessionRecord.deserialize(a.serialize()).serialize()).toEqual(bytes);
    expect(SessionRecord.fromStates(a.currentState, a.previousStates).serialize()).toEqual(bytes);
  });
});

describe('SessionRecord bounds on load', () => {
  it(`accepts exactly ${String(MAX_RECEIVER_CHAINS)} receiver chains, refuses ${String(MAX_RECEIVER_CHAINS + 1)}`, () => {
    const ok = SessionRecord.deserialize(
      handBuiltRecord(handBuiltState({ chains: MAX_RECEIVER_CHAINS })),
    );
    expect(ok.currentState!.receiverChains.length).toBe(MAX_RECEIVER_CHAINS);
    expectSignalErrorSync(
      () =>
        SessionRecord.deserialize(
          handBuiltRecord(handBuiltState({ chains: MAX_RECEIVER_CHAINS + 1 })),
        ),
      'ERR_INVALID_RECORD',
      'invalid record: session record: too many receiver chains',
    );
    // Also in an archived state, reported when the archived states are decoded (first use).
    const lazy = SessionRecord.deserialize(
      handBuiltRecord(handBuiltState(), [handBuiltState(), handBuiltState({ chains: 6 })]),
    );
    expect(lazy.previousStateCount).toBe(2);
    expectSignalErrorSync(
      () => lazy.previousStates,
      'ERR_INVALID_RECORD',
      /too many receiver chains/,
    );
    expectSignalErrorSync(() => lazy.allStates(), 'ERR_INVALID_RECORD', /too many receiver chains/);
  });

  it(`accepts exactly ${String(MAX_MESSAGE_KEYS)} skipped keys per chain, refuses ${String(MAX_MESSAGE_KEYS + 1)}`, () => {
    const ok = SessionRecord.deserialize(
      handBuiltRecord(
        handBuiltState({ chains: MAX_RECEIVER_CHAINS, skippedPerChain: MAX_MESSAGE_KEYS }),
      ),
    );
    for (const c of ok.currentState!.receiverChains)
      expect(c.skippedKeys.length).toBe(MAX_MESSAGE_KEYS);
    expectSignalErrorSync(
      () =>
        SessionRecord.deserialize(
          handBuiltRecord(handBuiltState({ chains: 1, skippedPerChain: MAX_MESSAGE_KEYS + 1 })),
        ),
      'ERR_INVALID_RECORD',
      'invalid record: session record: too many skipped message keys',
    );
  });

  it(`accepts exactly ${String(ARCHIVED_STATES_MAX_LENGTH)} archived states, refuses ${String(ARCHIVED_STATES_MAX_LENGTH + 1)}`, () => {
    const state = handBuiltState();
    const ok = SessionRecord.deserialize(
      handBuiltRecord(
        state,
        Array.from({ length: ARCHIVED_STATES_MAX_LENGTH }, () => state),
      ),
    );
    expect(ok.previousStates.length).toBe(ARCHIVED_STATES_MAX_LENGTH);
    expectSignalErrorSync(
      () =>
        SessionRecord.deserialize(
          handBuiltRecord(
            state,
            Array.from({ length: ARCHIVED_STATES_MAX_LENGTH + 1 }, () => state),
          ),
        ),
      'ERR_INVALID_RECORD',
      'invalid record: session record: too many archived states',
    );
  });

  it('refuses two current states, a missing field, a short root key, a mismatched sender key pair', () => {
    const state = handBuiltState();
    const twoCurrent = handBuiltRecord(state);
    const doubled = new Uint8Array(twoCurrent.length * 2 - 1);
    doubled.set(twoCurrent);
    doubled.set(twoCurrent.subarray(1), twoCurrent.length);
    expectSignalErrorSync(
      () => SessionRecord.deserialize(doubled),
      'ERR_INVALID_RECORD',
      /field 1 repeated/,
    );

    // Corrupt the root key length: 0x22 0x20 (field 4, 32 bytes) → drop one byte and fix the length.
    const rootAt = 2 + 35 + 35; // after fields 1 (version), 2 and 3 (identity keys)
    expect([state[rootAt], state[rootAt + 1]]).toEqual([0x22, 0x20]);
    const shortRoot = new Uint8Array([
      ...state.subarray(0, rootAt),
      0x22,
      31,
      ...state.subarray(rootAt + 2, rootAt + 33),
      ...state.subarray(rootAt + 34),
    ]);
    expectSignalErrorSync(
      () => SessionRecord.deserialize(handBuiltRecord(shortRoot)),
      'ERR_INVALID_RECORD',
      /field 4 has the wrong length/,
    );
  });

  it('error messages carry no key material', () => {
    const bytes = busy.aliceRecord.serialize();
    const e = expectSignalErrorSync(
      () => SessionRecord.deserialize(bytes.subarray(0, bytes.length - 3)),
      'ERR_INVALID_RECORD',
    );
    expect(e.message).toMatch(/^invalid record: /);
    expect(e.message.length).toBeLessThan(120);
    expect(e.message).not.toMatch(/[0-9a-f]{32}/);
  });
});
