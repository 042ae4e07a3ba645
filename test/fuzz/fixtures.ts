/**
 * Deterministic fixtures of the fuzzer: a chiffre↔chiffre conversation (Alice, Bob, and Carol who
 * only ever sends one PreKeySignalMessage) built with seeded randomness and a fixed clock, so the
 * same keys, records and messages come out on every run and corpus files replay exactly.
 *
 * The conversation covers what the decrypt paths branch on: first contact with and without a
 * one-time prekey (one-time and last-resort Kyber prekeys), a repeated PreKeySignalMessage of an
 * existing session, many SPQR epochs in both directions (every field-5 payload type), skipped
 * keys (out-of-order delivery), receiver chains, and a late message that only an archived state
 * can decrypt.
 *
 * Each captured message is a {@link Scenario}: the receiver's stored session record just before
 * the message arrived, the message, and its plaintext. Targets rebuild the receiver's store from
 * a scenario for every input, so inputs are independent of each other.
 */
import {
  type CiphertextMessage,
  createPreKeyBundle,
  IdentityKeyPair,
  InMemoryProtocolStore,
  KyberPreKeyRecord,
  type PreKeyBundle,
  PreKeyRecord,
  ProtocolAddress,
  type PublicKey,
  SessionManager,
  SessionRecord,
  SignedPreKeyRecord,
} from '../../src/index.js';
import { decodeSpqrMessage } from '../../src/spqr/index.js';
import { decodePreKeySignalMessage, decodeSignalMessage } from '../../src/wire/index.js';
import { deterministicRandom } from './rng.js';

/** The fixed clock of every fixture and fuzz run (ms). */
export const NOW = 1_700_000_000_000;

/** A deterministic party. */
export interface FixtureParty {
  readonly name: string;
  readonly address: ProtocolAddress;
  readonly identity: IdentityKeyPair;
  readonly registrationId: number;
  readonly store: InMemoryProtocolStore;
  readonly manager: SessionManager;
}

function party(name: string, uuidTail: string, registrationId: number): FixtureParty {
  const random = deterministicRandom(`chiffre-fuzz-fixture:${name}`);
  const identity = IdentityKeyPair.generate(random);
  const store = new InMemoryProtocolStore(identity, registrationId);
  const address = new ProtocolAddress(`9d0652a3-dcc3-4d11-975f-${uuidTail}`, 1);
  const manager = new SessionManager({ store, localAddress: address, random, now: () => NOW });
  return { name, address, identity, registrationId, store, manager };
}

/** One captured message and the receiver's state it is valid against. */
export interface Scenario {
  readonly label: string;
  readonly receiver: 'alice' | 'bob';
  readonly sender: 'alice' | 'bob' | 'carol';
  /** Receiver's serialized session record before the message (undefined: no session yet). */
  readonly record: Uint8Array | undefined;
  readonly message: CiphertextMessage;
  readonly plaintext: Uint8Array;
  /** SPQR payload type of the (inner) SignalMessage, e.g. `'ek'`, or `'v0'`. */
  readonly spqrType: string;
  /**
   * Position of this delivery in the conversation: every message delivered to the same receiver
   * from the same sender with a smaller `seq` was already decrypted by `record`.
   */
  readonly seq: number;
}

/** A message of the conversation, keyed by its (inner) SignalMessage bytes. */
export interface KnownMessage {
  readonly sender: 'alice' | 'bob' | 'carol';
  readonly receiver: 'alice' | 'bob';
  readonly plaintext: Uint8Array;
  /** When it was delivered (`Infinity`: never). */
  readonly seq: number;
}

/** Bob's published prekeys (he is the responder of every session). */
export interface BobPreKeys {
  readonly signed: SignedPreKeyRecord;
  /** One-time Kyber prekey 1, last-resort Kyber prekey 2. */
  readonly kyber: readonly KyberPreKeyRecord[];
  /** One-time prekeys 1 and 2. */
  readonly oneTime: readonly PreKeyRecord[];
}

/** Everything the fuzz targets start from. */
export interface Fixtures {
  readonly alice: FixtureParty;
  readonly bob: FixtureParty;
  readonly carol: FixtureParty;
  readonly bobPreKeys: BobPreKeys;
  /** A bundle of Bob with a one-time prekey (ids 1) and one without (last-resort Kyber 2). */
  readonly bundles: readonly PreKeyBundle[];
  /** PreKeySignalMessages that reach a Bob without any session (first contact). */
  readonly firstContact: readonly Scenario[];
  /** PreKeySignalMessages reaching an existing record: a repeat, and a re-initiation. */
  readonly repeatedPreKey: readonly Scenario[];
  /** SignalMessages in both directions. */
  readonly whisper: readonly Scenario[];
  /** Every message sent in the conversation, by the hex of its inner SignalMessage. */
  readonly known: ReadonlyMap<string, KnownMessage>;
}

/** The hex key of a message in {@link Fixtures.known}. */
export function knownKey(innerSignalMessage: Uint8Array): string {
  return Buffer.from(innerSignalMessage).toString('hex');
}

/** The party object of a scenario role. */
export function partyOf(f: Fixtures, role: 'alice' | 'bob' | 'carol'): FixtureParty {
  return role === 'alice' ? f.alice : role === 'bob' ? f.bob : f.carol;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The SignalMessage of a message (the inner one of a PreKeySignalMessage). */
export function innerSignalMessage(m: CiphertextMessage): Uint8Array {
  return m.type === 'prekey' ? decodePreKeySignalMessage(m.body).message : m.body;
}

/** SPQR payload type of a message (for picking varied scenarios). */
export function spqrTypeOf(m: CiphertextMessage): string {
  const pq = decodeSignalMessage(innerSignalMessage(m)).pqRatchet;
  if (pq === undefined) return 'v0';
  return decodeSpqrMessage(pq).payload.type;
}

function recordBytes(owner: FixtureParty, peer: FixtureParty): Uint8Array | undefined {
  const r = owner.store.loadSession(peer.address);
  return r === null ? undefined : r.serialize();
}

let cached: Promise<Fixtures> | undefined;

/** Build (once per process) the deterministic fixtures. */
export function fixtures(): Promise<Fixtures> {
  cached ??= build();
  return cached;
}

async function build(): Promise<Fixtures> {
  const alice = party('alice', '00000000a11c', 1111);
  const bob = party('bob', '000000000b0b', 2222);
  const carol = party('carol', '00000000ca01', 3333);
  const keyRandom = deterministicRandom('chiffre-fuzz-fixture:bob-prekeys');
  const signed = SignedPreKeyRecord.generate(bob.identity, 1, NOW, keyRandom);
  const kyber = [
    KyberPreKeyRecord.generate(bob.identity, 1, NOW, { random: keyRandom }),
    KyberPreKeyRecord.generate(bob.identity, 2, NOW, { random: keyRandom, lastResort: true }),
  ];
  const oneTime = [PreKeyRecord.generate(1, keyRandom), PreKeyRecord.generate(2, keyRandom)];
  bob.store.storeSignedPreKey(signed);
  for (const k of kyber) bob.store.storeKyberPreKey(k);
  for (const k of oneTime) bob.store.storePreKey(k);
  const bundleWithOneTime = await createPreKeyBundle(bob.store, {
    deviceId: 1,
    preKeyId: 1,
    signedPreKeyId: 1,
    kyberPreKeyId: 1,
  });
  const bundleLastResort = await createPreKeyBundle(bob.store, {
    deviceId: 1,
    signedPreKeyId: 1,
    kyberPreKeyId: 2,
  });

  const firstContact: Scenario[] = [];
  const repeatedPreKey: Scenario[] = [];
  const whisper: Scenario[] = [];
  const seenKinds = new Map<string, number>();
  const known = new Map<string, KnownMessage>();
  let counter = 0;
  let seq = 0;

  /** Encrypt one message from `from` to `to` (not delivered). */
  const encrypt = async (
    from: FixtureParty,
    to: FixtureParty,
  ): Promise<{ message: CiphertextMessage; plaintext: Uint8Array }> => {
    const plaintext = enc(`fixture message ${String(counter++)} from ${from.name} to ${to.name}`);
    const message = await from.manager.encrypt(to.address, plaintext);
    known.set(knownKey(innerSignalMessage(message)), {
      sender: from.name as KnownMessage['sender'],
      receiver: to.name as KnownMessage['receiver'],
      plaintext,
      seq: Infinity,
    });
    return { message, plaintext };
  };

  /** Deliver, capturing the scenario when its kind is new (or `force`). */
  const deliver = async (
    from: FixtureParty,
    to: FixtureParty,
    m: { message: CiphertextMessage; plaintext: Uint8Array },
    detail: string,
    force = false,
  ): Promise<void> => {
    const spqrType = spqrTypeOf(m.message);
    const kind = `${from.name}→${to.name} ${m.message.type} ${spqrType} ${detail}`;
    const key = knownKey(innerSignalMessage(m.message));
    const entry = known.get(key) as KnownMessage;
    const at = seq++;
    known.set(key, { ...entry, seq: at });
    const n = seenKinds.get(kind) ?? 0;
    if (force || n < 2) {
      seenKinds.set(kind, n + 1);
      const scenario: Scenario = {
        label: kind,
        receiver: to.name as 'alice' | 'bob',
        sender: from.name as 'alice' | 'bob',
        record: recordBytes(to, from),
        message: m.message,
        plaintext: m.plaintext,
        spqrType,
        seq: at,
      };
      if (m.message.type === 'whisper') whisper.push(scenario);
      // A PreKeySignalMessage reaching an existing record: a repeat, or a re-initiation.
      else if (scenario.record !== undefined) repeatedPreKey.push(scenario);
    }
    const got = await to.manager.decrypt(from.address, m.message).catch((e: unknown) => {
      throw new Error(`fixture conversation: ${kind} failed: ${String(e)}`);
    });
    if (new TextDecoder().decode(got) !== new TextDecoder().decode(m.plaintext)) {
      throw new Error(`fixture conversation: wrong plaintext for ${kind}`);
    }
  };

  // First contact: Alice with a one-time prekey, Carol with the last-resort Kyber prekey only.
  await alice.manager.processPreKeyBundle(bob.address, bundleWithOneTime);
  const a0 = await encrypt(alice, bob);
  const a1 = await encrypt(alice, bob);
  // First-contact scenarios run against a Bob without a session: nothing was delivered before.
  firstContact.push(
    {
      label: 'alice→bob first contact (one-time prekey)',
      receiver: 'bob',
      sender: 'alice',
      record: undefined,
      message: a0.message,
      plaintext: a0.plaintext,
      spqrType: spqrTypeOf(a0.message),
      seq: -1,
    },
    {
      label: 'alice→bob second PreKeySignalMessage as first contact',
      receiver: 'bob',
      sender: 'alice',
      record: undefined,
      message: a1.message,
      plaintext: a1.plaintext,
      spqrType: spqrTypeOf(a1.message),
      seq: -1,
    },
  );
  await carol.manager.processPreKeyBundle(bob.address, bundleLastResort);
  const c0 = await encrypt(carol, bob);
  firstContact.push({
    label: 'carol→bob first contact (last-resort Kyber prekey, no one-time prekey)',
    receiver: 'bob',
    sender: 'carol',
    record: undefined,
    message: c0.message,
    plaintext: c0.plaintext,
    spqrType: spqrTypeOf(c0.message),
    seq: -1,
  });

  await deliver(alice, bob, a0, 'first');
  await deliver(alice, bob, a1, 'repeated', true);

  // A message of the first session that will arrive after Alice re-initiated (archived state).
  let late: { message: CiphertextMessage; plaintext: Uint8Array } | undefined;

  // Many turns: bursts both ways, sometimes out of order, so SPQR runs through several epochs.
  for (let turn = 0; turn < 70; turn++) {
    for (const [from, to] of [
      [bob, alice],
      [alice, bob],
    ] as const) {
      const burst = 1 + ((turn * 7 + (from === bob ? 3 : 0)) % 4);
      const sent = [];
      for (let i = 0; i < burst; i++) sent.push(await encrypt(from, to));
      if (turn === 69 && from === alice) late = sent.pop();
      if (burst >= 3 && turn % 2 === 0) {
        // Last first (two skipped keys), then the rest in order.
        const last = sent.pop()!;
        await deliver(from, to, last, 'jump');
        for (const [i, m] of sent.entries())
          await deliver(from, to, m, i === 0 ? 'skipped' : 'skipped+');
      } else {
        for (const [i, m] of sent.entries())
          await deliver(from, to, m, i === 0 ? 'new chain' : 'in order');
      }
    }
  }

  // Alice re-initiates (Bob's second one-time prekey, last-resort Kyber): Bob archives the
  // first session; then the late message of the first session arrives (archived state).
  const bundle2 = await createPreKeyBundle(bob.store, {
    deviceId: 1,
    preKeyId: 2,
    signedPreKeyId: 1,
    kyberPreKeyId: 2,
  });
  await alice.manager.processPreKeyBundle(bob.address, bundle2);
  const r0 = await encrypt(alice, bob);
  await deliver(alice, bob, r0, 're-initiation', true);
  if (late === undefined) throw new Error('fixture conversation: no late message');
  await deliver(alice, bob, late, 'archived state', true);
  const after = await encrypt(bob, alice);
  await deliver(bob, alice, after, 'after promotion', true);

  return {
    alice,
    bob,
    carol,
    bobPreKeys: { signed, kyber, oneTime },
    bundles: [bundleWithOneTime, bundleLastResort],
    firstContact,
    repeatedPreKey,
    whisper,
    known,
  };
}

/**
 * A fresh store and manager for `who`, holding `record` (if any) for `peer`, the peer's identity
 * when a record is given, and (for Bob) every published prekey.
 */
export function receiverStore(
  f: Fixtures,
  who: 'alice' | 'bob',
  peer: { address: ProtocolAddress; identityKey: PublicKey } | undefined,
  record: Uint8Array | undefined,
  options: { random?: string; prekeys?: Partial<BobPreKeys> } = {},
): { store: InMemoryProtocolStore; manager: SessionManager } {
  const p = partyOf(f, who);
  const store = new InMemoryProtocolStore(p.identity, p.registrationId);
  if (peer !== undefined && record !== undefined) {
    store.saveIdentity(peer.address, peer.identityKey);
    store.storeSession(peer.address, SessionRecord.deserialize(record));
  }
  if (who === 'bob') {
    const keys = { ...f.bobPreKeys, ...options.prekeys };
    store.storeSignedPreKey(keys.signed);
    for (const k of keys.kyber) store.storeKyberPreKey(k);
    for (const k of keys.oneTime) store.storePreKey(k);
  }
  const manager = new SessionManager({
    store,
    localAddress: p.address,
    random: deterministicRandom(options.random ?? 'chiffre-fuzz-receiver'),
    now: () => NOW,
  });
  return { store, manager };
}
