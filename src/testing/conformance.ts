/**
 * The storage conformance kit: framework-agnostic test cases that any {@link ProtocolStore}
 * adapter can run to show it keeps the storage contract (`docs/storage.md`).
 *
 * {@link storeConformanceCases} returns plain `{ name, needs, run }` objects; `run` resolves when
 * the adapter conforms and rejects with a {@link ConformanceError} naming what went wrong. Wrap
 * them in any test runner:
 *
 * ```ts
 * for (const c of storeConformanceCases(factory)) test(c.name, c.run);
 * ```
 *
 * What is checked: round trips of every record type (byte-identical serialization), `null` for
 * missing entries, trust on first use, change sets applied all or nothing (also when a failure is
 * injected mid-commit), the application write inside the commit, compare-and-swap on session
 * records, one-time vs last-resort Kyber prekey bookkeeping, durability across a re-open, and
 * {@link SessionManager} conversations over the adapter: out-of-order delivery, duplicates refused
 * with the stores unchanged, a failed application write losing no message, and two managers (or
 * two handles) on one store decrypting concurrently without loss.
 *
 * Not checked: performance, crash safety of the underlying engine (a killed process), and
 * cross-process locking; adapters test those with their own engines.
 *
 * The kit creates its own keys and records (real ones, generated per case); it needs nothing from
 * the chiffre repository beyond the package.
 *
 * @module
 */
import { isSignalError, type SignalErrorCode } from '../errors.js';
import {
  IdentityKeyPair,
  KeyPair,
  kyberPreKeyId,
  ProtocolAddress,
  preKeyId,
  type PublicKey,
  signedPreKeyId,
} from '../keys/index.js';
import { equalBytes, toHex } from '../primitives/index.js';
import {
  type CiphertextMessage,
  createPreKeyBundle,
  type PreKeyBundle,
  SessionManager,
} from '../session/index.js';
import {
  KyberPreKeyRecord,
  PreKeyRecord,
  type SessionRecord,
  SignedPreKeyRecord,
} from '../state/index.js';
import {
  type ChangeSet,
  InMemoryProtocolStore,
  type ManagedProtocolStore,
  type MaybePromise,
} from '../storage/index.js';

// -------------------------------------------------------------------------------------------------
// Public API
// -------------------------------------------------------------------------------------------------

/** A store under test, with the hooks the kit uses. Created fresh (empty) for every case. */
export interface ConformanceTarget {
  /**
   * The store under test. It must start empty apart from its own identity, and tag every loaded
   * session record with its store version (compare-and-swap is part of the contract).
   */
  readonly store: ManagedProtocolStore;
  /**
   * Open another store over the same persisted data, as a second process (or the app after a
   * restart) would. Earlier handles stay usable: the kit uses two handles at once to check that
   * compare-and-swap works across instances. Cases that need it list `'reopen'` in
   * {@link ConformanceCase.needs}.
   */
  readonly reopen?: (() => MaybePromise<ManagedProtocolStore>) | undefined;
  /**
   * Make the next write of the underlying engine fail midway (e.g. SQLite: throw after the first
   * statement of the transaction). The kit calls it immediately before a `commit` and expects
   * that commit to reject having written nothing, and the store to work normally afterwards.
   * Without it the kit injects failure with an application write that throws, which must also
   * leave no partial write.
   */
  readonly injectFailure?: (() => void) | undefined;
  /** Release resources (close handles, delete files). Called once at the end of each case. */
  readonly close?: (() => MaybePromise<void>) | undefined;
}

/**
 * Creates a fresh, empty target (its own database: a new file, a new IndexedDB name). Called
 * once per party of a case (up to three); every target is closed when the case ends.
 */
export type ConformanceFactory = () => MaybePromise<ConformanceTarget>;

/** An optional target hook a case cannot run without. */
export type ConformanceNeed = 'reopen';

/** One conformance case. */
export interface ConformanceCase {
  /** Area and behaviour, e.g. `compare-and-swap: a stale expectedVersion refuses the commit`. */
  readonly name: string;
  /**
   * Optional hooks this case requires. A case run against a target lacking one fails with a
   * message saying so: filter such cases out (or mark them skipped) for targets without it.
   */
  readonly needs: readonly ConformanceNeed[];
  /** Run the case: resolves when the target conforms, rejects with a {@link ConformanceError}. */
  readonly run: () => Promise<void>;
}

/** A conformance check failed. The message says what was expected and what happened. */
export class ConformanceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConformanceError';
  }
}

/**
 * Throw a {@link ConformanceError} with `message` unless `condition` holds.
 *
 * @param condition - what must be true
 * @param message - what was expected, for the failure report
 * @throws {ConformanceError} when `condition` is falsy
 * @example
 * ```ts
 * assert((await store.loadPreKey(preKeyId(7))) === null, 'prekey 7 should be gone');
 * ```
 */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceError(message);
}

/**
 * The conformance cases for the adapter that `factory` creates.
 *
 * @param factory - returns a fresh, empty {@link ConformanceTarget}; called once per party of
 *   each case
 * @returns the cases, in a stable order; each `run` is self-contained
 * @example
 * ```ts
 * import { test } from 'vitest';
 * import { IdentityKeyPair } from 'chiffre';
 * import { BackendProtocolStore, MemoryBackend } from 'chiffre/storage';
 * import { storeConformanceCases } from 'chiffre/testing';
 *
 * const createIdentity = () => ({ identity: IdentityKeyPair.generate(), registrationId: 7 });
 * const cases = storeConformanceCases(async () => {
 *   const backend = new MemoryBackend(); // your engine: a fresh, empty database per call
 *   const open = () => BackendProtocolStore.open(backend, { createIdentity });
 *   return { store: await open(), reopen: open };
 * });
 * // A target without `reopen` would skip the cases that need it:
 * // (c.needs.length > 0 ? test.skip : test)(c.name, c.run)
 * for (const c of cases) test(c.name, c.run);
 * ```
 */
export function storeConformanceCases(factory: ConformanceFactory): ConformanceCase[] {
  return CASES.map(([name, needs, body]) => ({
    name,
    needs,
    run: async (): Promise<void> => {
      const h = new Harness(factory, needs);
      try {
        await body(h);
      } finally {
        await h.close();
      }
    },
  }));
}

// -------------------------------------------------------------------------------------------------
// Assertions and helpers
// -------------------------------------------------------------------------------------------------

function describeError(e: unknown): string {
  if (isSignalError(e)) return `${e.name} (${e.code}): ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** Run a store call that must succeed; anything it throws becomes a descriptive failure. */
async function call<T>(what: string, fn: () => MaybePromise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof ConformanceError) throw e;
    throw new ConformanceError(`${what} threw unexpectedly: ${describeError(e)}`, { cause: e });
  }
}

/** Run something that must fail; returns what it threw. */
async function rejects(what: string, fn: () => MaybePromise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new ConformanceError(`${what}: expected it to fail, but it succeeded`);
}

async function rejectsWithCode(
  what: string,
  code: SignalErrorCode,
  fn: () => MaybePromise<unknown>,
): Promise<void> {
  const e = await rejects(what, fn);
  assert(isSignalError(e, code), `${what}: expected ${code}, got ${describeError(e)}`);
}

function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert(
    equalBytes(actual, expected),
    `${what}: bytes differ (got ${String(actual.length)} bytes, expected ${String(expected.length)})`,
  );
}

function versionOf(record: SessionRecord, what: string): number {
  const v = record.version;
  assert(
    typeof v === 'number' && Number.isSafeInteger(v),
    `${what}: loadSession must tag the record with its store version (a safe integer), got ${String(v)}`,
  );
  return v;
}

async function loadedSession(
  store: ManagedProtocolStore,
  address: ProtocolAddress,
  what: string,
): Promise<SessionRecord> {
  const r = await call(`loadSession(${address.toString()})`, () => store.loadSession(address));
  assert(r !== null, `${what}: loadSession(${address.toString()}) returned null`);
  return r;
}

/** Which entries a {@link snapshot} reads. */
interface Probe {
  readonly sessions?: readonly ProtocolAddress[];
  readonly identities?: readonly ProtocolAddress[];
  readonly preKeys?: readonly number[];
  readonly signedPreKeys?: readonly number[];
  readonly kyberPreKeys?: readonly number[];
}

/** The serialized bytes (and session versions) of the probed entries. */
async function snapshot(store: ManagedProtocolStore, probe: Probe): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const hex = (b: Uint8Array | undefined): string => (b === undefined ? 'null' : toHex(b));
  for (const a of probe.sessions ?? []) {
    const r = await call('loadSession', () => store.loadSession(a));
    out.set(
      `session ${a.toString()}`,
      r === null ? 'null' : `${hex(r.serialize())}@${String(r.version)}`,
    );
  }
  for (const a of probe.identities ?? []) {
    const k = await call('getIdentity', () => store.getIdentity(a));
    out.set(`identity ${a.toString()}`, hex(k?.serialize()));
  }
  for (const id of probe.preKeys ?? []) {
    const r = await call('loadPreKey', () => store.loadPreKey(preKeyId(id)));
    out.set(`prekey ${String(id)}`, hex(r?.serialize()));
  }
  for (const id of probe.signedPreKeys ?? []) {
    const r = await call('loadSignedPreKey', () => store.loadSignedPreKey(signedPreKeyId(id)));
    out.set(`signed prekey ${String(id)}`, hex(r?.serialize()));
  }
  for (const id of probe.kyberPreKeys ?? []) {
    const r = await call('loadKyberPreKey', () => store.loadKyberPreKey(kyberPreKeyId(id)));
    out.set(`kyber prekey ${String(id)}`, hex(r?.serialize()));
  }
  return out;
}

function sameSnapshot(
  after: ReadonlyMap<string, string>,
  before: ReadonlyMap<string, string>,
  what: string,
): void {
  const changed = [...before.keys()].filter((k) => after.get(k) !== before.get(k));
  assert(changed.length === 0, `${what}: the store changed (${changed.join(', ')})`);
}

/** Strict equality without type narrowing (a store may break its declared types). */
const exactly = (value: unknown, expected: unknown): boolean => Object.is(value, expected);

const EMPTY: ChangeSet = { sessions: [], identities: [], removedPreKeys: [], kyberPreKeysUsed: [] };

const encode = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const decode = (b: Uint8Array): string => String.fromCharCode(...b);

/** Per-case state: the targets it created (closed at the end) and record factories. */
class Harness {
  readonly #factory: ConformanceFactory;
  readonly #needs: readonly ConformanceNeed[];
  readonly #targets: ConformanceTarget[] = [];

  constructor(factory: ConformanceFactory, needs: readonly ConformanceNeed[]) {
    this.#factory = factory;
    this.#needs = needs;
  }

  /** A fresh target from the factory. */
  async target(): Promise<ConformanceTarget> {
    const t = await call('the factory', () => this.#factory());
    assert(
      typeof t === 'object' && typeof t.store === 'object',
      'the factory must return { store, ... }',
    );
    this.#targets.push(t);
    if (this.#needs.includes('reopen')) {
      assert(
        typeof t.reopen === 'function',
        "this case needs target.reopen(); skip cases whose `needs` include 'reopen' for this target",
      );
    }
    return t;
  }

  /** Another handle on the target's data. */
  async reopen(t: ConformanceTarget): Promise<ManagedProtocolStore> {
    const { reopen } = t;
    assert(reopen !== undefined, 'target.reopen() is missing');
    return call('target.reopen()', reopen);
  }

  async close(): Promise<void> {
    for (const t of this.#targets.splice(0)) {
      const { close } = t;
      if (close !== undefined) await close();
    }
  }
}

async function identityOf(store: ManagedProtocolStore): Promise<IdentityKeyPair> {
  return call('getIdentityKeyPair', () => store.getIdentityKeyPair());
}

/** Store a signed prekey, a Kyber prekey and (unless `oneTime` is false) a one-time prekey. */
async function publish(
  store: ManagedProtocolStore,
  id: number,
  options: { oneTime?: boolean; lastResort?: boolean } = {},
): Promise<PreKeyBundle> {
  const { oneTime = true, lastResort = false } = options;
  const identity = await identityOf(store);
  const now = Date.now();
  await call('storeSignedPreKey', () =>
    store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, id, now)),
  );
  await call('storeKyberPreKey', () =>
    store.storeKyberPreKey(KyberPreKeyRecord.generate(identity, id, now, { lastResort })),
  );
  if (oneTime) await call('storePreKey', () => store.storePreKey(PreKeyRecord.generate(id)));
  return call('createPreKeyBundle', () =>
    createPreKeyBundle(store, {
      deviceId: 1,
      ...(oneTime ? { preKeyId: id } : {}),
      signedPreKeyId: id,
      kyberPreKeyId: id,
    }),
  );
}

let nameCounter = 0;

/** A fresh account name that parses as a ServiceId, so SignalMessage field 6 is exercised. */
function serviceId(): string {
  nameCounter++;
  return `7a3b29c0-4f1e-4d0a-9c55-${nameCounter.toString(16).padStart(12, '0')}`;
}

/**
 * A real session record with `states` states (the current one and `states - 1` archived), made
 * between two scratch in-memory parties, independent of the store under test.
 */
async function makeSessionRecord(states: number): Promise<SessionRecord> {
  const me = new InMemoryProtocolStore(IdentityKeyPair.generate(), 1);
  const peer = new InMemoryProtocolStore(IdentityKeyPair.generate(), 2);
  const peerAddress = new ProtocolAddress(serviceId(), 1);
  const manager = new SessionManager({
    store: me,
    localAddress: new ProtocolAddress(serviceId(), 1),
  });
  for (let i = 1; i <= states; i++) {
    await manager.processPreKeyBundle(peerAddress, await publish(peer, i));
  }
  await manager.encrypt(peerAddress, encode('round trip'));
  const record = me.loadSession(peerAddress);
  assert(record !== null, 'internal: scratch session missing');
  return record;
}

const publicKey = (): PublicKey => KeyPair.generate().publicKey;

// Store-level addresses: plain, PNI-style, and non-ASCII names (ids must survive any encoding).
const A = new ProtocolAddress('alice', 1);
const B = new ProtocolAddress('PNI:0f3c1a44-6a2e-4c1b-8f11-2b9e7d5c0a01', 2);
const C = new ProtocolAddress('zoë.Ünïcode ✓', 7);

/**
 * A populated store and one change set touching everything: two sessions (one replaced under
 * compare-and-swap, one new), two identities, two consumed one-time prekeys, a one-time Kyber use
 * and a last-resort Kyber use.
 */
interface World {
  readonly changes: ChangeSet;
  readonly probe: Probe;
  readonly loadedVersion: number;
  readonly next: SessionRecord;
  readonly fresh: SessionRecord;
  readonly keyA: PublicKey;
  readonly keyB: PublicKey;
  readonly lastResort: KyberPreKeyRecord;
}

async function makeWorld(store: ManagedProtocolStore): Promise<World> {
  const identity = await identityOf(store);
  const now = Date.now();
  for (const id of [11, 12, 13]) {
    await call('storePreKey', () => store.storePreKey(PreKeyRecord.generate(id)));
  }
  await call('storeSignedPreKey', () =>
    store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, 31, now)),
  );
  const lastResort = KyberPreKeyRecord.generate(identity, 22, now, { lastResort: true });
  await call('storeKyberPreKey', () =>
    store.storeKyberPreKey(KyberPreKeyRecord.generate(identity, 21, now)),
  );
  await call('storeKyberPreKey', () => store.storeKyberPreKey(lastResort));
  const [current, next, fresh] = [
    await makeSessionRecord(1),
    await makeSessionRecord(2),
    await makeSessionRecord(1),
  ];
  await call('storeSession', () => store.storeSession(A, current));
  const loadedVersion = versionOf(await loadedSession(store, A, 'setup'), 'setup');
  const keyA = publicKey();
  const keyB = publicKey();
  const changes: ChangeSet = {
    sessions: [
      { address: A, record: next, expectedVersion: loadedVersion },
      { address: B, record: fresh, expectedVersion: null },
    ],
    identities: [
      { address: A, identityKey: keyA },
      { address: B, identityKey: keyB },
    ],
    removedPreKeys: [preKeyId(11), preKeyId(12)],
    kyberPreKeysUsed: [
      {
        kyberPreKeyId: kyberPreKeyId(21),
        signedPreKeyId: signedPreKeyId(31),
        baseKey: publicKey(),
      },
      {
        kyberPreKeyId: kyberPreKeyId(22),
        signedPreKeyId: signedPreKeyId(31),
        baseKey: publicKey(),
      },
    ],
  };
  const probe: Probe = {
    sessions: [A, B],
    identities: [A, B],
    preKeys: [11, 12, 13],
    signedPreKeys: [31],
    kyberPreKeys: [21, 22],
  };
  return { changes, probe, loadedVersion, next, fresh, keyA, keyB, lastResort };
}

/** Every write of {@link World.changes} landed. */
async function expectWorldCommitted(store: ManagedProtocolStore, w: World): Promise<void> {
  const a = await loadedSession(store, A, 'after the commit');
  sameBytes(a.serialize(), w.next.serialize(), 'session A after the commit');
  assert(
    versionOf(a, 'session A after the commit') > w.loadedVersion,
    'session A: the commit must advance its version',
  );
  const b = await loadedSession(store, B, 'after the commit');
  sameBytes(b.serialize(), w.fresh.serialize(), 'session B after the commit');
  versionOf(b, 'session B after the commit');
  const ka = await call('getIdentity', () => store.getIdentity(A));
  const kb = await call('getIdentity', () => store.getIdentity(B));
  assert(ka !== null && ka.equals(w.keyA), 'identity A must be the committed key');
  assert(kb !== null && kb.equals(w.keyB), 'identity B must be the committed key');
  for (const id of [11, 12]) {
    const r = await call('loadPreKey', () => store.loadPreKey(preKeyId(id)));
    assert(r === null, `one-time prekey ${String(id)} must be removed by the commit`);
  }
  const kept = await call('loadPreKey', () => store.loadPreKey(preKeyId(13)));
  assert(kept !== null, 'prekey 13 was not in the change set and must remain');
  const spk = await call('loadSignedPreKey', () => store.loadSignedPreKey(signedPreKeyId(31)));
  assert(spk !== null, 'signed prekey 31 must remain after Kyber uses');
  const oneTime = await call('loadKyberPreKey', () => store.loadKyberPreKey(kyberPreKeyId(21)));
  assert(oneTime === null, 'a used one-time Kyber prekey (21) must be deleted');
  const last = await call('loadKyberPreKey', () => store.loadKyberPreKey(kyberPreKeyId(22)));
  assert(last !== null, 'a used last-resort Kyber prekey (22) must remain');
  sameBytes(last.serialize(), w.lastResort.serialize(), 'last-resort Kyber prekey 22');
  const use = w.changes.kyberPreKeysUsed[1];
  assert(use !== undefined, 'internal: world has a last-resort use');
  await rejectsWithCode(
    'committing the same last-resort Kyber use again',
    'ERR_INVALID_MESSAGE',
    () => store.commit({ ...EMPTY, kyberPreKeysUsed: [use] }),
  );
}

// -- SessionManager parties ---------------------------------------------------------------------

interface Party {
  readonly target: ConformanceTarget;
  readonly store: ManagedProtocolStore;
  readonly address: ProtocolAddress;
  readonly manager: SessionManager;
}

async function party(h: Harness): Promise<Party> {
  const target = await h.target();
  const address = new ProtocolAddress(serviceId(), 1);
  const manager = new SessionManager({ store: target.store, localAddress: address });
  return { target, store: target.store, address, manager };
}

async function send(from: Party, to: Party, text: string): Promise<CiphertextMessage> {
  return call(`encrypt "${text}"`, () => from.manager.encrypt(to.address, encode(text)));
}

async function receive(
  to: Party,
  from: Party,
  message: CiphertextMessage,
  manager: SessionManager = to.manager,
): Promise<string> {
  return decode(await call('decrypt', () => manager.decrypt(from.address, message)));
}

async function expectText(
  to: Party,
  from: Party,
  message: CiphertextMessage,
  text: string,
): Promise<void> {
  const got = await receive(to, from, message);
  assert(got === text, `decrypt: expected "${text}", got "${got}"`);
}

/** Alice starts a session from Bob's bundle; one message each way (Alice's is acknowledged). */
async function establish(alice: Party, bob: Party): Promise<void> {
  const bundle = await publish(bob.store, 1);
  await call('processPreKeyBundle', () => alice.manager.processPreKeyBundle(bob.address, bundle));
  await expectText(bob, alice, await send(alice, bob, 'hello'), 'hello');
  await expectText(alice, bob, await send(bob, alice, 'hi'), 'hi');
}

function probeOf(owner: Party, peer: Party): Probe {
  return { sessions: [peer.address], identities: [peer.address] };
}

/**
 * Two managers decrypt 16 of Alice's messages in a scrambled order, concurrently, while each also
 * encrypts replies. Operations that still conflict after the manager's retries surface
 * `ERR_CONCURRENT_MODIFICATION` with nothing written; the app retries those. In the end every
 * message decrypted exactly once: redelivery is a duplicate, and the session still works.
 */
async function concurrentManagers(
  alice: Party,
  bob: Party,
  second: ManagedProtocolStore,
): Promise<void> {
  await establish(alice, bob);
  const other = new SessionManager({ store: second, localAddress: bob.address });
  const managers = [bob.manager, other];
  const count = 16;
  const texts = Array.from({ length: count }, (_, i) => `message ${String(i)}`);
  const messages: CiphertextMessage[] = [];
  for (const t of texts) messages.push(await send(alice, bob, t));
  // 7 is coprime with 16: every index once, far from sending order.
  const order = Array.from({ length: count }, (_, i) => (i * 7 + 3) % count);

  type Task = () => Promise<string>;
  const tasks: { readonly label: string; readonly task: Task }[] = [];
  for (const [k, i] of order.entries()) {
    const manager = managers[k % 2] as SessionManager;
    const message = messages[i] as CiphertextMessage;
    tasks.push({
      label: `decrypt ${String(i)}`,
      task: async () => decode(await manager.decrypt(alice.address, message)),
    });
  }
  const replies: CiphertextMessage[] = [];
  for (let r = 0; r < 6; r++) {
    const manager = managers[r % 2] as SessionManager;
    const text = `reply ${String(r)}`;
    tasks.splice(r * 3, 0, {
      label: `encrypt ${text}`,
      task: async () => {
        replies.push(await manager.encrypt(alice.address, encode(text)));
        return text;
      },
    });
  }
  const settled = await Promise.allSettled(tasks.map((t) => t.task()));
  const results: string[] = [];
  for (const [i, s] of settled.entries()) {
    const { label, task } = tasks[i] as { label: string; task: Task };
    if (s.status === 'fulfilled') {
      results.push(s.value);
      continue;
    }
    assert(
      isSignalError(s.reason, 'ERR_CONCURRENT_MODIFICATION'),
      `${label} under concurrency: expected success or ERR_CONCURRENT_MODIFICATION, got ${describeError(s.reason)}`,
    );
    // Nothing was written: the application may retry, now without contention.
    results.push(await call(`${label} (retried)`, task));
  }
  const decrypted = results.filter((r) => r.startsWith('message ')).sort();
  assert(
    decrypted.length === count && decrypted.join('|') === [...texts].sort().join('|'),
    `every message must decrypt exactly once under concurrency, got ${decrypted.length}/${String(count)}`,
  );

  // Lost updates would let a consumed message key resurface: every redelivery is a duplicate.
  for (const [i, m] of messages.entries()) {
    await rejectsWithCode(
      `redelivering message ${String(i)} after concurrent decrypts`,
      'ERR_DUPLICATE_MESSAGE',
      () => bob.manager.decrypt(alice.address, m),
    );
  }
  // The replies used distinct message keys: Alice decrypts each once.
  assert(replies.length === 6, `six replies expected, got ${String(replies.length)}`);
  const got = new Set<string>();
  for (const m of replies) got.add(await receive(alice, bob, m));
  assert(got.size === 6, `each reply must decrypt to a distinct text (${String(got.size)}/6)`);
  for (const m of replies) {
    await rejectsWithCode('redelivering a reply', 'ERR_DUPLICATE_MESSAGE', () =>
      alice.manager.decrypt(bob.address, m),
    );
  }
  await expectText(bob, alice, await send(alice, bob, 'after'), 'after');
  await expectText(alice, bob, await send(bob, alice, 'after reply'), 'after reply');
}

// -------------------------------------------------------------------------------------------------
// The cases
// -------------------------------------------------------------------------------------------------

type CaseBody = (h: Harness) => Promise<void>;

const CASES: readonly (readonly [string, readonly ConformanceNeed[], CaseBody])[] = [
  [
    'round trip: prekeys of every kind load back byte-identical',
    [],
    async (h) => {
      const { store } = await h.target();
      const identity = await identityOf(store);
      const now = Date.now();
      const preKeys = [PreKeyRecord.generate(0), PreKeyRecord.generate(0xffff_ffff)];
      const signed = [SignedPreKeyRecord.generate(identity, 1, now)];
      const kyber = [
        KyberPreKeyRecord.generate(identity, 2, now),
        KyberPreKeyRecord.generate(identity, 3, now, { lastResort: true }),
      ];
      for (const r of preKeys) await call('storePreKey', () => store.storePreKey(r));
      for (const r of signed) await call('storeSignedPreKey', () => store.storeSignedPreKey(r));
      for (const r of kyber) await call('storeKyberPreKey', () => store.storeKyberPreKey(r));
      for (const r of preKeys) {
        const l = await call('loadPreKey', () => store.loadPreKey(r.id));
        assert(l !== null, `prekey ${String(r.id)} must load after storePreKey`);
        sameBytes(l.serialize(), r.serialize(), `prekey ${String(r.id)}`);
      }
      for (const r of signed) {
        const l = await call('loadSignedPreKey', () => store.loadSignedPreKey(r.id));
        assert(l !== null, `signed prekey ${String(r.id)} must load after storeSignedPreKey`);
        sameBytes(l.serialize(), r.serialize(), `signed prekey ${String(r.id)}`);
      }
      for (const r of kyber) {
        const l = await call('loadKyberPreKey', () => store.loadKyberPreKey(r.id));
        assert(l !== null, `Kyber prekey ${String(r.id)} must load after storeKyberPreKey`);
        sameBytes(l.serialize(), r.serialize(), `Kyber prekey ${String(r.id)}`);
        assert(l.lastResort === r.lastResort, `Kyber prekey ${String(r.id)}: lastResort flag`);
      }
      // Storing under an existing id replaces the record.
      const replacement = PreKeyRecord.generate(0);
      await call('storePreKey', () => store.storePreKey(replacement));
      const l = await call('loadPreKey', () => store.loadPreKey(preKeyId(0)));
      assert(l !== null, 'prekey 0 must load after being replaced');
      sameBytes(l.serialize(), replacement.serialize(), 'prekey 0 after storing a replacement');
    },
  ],
  [
    'round trip: session records (with archived states) load back byte-identical, versioned',
    [],
    async (h) => {
      const { store } = await h.target();
      const one = await makeSessionRecord(1);
      const three = await makeSessionRecord(3);
      await call('storeSession', () => store.storeSession(A, one));
      const l1 = await loadedSession(store, A, 'after storeSession');
      sameBytes(l1.serialize(), one.serialize(), 'session A');
      const v1 = versionOf(l1, 'session A');
      await call('storeSession', () => store.storeSession(A, three));
      const l3 = await loadedSession(store, A, 'after storing a replacement');
      sameBytes(l3.serialize(), three.serialize(), 'session A with archived states');
      assert(l3.previousStates.length === 2, 'session A must keep its two archived states');
      assert(versionOf(l3, 'session A') > v1, 'storeSession must advance the version');
      await call('storeSession', () => store.storeSession(C, one));
      const lc = await loadedSession(store, C, 'after storeSession');
      sameBytes(lc.serialize(), one.serialize(), `session ${C.toString()}`);
      const again = await loadedSession(store, A, 'after another address was written');
      sameBytes(again.serialize(), three.serialize(), 'session A after writing another address');
    },
  ],
  [
    'round trip: local identity, registration id and peer identities',
    [],
    async (h) => {
      const { store } = await h.target();
      const first = await identityOf(store);
      const second = await identityOf(store);
      sameBytes(first.serialize(), second.serialize(), 'getIdentityKeyPair twice');
      const reg = await call('getLocalRegistrationId', () => store.getLocalRegistrationId());
      assert(
        Number.isInteger(reg) && reg >= 0 && reg <= 0xffff_ffff,
        `registration id must be a u32, got ${String(reg)}`,
      );
      const reg2 = await call('getLocalRegistrationId', () => store.getLocalRegistrationId());
      assert(reg === reg2, 'getLocalRegistrationId must be stable');
      for (const address of [A, B, C]) {
        const key = publicKey();
        await call('saveIdentity', () => store.saveIdentity(address, key));
        const l = await call('getIdentity', () => store.getIdentity(address));
        assert(l !== null, `identity ${address.toString()} must load after saveIdentity`);
        sameBytes(l.serialize(), key.serialize(), `identity ${address.toString()}`);
      }
    },
  ],
  [
    'missing entries: loads return null, also after removal; removing a missing entry is fine',
    [],
    async (h) => {
      const { store } = await h.target();
      const nothing = async (what: string, fn: () => MaybePromise<unknown>): Promise<void> => {
        const r = await call(what, fn);
        assert(r === null, `${what} must return null, got ${String(r)}`);
      };
      await nothing('loadPreKey(1)', () => store.loadPreKey(preKeyId(1)));
      await nothing('loadSignedPreKey(1)', () => store.loadSignedPreKey(signedPreKeyId(1)));
      await nothing('loadKyberPreKey(1)', () => store.loadKyberPreKey(kyberPreKeyId(1)));
      await nothing('loadSession(A)', () => store.loadSession(A));
      await nothing('getIdentity(A)', () => store.getIdentity(A));

      const identity = await identityOf(store);
      const now = Date.now();
      for (const id of [1, 2]) {
        await call('storePreKey', () => store.storePreKey(PreKeyRecord.generate(id)));
        await call('storeSignedPreKey', () =>
          store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, id, now)),
        );
        await call('storeKyberPreKey', () =>
          store.storeKyberPreKey(KyberPreKeyRecord.generate(identity, id, now)),
        );
      }
      const record = await makeSessionRecord(1);
      await call('storeSession', () => store.storeSession(A, record));
      await call('storeSession', () => store.storeSession(B, record));

      await call('removePreKey', () => store.removePreKey(preKeyId(1)));
      await call('removeSignedPreKey', () => store.removeSignedPreKey(signedPreKeyId(1)));
      await call('removeKyberPreKey', () => store.removeKyberPreKey(kyberPreKeyId(1)));
      await call('removeSession', () => store.removeSession(A));
      await nothing('loadPreKey(1) after removal', () => store.loadPreKey(preKeyId(1)));
      await nothing('loadSignedPreKey(1) after removal', () =>
        store.loadSignedPreKey(signedPreKeyId(1)),
      );
      await nothing('loadKyberPreKey(1) after removal', () =>
        store.loadKyberPreKey(kyberPreKeyId(1)),
      );
      await nothing('loadSession(A) after removal', () => store.loadSession(A));

      // Removal is targeted.
      assert(
        (await call('loadPreKey', () => store.loadPreKey(preKeyId(2)))) !== null,
        'prekey 2 must remain',
      );
      assert(
        (await call('loadSignedPreKey', () => store.loadSignedPreKey(signedPreKeyId(2)))) !== null,
        'signed prekey 2 must remain',
      );
      assert(
        (await call('loadKyberPreKey', () => store.loadKyberPreKey(kyberPreKeyId(2)))) !== null,
        'Kyber prekey 2 must remain',
      );
      assert(
        (await call('loadSession', () => store.loadSession(B))) !== null,
        'session B must remain',
      );

      // Removing what is not there is not an error.
      await call('removePreKey of a missing id', () => store.removePreKey(preKeyId(1)));
      await call('removeSignedPreKey of a missing id', () =>
        store.removeSignedPreKey(signedPreKeyId(99)),
      );
      await call('removeKyberPreKey of a missing id', () =>
        store.removeKyberPreKey(kyberPreKeyId(99)),
      );
      await call('removeSession of a missing address', () => store.removeSession(C));
    },
  ],
  [
    'trust on first use: first key trusted, same key trusted, a different key untrusted both ways',
    [],
    async (h) => {
      const { store } = await h.target();
      const trusted = async (address: ProtocolAddress, key: PublicKey): Promise<boolean[]> => [
        await call('isTrustedIdentity', () => store.isTrustedIdentity(address, key, 'sending')),
        await call('isTrustedIdentity', () => store.isTrustedIdentity(address, key, 'receiving')),
      ];
      const first = publicKey();
      const other = publicKey();
      assert(
        (await trusted(A, first)).every((v) => exactly(v, true)),
        'an address with no stored identity must be trusted in both directions',
      );
      const unstored = await call('getIdentity', () => store.getIdentity(A));
      assert(unstored === null, 'isTrustedIdentity must not store the identity');

      const replacedNew = await call('saveIdentity', () => store.saveIdentity(A, first));
      assert(exactly(replacedNew, false), 'saveIdentity of a new address must return false');
      assert(
        (await trusted(A, first)).every((v) => exactly(v, true)),
        'the stored identity must be trusted',
      );
      const replacedSame = await call('saveIdentity', () => store.saveIdentity(A, first));
      assert(exactly(replacedSame, false), 'saveIdentity of the same key must return false');

      const [sending, receiving] = await trusted(A, other);
      assert(exactly(sending, false), 'a different identity must be untrusted for sending');
      assert(exactly(receiving, false), 'a different identity must be untrusted for receiving');
      const stillFirst = await call('getIdentity', () => store.getIdentity(A));
      assert(stillFirst?.equals(first) === true, 'a trust check must not replace the identity');

      // Other devices of the same name, and other names, are separate entries.
      const sibling = new ProtocolAddress(A.name, 2);
      assert(
        (await trusted(sibling, other)).every((v) => exactly(v, true)),
        `${sibling.toString()} has no identity yet`,
      );
      assert(
        (await trusted(B, other)).every((v) => exactly(v, true)),
        `${B.toString()} has no identity yet`,
      );

      // The user accepts the new safety number.
      const replaced = await call('saveIdentity', () => store.saveIdentity(A, other));
      assert(
        exactly(replaced, true),
        'saveIdentity of a different key must return true (replaced)',
      );
      assert(
        (await trusted(A, other)).every((v) => exactly(v, true)),
        'the replacing identity must be trusted',
      );
      assert(
        (await trusted(A, first)).every((v) => exactly(v, false)),
        'the replaced identity must be untrusted in both directions',
      );
      const stored = await call('getIdentity', () => store.getIdentity(A));
      assert(stored?.equals(other) === true, 'getIdentity must return the replacing identity');

      // An identity committed by a protocol operation follows the same rules.
      const committed = publicKey();
      await call('commit', () =>
        store.commit({ ...EMPTY, identities: [{ address: C, identityKey: committed }] }),
      );
      assert(
        (await trusted(C, committed)).every((v) => exactly(v, true)),
        'a committed identity must be trusted',
      );
      assert(
        (await trusted(C, first)).every((v) => exactly(v, false)),
        'a key other than the committed one is untrusted',
      );
    },
  ],
  [
    'change set: sessions, identities, consumed prekeys and Kyber uses land in one commit',
    [],
    async (h) => {
      const { store } = await h.target();
      const w = await makeWorld(store);
      await call('commit', () => store.commit(w.changes));
      await expectWorldCommitted(store, w);
    },
  ],
  [
    'change set: a failure injected mid-commit writes nothing, and the store stays usable',
    [],
    async (h) => {
      const t = await h.target();
      const w = await makeWorld(t.store);
      const before = await snapshot(t.store, w.probe);
      const { injectFailure } = t;
      if (injectFailure !== undefined) {
        injectFailure();
        await rejects('commit after injectFailure()', () => t.store.commit(w.changes));
      } else {
        await rejects('commit with a throwing applicationWrite', () =>
          t.store.commit({
            ...w.changes,
            applicationWrite: () => {
              throw new Error('injected failure');
            },
          }),
        );
      }
      sameSnapshot(await snapshot(t.store, w.probe), before, 'after a failed commit');
      // The last-resort use was not recorded either: the same change set now commits once.
      await call('commit after the failed one', () => t.store.commit(w.changes));
      await expectWorldCommitted(t.store, w);
    },
  ],
  [
    'change set: the application write runs once, inside the commit',
    [],
    async (h) => {
      const { store } = await h.target();
      const w = await makeWorld(store);
      let calls = 0;
      await call('commit with an applicationWrite', () =>
        store.commit({
          ...w.changes,
          applicationWrite: () => {
            calls++;
          },
        }),
      );
      assert(
        calls === 1,
        `applicationWrite must run exactly once per commit, ran ${String(calls)}`,
      );
      await expectWorldCommitted(store, w);
    },
  ],
  [
    'change set: a throwing application write rolls the commit back and its error propagates',
    [],
    async (h) => {
      const { store } = await h.target();
      const w = await makeWorld(store);
      const before = await snapshot(store, w.probe);
      const boom = new Error('application write failed');
      const e = await rejects('commit with a throwing applicationWrite', () =>
        store.commit({
          ...w.changes,
          applicationWrite: () => {
            throw boom;
          },
        }),
      );
      assert(
        e === boom,
        `the application's error must propagate unchanged, got ${describeError(e)}`,
      );
      sameSnapshot(await snapshot(store, w.probe), before, 'after the application write threw');
      await call('commit without the failing write', () => store.commit(w.changes));
      await expectWorldCommitted(store, w);
    },
  ],
  [
    'compare-and-swap: a stale expectedVersion refuses the whole commit',
    [],
    async (h) => {
      const { store } = await h.target();
      const w = await makeWorld(store);
      const winner = await makeSessionRecord(1);
      await call('commit', () =>
        store.commit({
          ...EMPTY,
          sessions: [{ address: A, record: winner, expectedVersion: w.loadedVersion }],
        }),
      );
      const current = await loadedSession(store, A, 'after the first commit');
      assert(
        versionOf(current, 'session A') > w.loadedVersion,
        'the commit must advance the version',
      );
      const before = await snapshot(store, w.probe);
      // The stale writer: its change set still expects the version it loaded.
      await rejectsWithCode(
        'a commit with a stale expectedVersion',
        'ERR_CONCURRENT_MODIFICATION',
        () => store.commit(w.changes),
      );
      sameSnapshot(await snapshot(store, w.probe), before, 'after the refused commit');
    },
  ],
  [
    'compare-and-swap: expectedVersion null for an existing record refuses the commit',
    [],
    async (h) => {
      const { store } = await h.target();
      const w = await makeWorld(store);
      const before = await snapshot(store, w.probe);
      const [first, ...rest] = w.changes.sessions;
      assert(first !== undefined, 'internal: world has sessions');
      await rejectsWithCode(
        'a commit expecting no record where one exists',
        'ERR_CONCURRENT_MODIFICATION',
        () =>
          store.commit({ ...w.changes, sessions: [...rest, { ...first, expectedVersion: null }] }),
      );
      sameSnapshot(await snapshot(store, w.probe), before, 'after the refused commit');
    },
  ],
  [
    'compare-and-swap: the current version commits and every write advances it',
    [],
    async (h) => {
      const { store } = await h.target();
      const records = [
        await makeSessionRecord(1),
        await makeSessionRecord(1),
        await makeSessionRecord(1),
      ];
      // No record yet: expectedVersion null succeeds.
      await call('commit of a new session with expectedVersion null', () =>
        store.commit({
          ...EMPTY,
          sessions: [{ address: C, record: records[0] as SessionRecord, expectedVersion: null }],
        }),
      );
      const seen: number[] = [versionOf(await loadedSession(store, C, 'after commit'), 'C')];
      for (const record of records.slice(1)) {
        const expectedVersion = seen[seen.length - 1] as number;
        await call('commit with the current version', () =>
          store.commit({ ...EMPTY, sessions: [{ address: C, record, expectedVersion }] }),
        );
        const loaded = await loadedSession(store, C, 'after commit');
        sameBytes(loaded.serialize(), record.serialize(), 'session after a versioned commit');
        seen.push(versionOf(loaded, 'C'));
      }
      assert(
        seen.every((v, i) => i === 0 || v > (seen[i - 1] as number)),
        `versions must strictly increase with every write, got ${seen.join(', ')}`,
      );
      // expectedVersion undefined (a record from a store that does not version): no check.
      const unchecked = await makeSessionRecord(1);
      await call('commit with expectedVersion undefined', () =>
        store.commit({
          ...EMPTY,
          sessions: [{ address: C, record: unchecked, expectedVersion: undefined }],
        }),
      );
      const last = await loadedSession(store, C, 'after an unchecked commit');
      sameBytes(last.serialize(), unchecked.serialize(), 'session after an unchecked commit');
    },
  ],
  [
    'compare-and-swap: storeSession invalidates a copy loaded before it',
    [],
    async (h) => {
      const { store } = await h.target();
      const [r1, r2, r3] = [
        await makeSessionRecord(1),
        await makeSessionRecord(1),
        await makeSessionRecord(1),
      ];
      await call('storeSession', () => store.storeSession(A, r1));
      const loaded = await loadedSession(store, A, 'setup');
      await call('storeSession', () => store.storeSession(A, r2));
      await rejectsWithCode(
        'a commit of a copy loaded before storeSession',
        'ERR_CONCURRENT_MODIFICATION',
        () =>
          store.commit({
            ...EMPTY,
            sessions: [{ address: A, record: r3, expectedVersion: versionOf(loaded, 'A') }],
          }),
      );
      const now = await loadedSession(store, A, 'after the refused commit');
      sameBytes(now.serialize(), r2.serialize(), 'session A must keep the imported record');
    },
  ],
  [
    'compare-and-swap: removeSession invalidates a copy loaded before it',
    [],
    async (h) => {
      const { store } = await h.target();
      const [r1, r2] = [await makeSessionRecord(1), await makeSessionRecord(1)];
      await call('storeSession', () => store.storeSession(A, r1));
      const loaded = await loadedSession(store, A, 'setup');
      await call('removeSession', () => store.removeSession(A));
      await rejectsWithCode(
        'a commit of a copy loaded before removeSession',
        'ERR_CONCURRENT_MODIFICATION',
        () =>
          store.commit({
            ...EMPTY,
            sessions: [{ address: A, record: r2, expectedVersion: versionOf(loaded, 'A') }],
          }),
      );
      const gone = await call('loadSession', () => store.loadSession(A));
      assert(gone === null, 'a removed session must not be resurrected by a stale writer');
      await call('commit expecting no record after removal', () =>
        store.commit({ ...EMPTY, sessions: [{ address: A, record: r2, expectedVersion: null }] }),
      );
      const back = await loadedSession(store, A, 'after a fresh commit');
      sameBytes(back.serialize(), r2.serialize(), 'session A after the fresh commit');
    },
  ],
  [
    'compare-and-swap: a session removed and stored again still refuses a copy loaded before',
    [],
    async (h) => {
      const { store } = await h.target();
      const [r1, r2, r3] = [
        await makeSessionRecord(1),
        await makeSessionRecord(1),
        await makeSessionRecord(1),
      ];
      await call('storeSession', () => store.storeSession(A, r1));
      const loaded = await loadedSession(store, A, 'setup');
      await call('removeSession', () => store.removeSession(A));
      await call('storeSession', () => store.storeSession(A, r2));
      // Versions must not restart after a deletion, or this stale writer would pass (ABA).
      await rejectsWithCode(
        'a commit of a copy loaded before remove + store',
        'ERR_CONCURRENT_MODIFICATION',
        () =>
          store.commit({
            ...EMPTY,
            sessions: [{ address: A, record: r3, expectedVersion: versionOf(loaded, 'A') }],
          }),
      );
      const now = await loadedSession(store, A, 'after the refused commit');
      sameBytes(now.serialize(), r2.serialize(), 'session A must keep the re-stored record');
    },
  ],
  [
    'Kyber: a used one-time Kyber prekey is deleted',
    [],
    async (h) => {
      const { store } = await h.target();
      const identity = await identityOf(store);
      const now = Date.now();
      await call('storeSignedPreKey', () =>
        store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, 5, now)),
      );
      for (const id of [6, 7]) {
        await call('storeKyberPreKey', () =>
          store.storeKyberPreKey(KyberPreKeyRecord.generate(identity, id, now)),
        );
      }
      await call('commit of a one-time Kyber use', () =>
        store.commit({
          ...EMPTY,
          kyberPreKeysUsed: [
            {
              kyberPreKeyId: kyberPreKeyId(6),
              signedPreKeyId: signedPreKeyId(5),
              baseKey: publicKey(),
            },
          ],
        }),
      );
      const used = await call('loadKyberPreKey', () => store.loadKyberPreKey(kyberPreKeyId(6)));
      assert(used === null, 'the used one-time Kyber prekey must be deleted');
      const other = await call('loadKyberPreKey', () => store.loadKyberPreKey(kyberPreKeyId(7)));
      assert(other !== null, 'an unused Kyber prekey must remain');
      const spk = await call('loadSignedPreKey', () => store.loadSignedPreKey(signedPreKeyId(5)));
      assert(spk !== null, 'the signed prekey must remain');
    },
  ],
  [
    'Kyber: a last-resort use is recorded; the same triple again is refused and writes nothing',
    [],
    async (h) => {
      const { store } = await h.target();
      const identity = await identityOf(store);
      const now = Date.now();
      const lastResort = KyberPreKeyRecord.generate(identity, 8, now, { lastResort: true });
      const another = KyberPreKeyRecord.generate(identity, 9, now, { lastResort: true });
      await call('storeSignedPreKey', () =>
        store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, 5, now)),
      );
      await call('storeKyberPreKey', () => store.storeKyberPreKey(lastResort));
      await call('storeKyberPreKey', () => store.storeKyberPreKey(another));
      await call('storePreKey', () => store.storePreKey(PreKeyRecord.generate(4)));
      const base = publicKey();
      const use = (
        kyber: number,
        signed: number,
        baseKey: PublicKey,
      ): ChangeSet['kyberPreKeysUsed'][number] => ({
        kyberPreKeyId: kyberPreKeyId(kyber),
        signedPreKeyId: signedPreKeyId(signed),
        baseKey,
      });
      await call('commit of a last-resort use', () =>
        store.commit({ ...EMPTY, kyberPreKeysUsed: [use(8, 5, base)] }),
      );
      const kept = await call('loadKyberPreKey', () => store.loadKyberPreKey(kyberPreKeyId(8)));
      assert(kept !== null, 'a used last-resort Kyber prekey must remain');
      sameBytes(kept.serialize(), lastResort.serialize(), 'last-resort Kyber prekey after use');

      // A replayed PreKeySignalMessage: the whole change set is refused.
      const probe: Probe = { sessions: [B], identities: [B], preKeys: [4], kyberPreKeys: [8, 9] };
      const before = await snapshot(store, probe);
      await rejectsWithCode('a repeated last-resort Kyber use', 'ERR_INVALID_MESSAGE', async () =>
        store.commit({
          sessions: [{ address: B, record: await makeSessionRecord(1), expectedVersion: null }],
          identities: [{ address: B, identityKey: publicKey() }],
          removedPreKeys: [preKeyId(4)],
          kyberPreKeysUsed: [use(8, 5, base)],
        }),
      );
      sameSnapshot(await snapshot(store, probe), before, 'after the refused replay');

      // Any other triple is a different session: a new base key, another signed prekey, or
      // another last-resort key.
      await call('commit with a new base key', () =>
        store.commit({ ...EMPTY, kyberPreKeysUsed: [use(8, 5, publicKey())] }),
      );
      await call('commit with another signed prekey id', () =>
        store.commit({ ...EMPTY, kyberPreKeysUsed: [use(8, 6, base)] }),
      );
      await call('commit with another last-resort key', () =>
        store.commit({ ...EMPTY, kyberPreKeysUsed: [use(9, 5, base)] }),
      );
      await rejectsWithCode('the first triple, once more', 'ERR_INVALID_MESSAGE', () =>
        store.commit({ ...EMPTY, kyberPreKeysUsed: [use(8, 5, base)] }),
      );
    },
  ],
  [
    'durability: every record, version and Kyber use survives a re-open; handles see each other',
    ['reopen'],
    async (h) => {
      const t = await h.target();
      const w = await makeWorld(t.store);
      await call('commit', () => t.store.commit(w.changes));
      const peerKey = publicKey();
      await call('saveIdentity', () => t.store.saveIdentity(C, peerKey));
      const probe: Probe = { ...w.probe, identities: [A, B, C] };
      const before = await snapshot(t.store, probe);
      const identity = await identityOf(t.store);
      const reg = await call('getLocalRegistrationId', () => t.store.getLocalRegistrationId());

      const reopened = await h.reopen(t);
      sameBytes(
        (await identityOf(reopened)).serialize(),
        identity.serialize(),
        'local identity after re-open',
      );
      const reg2 = await call('getLocalRegistrationId', () => reopened.getLocalRegistrationId());
      assert(reg2 === reg, 'registration id after re-open');
      sameSnapshot(await snapshot(reopened, probe), before, 'records after re-open');
      await expectWorldCommitted(reopened, w);

      // Versions persisted: a copy loaded through the first handle commits through the second,
      // and the first handle sees the result.
      const loaded = await loadedSession(t.store, A, 'first handle');
      const next = await makeSessionRecord(1);
      await call('commit through the second handle', () =>
        reopened.commit({
          ...EMPTY,
          sessions: [{ address: A, record: next, expectedVersion: versionOf(loaded, 'A') }],
        }),
      );
      const seen = await loadedSession(t.store, A, 'first handle after a write through the second');
      sameBytes(
        seen.serialize(),
        next.serialize(),
        "the first handle must see the second handle's write",
      );
      await rejectsWithCode(
        'a stale commit through the first handle',
        'ERR_CONCURRENT_MODIFICATION',
        () =>
          t.store.commit({
            ...EMPTY,
            sessions: [{ address: A, record: w.next, expectedVersion: versionOf(loaded, 'A') }],
          }),
      );
    },
  ],
  [
    'session manager: a conversation with out-of-order delivery; duplicates change nothing',
    [],
    async (h) => {
      const alice = await party(h);
      const bob = await party(h);
      const bundle = await publish(bob.store, 1);
      await call('processPreKeyBundle', () =>
        alice.manager.processPreKeyBundle(bob.address, bundle),
      );
      const sent: CiphertextMessage[] = [];
      for (let i = 0; i < 4; i++) sent.push(await send(alice, bob, `a${String(i)}`));
      assert(
        sent.every((m) => m.type === 'prekey'),
        'unacknowledged messages are prekey messages',
      );
      for (const i of [2, 0, 3, 1])
        await expectText(bob, alice, sent[i] as CiphertextMessage, `a${String(i)}`);

      const bobProbe: Probe = {
        ...probeOf(bob, alice),
        preKeys: [1],
        signedPreKeys: [1],
        kyberPreKeys: [1],
      };
      const bobState = await snapshot(bob.store, bobProbe);
      assert(bobState.get('prekey 1') === 'null', 'the one-time prekey must be consumed');
      assert(
        bobState.get('kyber prekey 1') === 'null',
        'the one-time Kyber prekey must be consumed',
      );
      assert(bobState.get('signed prekey 1') !== 'null', 'the signed prekey must remain');
      const aliceIdentity = await identityOf(alice.store);
      const bobIdentity = await identityOf(bob.store);
      const seenByBob = await call('getIdentity', () => bob.store.getIdentity(alice.address));
      const seenByAlice = await call('getIdentity', () => alice.store.getIdentity(bob.address));
      assert(
        seenByBob?.equals(aliceIdentity.publicKey) === true,
        "Bob must store Alice's identity",
      );
      assert(
        seenByAlice?.equals(bobIdentity.publicKey) === true,
        "Alice must store Bob's identity",
      );

      const duplicateChangesNothing = async (
        to: Party,
        from: Party,
        m: CiphertextMessage,
        what: string,
      ): Promise<void> => {
        const before = [
          await snapshot(alice.store, { ...probeOf(alice, bob) }),
          await snapshot(bob.store, bobProbe),
        ];
        await rejectsWithCode(what, 'ERR_DUPLICATE_MESSAGE', () =>
          to.manager.decrypt(from.address, m),
        );
        sameSnapshot(
          await snapshot(alice.store, probeOf(alice, bob)),
          before[0] as Map<string, string>,
          `Alice after ${what}`,
        );
        sameSnapshot(
          await snapshot(bob.store, bobProbe),
          before[1] as Map<string, string>,
          `Bob after ${what}`,
        );
      };
      await duplicateChangesNothing(
        bob,
        alice,
        sent[1] as CiphertextMessage,
        'a duplicate prekey message',
      );

      const replies = [await send(bob, alice, 'b0'), await send(bob, alice, 'b1')];
      await expectText(alice, bob, replies[1] as CiphertextMessage, 'b1');
      await expectText(alice, bob, replies[0] as CiphertextMessage, 'b0');
      await duplicateChangesNothing(
        alice,
        bob,
        replies[0] as CiphertextMessage,
        'a duplicate reply',
      );
      const later = await send(alice, bob, 'a4');
      assert(later.type === 'whisper', 'after a reply Alice sends whisper messages');
      await expectText(bob, alice, later, 'a4');
      await duplicateChangesNothing(bob, alice, later, 'a duplicate whisper message');
    },
  ],
  [
    'session manager: the conversation continues after both stores are re-opened',
    ['reopen'],
    async (h) => {
      const alice = await party(h);
      const bob = await party(h);
      await establish(alice, bob);
      const inFlight = await send(alice, bob, 'in flight');
      const alice2: Party = { ...alice, store: await h.reopen(alice.target) };
      const bob2: Party = { ...bob, store: await h.reopen(bob.target) };
      const a = {
        ...alice2,
        manager: new SessionManager({ store: alice2.store, localAddress: alice.address }),
      };
      const b = {
        ...bob2,
        manager: new SessionManager({ store: bob2.store, localAddress: bob.address }),
      };
      await expectText(b, a, inFlight, 'in flight');
      await expectText(a, b, await send(b, a, 'back'), 'back');
      await expectText(b, a, await send(a, b, 'again'), 'again');
    },
  ],
  [
    'session manager: a failing application write loses no message (prekey and whisper)',
    [],
    async (h) => {
      const alice = await party(h);
      const bob = await party(h);
      const bundle = await publish(bob.store, 1);
      await call('processPreKeyBundle', () =>
        alice.manager.processPreKeyBundle(bob.address, bundle),
      );
      const bobProbe: Probe = { ...probeOf(bob, alice), preKeys: [1], kyberPreKeys: [1] };
      const attempt = async (m: CiphertextMessage, text: string): Promise<void> => {
        const before = await snapshot(bob.store, bobProbe);
        const boom = new Error('could not save the message');
        const e = await rejects('decrypt with a throwing withPlaintext', () =>
          bob.manager.decrypt(alice.address, m, {
            withPlaintext: () => {
              throw boom;
            },
          }),
        );
        assert(
          e === boom || (e instanceof Error && e.cause === boom),
          `decrypt must reject with the application's error (or one caused by it), got ${describeError(e)}`,
        );
        sameSnapshot(
          await snapshot(bob.store, bobProbe),
          before,
          'after the application write failed',
        );
        const saved: string[] = [];
        const out = await call('decrypt again', () =>
          bob.manager.decrypt(alice.address, m, {
            withPlaintext: (plaintext) => {
              saved.push(decode(plaintext));
            },
          }),
        );
        assert(decode(out) === text, `the retried decrypt must return "${text}"`);
        assert(
          saved.length === 1 && saved[0] === text,
          'withPlaintext must run once with the plaintext',
        );
      };
      await attempt(await send(alice, bob, 'first'), 'first');
      await expectText(alice, bob, await send(bob, alice, 'ack'), 'ack');
      await attempt(await send(alice, bob, 'second'), 'second');
    },
  ],
  [
    'session manager: a replayed PreKeySignalMessage on a last-resort Kyber key is refused',
    [],
    async (h) => {
      const alice = await party(h);
      const carol = await party(h);
      const bob = await party(h);
      const bundle = await publish(bob.store, 1, { oneTime: false, lastResort: true });
      await call('processPreKeyBundle', () =>
        alice.manager.processPreKeyBundle(bob.address, bundle),
      );
      const m = await send(alice, bob, 'once');
      await expectText(bob, alice, m, 'once');
      // The attacker replays the message after the session is gone (e.g. the user reset it).
      await call('removeSession', () => bob.store.removeSession(alice.address));
      const probe: Probe = { ...probeOf(bob, alice), signedPreKeys: [1], kyberPreKeys: [1] };
      const before = await snapshot(bob.store, probe);
      await rejectsWithCode('a replayed PreKeySignalMessage', 'ERR_INVALID_MESSAGE', () =>
        bob.manager.decrypt(alice.address, m),
      );
      sameSnapshot(await snapshot(bob.store, probe), before, 'after the refused replay');
      // Another initiator (new base key) may still use the last-resort key.
      await call('processPreKeyBundle', () =>
        carol.manager.processPreKeyBundle(bob.address, bundle),
      );
      await expectText(bob, carol, await send(carol, bob, 'hello from carol'), 'hello from carol');
    },
  ],
  [
    'session manager: two managers on one store decrypt concurrently without loss',
    [],
    async (h) => {
      const alice = await party(h);
      const bob = await party(h);
      await concurrentManagers(alice, bob, bob.store);
    },
  ],
  [
    'session manager: two handles on one store (as two processes) decrypt concurrently without loss',
    ['reopen'],
    async (h) => {
      const alice = await party(h);
      const bob = await party(h);
      await concurrentManagers(alice, bob, await h.reopen(bob.target));
    },
  ],
];
