/**
 * Storage: the store interfaces chiffre reads through, the change set it commits, and the
 * in-memory reference adapter. Subpath `chiffre/storage`.
 *
 * @module
 */
export type {
  RecordBackend,
  RecordBatch,
  RecordDelete,
  RecordKind,
  RecordPut,
  StoredRecord,
} from './backend.js';
export { BackendProtocolStore } from './backend-store.js';
export type { BackendStoreOptions } from './backend-store.js';
export { InMemoryProtocolStore } from './memory.js';
export { MemoryBackend } from './memory-backend.js';
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
export { encryptedBackend } from './encrypted.js';
export type { ManagedProtocolStore } from './managed.js';
