/**
 * Storage: the store interfaces chiffre reads through, the change set it commits, and the
 * in-memory reference adapter. Subpath `chiffre/storage`.
 *
 * @module
 */
export { InMemoryProtocolStore } from './memory.js';
export type { StoreSnapshot } from './memory.js';
export type {
  ApplicationWrite,
  ChangeSet,
  CommitStore,
  Direction,
  IdentityKeyStore,
  IdentityWrite,
  KyberPreKeyStore,
  KyberPreKeyUse,
  MaybePromise,
  PreKeyStore,
  ProtocolStore,
  SessionStore,
  SessionWrite,
  SignedPreKeyStore,
} from './types.js';
