/**
 * **Hazardous materials.** Low-level building blocks of chiffre for experts: raw primitives, key
 * agreement and ratchet steps. Nothing here checks identities, manages sessions, serializes
 * access, or persists anything; misuse (reusing a nonce, a message key, a ratchet step; skipping
 * a signature check) silently destroys the security the protocol provides. Prefer the main entry
 * point (`chiffre`). Each export states the invariant its caller now owns.
 *
 * @example
 * ```ts
 * import { IdentityKeyPair, KemKeyPair, KeyPair } from 'chiffre';
 * import { agreeAsInitiator, agreeAsResponder, equalConstantTime, wipe } from 'chiffre/hazmat';
 *
 * // PQXDH by hand. The caller now owns what SessionManager would do: verify both prekey
 * // signatures, check identity trust, never reuse a base key, wipe the secrets.
 * const aliceIdentity = IdentityKeyPair.generate();
 * const bobIdentity = IdentityKeyPair.generate();
 * const bobSignedPreKey = KeyPair.generate();
 * const bobKyberPreKey = KemKeyPair.generate();
 * const baseKey = KeyPair.generate(); // fresh, used once
 * const alice = agreeAsInitiator({
 *   ourIdentity: aliceIdentity,
 *   ourBaseKey: baseKey,
 *   theirIdentityKey: bobIdentity.publicKey,
 *   theirSignedPreKey: bobSignedPreKey.publicKey,
 *   theirKyberPreKey: bobKyberPreKey.publicKey,
 * });
 * const bob = agreeAsResponder({
 *   ourIdentity: bobIdentity,
 *   ourSignedPreKey: bobSignedPreKey,
 *   ourKyberSecretKey: bobKyberPreKey.secretKey,
 *   theirIdentityKey: aliceIdentity.publicKey,
 *   theirBaseKey: baseKey.publicKey,
 *   kyberCiphertext: alice.kyberCiphertext,
 * });
 * equalConstantTime(alice.rootKey, bob.rootKey); // true
 * wipe(alice.rootKey, alice.chainKey, alice.pqrAuthKey, bob.rootKey, bob.chainKey, bob.pqrAuthKey);
 * ```
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
  webCryptoEd25519Available,
  webCryptoX25519Available,
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
  deriveChainStep,
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
} from '../ratchet/index.js';
export {
  decryptWithRecord,
  decryptWithState,
  encodeAddresses,
  encryptWithRecord,
  initiateSessionFromBundle,
  spqrMinVersion,
  verifyPreKeyBundle,
  verifyPreKeyBundleAsync,
} from '../session/index.js';
export type {
  CipherContext,
  EncryptResult,
  InitiatorIdentity,
  PreKeyBundle,
  RecordDecryptResult,
  SpqrPolicy,
  StateDecryptResult,
} from '../session/index.js';
export {
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodePreKeySignalMessage,
  encodeSignalMessageBody,
} from '../wire/index.js';
export type { PreKeySignalMessage, SignalMessage, SignalMessageFields } from '../wire/index.js';
export { IndexedKeys } from '../keys/index.js';
export type { IndexedKey } from '../keys/index.js';
