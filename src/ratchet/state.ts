/**
 * The session state the Double Ratchet runs over, as plain immutable data. Every ratchet step
 * returns a new state and never mutates its input, so a failed decryption simply drops the new
 * state (compute first, commit after).
 *
 * @module
 */
import type { KeyPair, PublicKey } from '../keys/index.js';
import type { PqRatchetState } from '../spqr/index.js';

/** A chain key and the index of the next message it will produce. */
export interface ChainKey {
  readonly key: Uint8Array;
  readonly index: number;
}

/** A message-key seed kept for a message that has not arrived yet. */
export interface SkippedMessageKey {
  readonly index: number;
  /** `HMAC(chain key, 0x01)` at that index; expanded (and salted) when used. */
  readonly seed: Uint8Array;
}

/** Our sending chain. */
export interface SenderChain {
  readonly ratchetKeyPair: KeyPair;
  readonly chainKey: ChainKey;
}

/** One of the peer's chains we receive on. */
export interface ReceiverChain {
  readonly ratchetKey: PublicKey;
  readonly chainKey: ChainKey;
  /** Skipped keys, newest first, at most `MAX_MESSAGE_KEYS`. */
  readonly skippedKeys: readonly SkippedMessageKey[];
}

/** What the initiator repeats in every message until the peer answers. */
export interface PendingPreKey {
  readonly preKeyId: number | undefined;
  readonly signedPreKeyId: number;
  readonly baseKey: PublicKey;
  /** Session creation time, in seconds since the epoch. */
  readonly timestamp: number;
  readonly kyberPreKeyId: number;
  /** `type ‖ ciphertext`. */
  readonly kyberCiphertext: Uint8Array;
}

/** One Double Ratchet session state. */
export interface SessionState {
  /** Session version (4 = PQXDH). */
  readonly version: number;
  readonly localIdentityKey: PublicKey;
  readonly remoteIdentityKey: PublicKey;
  readonly rootKey: Uint8Array;
  /** libsignal's previous-counter value, echoed in outgoing messages. */
  readonly previousCounter: number;
  readonly senderChain: SenderChain;
  /** Oldest first, at most `MAX_RECEIVER_CHAINS`. */
  readonly receiverChains: readonly ReceiverChain[];
  /** Present on the initiator until the first message from the peer decrypts. */
  readonly pendingPreKey: PendingPreKey | undefined;
  readonly localRegistrationId: number;
  readonly remoteRegistrationId: number;
  /** The initiator's base key: identifies the session across both parties. */
  readonly aliceBaseKey: PublicKey;
  /** The SPQR state (the V0 state when the session runs without SPQR). */
  readonly pqRatchet: PqRatchetState;
}
