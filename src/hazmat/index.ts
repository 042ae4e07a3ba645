/**
 * **Hazardous materials.** Low-level building blocks of chiffre for experts: raw primitives, key
 * agreement and ratchet steps. Nothing here checks identities, manages sessions, serializes
 * access, or persists anything; misuse (reusing a nonce, a message key, a ratchet step; skipping
 * a signature check) silently destroys the security the protocol provides. Prefer the main entry
 * point (`chiffre`). Each export states the invariant its caller now owns.
 *
 * @module
 */
export {
  aes256CbcDecrypt,
  aes256CbcEncrypt,
  concatBytes,
  equalConstantTime,
  hkdfSha256,
  hmacSha256,
  isLowOrderX25519PublicKey,
  kemDecapsulate,
  kemEncapsulate,
  kemGenerateKeyPair,
  secureRandom,
  sha256,
  sha512,
  wipe,
  x25519Agree,
  x25519PublicKey,
  xeddsaSign,
  xeddsaVerify,
} from '../primitives/index.js';
export type {
  KemEncapsulation,
  KemType,
  RandomSource,
  SerializedKemKeyPair,
} from '../primitives/index.js';
export { agreeAsInitiator, agreeAsResponder } from '../agreement/index.js';
export type {
  InitiatorAgreement,
  InitiatorAgreementParams,
  PqxdhSecrets,
  ResponderAgreementParams,
} from '../agreement/index.js';
export {
  deriveMessageKeys,
  deriveMessageSeed,
  deriveNextChainKey,
  deriveRootStep,
  initializeInitiatorState,
  initializeResponderState,
  ratchetReceiveStep,
  ratchetSendStep,
} from '../ratchet/index.js';
export type {
  ChainKey,
  MessageKeys,
  PendingPreKey,
  ReceiverChain,
  RootStep,
  SenderChain,
  SessionState,
  SkippedMessageKey,
} from '../ratchet/index.js';
export {
  decryptWithRecord,
  decryptWithState,
  encodeAddresses,
  encryptWithRecord,
  initiateSessionFromBundle,
  verifyPreKeyBundle,
} from '../session/index.js';
export type {
  CipherContext,
  EncryptResult,
  RecordDecryptResult,
  StateDecryptResult,
} from '../session/index.js';
export {
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodePreKeySignalMessage,
  encodeSignalMessageBody,
} from '../wire/index.js';
export type { PreKeySignalMessage, SignalMessage, SignalMessageFields } from '../wire/index.js';
