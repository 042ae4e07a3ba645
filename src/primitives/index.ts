/**
 * The primitives layer: the only importer of `@noble/*`. Bytes in, bytes out, no protocol
 * knowledge.
 *
 * @module
 */
export { aes256CbcDecrypt, aes256CbcEncrypt } from './aes-cbc.js';
export { assertBytes, concatBytes, equalBytes, equalConstantTime, toHex, wipe } from './bytes.js';
export { hkdfSha256, hmacSha256, sha256, sha3_256, sha512, shake256 } from './hash.js';
export { HmacSha256Key, hmacSha256Parts } from './sha256.js';
export {
  checkKemPublicKey,
  checkKemSecretKey,
  isKemType,
  KEM1024_CIPHERTEXT_LENGTH,
  KEM1024_PUBLIC_KEY_LENGTH,
  KEM1024_SECRET_KEY_LENGTH,
  KEM_SHARED_SECRET_LENGTH,
  kemDecapsulate,
  kemEncapsulate,
  kemGenerateKeyPair,
  kemPublicKeyFromSecretKey,
} from './kem.js';
export type { KemEncapsulation, KemType, SerializedKemKeyPair } from './kem.js';
export {
  decodeEncapsState,
  encodeEncapsState,
  MLKEM768_CT1_LENGTH,
  MLKEM768_CT2_LENGTH,
  MLKEM768_DK_LENGTH,
  MLKEM768_EK_LENGTH,
  MLKEM768_ENCAPS_STATE_LENGTH,
  MLKEM768_HEADER_LENGTH,
  mlkem768Decapsulate,
  mlkem768Encaps1,
  mlkem768Encaps2,
  mlkem768Generate,
  mlkem768HeaderMatchesEk,
} from './mlkem768-incremental.js';
export type {
  MlKem768Encaps1Result,
  MlKem768EncapsState,
  MlKem768KeyPair,
} from './mlkem768-incremental.js';
export { drawRandom, secureRandom } from './random.js';
export type { RandomSource } from './random.js';
export {
  clampPrivateKey,
  generateX25519PrivateKey,
  isCanonicalX25519PublicKey,
  isLowOrderX25519PublicKey,
  x25519Agree,
  x25519PublicKey,
} from './x25519.js';
export { xeddsaEdwardsPublicKey, xeddsaSign, xeddsaSignWithPoint, xeddsaVerify } from './xeddsa.js';
export {
  AEAD_KEY_LENGTH,
  AEAD_NONCE_LENGTH,
  AEAD_OVERHEAD,
  AEAD_TAG_LENGTH,
  aeadOpen,
  aeadSeal,
} from './aead.js';
export {
  webCryptoEd25519Available,
  webCryptoXeddsaVerify,
  webCryptoX25519Agree,
  webCryptoX25519Available,
  webCryptoX25519Generate,
} from './webcrypto.js';
