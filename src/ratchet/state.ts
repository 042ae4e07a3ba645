/**
 * The session state the Double Ratchet runs over, as plain immutable data. Every ratchet step
 * returns a new state and never mutates its input, so a failed decryption simply drops the new
 * state (compute first, commit after).
 *
 * @module
 */
import type { IndexedKeys, KeyPair, PublicKey } from '../keys/index.js';
import type { PqRatchetState } from '../spqr/index.js';

/** A chain key and the index of the next message it will produce. */
export interface ChainKey {
  /** The 32-byte chain key. Secret. */
  readonly key: Uint8Array;
  /** The counter of the next message this key produces. */
  readonly index: number;
}

/** Our sending chain. */
export interface SenderChain {
  /** Our current ratchet key pair; its public half goes in every outgoing message. */
  readonly ratchetKeyPair: KeyPair;
  /** The sending chain key and the next counter. */
  readonly chainKey: ChainKey;
}

/** One of the peer's chains we receive on. */
export interface ReceiverChain {
  /** The peer's ratchet public key that identifies this chain. */
  readonly ratchetKey: PublicKey;
  /** The receiving chain key and the next expected counter. */
  readonly chainKey: ChainKey;
  /**
   * Seeds kept for messages that have not arrived yet, newest first, at most
   * `MAX_MESSAGE_KEYS`: each is `HMAC(chain key, 0x01)` at its counter, expanded (and salted)
   * when used.
   */
  readonly skippedKeys: IndexedKeys;
}

/** What the initiator repeats in every message until the peer answers. */
export interface PendingPreKey {
  /** The responder's one-time prekey id used, if the bundle had one. */
  readonly preKeyId: number | undefined;
  /** The responder's signed prekey id used. */
  readonly signedPreKeyId: number;
  /** Our PQXDH base key (EK_A). */
  readonly baseKey: PublicKey;
  /** Session creation time, in seconds since the epoch. */
  readonly timestamp: number;
  /** The responder's Kyber prekey id used. */
  readonly kyberPreKeyId: number;
  /** `type ‖ ciphertext`. */
  readonly kyberCiphertext: Uint8Array;
}

/** One Double Ratchet session state. */
export interface SessionState {
  /** Session version (4 = PQXDH). */
  readonly version: number;
  /** Our identity key. */
  readonly localIdentityKey: PublicKey;
  /** The peer's identity key, as used in this session. */
  readonly remoteIdentityKey: PublicKey;
  /** The 32-byte root key. Secret. */
  readonly rootKey: Uint8Array;
  /** libsignal's previous-counter value, echoed in outgoing messages. */
  readonly previousCounter: number;
  /** Our sending chain. */
  readonly senderChain: SenderChain;
  /** Oldest first, at most `MAX_RECEIVER_CHAINS`. */
  readonly receiverChains: readonly ReceiverChain[];
  /** Present on the initiator until the first message from the peer decrypts. */
  readonly pendingPreKey: PendingPreKey | undefined;
  /** Our registration id. */
  readonly localRegistrationId: number;
  /** The peer's registration id. */
  readonly remoteRegistrationId: number;
  /** The initiator's base key: identifies the session across both parties. */
  readonly aliceBaseKey: PublicKey;
  /** The SPQR state (the V0 state when the session runs without SPQR). */
  readonly pqRatchet: PqRatchetState;
}
