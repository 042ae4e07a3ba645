/**
 * Keeps a device's published keys healthy, by policy: replenishes one-time prekeys when the
 * server's count falls below a low-water mark, rotates the signed prekey and the last-resort
 * Kyber prekey on a schedule while keeping replaced ones long enough for messages in flight,
 * allocates ids without reuse or overflow, and reports when the last-resort Kyber prekey was used.
 *
 * Transport-agnostic: the application supplies `upload` (publish keys to its server) and
 * `serverPreKeyCount` (how many one-time prekeys the server still holds). The manager's own
 * bookkeeping (next ids, current keys, retired keys) is a small JSON document persisted through
 * the application's `state` callbacks.
 *
 * @module
 */
import { InvalidRecordError } from '../errors.js';
import {
  type IdentityKeyPair,
  type KemPublicKey,
  kyberPreKeyId,
  preKeyId,
  type PublicKey,
  signedPreKeyId,
} from '../keys/index.js';
import { type RandomSource, secureRandom } from '../primitives/index.js';
import { KyberPreKeyRecord, PreKeyRecord, SignedPreKeyRecord } from '../state/index.js';
import type { ChangeSet, ManagedProtocolStore, MaybePromise } from '../storage/index.js';

/** Largest prekey id handed out (24 bits, as Signal's servers expect). */
export const MAX_PREKEY_ID = 0xff_ffff;

/** Policy of {@link PreKeyLifecycle}. All durations in milliseconds. */
export interface PreKeyPolicy {
  /** Replenish when the server holds fewer one-time prekeys than this (default 10). */
  readonly oneTimeLowWater?: number;
  /** Upload this many one-time prekeys per replenishment (default 100, at most 1,000). */
  readonly oneTimeBatch?: number;
  /** Rotate the signed prekey after this long (default 2 days). */
  readonly signedPreKeyRotation?: number;
  /** Rotate the last-resort Kyber prekey after this long (default 2 days). */
  readonly lastResortRotation?: number;
  /**
   * Keep a replaced signed or last-resort key this long, so messages built from the old bundle
   * still decrypt (default 30 days: after that an unacknowledged session is refused anyway).
   */
  readonly retention?: number;
}

/** What one upload publishes. Only what changed is included; the server keeps the rest. */
export interface PreKeyUpload {
  /** This device's identity key, which signed both prekeys. */
  readonly identityKey: PublicKey;
  /** The new signed prekey, when it was rotated. */
  readonly signedPreKey?: {
    /** The signed prekey id. */
    readonly id: number;
    /** The signed prekey's public key. */
    readonly publicKey: PublicKey;
    /** XEdDSA signature by the identity key over the serialized public key. */
    readonly signature: Uint8Array;
  };
  /** The new last-resort Kyber prekey, when it was rotated. */
  readonly lastResortKyberPreKey?: {
    /** The Kyber prekey id. */
    readonly id: number;
    /** The Kyber prekey's public key. */
    readonly publicKey: KemPublicKey;
    /** XEdDSA signature by the identity key over the serialized KEM public key. */
    readonly signature: Uint8Array;
  };
  /** New one-time prekeys to add to the server's pool (empty when none were due). */
  readonly oneTimePreKeys: readonly {
    /** The one-time prekey id. */
    readonly id: number;
    /** The one-time prekey's public key. */
    readonly publicKey: PublicKey;
  }[];
}

/** Events of {@link PreKeyLifecycle}. */
export type PreKeyEvent =
  | {
      /** A committed incoming session used a (current or retired) last-resort Kyber prekey. */
      readonly type: 'last-resort-used';
      /** The id of that Kyber prekey. */
      readonly kyberPreKeyId: number;
    }
  | {
      /** {@link PreKeyLifecycle.refresh} uploaded keys. */
      readonly type: 'uploaded';
      /** How many one-time prekeys the upload carried. */
      readonly oneTimePreKeys: number;
      /** Which long-lived keys the upload replaced. */
      readonly rotated: readonly ('signed' | 'last-resort')[];
    }
  | {
      /** A replaced key passed its retention and was deleted from the store. */
      readonly type: 'retired-removed';
      /** Which kind of key was deleted. */
      readonly kind: 'signed' | 'last-resort';
      /** Its id. */
      readonly id: number;
    };

/** Options of {@link PreKeyLifecycle}. */
export interface PreKeyLifecycleOptions {
  /** This device's store: new keys are stored in it, expired ones removed from it. */
  readonly store: ManagedProtocolStore;
  /** Publishes keys to the application's server. Called after the keys are stored locally. */
  readonly upload: (keys: PreKeyUpload) => Promise<void>;
  /** Asks the application's server how many of this device's one-time prekeys it still holds. */
  readonly serverPreKeyCount: () => Promise<number>;
  /** Persistence of the manager's bookkeeping (a JSON string). */
  readonly state: {
    /** The saved bookkeeping, or `null` the first time. */
    load(): MaybePromise<string | null>;
    /** Persist the bookkeeping; called before every upload and after expired keys are removed. */
    save(json: string): MaybePromise<void>;
  };
  /** Low-water mark, batch size, rotation periods and retention; defaults apply per field. */
  readonly policy?: PreKeyPolicy;
  /** Receives {@link PreKeyEvent}s; must not throw. */
  readonly onEvent?: (event: PreKeyEvent) => void;
  /** Clock in milliseconds since the epoch; `Date.now` by default. */
  readonly now?: () => number;
  /** Randomness for key generation; the platform CSPRNG by default. */
  readonly random?: RandomSource;
}

interface Retired {
  readonly kind: 'signed' | 'last-resort';
  readonly id: number;
  readonly retiredAt: number;
}

interface LifecycleState {
  nextPreKeyId: number;
  nextSignedPreKeyId: number;
  nextKyberPreKeyId: number;
  signed: { id: number; createdAt: number } | null;
  lastResort: { id: number; createdAt: number } | null;
  retired: Retired[];
}

const DAY = 24 * 60 * 60 * 1000;
const MAX_RETIRED = 1000;

function nextId(id: number): number {
  return id >= MAX_PREKEY_ID ? 1 : id + 1;
}

function parseState(json: string): LifecycleState {
  const fail = (): never => {
    throw new InvalidRecordError('prekey lifecycle state: corrupt');
  };
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    return fail();
  }
  const o = v as Partial<LifecycleState> | null;
  const id = (n: unknown): number =>
    typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= MAX_PREKEY_ID ? n : fail();
  const current = (c: unknown): { id: number; createdAt: number } | null => {
    if (c === null) return null;
    const x = c as { id?: unknown; createdAt?: unknown } | undefined;
    if (typeof x?.createdAt !== 'number') return fail();
    return { id: id(x.id), createdAt: x.createdAt };
  };
  if (
    typeof o !== 'object' ||
    o === null ||
    !Array.isArray(o.retired) ||
    o.retired.length > MAX_RETIRED
  ) {
    return fail();
  }
  return {
    nextPreKeyId: id(o.nextPreKeyId),
    nextSignedPreKeyId: id(o.nextSignedPreKeyId),
    nextKyberPreKeyId: id(o.nextKyberPreKeyId),
    signed: current(o.signed ?? null),
    lastResort: current(o.lastResort ?? null),
    retired: (o.retired as unknown[]).map((entry) => {
      const r = entry as Partial<Retired> | null;
      if (
        typeof r !== 'object' ||
        r === null ||
        (r.kind !== 'signed' && r.kind !== 'last-resort') ||
        typeof r.retiredAt !== 'number'
      ) {
        return fail();
      }
      return { kind: r.kind, id: id(r.id), retiredAt: r.retiredAt };
    }),
  };
}

/**
 * Publishes and rotates this device's prekeys: call {@link PreKeyLifecycle.refresh} at start-up
 * and periodically, and give the {@link SessionManager} the store returned by
 * {@link PreKeyLifecycle.observe} so that uses of the last-resort Kyber prekey are reported.
 *
 * @example
 * ```ts
 * import {
 *   IdentityKeyPair,
 *   InMemoryProtocolStore,
 *   PreKeyLifecycle,
 *   ProtocolAddress,
 *   SessionManager,
 * } from 'chiffre';
 *
 * const store = new InMemoryProtocolStore(IdentityKeyPair.generate(), 1234);
 * let saved: string | null = null; // persist it next to the store
 * const lifecycle = new PreKeyLifecycle({
 *   store,
 *   upload: (keys) => server.publishKeys(keys), // your server API
 *   serverPreKeyCount: () => server.countPreKeys(),
 *   state: {
 *     load: () => saved,
 *     save: (json) => {
 *       saved = json;
 *     },
 *   },
 * });
 * await lifecycle.refresh(); // at start-up and then periodically
 * const localAddress = new ProtocolAddress('alice', 1);
 * const manager = new SessionManager({ store: lifecycle.observe(store), localAddress });
 * ```
 */
export class PreKeyLifecycle {
  readonly #o: PreKeyLifecycleOptions;
  readonly #now: () => number;
  readonly #random: RandomSource;
  readonly #policy: Required<PreKeyPolicy>;

  /**
   * @param options - the store, the server callbacks, bookkeeping persistence, and optionally
   *   policy, event handler, clock and randomness
   */
  constructor(options: PreKeyLifecycleOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? secureRandom;
    const p = options.policy ?? {};
    this.#policy = {
      oneTimeLowWater: p.oneTimeLowWater ?? 10,
      oneTimeBatch: Math.min(1000, Math.max(1, p.oneTimeBatch ?? 100)),
      signedPreKeyRotation: p.signedPreKeyRotation ?? 2 * DAY,
      lastResortRotation: p.lastResortRotation ?? 2 * DAY,
      retention: p.retention ?? 30 * DAY,
    };
  }

  /**
   * Bring the published keys up to policy: rotate what is due, replenish one-time prekeys when
   * the server runs low, upload once, then delete retired keys past their retention. Keys are
   * stored locally before they are uploaded, so a failed upload leaves nothing unknown to us.
   * Nothing is uploaded when nothing is due.
   *
   * @returns when the keys are uploaded and expired ones removed
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` when the saved bookkeeping is corrupt
   * @throws {RangeError} when every prekey id of a kind is taken
   * @throws whatever `upload`, `serverPreKeyCount`, `state` or the store throw, unchanged
   */
  async refresh(): Promise<void> {
    const state = await this.#loadState();
    const identity = await this.#o.store.getIdentityKeyPair();
    const now = this.#now();
    const rotated: ('signed' | 'last-resort')[] = [];
    let signedUpload: PreKeyUpload['signedPreKey'];
    let kyberUpload: PreKeyUpload['lastResortKyberPreKey'];

    if (
      state.signed === null ||
      now - state.signed.createdAt >= this.#policy.signedPreKeyRotation
    ) {
      const id = await this.#freeId('signed', state.nextSignedPreKeyId);
      const record = SignedPreKeyRecord.generate(identity, id, now, this.#random);
      await this.#o.store.storeSignedPreKey(record);
      if (state.signed !== null)
        state.retired.push({ kind: 'signed', id: state.signed.id, retiredAt: now });
      state.signed = { id, createdAt: now };
      state.nextSignedPreKeyId = nextId(id);
      signedUpload = { id, publicKey: record.keyPair.publicKey, signature: record.signature };
      rotated.push('signed');
    }
    if (
      state.lastResort === null ||
      now - state.lastResort.createdAt >= this.#policy.lastResortRotation
    ) {
      const rec = await this.#newKyber(identity, state, now);
      kyberUpload = { id: rec.id, publicKey: rec.keyPair.publicKey, signature: rec.signature };
      rotated.push('last-resort');
    }
    const oneTime: { id: number; publicKey: PublicKey }[] = [];
    if ((await this.#o.serverPreKeyCount()) < this.#policy.oneTimeLowWater) {
      for (let i = 0; i < this.#policy.oneTimeBatch; i++) {
        const id = await this.#freeId('one-time', state.nextPreKeyId);
        const record = PreKeyRecord.generate(id, this.#random);
        await this.#o.store.storePreKey(record);
        state.nextPreKeyId = nextId(id);
        oneTime.push({ id, publicKey: record.keyPair.publicKey });
      }
    }
    // The bookkeeping is saved before the upload: ids are never handed out twice.
    state.retired = state.retired.slice(-MAX_RETIRED);
    await this.#o.state.save(JSON.stringify(state));
    if (rotated.length > 0 || oneTime.length > 0) {
      await this.#o.upload({
        identityKey: identity.publicKey,
        ...(signedUpload === undefined ? {} : { signedPreKey: signedUpload }),
        ...(kyberUpload === undefined ? {} : { lastResortKyberPreKey: kyberUpload }),
        oneTimePreKeys: oneTime,
      });
      this.#o.onEvent?.({ type: 'uploaded', oneTimePreKeys: oneTime.length, rotated });
    }
    await this.#removeExpired(state, now);
  }

  /**
   * A store that behaves like `store` and reports (through `onEvent`) every committed use of the
   * current or a retired last-resort Kyber prekey.
   *
   * @param store - the store to wrap (usually the one given in the options)
   * @returns a proxy of `store`, with the same type, whose `commit` emits `last-resort-used`
   *   after a successful commit
   */
  observe<S extends ManagedProtocolStore>(store: S): S {
    const emit = (event: PreKeyEvent): void => this.#o.onEvent?.(event);
    return new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== 'commit') {
          // Methods run on the target itself (its #private fields are not on the proxy).
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function'
            ? (value as (...a: unknown[]) => unknown).bind(target)
            : value;
        }
        return async (changes: ChangeSet): Promise<void> => {
          const lastResort = await Promise.all(
            changes.kyberPreKeysUsed.map(
              async (u) => (await target.loadKyberPreKey(u.kyberPreKeyId))?.lastResort === true,
            ),
          );
          await target.commit(changes);
          changes.kyberPreKeysUsed.forEach((u, i) => {
            if (lastResort[i] === true) {
              emit({ type: 'last-resort-used', kyberPreKeyId: u.kyberPreKeyId });
            }
          });
        };
      },
    });
  }

  async #newKyber(
    identity: IdentityKeyPair,
    state: LifecycleState,
    now: number,
  ): Promise<KyberPreKeyRecord> {
    const id = await this.#freeId('kyber', state.nextKyberPreKeyId);
    const record = KyberPreKeyRecord.generate(identity, id, now, {
      lastResort: true,
      random: this.#random,
    });
    await this.#o.store.storeKyberPreKey(record);
    if (state.lastResort !== null) {
      state.retired.push({ kind: 'last-resort', id: state.lastResort.id, retiredAt: now });
    }
    state.lastResort = { id, createdAt: now };
    state.nextKyberPreKeyId = nextId(id);
    return record;
  }

  /** The first id from `start` whose slot is empty in the store (ids wrap at 2^24 − 1, skipping 0). */
  async #freeId(kind: 'one-time' | 'signed' | 'kyber', start: number): Promise<number> {
    let id = start;
    for (let tries = 0; tries < MAX_PREKEY_ID; tries++) {
      const existing =
        kind === 'one-time'
          ? await this.#o.store.loadPreKey(preKeyId(id))
          : kind === 'signed'
            ? await this.#o.store.loadSignedPreKey(signedPreKeyId(id))
            : await this.#o.store.loadKyberPreKey(kyberPreKeyId(id));
      if (existing === null) return id;
      id = nextId(id);
    }
    throw new RangeError(`no free ${kind} prekey id`);
  }

  async #removeExpired(state: LifecycleState, now: number): Promise<void> {
    const keep: Retired[] = [];
    for (const r of state.retired) {
      if (now - r.retiredAt < this.#policy.retention) {
        keep.push(r);
        continue;
      }
      if (r.kind === 'signed') await this.#o.store.removeSignedPreKey(signedPreKeyId(r.id));
      else await this.#o.store.removeKyberPreKey(kyberPreKeyId(r.id));
      this.#o.onEvent?.({ type: 'retired-removed', kind: r.kind, id: r.id });
    }
    if (keep.length !== state.retired.length) {
      state.retired = keep;
      await this.#o.state.save(JSON.stringify(state));
    }
  }

  async #loadState(): Promise<LifecycleState> {
    const json = await this.#o.state.load();
    if (json === null) {
      return {
        nextPreKeyId: 1,
        nextSignedPreKeyId: 1,
        nextKyberPreKeyId: 1,
        signed: null,
        lastResort: null,
        retired: [],
      };
    }
    return parseState(json);
  }
}
