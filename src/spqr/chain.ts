/**
 * SPQR's symmetric chain: turns the PQXDH auth key (epoch 0) and each SCKA epoch secret into
 * per-message keys, one sending and one receiving half per epoch, with out-of-order keys kept in
 * a bounded history. Immutable: every function returns a new chain.
 *
 * - start: `HKDF(0^32, auth key, "Signal PQ Ratchet V1 Chain  Start", 96)` → next root ‖ A2B seed ‖ B2A seed
 * - add epoch: `HKDF(next root, epoch secret, "Signal PQ Ratchet V1 Chain Add Epoch", 96)`, same split
 * - next key: ctr += 1; `HKDF(0^32, next, u32be(ctr) ‖ "Signal PQ Ratchet V1 Chain Next", 64)`
 *   → new next ‖ message key for `ctr`
 *
 * Bounds: jumps over `maxJump` are refused, at most `maxOooKeys` old keys are usable, the
 * history is trimmed when it reaches `maxOooKeys × 11/10 + 1` entries, and only one epoch before
 * the current send epoch is kept.
 *
 * @module
 */
import {
  SPQR_CHAIN_ADD_EPOCH_INFO,
  SPQR_CHAIN_NEXT_INFO,
  SPQR_CHAIN_START_INFO,
  SPQR_EPOCHS_KEPT_BEFORE_SEND,
} from '../constants.js';
import { type IndexedKey, IndexedKeys } from '../keys/index.js';
import { hkdfSha256 } from '../primitives/index.js';
import { SpqrError } from './errors.js';

/** Direction of a party's sending half: the initiator sends A2B. */
export type SpqrDirection = 'a2b' | 'b2a';

/** One direction of one epoch. `next` is empty once wiped. */
export interface ChainHalf {
  readonly ctr: number;
  readonly next: Uint8Array;
  /** Kept out-of-order keys, packed. */
  readonly history: IndexedKeys;
}

/** One epoch's two halves. */
export interface ChainLink {
  readonly send: ChainHalf;
  readonly recv: ChainHalf;
}

/** Limits of a chain. */
export interface ChainParams {
  readonly maxJump: number;
  readonly maxOooKeys: number;
}

/** The whole chain. `links` holds epochs `currentEpoch − links.length + 1 … currentEpoch`. */
export interface SpqrChain {
  readonly direction: SpqrDirection;
  readonly currentEpoch: number;
  readonly sendEpoch: number;
  readonly links: readonly ChainLink[];
  readonly nextRoot: Uint8Array;
  readonly params: ChainParams;
}

function linkFrom(out: Uint8Array, direction: SpqrDirection): ChainLink {
  const a2b = out.slice(32, 64);
  const b2a = out.slice(64, 96);
  return {
    send: { ctr: 0, next: direction === 'a2b' ? a2b : b2a, history: IndexedKeys.EMPTY },
    recv: { ctr: 0, next: direction === 'a2b' ? b2a : a2b, history: IndexedKeys.EMPTY },
  };
}

/** Start a chain from the PQXDH auth key. */
export function startChain(
  authKey: Uint8Array,
  direction: SpqrDirection,
  params: ChainParams,
): SpqrChain {
  // No salt: HKDF's default of 32 zero bytes, which upstream passes explicitly.
  const out = hkdfSha256(authKey, undefined, SPQR_CHAIN_START_INFO, 96);
  return {
    direction,
    currentEpoch: 0,
    sendEpoch: 0,
    links: [linkFrom(out, direction)],
    nextRoot: out.slice(0, 32),
    params,
  };
}

/** Add epoch `epoch` (must be `currentEpoch + 1`) from its secret. */
export function addEpoch(chain: SpqrChain, epoch: number, secret: Uint8Array): SpqrChain {
  if (epoch !== chain.currentEpoch + 1) throw new SpqrError('epoch-out-of-range');
  const out = hkdfSha256(secret, chain.nextRoot, SPQR_CHAIN_ADD_EPOCH_INFO, 96);
  return {
    ...chain,
    currentEpoch: epoch,
    nextRoot: out.slice(0, 32),
    links: [...chain.links, linkFrom(out, chain.direction)],
  };
}

function stepKey(next: Uint8Array, ctr: number): { next: Uint8Array; key: Uint8Array } {
  const info = new Uint8Array(4 + SPQR_CHAIN_NEXT_INFO.length);
  new DataView(info.buffer).setUint32(0, ctr, false);
  info.set(SPQR_CHAIN_NEXT_INFO, 4);
  const out = hkdfSha256(next, undefined, info, 64);
  return { next: out.slice(0, 32), key: out.slice(32, 64) };
}

function linkIndex(chain: SpqrChain, epoch: number): number {
  if (epoch > chain.currentEpoch) throw new SpqrError('epoch-out-of-range');
  const back = chain.currentEpoch - epoch;
  if (back >= chain.links.length) throw new SpqrError('epoch-out-of-range');
  return chain.links.length - 1 - back;
}

/** The next sending key of `epoch` (its counter is the message's SPQR index). */
export function chainSendKey(
  chain: SpqrChain,
  epoch: number,
): { chain: SpqrChain; index: number; key: Uint8Array } {
  if (epoch < chain.sendEpoch) throw new SpqrError('send-epoch-decreased');
  let idx = linkIndex(chain, epoch);
  let links = chain.links.slice();
  if (epoch !== chain.sendEpoch) {
    // Keep at most one epoch before the new send epoch, and wipe older sending halves.
    while (idx > SPQR_EPOCHS_KEPT_BEFORE_SEND) {
      links.shift();
      idx--;
    }
    links = links.map((l, i) =>
      i < idx ? { ...l, send: { ...l.send, next: new Uint8Array(0) } } : l,
    );
  }
  const link = links[idx] as ChainLink;
  const half = link.send;
  if (half.next.length !== 32 || half.ctr >= 0xffff_ffff) throw new SpqrError('chain-unavailable');
  const ctr = half.ctr + 1;
  const step = stepKey(half.next, ctr);
  links[idx] = { ...link, send: { ...half, ctr, next: step.next } };
  return { chain: { ...chain, sendEpoch: epoch, links }, index: ctr, key: step.key };
}

/** The receiving key for message `index` of `epoch`. */
export function chainRecvKey(
  chain: SpqrChain,
  epoch: number,
  index: number,
): { chain: SpqrChain; key: Uint8Array } {
  const idx = linkIndex(chain, epoch);
  const link = chain.links[idx] as ChainLink;
  const { half, key } = halfKey(link.recv, index, chain.params);
  const links = chain.links.slice();
  links[idx] = { ...link, recv: half };
  return { chain: { ...chain, links }, key };
}

function halfKey(
  half: ChainHalf,
  at: number,
  params: ChainParams,
): { half: ChainHalf; key: Uint8Array } {
  if (at < half.ctr) {
    if (at + params.maxOooKeys < half.ctr) throw new SpqrError('key-trimmed');
    const pos = half.history.find(at);
    if (pos < 0) throw new SpqrError('key-already-requested');
    // Upstream removes by moving the last entry into the hole; the order is not observable.
    return {
      half: { ...half, history: half.history.withoutSwapLast(pos) },
      key: half.history.keyAt(pos),
    };
  }
  if (at === half.ctr) throw new SpqrError('key-already-requested');
  if (at - half.ctr > params.maxJump) throw new SpqrError('key-jump');
  if (half.next.length !== 32) throw new SpqrError('chain-unavailable');
  const kept = at > half.ctr + params.maxOooKeys ? IndexedKeys.EMPTY : half.history;
  const fresh: IndexedKey[] = [];
  let next = half.next;
  let ctr = half.ctr;
  while (at > ctr + 1) {
    ctr++;
    const step = stepKey(next, ctr);
    next = step.next;
    if (ctr + params.maxOooKeys >= at) fresh.push({ index: ctr, key: step.key });
  }
  let history = fresh.length === 0 ? kept : kept.concat(IndexedKeys.fromEntries(fresh));
  const trimSize = Math.floor((params.maxOooKeys * 11) / 10) + 1;
  if (history.length >= trimSize) {
    const horizon = ctr - params.maxOooKeys;
    history = history.filterIndex((index) => index >= horizon);
  }
  ctr++;
  const step = stepKey(next, ctr);
  return { half: { ctr, next: step.next, history }, key: step.key };
}
