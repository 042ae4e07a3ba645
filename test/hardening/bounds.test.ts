/**
 * Resource bounds under a hostile peer. The peer runs real sessions but bends its own state
 * (through the hazmat layer) to push the receiver's bookkeeping as far as it can:
 *
 * - Double Ratchet: jumps of 2,600 in every sending chain and a new chain every turn → at most
 *   2,000 skipped message keys per chain (`MAX_MESSAGE_KEYS`) and 5 receiver chains
 *   (`MAX_RECEIVER_CHAINS`);
 * - SPQR: jumps of 1,100–3,000 chain keys → at most 2,201 kept keys per chain half
 *   (`SPQR_HISTORY_TRIM_SIZE`), and a handful of chain epochs;
 * - sessions: 45 PreKeySignalMessages with fresh base keys on the last-resort Kyber prekey → at
 *   most 40 archived states (`ARCHIVED_STATES_MAX_LENGTH`) — and one Kyber-reuse entry per
 *   distinct initiator, which grows with legitimate initiators too;
 * - bytes: every record seen is measured against the byte bound computed from its counts, and a
 *   synthetic worst-case record (every count at its limit) against the global bound.
 *
 * The byte bound is computed from the record codec (`src/state/session-record.ts`,
 * `src/spqr/state-codec.ts`): each field's tag, length prefix and largest value.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ARCHIVED_STATES_MAX_LENGTH,
  MAX_MESSAGE_KEYS,
  MAX_RECEIVER_CHAINS,
  SPQR_HISTORY_TRIM_SIZE,
} from '../../src/constants.js';
import {
  type CiphertextMessage,
  createPreKeyBundle,
  IdentityKeyPair,
  isSignalError,
  KyberPreKeyRecord,
  kyberPreKeyId,
  ProtocolAddress,
  SessionManager,
  SessionRecord,
  SignedPreKeyRecord,
} from '../../src/index.js';
import { IndexedKeys } from '../../src/keys/index.js';
import { BackendProtocolStore, MemoryBackend } from '../../src/storage/index.js';
import { deriveNextChainKey, type SessionState } from '../../src/ratchet/index.js';
import { chainSendKey, type ChainLink, type SpqrChain } from '../../src/spqr/chain.js';
import { freshServiceId, makeParty, type Party } from '../support/parties.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

// ------------------------------------------------------------------------------------------
// The byte bound, from the codec
// ------------------------------------------------------------------------------------------

/** Bytes of a varint holding at most `max`. */
const varintLen = (max: number): number => Math.max(1, Math.ceil(Math.log2(max + 1) / 7));
/** A length-delimited field of `n` bytes (tag < 16). */
const lenField = (n: number): number => 1 + varintLen(n) + n;
/** A u32 / u64 varint field (tag < 16). */
const U32 = 1 + 5;
const U64 = 1 + 10;
const KEY33 = lenField(33);
const KEY32 = lenField(32);

/** One skipped message key: `4 { 1 index u32, 2 seed(32) }`. */
const SKIPPED_KEY = lenField(U32 + KEY32);
/** A receiver chain without its skipped keys: ratchet key, chain key, index. */
const CHAIN_FIXED = KEY33 + KEY32 + U32;
/** Pending prekey (our own, initiator side): ids, base key, timestamp, Kyber id and ciphertext. */
const PENDING = lenField(U32 + U32 + KEY33 + U64 + U32 + lenField(1569));
/** Everything of a state but receiver chains and SPQR. */
const STATE_FIXED =
  U32 +
  KEY33 +
  KEY33 +
  KEY32 +
  U32 +
  lenField(KEY33 + KEY32 + KEY32 + U32) +
  PENDING +
  U32 +
  U32 +
  KEY33;
/** SCKA with every optional field present at its largest (an over-estimate of any one kind). */
const SCKA_MAX =
  U32 +
  U64 +
  KEY32 +
  KEY32 +
  lenField(1152) +
  lenField(2400) +
  lenField(64) +
  lenField(960) +
  lenField(64) +
  lenField(5 + 1152) +
  lenField(4627);
/** A chain half with `h` kept keys. */
const half = (h: number): number => U32 + KEY32 + lenField(36 * h);
/** A chain link with `hs` / `hr` kept keys per half. */
const link = (hs: number, hr: number): number => lenField(lenField(half(hs)) + lenField(half(hr)));
/** Chain header: direction, epochs, next root, limits. */
const CHAIN_HEADER = U32 + U64 + U64 + KEY32 + U32 + U32;
const NEGOTIATION = lenField(KEY32 + U32 + U32 + U32 + U32);

/** What a state holds, counted. */
interface StateCounts {
  readonly skipped: readonly number[];
  /** Kept keys per link, [send, recv]. */
  readonly links: readonly (readonly [number, number])[];
  readonly hasPq: boolean;
}

function countsOf(s: SessionState): StateCounts {
  const chain = s.pqRatchet.chain;
  return {
    skipped: s.receiverChains.map((c) => c.skippedKeys.length),
    links: (chain?.links ?? []).map((l) => [l.send.history.length, l.recv.history.length] as const),
    hasPq: s.pqRatchet.scka !== undefined,
  };
}

/** Largest serialized size of a state with these counts. */
function stateBound(c: StateCounts): number {
  const chains = c.skipped.reduce((n, k) => n + lenField(CHAIN_FIXED + k * SKIPPED_KEY), 0);
  const linkBytes = c.links.reduce((n, [hs, hr]) => n + link(hs, hr), 0);
  const pq = c.hasPq
    ? lenField(lenField(SCKA_MAX) + lenField(CHAIN_HEADER + linkBytes) + NEGOTIATION)
    : 0;
  return STATE_FIXED + chains + pq;
}

/** Largest serialized size of a record with these states. */
function recordBound(states: readonly StateCounts[]): number {
  return 1 + states.reduce((n, s) => n + lenField(stateBound(s)), 0);
}

/** Chain links a session keeps: the send epoch, one before it, one received ahead of it. */
const MAX_LINKS_IN_USE = 3;
/** Kept SPQR keys per receiving half (the history is trimmed when it reaches the trim size). */
const MAX_SPQR_HISTORY = SPQR_HISTORY_TRIM_SIZE - 1;

/** The worst state a hostile peer can make us hold. */
const WORST_STATE: StateCounts = {
  skipped: Array.from({ length: MAX_RECEIVER_CHAINS }, () => MAX_MESSAGE_KEYS),
  links: Array.from({ length: MAX_LINKS_IN_USE }, () => [0, MAX_SPQR_HISTORY] as const),
  hasPq: true,
};
/** The worst record: a current state and 40 archived ones, all at the worst. */
const WORST_RECORD_BYTES = recordBound(
  Array.from({ length: ARCHIVED_STATES_MAX_LENGTH + 1 }, () => WORST_STATE),
);

/** Check a record against the bounds: counts, and bytes against the bound from its counts. */
function expectWithinBounds(
  record: SessionRecord,
  what: string,
): { bytes: number; counts: StateCounts[] } {
  const states = record.allStates();
  expect(record.previousStates.length, `${what}: archived states`).toBeLessThanOrEqual(
    ARCHIVED_STATES_MAX_LENGTH,
  );
  const counts = states.map(countsOf);
  for (const c of counts) {
    expect(c.skipped.length, `${what}: receiver chains`).toBeLessThanOrEqual(MAX_RECEIVER_CHAINS);
    for (const k of c.skipped)
      expect(k, `${what}: skipped keys in one chain`).toBeLessThanOrEqual(MAX_MESSAGE_KEYS);
    expect(c.links.length, `${what}: SPQR chain links`).toBeLessThanOrEqual(MAX_LINKS_IN_USE);
    for (const [hs, hr] of c.links) {
      expect(hs, `${what}: SPQR send history`).toBe(0);
      expect(hr, `${what}: SPQR receive history`).toBeLessThanOrEqual(MAX_SPQR_HISTORY);
    }
  }
  const bytes = record.serialize().length;
  expect(bytes, `${what}: bytes vs. the bound of its counts`).toBeLessThanOrEqual(
    recordBound(counts),
  );
  expect(bytes).toBeLessThanOrEqual(WORST_RECORD_BYTES);
  return { bytes, counts };
}

// ------------------------------------------------------------------------------------------
// The hostile peer's tools
// ------------------------------------------------------------------------------------------

function recordOf(owner: Party, peer: ProtocolAddress): SessionRecord {
  const r = owner.store.loadSession(peer);
  if (r === null) throw new Error('no session');
  return r;
}

/** Skip `dr` Double Ratchet keys and `spqr` SPQR keys of `p`'s sending chains (never sent). */
function jump(p: Party, peer: ProtocolAddress, dr: number, spqr: number): void {
  const record = recordOf(p, peer);
  const s = record.currentState as SessionState;
  let key = s.senderChain.chainKey.key;
  for (let i = 0; i < dr; i++) key = deriveNextChainKey(key);
  let chain = s.pqRatchet.chain as SpqrChain;
  for (let i = 0; i < spqr; i++) chain = chainSendKey(chain, chain.sendEpoch).chain;
  p.store.storeSession(
    peer,
    record.withCurrentState({
      ...s,
      senderChain: {
        ...s.senderChain,
        chainKey: { key, index: s.senderChain.chainKey.index + dr },
      },
      pqRatchet: { ...s.pqRatchet, chain },
    }),
  );
}

async function deliver(from: Party, to: Party, text: string): Promise<void> {
  const m = await from.manager.encrypt(to.address, enc(text));
  expect(dec(await to.manager.decrypt(from.address, m))).toBe(text);
}

async function established(): Promise<{ alice: Party; bob: Party }> {
  const alice = makeParty('alice');
  const bob = makeParty('bob');
  await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
  await deliver(alice, bob, 'hello');
  await deliver(bob, alice, 'hello back');
  return { alice, bob };
}

function kyberUses(p: Party): string[] {
  return [...p.store.snapshot().keys()].filter((k) => k.startsWith('kyber-use:'));
}

// ------------------------------------------------------------------------------------------

describe('resource bounds under a hostile peer', () => {
  it('the computed bounds (documented in docs/security.md)', () => {
    expect(SKIPPED_KEY).toBe(42);
    expect(stateBound(WORST_STATE)).toBeLessThan(700_000);
    expect(WORST_RECORD_BYTES).toBeLessThan(28 * 1024 * 1024);
  });

  it('skipped keys ≤ 2,000 per chain, receiver chains ≤ 5, SPQR history ≤ 2,201: counts and bytes', async () => {
    const { alice, bob } = await established();
    let maxBytes = 0;
    for (let turn = 0; turn < 8; turn++) {
      // A new sending chain with a jump far past MAX_MESSAGE_KEYS, then another in the same chain.
      jump(alice, bob.address, 2_600, turn === 0 ? 3_000 : 1_100);
      await deliver(alice, bob, `jump ${String(turn)}`);
      maxBytes = Math.max(
        maxBytes,
        expectWithinBounds(recordOf(bob, alice.address), `turn ${String(turn)}`).bytes,
      );
      jump(alice, bob.address, 1_500, 1_100);
      await deliver(alice, bob, `jump again ${String(turn)}`);
      const { bytes, counts } = expectWithinBounds(
        recordOf(bob, alice.address),
        `turn ${String(turn)}b`,
      );
      maxBytes = Math.max(maxBytes, bytes);
      // The answer makes Alice's next message open a new receiving chain at Bob.
      await deliver(bob, alice, `answer ${String(turn)}`);
      if (turn >= MAX_RECEIVER_CHAINS) {
        const current = counts[0] as StateCounts;
        expect(current.skipped).toEqual(
          Array.from({ length: MAX_RECEIVER_CHAINS }, () => MAX_MESSAGE_KEYS),
        );
      }
    }
    // Every bound was reached, and the bytes stayed under the bound of the worst single state.
    expect(maxBytes).toBeGreaterThan(5 * MAX_MESSAGE_KEYS * SKIPPED_KEY);
    expect(maxBytes).toBeLessThanOrEqual(1 + lenField(stateBound(WORST_STATE)));
    // The session still works both ways.
    await deliver(alice, bob, 'still fine');
    await deliver(bob, alice, 'still fine too');
  });

  it('SPQR keeps a bounded key history across many jumps and a bounded number of epochs', async () => {
    const { alice, bob } = await established();
    let maxHistory = 0;
    let maxLinks = 0;
    for (let i = 0; i < 6; i++) {
      jump(alice, bob.address, 0, 1_100);
      await deliver(alice, bob, `spqr jump ${String(i)}`);
      const chain = (recordOf(bob, alice.address).currentState as SessionState).pqRatchet
        .chain as SpqrChain;
      for (const l of chain.links) maxHistory = Math.max(maxHistory, l.recv.history.length);
    }
    expect(maxHistory).toBeGreaterThan(2_000);
    expect(maxHistory).toBeLessThanOrEqual(MAX_SPQR_HISTORY);
    // A long honest conversation: epochs come and go, links stay few.
    for (let turn = 0; turn < 60; turn++) {
      for (let k = 0; k < 1 + (turn % 3); k++)
        await deliver(alice, bob, `a${String(turn)}.${String(k)}`);
      for (let k = 0; k < 1 + ((turn + 1) % 3); k++)
        await deliver(bob, alice, `b${String(turn)}.${String(k)}`);
      for (const [owner, peer] of [
        [alice, bob],
        [bob, alice],
      ] as const) {
        const r = recordOf(owner, peer.address);
        expectWithinBounds(r, `turn ${String(turn)}`);
        const chain = (r.currentState as SessionState).pqRatchet.chain as SpqrChain;
        maxLinks = Math.max(maxLinks, chain.links.length);
      }
    }
    expect(maxLinks).toBeGreaterThanOrEqual(2);
    expect(maxLinks).toBeLessThanOrEqual(MAX_LINKS_IN_USE);
    expect((await bob.manager.getSpqrStatus(alice.address))?.completedEpochs).toBeGreaterThan(2);
  });

  it('archived states ≤ 40; Kyber last-resort bookkeeping: one entry per distinct initiator, replays refused', async () => {
    const alice = makeParty('alice');
    const bob = makeParty('bob');
    const bundle = await bob.bundle({ oneTime: false, lastResort: true });
    const first: CiphertextMessage[] = [];
    const sessions = ARCHIVED_STATES_MAX_LENGTH + 5;
    for (let i = 0; i < sessions; i++) {
      await alice.manager.processPreKeyBundle(bob.address, bundle);
      const m = await alice.manager.encrypt(bob.address, enc(`session ${String(i)}`));
      expect(m.type).toBe('prekey');
      first.push(m);
      expect(dec(await bob.manager.decrypt(alice.address, m))).toBe(`session ${String(i)}`);
      const record = recordOf(bob, alice.address);
      expect(record.previousStates.length).toBe(Math.min(i, ARCHIVED_STATES_MAX_LENGTH));
      expectWithinBounds(record, `session ${String(i)}`);
      expect(kyberUses(bob)).toHaveLength(i + 1);
    }
    // A replay of the first session's message: its state was evicted, so it would start a new
    // session — the Kyber bookkeeping refuses it, and nothing is written.
    const before = bob.store.snapshot();
    try {
      await bob.manager.decrypt(alice.address, first[0] as CiphertextMessage);
      expect.fail('a replayed PreKeySignalMessage decrypted');
    } catch (e) {
      expect(isSignalError(e, 'ERR_INVALID_MESSAGE')).toBe(true);
    }
    expect(bob.store.snapshot()).toEqual(before);
    expect(kyberUses(bob)).toHaveLength(sessions);
  });

  it('the Kyber bookkeeping of a removed last-resort prekey is dropped (rotation bounds it)', async () => {
    // The bookkeeping grows by one entry per distinct initiator while a last-resort key is live;
    // what bounds it is rotation (PreKeyLifecycle retires and removes last-resort keys). Entries
    // of a removed key can never match again (the key is gone), so a store must drop them.
    const alice = makeParty('alice');
    const bob = makeParty('bob');
    const bundle = await bob.bundle({ oneTime: false, lastResort: true });
    for (let i = 0; i < 3; i++) {
      await alice.manager.processPreKeyBundle(bob.address, bundle);
      await bob.manager.decrypt(alice.address, await alice.manager.encrypt(bob.address, enc('hi')));
    }
    expect(kyberUses(bob)).toHaveLength(3);
    bob.store.removeKyberPreKey(kyberPreKeyId(bundle.kyberPreKeyId));
    expect
      .soft(
        kyberUses(bob),
        'InMemoryProtocolStore: kyber-use entries left behind by removeKyberPreKey',
      )
      .toEqual([]);

    // The same with the backend store.
    const backend = new MemoryBackend();
    const identity = IdentityKeyPair.generate();
    const store = await BackendProtocolStore.open(backend, {
      createIdentity: () => ({ identity, registrationId: 7 }),
    });
    const carolAddress = new ProtocolAddress(freshServiceId(), 1);
    const carol = new SessionManager({ store, localAddress: carolAddress });
    await store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, 1, Date.now()));
    await store.storeKyberPreKey(
      KyberPreKeyRecord.generate(identity, 1, Date.now(), { lastResort: true }),
    );
    const carolBundle = await createPreKeyBundle(store, {
      deviceId: 1,
      signedPreKeyId: 1,
      kyberPreKeyId: 1,
    });
    for (let i = 0; i < 3; i++) {
      await alice.manager.processPreKeyBundle(carolAddress, carolBundle);
      await carol.decrypt(alice.address, await alice.manager.encrypt(carolAddress, enc('hi')));
    }
    expect(backend.count('kyber-use')).toBe(3);
    await store.removeKyberPreKey(kyberPreKeyId(1));
    expect
      .soft(
        backend.count('kyber-use'),
        'BackendProtocolStore: kyber-use entries left behind by removeKyberPreKey',
      )
      .toBe(0);
  });

  it('the worst-case record stays under the computed bound and still loads; one more of anything is refused', () => {
    const { state, record } = worstCaseRecord();
    const bytes = record.serialize();
    expect(bytes.length).toBeLessThanOrEqual(WORST_RECORD_BYTES);
    // The bound is tight enough to mean something.
    expect(bytes.length).toBeGreaterThan(0.9 * WORST_RECORD_BYTES);
    const loaded = SessionRecord.deserialize(bytes);
    expect(loaded.previousStates.length).toBe(ARCHIVED_STATES_MAX_LENGTH);

    const refused = (r: SessionRecord): void => {
      try {
        SessionRecord.deserialize(r.serialize());
        expect.fail('an over-limit record loaded');
      } catch (e) {
        expect(isSignalError(e, 'ERR_INVALID_RECORD')).toBe(true);
      }
    };
    const chains = state.receiverChains;
    const extraChain = { ...(chains[0] as SessionState['receiverChains'][number]) };
    refused(SessionRecord.fromStates({ ...state, receiverChains: [...chains, extraChain] }, []));
    const c0 = chains[0] as SessionState['receiverChains'][number];
    refused(
      SessionRecord.fromStates(
        {
          ...state,
          receiverChains: [
            {
              ...c0,
              skippedKeys: IndexedKeys.fromEntries([
                ...c0.skippedKeys,
                { index: 1, key: new Uint8Array(32) },
              ]),
            },
          ],
        },
        [],
      ),
    );
    const chain = state.pqRatchet.chain as SpqrChain;
    const l0 = chain.links[0] as ChainLink;
    const longer = l0.recv.history.concat(l0.recv.history, SPQR_HISTORY_TRIM_SIZE + 1);
    refused(
      SessionRecord.fromStates(
        {
          ...state,
          pqRatchet: {
            ...state.pqRatchet,
            chain: {
              ...chain,
              links: [{ ...l0, recv: { ...l0.recv, history: longer } }, ...chain.links.slice(1)],
            },
          },
        },
        [],
      ),
    );
    // 41 archived states cannot even be built: the record keeps 40.
    expect(
      SessionRecord.fromStates(
        state,
        Array.from({ length: 45 }, () => state),
      ).previousStates.length,
    ).toBe(ARCHIVED_STATES_MAX_LENGTH);
    expect(record.promoteState(state).previousStates.length).toBe(ARCHIVED_STATES_MAX_LENGTH);
  });
});

/** A state with every count at its limit (random key material), in a record with 40 archived. */
function worstCaseRecord(): { state: SessionState; record: SessionRecord } {
  const base = synthesizedBase();
  const rnd = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));
  const receiverChains = Array.from({ length: MAX_RECEIVER_CHAINS }, (_, c) => ({
    ...(base.receiverChains[0] as SessionState['receiverChains'][number]),
    chainKey: { key: rnd(), index: 0xffff_ffff - c },
    skippedKeys: IndexedKeys.fromEntries(
      Array.from({ length: MAX_MESSAGE_KEYS }, (_, k) => ({ index: 0xffff_0000 - k, key: rnd() })),
    ),
  }));
  const chain = base.pqRatchet.chain as SpqrChain;
  const history = IndexedKeys.fromEntries(
    Array.from({ length: MAX_SPQR_HISTORY }, (_, k) => ({ index: 0xffff_0000 - k, key: rnd() })),
  );
  const l = chain.links[chain.links.length - 1] as ChainLink;
  const links = Array.from({ length: MAX_LINKS_IN_USE }, () => ({
    ...l,
    recv: { ...l.recv, ctr: 0xffff_ffff, history },
  }));
  const state: SessionState = {
    ...base,
    receiverChains,
    pqRatchet: {
      ...base.pqRatchet,
      // Consistent epochs (the decoder checks them): the SCKA at the chain's newest epoch, the
      // send epoch at the oldest kept link.
      scka: {
        ...(base.pqRatchet.scka as NonNullable<SessionState['pqRatchet']['scka']>),
        epoch: Math.max(chain.currentEpoch, MAX_LINKS_IN_USE),
      },
      chain: {
        ...chain,
        currentEpoch: Math.max(chain.currentEpoch, MAX_LINKS_IN_USE),
        sendEpoch: Math.max(chain.currentEpoch, MAX_LINKS_IN_USE) - MAX_LINKS_IN_USE + 1,
        links,
      },
    },
  };
  return {
    state,
    record: SessionRecord.fromStates(
      state,
      Array.from({ length: ARCHIVED_STATES_MAX_LENGTH }, () => state),
    ),
  };
}

let cachedBase: SessionState | undefined;
/** A real initiator state with a pending prekey and an SPQR chain (built in `beforeAll`). */
function synthesizedBase(): SessionState {
  if (cachedBase === undefined) throw new Error('beforeAll did not run');
  return cachedBase;
}

beforeAll(async () => {
  // A real session, so that every field of the synthetic worst case is valid.
  const { alice, bob } = await established();
  await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
  await alice.manager.encrypt(bob.address, enc('pending'));
  cachedBase = recordOf(alice, bob.address).currentState;
});
