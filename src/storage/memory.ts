/**
 * The in-memory reference store. Records are kept serialized, as a database would keep them, so
 * every load returns a fresh copy and a commit either replaces bytes or leaves them alone.
 *
 * @module
 */
import { ConcurrencyError, InvalidMessageError } from '../errors.js';
import {
  type IdentityKeyPair,
  type KyberPreKeyId,
  type PreKeyId,
  type ProtocolAddress,
  PublicKey,
  type SignedPreKeyId,
} from '../keys/index.js';
import { toHex } from '../primitives/index.js';
import {
  KyberPreKeyRecord,
  PreKeyRecord,
  SessionRecord,
  sessionRecordBytes,
  SignedPreKeyRecord,
} from '../state/index.js';
import type { ChangeSet, Direction, KyberPreKeyUse, ProtocolStore } from './types.js';

/** What {@link InMemoryProtocolStore.snapshot} returns: every stored byte string by key. */
export type StoreSnapshot = ReadonlyMap<string, string>;

/**
 * A complete {@link ProtocolStore} in memory, with trust on first use. Nothing survives the
 * process: use it for tests and ephemeral sessions, and {@link BackendProtocolStore} (SQLite,
 * IndexedDB) for anything durable.
 *
 * @example
 * ```ts
 * import {
 *   IdentityKeyPair,
 *   InMemoryProtocolStore,
 *   KyberPreKeyRecord,
 *   PreKeyRecord,
 *   SignedPreKeyRecord,
 * } from 'chiffre';
 *
 * const identity = IdentityKeyPair.generate();
 * const store = new InMemoryProtocolStore(identity, 1234);
 * store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, 1, Date.now()));
 * store.storeKyberPreKey(KyberPreKeyRecord.generate(identity, 1, Date.now(), { lastResort: true }));
 * store.storePreKey(PreKeyRecord.generate(1));
 * ```
 */
export class InMemoryProtocolStore implements ProtocolStore {
  readonly #identity: IdentityKeyPair;
  readonly #registrationId: number;
  readonly #identities = new Map<string, Uint8Array>();
  readonly #sessions = new Map<string, Uint8Array>();
  readonly #sessionVersions = new Map<string, number>();
  readonly #preKeys = new Map<number, Uint8Array>();
  readonly #signedPreKeys = new Map<number, Uint8Array>();
  readonly #kyberPreKeys = new Map<number, Uint8Array>();
  readonly #kyberUses = new Set<string>();

  /**
   * @param identity - this device's identity key pair
   * @param registrationId - this device's registration id (not range-checked here)
   */
  constructor(identity: IdentityKeyPair, registrationId: number) {
    this.#identity = identity;
    this.#registrationId = registrationId;
  }

  // -- IdentityKeyStore ------------------------------------------------------------------------

  getIdentityKeyPair(): IdentityKeyPair {
    return this.#identity;
  }

  getLocalRegistrationId(): number {
    return this.#registrationId;
  }

  /** Trusted when nothing is stored for `address` or the stored key is the same. */
  isTrustedIdentity(
    address: ProtocolAddress,
    identityKey: PublicKey,
    _direction: Direction,
  ): boolean {
    const stored = this.#identities.get(address.toString());
    return stored === undefined || PublicKey.deserialize(stored).equals(identityKey);
  }

  getIdentity(address: ProtocolAddress): PublicKey | null {
    const stored = this.#identities.get(address.toString());
    return stored === undefined ? null : PublicKey.deserialize(stored);
  }

  /**
   * Store (or replace) the identity of `address`, e.g. after the user confirmed a changed safety
   * number. Returns whether an existing different identity was replaced.
   */
  saveIdentity(address: ProtocolAddress, identityKey: PublicKey): boolean {
    const key = address.toString();
    const stored = this.#identities.get(key);
    this.#identities.set(key, identityKey.serialize());
    return stored !== undefined && !PublicKey.deserialize(stored).equals(identityKey);
  }

  // -- Prekeys ---------------------------------------------------------------------------------

  /**
   * Load a one-time prekey (a fresh copy).
   *
   * @param id - the prekey id
   * @returns the record, or `null` when it is unknown or already used
   */
  loadPreKey(id: PreKeyId): PreKeyRecord | null {
    const b = this.#preKeys.get(id);
    return b === undefined ? null : PreKeyRecord.deserialize(b);
  }

  /**
   * Store (or replace) a one-time prekey under its id.
   *
   * @param record - the prekey
   */
  storePreKey(record: PreKeyRecord): void {
    this.#preKeys.set(record.id, record.serialize());
  }

  /**
   * Delete a one-time prekey; an unknown id is ignored.
   *
   * @param id - the prekey id
   */
  removePreKey(id: PreKeyId): void {
    this.#preKeys.delete(id);
  }

  /**
   * Load a signed prekey (a fresh copy).
   *
   * @param id - the signed prekey id
   * @returns the record, or `null` when it is unknown
   */
  loadSignedPreKey(id: SignedPreKeyId): SignedPreKeyRecord | null {
    const b = this.#signedPreKeys.get(id);
    return b === undefined ? null : SignedPreKeyRecord.deserialize(b);
  }

  /**
   * Store (or replace) a signed prekey under its id.
   *
   * @param record - the signed prekey
   */
  storeSignedPreKey(record: SignedPreKeyRecord): void {
    this.#signedPreKeys.set(record.id, record.serialize());
  }

  /**
   * Delete a signed prekey; an unknown id is ignored.
   *
   * @param id - the signed prekey id
   */
  removeSignedPreKey(id: SignedPreKeyId): void {
    this.#signedPreKeys.delete(id);
  }

  /**
   * Load a Kyber prekey (a fresh copy).
   *
   * @param id - the Kyber prekey id
   * @returns the record, or `null` when it is unknown or a one-time key already used
   */
  loadKyberPreKey(id: KyberPreKeyId): KyberPreKeyRecord | null {
    const b = this.#kyberPreKeys.get(id);
    return b === undefined ? null : KyberPreKeyRecord.deserialize(b);
  }

  /**
   * Store (or replace) a Kyber prekey under its id.
   *
   * @param record - the Kyber prekey (one-time or last-resort)
   */
  storeKyberPreKey(record: KyberPreKeyRecord): void {
    this.#kyberPreKeys.set(record.id, record.serialize());
  }

  /**
   * Delete a Kyber prekey; an unknown id is ignored. The recorded uses of a last-resort key are
   * kept.
   *
   * @param id - the Kyber prekey id
   */
  removeKyberPreKey(id: KyberPreKeyId): void {
    this.#kyberPreKeys.delete(id);
    // Its last-resort bookkeeping can never match again: drop it, so it stays bounded.
    const prefix = `${String(id)}:`;
    for (const use of [...this.#kyberUses]) if (use.startsWith(prefix)) this.#kyberUses.delete(use);
  }

  /**
   * Record the use of a Kyber prekey: a one-time key is deleted; a last-resort key remembers the
   * `(id, signedPreKeyId, baseKey)` triple and a repeat is refused.
   *
   * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` when a last-resort use repeats
   */
  markKyberPreKeyUsed(use: KyberPreKeyUse): void {
    this.#checkKyberUse(use);
    this.#applyKyberUse(use);
  }

  // -- Sessions --------------------------------------------------------------------------------

  /** The stored record, tagged with its version (for compare-and-swap at commit). */
  loadSession(address: ProtocolAddress): SessionRecord | null {
    const key = address.toString();
    const b = this.#sessions.get(key);
    return b === undefined ? null : SessionRecord.deserialize(b, this.#sessionVersions.get(key));
  }

  /** Store a record directly (outside any protocol operation), bumping its version. */
  storeSession(address: ProtocolAddress, record: SessionRecord): void {
    const key = address.toString();
    this.#sessions.set(key, sessionRecordBytes(record));
    this.#sessionVersions.set(key, (this.#sessionVersions.get(key) ?? 0) + 1);
  }

  /** Delete the session with `address` (e.g. after the user reset it). */
  removeSession(address: ProtocolAddress): void {
    const key = address.toString();
    this.#sessions.delete(key);
    this.#sessionVersions.set(key, (this.#sessionVersions.get(key) ?? 0) + 1);
  }

  // -- Commit ----------------------------------------------------------------------------------

  /**
   * Apply a change set all or nothing: everything is validated (versions, Kyber reuse) and
   * serialized before any write; the application write runs first (with `undefined` as its
   * transaction) and, if it throws, nothing is written.
   *
   * @throws {ConcurrencyError} `ERR_CONCURRENT_MODIFICATION` when a session changed since it was loaded
   * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` when a last-resort Kyber use repeats
   */
  commit(changes: ChangeSet): void | Promise<void> {
    this.#validate(changes);
    const pending = changes.applicationWrite?.(undefined);
    if (pending instanceof Promise) {
      return pending.then(() => {
        this.#validate(changes);
        this.#apply(changes);
      });
    }
    this.#apply(changes);
    return undefined;
  }

  #validate(changes: ChangeSet): void {
    for (const w of changes.sessions) {
      if (w.expectedVersion === undefined) continue;
      const key = w.address.toString();
      // A removed record counts as absent, but its counter survives: no version is reused.
      const current = this.#sessions.has(key) ? (this.#sessionVersions.get(key) ?? 0) : null;
      if (current !== w.expectedVersion) throw new ConcurrencyError(`session ${key}`);
    }
    for (const use of changes.kyberPreKeysUsed) this.#checkKyberUse(use);
  }

  #apply(changes: ChangeSet): void {
    const sessions = changes.sessions.map(
      (s) => [s.address.toString(), sessionRecordBytes(s.record)] as const,
    );
    const identities = changes.identities.map(
      (i) => [i.address.toString(), i.identityKey.serialize()] as const,
    );
    for (const [k, v] of sessions) {
      this.#sessions.set(k, v);
      this.#sessionVersions.set(k, (this.#sessionVersions.get(k) ?? 0) + 1);
    }
    for (const [k, v] of identities) this.#identities.set(k, v);
    for (const id of changes.removedPreKeys) this.#preKeys.delete(id);
    for (const use of changes.kyberPreKeysUsed) this.#applyKyberUse(use);
  }

  /** Every stored byte string, hex-encoded, keyed by kind and id: for before/after comparisons. */
  snapshot(): StoreSnapshot {
    const out = new Map<string, string>();
    const add = (prefix: string, m: Map<string | number, Uint8Array>): void => {
      for (const [k, v] of m) out.set(`${prefix}:${String(k)}`, toHex(v));
    };
    add('identity', this.#identities);
    add('session', this.#sessions);
    add('prekey', this.#preKeys);
    add('signed-prekey', this.#signedPreKeys);
    add('kyber-prekey', this.#kyberPreKeys);
    for (const u of this.#kyberUses) out.set(`kyber-use:${u}`, '');
    return out;
  }

  #kyberUseKey(use: KyberPreKeyUse): string {
    return `${String(use.kyberPreKeyId)}:${String(use.signedPreKeyId)}:${use.baseKey.toHex()}`;
  }

  #checkKyberUse(use: KyberPreKeyUse): void {
    const b = this.#kyberPreKeys.get(use.kyberPreKeyId);
    if (b === undefined) return;
    if (this.#kyberUses.has(this.#kyberUseKey(use))) {
      throw new InvalidMessageError(
        'last-resort Kyber prekey reused with the same base key',
        'prekey',
      );
    }
  }

  #applyKyberUse(use: KyberPreKeyUse): void {
    const b = this.#kyberPreKeys.get(use.kyberPreKeyId);
    if (b === undefined) return;
    if (KyberPreKeyRecord.deserialize(b).lastResort) this.#kyberUses.add(this.#kyberUseKey(use));
    else this.#kyberPreKeys.delete(use.kyberPreKeyId);
  }

  /**
   * The JSON rendering: the class tag and this device's public identity key only.
   *
   * @returns the class tag and the identity key's hex
   */
  toJSON(): {
    /** Always `'InMemoryProtocolStore'`. */
    type: 'InMemoryProtocolStore';
    /** Lower-case hex of this device's serialized identity key. */
    identity: string;
  } {
    return { type: 'InMemoryProtocolStore', identity: this.#identity.publicKey.toHex() };
  }

  /**
   * A short rendering with the public identity key only.
   *
   * @returns `InMemoryProtocolStore(<identity hex>)`
   */
  toString(): string {
    return `InMemoryProtocolStore(${this.#identity.publicKey.toHex()})`;
  }
}
