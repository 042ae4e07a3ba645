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
  type IdentityKeyPair,
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
  /** The store under test. It must start empty apart from its own identity. */
  readonly store: ManagedProtocolStore;
  /**
   * Open another store over the same persisted data, as a second process (or the app after a
   * restart) would. Earlier handles stay usable: the kit uses two handles at once to check that
   * compare-and-swap works across instances. Cases that need it list `'reopen'` in
   * {@link ConformanceCase.needs}.
   */
  reopen?(): MaybePromise<ManagedProtocolStore>;
  /**
   * Make the next write of the underlying engine fail midway (e.g. SQLite: throw after the first
   * statement of the transaction). Without it the kit injects failure with an application write
   * that throws, which must also leave no partial write.
   */
  injectFailure?(): void;
  /** Release resources (close handles, delete files). Called once at the end of each case. */
  close?(): MaybePromise<void>;
}

/** Creates a fresh, empty target. Called once or twice per case. */
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
 * @param factory - returns a fresh, empty {@link ConformanceTarget}; called per case (twice for
 *   conversation cases, one target per party)
 * @returns the cases, in a stable order; each `run` is self-contained
 * @example
 * ```ts
 * import { test } from 'vitest';
 * import { storeConformanceCases } from 'chiffre/testing';
 *
 * const cases = storeConformanceCases(async () => {
 *   const store = await BackendProtocolStore.open(new MemoryBackend(), {
 *     createIdentity: () => ({ identity: IdentityKeyPair.generate(), registrationId: 7 }),
 *   });
 *   return { store };
 * });
 * for (const c of cases) (c.needs.length > 0 ? test.skip : test)(c.name, c.run);
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
    out.set(`session ${a.toString()}`, r === null ? 'null' : `${hex(r.serialize())}@${String(r.version)}`);
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
    const reopen = t.reopen;
    assert(reopen !== undefined, 'target.reopen() is missing');
    return call('target.reopen()', () => reopen.call(t));
  }

  async close(): Promise<void> {
    for (const t of this.#targets.splice(0)) {
      const close = t.close;
      if (close !== undefined) await close.call(t);
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

let scratchCounter = 0;

/** Account names that parse as ServiceIds, so SignalMessage field 6 is exercised. */
function serviceId(): string {
  scratchCounter++;
  return `7a3b29c0-4f1e-4d0a-9c55-${scratchCounter.toString(16).padStart(12, '0')}`;
}

/**
 * A real session record with `states` states (the current one and `states - 1` archived), made
 * between two scratch in-memory parties. Kept independent of the store under test.
 */
async function makeSessionRecord(states: number): Promise<SessionRecord> {
  const me = new InMemoryProtocolStore(KeyPair.generate() && identityPair(), 1);
  const peer = new InMemoryProtocolStore(identityPair(), 2);
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
  assert(record !== null, 'scratch session missing');
  return record;
}

function identityPair(): IdentityKeyPair {
  return IDENTITY.generate();
}

/** Indirection so the scratch parties need no extra import name collisions. @internal */
const IDENTITY = {
  generate: (): IdentityKeyPair => {
    // IdentityKeyPair is a value import below; kept in one place.
    return newIdentityKeyPair();
  },
};
