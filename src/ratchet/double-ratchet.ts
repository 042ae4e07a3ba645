/**
 * Double Ratchet steps over {@link SessionState}: session initialization from the key agreement's
 * output, the sending step and the receiving step (DH ratchet, skipped keys, duplicate and jump
 * checks). Pure functions: no stores, no wire formats, no AES, no MAC.
 *
 * @module
 */
import {
  MAX_COUNTER,
  MAX_FORWARD_JUMPS,
  MAX_MESSAGE_KEYS,
  MAX_RECEIVER_CHAINS,
} from '../constants.js';
import { DuplicateMessageError, MessageGapTooLargeError, SessionNotFoundError } from '../errors.js';
import { type IndexedKey, IndexedKeys, KeyPair, type PublicKey } from '../keys/index.js';
import { type RandomSource, secureRandom } from '../primitives/index.js';
import type { PqRatchetState } from '../spqr/index.js';
import { deriveChainStep, deriveNextChainKey, deriveRootStep } from './kdf.js';
import type { PendingPreKey, ReceiverChain, SessionState } from './state.js';

/** What the initiator's state is built from. */
export interface InitiatorStateParams {
  readonly version: number;
  readonly localIdentityKey: PublicKey;
  readonly remoteIdentityKey: PublicKey;
  /** Root key from the key agreement. */
  readonly rootKey: Uint8Array;
  /** Chain key from the key agreement (index 0). */
  readonly chainKey: Uint8Array;
  /** The responder's signed prekey, which acts as their first ratchet key. */
  readonly theirRatchetKey: PublicKey;
  readonly baseKey: PublicKey;
  readonly pendingPreKey: PendingPreKey;
  readonly localRegistrationId: number;
  readonly remoteRegistrationId: number;
  /** The session's initial SPQR state. */
  readonly pqRatchet: PqRatchetState;
  readonly random?: RandomSource;
  /** A fresh key pair to use as the first sending ratchet key (generated when absent). */
  readonly ratchetKeyPair?: KeyPair | undefined;
}

/**
 * The initiator's first state: a receiver chain on the responder's signed prekey with the
 * agreement's chain key, then one root step to a fresh sending ratchet key.
 */
export function initializeInitiatorState(p: InitiatorStateParams): SessionState {
  const ourRatchet = p.ratchetKeyPair ?? KeyPair.generate(p.random ?? secureRandom);
  const step = deriveRootStep(
    p.rootKey,
    ourRatchet.privateKey.calculateAgreement(p.theirRatchetKey),
  );
  return {
    version: p.version,
    localIdentityKey: p.localIdentityKey,
    remoteIdentityKey: p.remoteIdentityKey,
    rootKey: step.rootKey,
    previousCounter: 0,
    senderChain: { ratchetKeyPair: ourRatchet, chainKey: { key: step.chainKey, index: 0 } },
    receiverChains: [
      {
        ratchetKey: p.theirRatchetKey,
        chainKey: { key: p.chainKey, index: 0 },
        skippedKeys: IndexedKeys.EMPTY,
      },
    ],
    pendingPreKey: p.pendingPreKey,
    localRegistrationId: p.localRegistrationId,
    remoteRegistrationId: p.remoteRegistrationId,
    aliceBaseKey: p.baseKey,
    pqRatchet: p.pqRatchet,
  };
}

/** What the responder's state is built from. */
export interface ResponderStateParams {
  readonly version: number;
  readonly localIdentityKey: PublicKey;
  readonly remoteIdentityKey: PublicKey;
  readonly rootKey: Uint8Array;
  readonly chainKey: Uint8Array;
  /** Our signed prekey pair: our first sending ratchet key. */
  readonly ourSignedPreKey: KeyPair;
  readonly theirBaseKey: PublicKey;
  readonly localRegistrationId: number;
  readonly remoteRegistrationId: number;
  /** The session's initial SPQR state. */
  readonly pqRatchet: PqRatchetState;
}

/** The responder's first state: sending on the signed prekey, no receiver chain yet. */
export function initializeResponderState(p: ResponderStateParams): SessionState {
  return {
    version: p.version,
    localIdentityKey: p.localIdentityKey,
    remoteIdentityKey: p.remoteIdentityKey,
    rootKey: p.rootKey,
    previousCounter: 0,
    senderChain: { ratchetKeyPair: p.ourSignedPreKey, chainKey: { key: p.chainKey, index: 0 } },
    receiverChains: [],
    pendingPreKey: undefined,
    localRegistrationId: p.localRegistrationId,
    remoteRegistrationId: p.remoteRegistrationId,
    aliceBaseKey: p.theirBaseKey,
    pqRatchet: p.pqRatchet,
  };
}

/** Result of {@link ratchetSendStep}. */
export interface SendStep {
  readonly state: SessionState;
  readonly ratchetKey: PublicKey;
  readonly counter: number;
  readonly previousCounter: number;
  /** Message-key seed for `counter`. */
  readonly seed: Uint8Array;
}

/**
 * Take the next message key of the sending chain.
 *
 * @throws {SessionNotFoundError} when the chain's u32 counter is exhausted
 */
export function ratchetSendStep(state: SessionState): SendStep {
  const chain = state.senderChain;
  const { key, index } = chain.chainKey;
  if (index >= MAX_COUNTER) throw new SessionNotFoundError('(self)', 'encrypt: chain exhausted');
  const step = deriveChainStep(key);
  return {
    state: {
      ...state,
      senderChain: { ...chain, chainKey: { key: step.next, index: index + 1 } },
    },
    ratchetKey: chain.ratchetKeyPair.publicKey,
    counter: index,
    previousCounter: state.previousCounter,
    seed: step.seed,
  };
}

/** Result of {@link ratchetReceiveStep}. */
export interface ReceiveStep {
  readonly state: SessionState;
  /** Message-key seed for the message. */
  readonly seed: Uint8Array;
}

/** Options of {@link ratchetReceiveStep}. */
export interface ReceiveOptions {
  readonly random?: RandomSource;
  /** Largest forward jump accepted (default {@link MAX_FORWARD_JUMPS}). */
  readonly maxForwardJumps?: number;
  /**
   * A fresh key pair for the DH ratchet step, if one is needed (generated when absent). It must
   * never have been used before; it is used at most once per successful step.
   */
  readonly newRatchetKeyPair?: KeyPair | undefined;
}

/**
 * Find or create the receiving chain for `theirRatchetKey` (a DH ratchet step when it is new) and
 * produce the seed for `counter`, keeping seeds for skipped messages.
 *
 * @throws {DuplicateMessageError} `ERR_DUPLICATE_MESSAGE` for an already-used counter
 * @throws {MessageGapTooLargeError} `ERR_MESSAGE_GAP_TOO_LARGE` past the forward-jump limit
 * @throws {InvalidKeyError} `ERR_INVALID_KEY` when `theirRatchetKey` is low-order
 */
export function ratchetReceiveStep(
  state: SessionState,
  theirRatchetKey: PublicKey,
  counter: number,
  options: ReceiveOptions = {},
): ReceiveStep {
  let next = state;
  let chainIndex = state.receiverChains.findIndex((c) => c.ratchetKey.equals(theirRatchetKey));
  if (chainIndex < 0) {
    next = dhRatchetStep(
      state,
      theirRatchetKey,
      options.newRatchetKeyPair ?? KeyPair.generate(options.random ?? secureRandom),
    );
    chainIndex = next.receiverChains.length - 1;
  }
  const chain = next.receiverChains[chainIndex] as ReceiverChain;
  const current = chain.chainKey.index;

  if (counter < current) {
    const pos = chain.skippedKeys.find(counter);
    if (pos < 0) throw new DuplicateMessageError(counter);
    const updated: ReceiverChain = { ...chain, skippedKeys: chain.skippedKeys.without(pos) };
    return { state: replaceChain(next, chainIndex, updated), seed: chain.skippedKeys.keyAt(pos) };
  }

  const gap = counter - current;
  const limit = options.maxForwardJumps ?? MAX_FORWARD_JUMPS;
  if (gap > limit) throw new MessageGapTooLargeError(gap, limit);

  // Walk the chain to `counter`, keeping the newest MAX_MESSAGE_KEYS skipped seeds.
  let key = chain.chainKey.key;
  const fresh: IndexedKey[] = [];
  for (let i = current; i < counter; i++) {
    if (counter - i <= MAX_MESSAGE_KEYS) {
      const step = deriveChainStep(key);
      fresh.push({ index: i, key: step.seed });
      key = step.next;
    } else {
      key = deriveNextChainKey(key);
    }
  }
  const last = deriveChainStep(key);
  const seed = last.seed;
  fresh.reverse();
  const skippedKeys =
    fresh.length === 0
      ? chain.skippedKeys
      : IndexedKeys.fromEntries(fresh).concat(chain.skippedKeys, MAX_MESSAGE_KEYS);
  const updated: ReceiverChain = {
    ratchetKey: chain.ratchetKey,
    chainKey: { key: last.next, index: counter + 1 },
    skippedKeys,
  };
  return { state: replaceChain(next, chainIndex, updated), seed };
}

function replaceChain(state: SessionState, index: number, chain: ReceiverChain): SessionState {
  const receiverChains = state.receiverChains.slice();
  receiverChains[index] = chain;
  return { ...state, receiverChains };
}

/** A new peer ratchet key: receiving chain from the old sending key, then a new sending key. */
function dhRatchetStep(
  state: SessionState,
  theirRatchetKey: PublicKey,
  ourNewRatchet: KeyPair,
): SessionState {
  const receiving = deriveRootStep(
    state.rootKey,
    state.senderChain.ratchetKeyPair.privateKey.calculateAgreement(theirRatchetKey),
  );
  const sending = deriveRootStep(
    receiving.rootKey,
    ourNewRatchet.privateKey.calculateAgreement(theirRatchetKey),
  );
  const oldIndex = state.senderChain.chainKey.index;
  const receiverChains = [
    ...state.receiverChains,
    {
      ratchetKey: theirRatchetKey,
      chainKey: { key: receiving.chainKey, index: 0 },
      skippedKeys: IndexedKeys.EMPTY,
    },
  ];
  return {
    ...state,
    rootKey: sending.rootKey,
    // libsignal stores (old sending index − 1), or 0 (an off-by-one that receivers ignore).
    previousCounter: oldIndex > 0 ? oldIndex - 1 : 0,
    senderChain: { ratchetKeyPair: ourNewRatchet, chainKey: { key: sending.chainKey, index: 0 } },
    receiverChains: receiverChains.slice(Math.max(0, receiverChains.length - MAX_RECEIVER_CHAINS)),
  };
}
