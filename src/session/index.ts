/**
 * The session layer: the session manager (the only layer that calls a store), the pure session
 * cipher, bundles, and the per-address lock.
 *
 * @module
 */
export { encodeAddresses } from './addresses.js';
export {
  initiateSessionFromBundle,
  spqrMinVersion,
  verifyPreKeyBundle,
  verifyPreKeyBundleAsync,
} from './bundle.js';
export type { InitiatorIdentity, PreKeyBundle, SpqrPolicy } from './bundle.js';
export { decryptWithRecord, decryptWithState, encryptWithRecord } from './cipher.js';
export type {
  CipherContext,
  CiphertextMessage,
  EncryptResult,
  RecordDecryptResult,
  StateDecryptResult,
} from './cipher.js';
export { KeyedLock } from './lock.js';
export { createPreKeyBundle, SessionManager } from './session-manager.js';
export type { DecryptOptions, EncryptOptions, SessionManagerOptions } from './session-manager.js';
export { SessionRecovery } from './recovery.js';
export type { RecoveryOutcome, SessionRecoveryOptions } from './recovery.js';
export { MAX_PREKEY_ID, PreKeyLifecycle } from './prekey-lifecycle.js';
export type {
  PreKeyEvent,
  PreKeyLifecycleOptions,
  PreKeyPolicy,
  PreKeyUpload,
} from './prekey-lifecycle.js';
