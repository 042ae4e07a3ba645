/**
 * SPQR's top level, as libsignal drives it: one state per session state, `spqrSend` once per
 * encrypted message (producing field 5 and the optional 32-byte message-key salt) and
 * `spqrRecv` once per decrypted message. Version negotiation follows upstream spqr:
 *
 * - a V1 state starts "negotiating" with a minimum version: V1 (current libsignal; the chain
 *   exists from the start and every message is salted) or V0 (libsignal 0.90; no chain, hence no
 *   salt, until the first V1 message arrives);
 * - an empty field 5 (V0) from the peer downgrades a negotiating state whose minimum allows it,
 *   permanently; after negotiation, or below the minimum, it is an error;
 * - any V1 message received ends negotiation; a message of a higher version is keyed by its
 *   preamble while negotiating and refused afterwards (SPQR 1.6, as libsignal 0.103).
 *
 * Immutable: every function returns a new state.
 *
 * @module
 */
import { SPQR_MAX_JUMP, SPQR_MAX_OOO_KEYS } from '../constants.js';
import type { RandomSource } from '../primitives/index.js';
import {
  addEpoch,
  type ChainParams,
  chainRecvKey,
  chainSendKey,
  type SpqrChain,
  type SpqrDirection,
  startChain,
} from './chain.js';
import { SpqrError } from './errors.js';
import { decodeSpqrMessage, decodeSpqrPreamble, encodeSpqrMessage } from './message.js';
import { initialSckaA, initialSckaB, type SckaState, sckaRecv, sckaSend } from './scka.js';

/** SPQR protocol versions: 0 = none, 1 = V1. */
export type SpqrVersion = 0 | 1;

/** What the state still needs to build its chain while the peer's version is unknown. */
export interface VersionNegotiation {
  readonly authKey: Uint8Array;
  readonly direction: SpqrDirection;
  readonly minVersion: SpqrVersion;
  readonly params: ChainParams;
}

/**
 * A session's SPQR state. `scka === undefined` is a V0 state (no SPQR: nothing is sent, no key
 * ever derived).
 */
export interface PqRatchetState {
  readonly scka: SckaState | undefined;
  readonly chain: SpqrChain | undefined;
  readonly negotiation: VersionNegotiation | undefined;
}

/** The V0 state (SPQR off). */
export const PQ_RATCHET_V0: PqRatchetState = {
  scka: undefined,
  chain: undefined,
  negotiation: undefined,
};

/** Default chain limits (match the Double Ratchet's). */
export const DEFAULT_SPQR_CHAIN_PARAMS: ChainParams = {
  maxJump: SPQR_MAX_JUMP,
  maxOooKeys: SPQR_MAX_OOO_KEYS,
};

/** Parameters of a new SPQR state. */
export interface SpqrInitParams {
  readonly authKey: Uint8Array;
  readonly direction: SpqrDirection;
  /** 1 to require SPQR from the peer (current libsignal), 0 to accept a peer without it. */
  readonly minVersion: SpqrVersion;
  readonly params?: ChainParams;
}

/** A new V1 state, still negotiating. */
export function initialPqRatchetState(p: SpqrInitParams): PqRatchetState {
  return {
    scka: p.direction === 'a2b' ? initialSckaA(p.authKey) : initialSckaB(p.authKey),
    chain: undefined,
    negotiation: {
      authKey: p.authKey.slice(),
      direction: p.direction,
      minVersion: p.minVersion,
      params: p.params ?? DEFAULT_SPQR_CHAIN_PARAMS,
    },
  };
}

/** Where negotiation stands. */
export interface SpqrStatus {
  /** The version this state speaks. */
  readonly version: SpqrVersion;
  /** True until a message of the peer settled the version. */
  readonly negotiating: boolean;
  /** The SCKA epoch (0 for V0). */
  readonly epoch: number;
  /** Chain epochs completed so far (new ML-KEM secrets mixed in). */
  readonly completedEpochs: number;
}

/** Describe a state (for `SessionManager` queries and tests). */
export function spqrStatus(state: PqRatchetState): SpqrStatus {
  return {
    version: state.scka === undefined ? 0 : 1,
    negotiating: state.negotiation !== undefined,
    epoch: state.scka?.epoch ?? 0,
    completedEpochs: state.chain?.currentEpoch ?? 0,
  };
}

function chainFromNegotiation(n: VersionNegotiation): SpqrChain {
  return startChain(n.authKey, n.direction, n.params);
}

/** Result of {@link spqrSend}. */
export interface SpqrSendResult {
  readonly state: PqRatchetState;
  /** Field 5 bytes; empty for V0 (then field 5 is omitted). */
  readonly message: Uint8Array;
  /** The message-key salt, when this message has one. */
  readonly key: Uint8Array | undefined;
}

/** Advance for one outgoing message. */
export function spqrSend(state: PqRatchetState, random: RandomSource): SpqrSendResult {
  if (state.scka === undefined) {
    return { state: PQ_RATCHET_V0, message: new Uint8Array(0), key: undefined };
  }
  const sent = sckaSend(state.scka, random);
  let chain = state.chain;
  if (chain === undefined) {
    if (state.negotiation === undefined) throw new SpqrError('chain-unavailable');
    if (state.negotiation.minVersion > 0) chain = chainFromNegotiation(state.negotiation);
  }
  if (chain === undefined) {
    // Still negotiating with a peer that may not speak SPQR: no chain, no key, index 0.
    return {
      state: { ...state, scka: sent.state },
      message: encodeSpqrMessage({ ...sent.message, index: 0 }),
      key: undefined,
    };
  }
  if (sent.epochSecret !== undefined) {
    chain = addEpoch(chain, sent.epochSecret.epoch, sent.epochSecret.secret);
  }
  const k = chainSendKey(chain, sent.message.epoch - 1);
  return {
    state: { scka: sent.state, chain: k.chain, negotiation: state.negotiation },
    message: encodeSpqrMessage({ ...sent.message, index: k.index }),
    key: k.key,
  };
}

/**
 * A message of a version above ours (SPQR 1.6, libsignal 0.103): while still negotiating, its
 * preamble's (epoch, index) still names a key of our chain and negotiation continues; once
 * negotiation is over it is refused.
 */
function recvNewerVersion(state: PqRatchetState, message: Uint8Array): SpqrRecvResult {
  const n = state.negotiation;
  if (state.scka === undefined || n === undefined) throw new SpqrError('version-mismatch');
  const pre = decodeSpqrPreamble(message);
  if (pre.epoch === 1 && pre.index === 0) return { state, key: undefined };
  const k = chainRecvKey(state.chain ?? chainFromNegotiation(n), pre.epoch - 1, pre.index);
  return { state: { ...state, chain: k.chain }, key: k.key };
}

/** Result of {@link spqrRecv}. */
export interface SpqrRecvResult {
  readonly state: PqRatchetState;
  /** The message-key salt, when the message has one. */
  readonly key: Uint8Array | undefined;
}

/**
 * Process field 5 of an incoming message (`message` empty when the field was absent).
 *
 * @throws {SpqrError} for a malformed message, a refused downgrade, a bad MAC, an out-of-range
 *   epoch, a reused or trimmed key, or a jump over the limit
 */
export function spqrRecv(state: PqRatchetState, message: Uint8Array): SpqrRecvResult {
  const messageVersion: number = message.length === 0 ? 0 : (message[0] as number);
  const stateVersion = state.scka === undefined ? 0 : 1;
  if (messageVersion > 1) return recvNewerVersion(state, message);
  let current = state;
  if (messageVersion < stateVersion) {
    const n = state.negotiation;
    if (n === undefined) throw new SpqrError('version-mismatch');
    if (messageVersion < n.minVersion) throw new SpqrError('minimum-version');
    // Downgrade to V0 for good. (Upstream keeps a chain here, but a V0 state never uses or
    // stores it, so it is dropped.)
    current = PQ_RATCHET_V0;
  }
  if (current.scka === undefined) return { state: PQ_RATCHET_V0, key: undefined };
  const parsed = decodeSpqrMessage(message);
  const received = sckaRecv(current.scka, parsed);
  let chain = current.chain;
  if (chain === undefined) {
    if (current.negotiation === undefined) throw new SpqrError('chain-unavailable');
    chain = chainFromNegotiation(current.negotiation);
  }
  if (received.epochSecret !== undefined) {
    chain = addEpoch(chain, received.epochSecret.epoch, received.epochSecret.secret);
  }
  const keyEpoch = parsed.epoch - 1;
  let key: Uint8Array | undefined;
  if (!(keyEpoch === 0 && parsed.index === 0)) {
    const k = chainRecvKey(chain, keyEpoch, parsed.index);
    chain = k.chain;
    key = k.key;
  }
  return { state: { scka: received.state, chain, negotiation: undefined }, key };
}
