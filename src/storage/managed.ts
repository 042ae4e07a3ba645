/**
 * {@link ManagedProtocolStore}: a {@link ProtocolStore} plus the application-side methods an app
 * uses to manage its keys and sessions outside protocol operations (publishing prekeys, accepting
 * a changed identity, importing or resetting a session). Types only.
 *
 * chiffre's protocol code never calls these; `SessionManager` only reads and commits. They are
 * named here so that every adapter offers the same management surface and the conformance kit
 * (`chiffre/testing`) can drive any adapter. {@link InMemoryProtocolStore} and
 * {@link BackendProtocolStore} implement it.
 *
 * @module
 */
import type {
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
import type { MaybePromise, ProtocolStore } from './types.js';

/** A {@link ProtocolStore} with the application's management methods. */
export interface ManagedProtocolStore extends ProtocolStore {
  /**
   * Store (or replace) the identity of `address`, e.g. after the user accepted a changed safety
   * number. Returns `true` when a different stored identity was replaced, `false` when the address
   * was new or the key unchanged.
   */
  saveIdentity(address: ProtocolAddress, identityKey: PublicKey): MaybePromise<boolean>;
  /** Store (or replace) a one-time prekey. */
  storePreKey(record: PreKeyRecord): MaybePromise<void>;
  /** Delete a one-time prekey (deleting a missing one is not an error). */
  removePreKey(id: PreKeyId): MaybePromise<void>;
  /** Store (or replace) a signed prekey. */
  storeSignedPreKey(record: SignedPreKeyRecord): MaybePromise<void>;
  /** Delete a signed prekey (deleting a missing one is not an error). */
  removeSignedPreKey(id: SignedPreKeyId): MaybePromise<void>;
  /** Store (or replace) a Kyber prekey, one-time or last-resort. */
  storeKyberPreKey(record: KyberPreKeyRecord): MaybePromise<void>;
  /** Delete a Kyber prekey (deleting a missing one is not an error). */
  removeKyberPreKey(id: KyberPreKeyId): MaybePromise<void>;
  /**
   * Store a session record outside any protocol operation (an import), without a version check.
   * A versioning store still advances the record's version, so a concurrent protocol operation
   * holding the old copy fails its compare-and-swap.
   */
  storeSession(address: ProtocolAddress, record: SessionRecord): MaybePromise<void>;
  /**
   * Delete the session with `address` (e.g. the user reset it). A protocol operation that loaded
   * the record before the removal must fail its compare-and-swap, not resurrect it.
   */
  removeSession(address: ProtocolAddress): MaybePromise<void>;
}
