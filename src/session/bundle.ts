/**
 * Prekey bundles: what a device publishes so others can start a session with it, and the
 * initiator's side of session creation from a bundle (signature checks, then PQXDH, then the
 * first ratchet state). Pure: identity trust and storage are the session manager's job.
 *
 * @module
 */
import { CIPHERTEXT_MESSAGE_CURRENT_VERSION } from '../constants.js';
import { InvalidKeyError, InvalidMessageError, InvalidSignatureError } from '../errors.js';
import {
  type IdentityKeyPair,
  KeyPair,
  type KemPublicKey,
  kemPublicKeyBytes,
  type PublicKey,
  publicKeyBytes,
} from '../keys/index.js';
import { assertBytes, type RandomSource } from '../primitives/index.js';
import { agreeAsInitiator } from '../agreement/index.js';
import { initializeInitiatorState, type SessionState } from '../ratchet/index.js';
import { initialPqRatchetState } from '../spqr/index.js';

/** A device's published keys. One-time prekey optional; the Kyber prekey is required. */
export interface PreKeyBundle {
  /** The device's registration id. */
  readonly registrationId: number;
  /** The device id within the account. */
  readonly deviceId: number;
  /** One-time prekey id, present exactly when `preKey` is. */
  readonly preKeyId?: number | undefined;
  /** The one-time (EC) prekey's public key, when the server had one left. */
  readonly preKey?: PublicKey | undefined;
  /** The signed prekey id. */
  readonly signedPreKeyId: number;
  /** The signed prekey's public key. */
  readonly signedPreKey: PublicKey;
  /** XEdDSA signature by `identityKey` over the 33-byte serialized signed prekey. */
  readonly signedPreKeySignature: Uint8Array;
  /** The Kyber prekey id (one-time or last-resort). */
  readonly kyberPreKeyId: number;
  /** The Kyber prekey's public key. */
  readonly kyberPreKey: KemPublicKey;
  /** XEdDSA signature by `identityKey` over the serialized Kyber prekey (type byte included). */
  readonly kyberPreKeySignature: Uint8Array;
  /** The device's identity key; it signs both prekeys. */
  readonly identityKey: PublicKey;
}

/** Our side of a new outgoing session. */
export interface InitiatorIdentity {
  /** Our identity key pair. */
  readonly identity: IdentityKeyPair;
  /** Our registration id, sent in PreKeySignalMessages. */
  readonly registrationId: number;
}

/**
 * Which SPQR versions a new session accepts from the peer: `'require-v1'` (the default, as
 * libsignal 0.92+) refuses a peer without SPQR; `'allow-v0'` (as libsignal 0.90) falls back to no
 * SPQR for the whole session when the peer never speaks it.
 */
export type SpqrPolicy = 'require-v1' | 'allow-v0';

/**
 * The minimum SPQR version a policy requires.
 *
 * @param policy - the session's SPQR policy
 * @returns `0` for `'allow-v0'`, `1` for `'require-v1'`
 */
export function spqrMinVersion(policy: SpqrPolicy): 0 | 1 {
  return policy === 'allow-v0' ? 0 : 1;
}

/**
 * Verify a bundle's two signatures and key shapes. Throws on the first problem.
 *
 * @param bundle - the bundle as fetched from the server
 * @throws {InvalidSignatureError} `ERR_INVALID_SIGNATURE` for a bad signed-prekey or Kyber signature
 * @throws {InvalidKeyError} `ERR_INVALID_KEY` for a low-order curve key
 * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` for an inconsistent bundle
 */
export function verifyPreKeyBundle(bundle: PreKeyBundle): void {
  checkBundleShape(bundle);
  const { identityKey } = bundle;
  checkBundleSignatures(
    bundle,
    identityKey.verifySignature(publicKeyBytes(bundle.signedPreKey), bundle.signedPreKeySignature),
    identityKey.verifySignature(kemPublicKeyBytes(bundle.kyberPreKey), bundle.kyberPreKeySignature),
  );
}

/**
 * {@link verifyPreKeyBundle} with the signatures checked on the platform's native Ed25519 where
 * it exists ({@link PublicKey.verifySignatureAsync}): the same checks, errors and verdicts.
 *
 * @param bundle - the bundle as fetched from the server
 * @returns when the bundle is verified
 * @throws {InvalidSignatureError} `ERR_INVALID_SIGNATURE` for a bad signed-prekey or Kyber signature
 * @throws {InvalidKeyError} `ERR_INVALID_KEY` for a low-order curve key
 * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` for an inconsistent bundle
 */
export async function verifyPreKeyBundleAsync(bundle: PreKeyBundle): Promise<void> {
  checkBundleShape(bundle);
  const { identityKey } = bundle;
  const [signedOk, kyberOk] = await Promise.all([
    identityKey.verifySignatureAsync(
      publicKeyBytes(bundle.signedPreKey),
      bundle.signedPreKeySignature,
    ),
    identityKey.verifySignatureAsync(
      kemPublicKeyBytes(bundle.kyberPreKey),
      bundle.kyberPreKeySignature,
    ),
  ]);
  checkBundleSignatures(bundle, signedOk, kyberOk);
}

function checkBundleShape(bundle: PreKeyBundle): void {
  if ((bundle.preKeyId === undefined) !== (bundle.preKey === undefined)) {
    throw new InvalidMessageError('one-time prekey id and key must come together', 'bundle');
  }
  assertBytes(bundle.signedPreKeySignature, 'signedPreKeySignature');
  assertBytes(bundle.kyberPreKeySignature, 'kyberPreKeySignature');
}

/** Report the signature verdicts, then the key shapes, in that order. */
function checkBundleSignatures(bundle: PreKeyBundle, signedOk: boolean, kyberOk: boolean): void {
  if (!signedOk) throw new InvalidSignatureError('signed prekey signature is invalid');
  if (!kyberOk) throw new InvalidSignatureError('Kyber prekey signature is invalid');
  for (const [what, key] of [
    ['identity key', bundle.identityKey],
    ['signed prekey', bundle.signedPreKey],
    ['one-time prekey', bundle.preKey],
  ] as const) {
    if (key?.isLowOrder() === true)
      throw new InvalidKeyError(`low-order ${what}`, 'curve25519-public');
  }
}

/**
 * Create the initiator's session state from a verified bundle.
 *
 * Invariant the caller owns (hazmat): the bundle was verified with {@link verifyPreKeyBundle} and
 * its identity is trusted; keys passed in `fresh` are new and used nowhere else.
 *
 * @param bundle - the verified bundle
 * @param ours - our identity key pair and registration id
 * @param nowSeconds - current time in seconds since the epoch (starts the 30-day
 *   unacknowledged-session clock)
 * @param random - the randomness source
 * @param policy - which SPQR versions to accept from the peer; `'require-v1'` by default
 * @param fresh - a base key and first ratchet key pair prepared by the caller (otherwise generated)
 * @returns the initiator's first session state, with pending prekey data
 * @throws {InvalidKeyError} `ERR_INVALID_KEY` when an agreement hits a low-order key
 */
export function initiateSessionFromBundle(
  bundle: PreKeyBundle,
  ours: InitiatorIdentity,
  nowSeconds: number,
  random: RandomSource,
  policy: SpqrPolicy = 'require-v1',
  fresh: { readonly baseKey?: KeyPair; readonly ratchetKeyPair?: KeyPair } = {},
): SessionState {
  const baseKey = fresh.baseKey ?? KeyPair.generate(random);
  const agreement = agreeAsInitiator({
    ourIdentity: ours.identity,
    ourBaseKey: baseKey,
    theirIdentityKey: bundle.identityKey,
    theirSignedPreKey: bundle.signedPreKey,
    theirOneTimePreKey: bundle.preKey,
    theirKyberPreKey: bundle.kyberPreKey,
    random,
  });
  return initializeInitiatorState({
    version: CIPHERTEXT_MESSAGE_CURRENT_VERSION,
    localIdentityKey: ours.identity.publicKey,
    remoteIdentityKey: bundle.identityKey,
    rootKey: agreement.rootKey,
    chainKey: agreement.chainKey,
    theirRatchetKey: bundle.signedPreKey,
    baseKey: baseKey.publicKey,
    pendingPreKey: {
      preKeyId: bundle.preKeyId,
      signedPreKeyId: bundle.signedPreKeyId,
      baseKey: baseKey.publicKey,
      timestamp: nowSeconds,
      kyberPreKeyId: bundle.kyberPreKeyId,
      kyberCiphertext: agreement.kyberCiphertext,
    },
    localRegistrationId: ours.registrationId,
    remoteRegistrationId: bundle.registrationId,
    pqRatchet: initialPqRatchetState({
      authKey: agreement.pqrAuthKey,
      direction: 'a2b',
      minVersion: spqrMinVersion(policy),
    }),
    random,
    ratchetKeyPair: fresh.ratchetKeyPair,
  });
}
