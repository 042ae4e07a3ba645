/**
 * PQXDH key agreement as libsignal implements it (message version 4):
 *
 * ```
 * IKM = 0xFF×32 ‖ DH(IK_A, SPK_B) ‖ DH(EK_A, IK_B) ‖ DH(EK_A, SPK_B) [‖ DH(EK_A, OPK_B)] ‖ SS_kem
 * (RK, CK, PQR) = HKDF-SHA256(salt = none, IKM, "WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024", 96)
 * ```
 *
 * Pure functions: no identity trust, no signature checks on bundles (the session layer does
 * those first), no stores. Facts: `docs/protocol.md` (PQXDH).
 *
 * @module
 */
import { KDF_INFO_PQXDH, PQXDH_DISCONTINUITY_BYTES, PQXDH_OUTPUT_LENGTH } from '../constants.js';
import { InvalidKeyError } from '../errors.js';
import {
  type IdentityKeyPair,
  type KemPublicKey,
  type KemSecretKey,
  type KeyPair,
  type PublicKey,
  publicKeyRaw,
} from '../keys/index.js';
import {
  concatBytes,
  hkdfSha256,
  isCanonicalX25519PublicKey,
  type RandomSource,
  secureRandom,
  wipe,
} from '../primitives/index.js';

/** The 96 bytes of agreed secret, split as libsignal splits them. */
export interface PqxdhSecrets {
  /** Initial root key. */
  readonly rootKey: Uint8Array;
  /** Initial chain key (index 0). */
  readonly chainKey: Uint8Array;
  /** Third 32 bytes: the SPQR authentication key. */
  readonly pqrAuthKey: Uint8Array;
}

/** What the initiator contributes and what it knows of the responder. */
export interface InitiatorAgreementParams {
  /** Our identity key pair (IK_A). */
  readonly ourIdentity: IdentityKeyPair;
  /** A fresh ephemeral key pair, used once. */
  readonly ourBaseKey: KeyPair;
  /** The responder's identity key (IK_B), already trusted. */
  readonly theirIdentityKey: PublicKey;
  /** The responder's signed prekey (SPK_B), signature already verified. */
  readonly theirSignedPreKey: PublicKey;
  /** The responder's one-time prekey (OPK_B), when the bundle had one. */
  readonly theirOneTimePreKey?: PublicKey | undefined;
  /** The responder's Kyber prekey, signature already verified. */
  readonly theirKyberPreKey: KemPublicKey;
  /** Randomness for the KEM encapsulation; the platform CSPRNG by default. */
  readonly random?: RandomSource;
}

/** The initiator's output: the secrets and the KEM ciphertext to send. */
export interface InitiatorAgreement extends PqxdhSecrets {
  /** `type ‖ ciphertext` for PreKeySignalMessage field 8. */
  readonly kyberCiphertext: Uint8Array;
}

function deriveSecrets(parts: Uint8Array[]): PqxdhSecrets {
  const ikm = concatBytes(PQXDH_DISCONTINUITY_BYTES, ...parts);
  const out = hkdfSha256(ikm, undefined, KDF_INFO_PQXDH, PQXDH_OUTPUT_LENGTH);
  const secrets = {
    rootKey: out.slice(0, 32),
    chainKey: out.slice(32, 64),
    pqrAuthKey: out.slice(64, 96),
  };
  wipe(ikm, out, ...parts);
  return secrets;
}

/**
 * Initiator side of PQXDH. The caller has already checked the bundle's signatures and the
 * identity's trust.
 *
 * Invariant the caller owns (hazmat): `ourBaseKey` is fresh and never reused.
 *
 * @param p - our keys and the responder's verified bundle keys
 * @returns the root, chain and SPQR keys, and the KEM ciphertext to send
 * @throws {InvalidKeyError} `ERR_INVALID_KEY` for a low-order key or a malformed KEM key
 */
export function agreeAsInitiator(p: InitiatorAgreementParams): InitiatorAgreement {
  const dh1 = p.ourIdentity.privateKey.calculateAgreement(p.theirSignedPreKey);
  const dh2 = p.ourBaseKey.privateKey.calculateAgreement(p.theirIdentityKey);
  const dh3 = p.ourBaseKey.privateKey.calculateAgreement(p.theirSignedPreKey);
  const parts = [dh1, dh2, dh3];
  if (p.theirOneTimePreKey !== undefined) {
    parts.push(p.ourBaseKey.privateKey.calculateAgreement(p.theirOneTimePreKey));
  }
  const kem = p.theirKyberPreKey.encapsulate(p.random ?? secureRandom);
  parts.push(kem.sharedSecret);
  return { ...deriveSecrets(parts), kyberCiphertext: kem.ciphertext };
}

/** What the responder holds and what arrived in the PreKeySignalMessage. */
export interface ResponderAgreementParams {
  /** Our identity key pair (IK_B). */
  readonly ourIdentity: IdentityKeyPair;
  /** The signed prekey pair the message names (SPK_B). */
  readonly ourSignedPreKey: KeyPair;
  /** The one-time prekey pair the message names (OPK_B), if any. */
  readonly ourOneTimePreKey?: KeyPair | undefined;
  /** The secret key of the Kyber prekey the message names. */
  readonly ourKyberSecretKey: KemSecretKey;
  /** The initiator's identity key (IK_A), from the message. */
  readonly theirIdentityKey: PublicKey;
  /** The initiator's base key (EK_A), from the message. */
  readonly theirBaseKey: PublicKey;
  /** `type ‖ ciphertext` from PreKeySignalMessage field 8. */
  readonly kyberCiphertext: Uint8Array;
}

/**
 * Responder side of PQXDH. Refuses a non-canonical base key first, as libsignal does.
 *
 * @param p - our keys and what arrived in the PreKeySignalMessage
 * @returns the root, chain and SPQR keys
 * @throws {InvalidKeyError} `ERR_INVALID_KEY` for a non-canonical or low-order key
 * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` for a KEM ciphertext of the wrong type or length
 */
export function agreeAsResponder(p: ResponderAgreementParams): PqxdhSecrets {
  if (!isCanonicalX25519PublicKey(publicKeyRaw(p.theirBaseKey))) {
    throw new InvalidKeyError('incoming base key is invalid', 'curve25519-public');
  }
  const dh1 = p.ourSignedPreKey.privateKey.calculateAgreement(p.theirIdentityKey);
  const dh2 = p.ourIdentity.privateKey.calculateAgreement(p.theirBaseKey);
  const dh3 = p.ourSignedPreKey.privateKey.calculateAgreement(p.theirBaseKey);
  const parts = [dh1, dh2, dh3];
  if (p.ourOneTimePreKey !== undefined) {
    parts.push(p.ourOneTimePreKey.privateKey.calculateAgreement(p.theirBaseKey));
  }
  parts.push(p.ourKyberSecretKey.decapsulate(p.kyberCiphertext));
  return deriveSecrets(parts);
}
