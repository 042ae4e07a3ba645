/**
 * The store interfaces chiffre reads through, and the change set it writes through. Types only.
 *
 * Contract (see `docs/storage.md`):
 * - Plain objects can implement these; each method may return a value or a promise.
 * - A missing entry is `null`.
 * - Protocol operations never write piecemeal: each successful operation hands exactly one
 *   {@link ChangeSet} to {@link CommitStore.commit}, which must apply it all or nothing. A failed
 *   operation commits nothing.
 * - Loads return records that the caller may keep; chiffre never mutates a loaded record.
 *
 * @module
 */
import type {
  IdentityKeyPair,
  KyberPreKeyId,
  PreKeyId,
  ProtocolAddress,
  PublicKey,
  SignedPreKeyId,
} from '../keys/index.js';
import type {
  KyberPreKeyRecord,
  PreKeyRecord,
  SessionRecord,
  SignedPreKeyRecord,
} from '../state/index.js';

/** A value or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

/** Why an identity is being checked: we are about to send to it, or we received from it. */
export type Direction = 'sending' | 'receiving';

/** Our identity and the identities of our peers. */
export interface IdentityKeyStore {
  /** Our long-term identity key pair. */
  getIdentityKeyPair(): MaybePromise<IdentityKeyPair>;
  /** Our registration id. */
  getLocalRegistrationId(): MaybePromise<number>;
  /**
   * Whether `identityKey` may be used for `address` in `direction`. Trust on first use: an address
   * with no stored identity is trusted; a different stored identity is the app's decision.
   */
  isTrustedIdentity(
    address: ProtocolAddress,
    identityKey: PublicKey,
    direction: Direction,
  ): MaybePromise<boolean>;
  /** The stored identity of `address`, or `null`. */
  getIdentity(address: ProtocolAddress): MaybePromise<PublicKey | null>;
}

/** One-time (EC) prekeys. */
export interface PreKeyStore {
  /**
   * Load a one-time prekey. Consumed keys are removed through {@link ChangeSet.removedPreKeys}.
   *
   * @param id - the prekey id
   * @returns the record, or `null` when it is unknown or already used
   */
  loadPreKey(id: PreKeyId): MaybePromise<PreKeyRecord | null>;
}

/** Signed prekeys. */
export interface SignedPreKeyStore {
  /**
   * Load a signed prekey.
   *
   * @param id - the signed prekey id
   * @returns the record, or `null` when it is unknown
   */
  loadSignedPreKey(id: SignedPreKeyId): MaybePromise<SignedPreKeyRecord | null>;
}

/** Kyber prekeys. */
export interface KyberPreKeyStore {
  /**
   * Load a Kyber prekey (one-time or last-resort). Uses are recorded through
   * {@link ChangeSet.kyberPreKeysUsed}.
   *
   * @param id - the Kyber prekey id
   * @returns the record, or `null` when it is unknown or a one-time key already used
   */
  loadKyberPreKey(id: KyberPreKeyId): MaybePromise<KyberPreKeyRecord | null>;
}

/** Session records by peer address. */
export interface SessionStore {
  /**
   * Load the session record of a peer device. A versioning store returns it with its
   * {@link SessionRecord.version} set, for compare-and-swap at commit.
   *
   * @param address - the peer device
   * @returns the record, or `null` when there is none
   */
  loadSession(address: ProtocolAddress): MaybePromise<SessionRecord | null>;
}

/** A session record to store. */
export interface SessionWrite {
  /** The peer device the record belongs to. */
  readonly address: ProtocolAddress;
  /** The new record, replacing any stored one. */
  readonly record: SessionRecord;
  /**
   * Compare-and-swap guard: the store version of the record this write replaces (`null` when
   * there was none). A versioning store must refuse the whole commit with a `ConcurrencyError`
   * when the stored record is no longer at this version. `undefined` when the record was loaded
   * from a store that does not version.
   */
  readonly expectedVersion: number | null | undefined;
}

/** An identity to remember for a peer. */
export interface IdentityWrite {
  /** The peer device. */
  readonly address: ProtocolAddress;
  /** The identity key to store for it (replacing any stored one). */
  readonly identityKey: PublicKey;
}

/**
 * A Kyber prekey consumed by an incoming session. One-time keys are deleted; for a last-resort key
 * the store remembers `(kyberPreKeyId, signedPreKeyId, baseKey)` and must refuse the commit when
 * that triple was already recorded (a replayed PreKeySignalMessage).
 */
export interface KyberPreKeyUse {
  /** The Kyber prekey the message used. */
  readonly kyberPreKeyId: KyberPreKeyId;
  /** The signed prekey the message used. */
  readonly signedPreKeyId: SignedPreKeyId;
  /** The initiator's base key from the message. */
  readonly baseKey: PublicKey;
}

/**
 * The application's own writes, run by the store inside the same transaction as the change set
 * (e.g. saving the decrypted message), so both land or neither does. `transaction` is the
 * adapter's transaction handle (documented by each adapter). Adapters whose transactions cannot
 * span an `await` (SQLite) require it to be synchronous.
 */
export type ApplicationWrite = (transaction: unknown) => void | Promise<void>;

/** Every write of one protocol operation. Applied atomically by {@link CommitStore.commit}. */
export interface ChangeSet {
  /** Session records to store, each with its compare-and-swap guard. */
  readonly sessions: readonly SessionWrite[];
  /** Peer identities to remember. */
  readonly identities: readonly IdentityWrite[];
  /** One-time prekeys consumed by a new incoming session. */
  readonly removedPreKeys: readonly PreKeyId[];
  /** Kyber prekeys consumed by a new incoming session (see {@link KyberPreKeyUse}). */
  readonly kyberPreKeysUsed: readonly KyberPreKeyUse[];
  /** Application writes to run inside the same transaction, if any. */
  readonly applicationWrite?: ApplicationWrite | undefined;
}

/** The single write path. */
export interface CommitStore {
  /**
   * Apply every write of `changes`, or none of them, then resolve. Throwing (or rejecting) means
   * nothing was written.
   */
  commit(changes: ChangeSet): MaybePromise<void>;
}

/** Everything a session needs. */
export interface ProtocolStore
  extends
    IdentityKeyStore,
    PreKeyStore,
    SignedPreKeyStore,
    KyberPreKeyStore,
    SessionStore,
    CommitStore {}
