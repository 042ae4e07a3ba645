/**
 * The keys layer: key types and their libsignal encodings, branded ids, addresses.
 *
 * @module
 */
export { ProtocolAddress } from './address.js';
export { KeyPair, PrivateKey, PublicKey, publicKeyBytes, publicKeyRaw } from './curve.js';
export { IdentityKeyPair } from './identity.js';
export type { IdentityKey } from './identity.js';
export { deviceId, kyberPreKeyId, preKeyId, registrationId, signedPreKeyId } from './ids.js';
export type {
  Branded,
  DeviceId,
  KyberPreKeyId,
  PreKeyId,
  RegistrationId,
  SignedPreKeyId,
} from './ids.js';
export { IndexedKeys, packedKeyBytes } from './indexed-keys.js';
export type { IndexedKey } from './indexed-keys.js';
export { KemKeyPair, KemPublicKey, KemSecretKey, kemPublicKeyBytes } from './kem.js';
export { INSPECT, installInspect, REDACTED } from './redact.js';
