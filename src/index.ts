/**
 * chiffre: end-to-end encryption for TypeScript — the Signal protocol (PQXDH + Double Ratchet),
 * wire-compatible with libsignal.
 *
 * The main entry holds 1:1 sessions and the in-memory store. Prekey upkeep, session recovery
 * and safety numbers have entries of their own: `chiffre/prekeys`, `chiffre/recovery`,
 * `chiffre/fingerprint`.
 *
 * @module
 */
export {
  ConcurrencyError,
  InvalidKeyError,
  InvalidMessageError,
  InvalidRecordError,
  InvalidSignatureError,
  DuplicateMessageError,
  MessageGapTooLargeError,
  MissingPreKeyError,
  SessionNotFoundError,
  SignalError,
  StorageError,
  UnsupportedVersionError,
  UntrustedIdentityError,
  isSignalError,
} from './errors.js';
export type { AnySignalError, SignalErrorCode, SuggestedAction } from './errors.js';
export {
  IdentityKeyPair,
  KemKeyPair,
  KemPublicKey,
  KemSecretKey,
  KeyPair,
  PrivateKey,
  ProtocolAddress,
  PublicKey,
  deviceId,
  kyberPreKeyId,
  preKeyId,
  registrationId,
  signedPreKeyId,
} from './keys/index.js';
export type {
  DeviceId,
  IdentityKey,
  KyberPreKeyId,
  PreKeyId,
  RegistrationId,
  SignedPreKeyId,
} from './keys/index.js';
export {
  KEM_TYPE_KYBER1024,
  KEM_TYPE_MLKEM1024,
  MESSAGE_TYPE_PREKEY,
  MESSAGE_TYPE_WHISPER,
} from './constants.js';
export {
  KyberPreKeyRecord,
  PreKeyRecord,
  SessionRecord,
  SignedPreKeyRecord,
} from './state/index.js';
export { createPreKeyBundle, MAX_PREKEY_ID, SessionManager } from './session/index.js';
export type {
  CiphertextMessage,
  DecryptOptions,
  EncryptOptions,
  PreKeyBundle,
  SessionManagerOptions,
  SpqrPolicy,
} from './session/index.js';
export type { SpqrStatus } from './spqr/index.js';
export { InMemoryProtocolStore } from './storage/index.js';
export type { Direction, ProtocolStore } from './storage/index.js';
export type { RandomSource } from './primitives/index.js';
