/**
 * Byte format of a session's SPQR state (local storage only, never on the wire): chiffre's own
 * protobuf layout, with every size and count bounded on decode. An empty byte string is the V0
 * state.
 *
 * ```
 * PqRatchetState { 1 scka: Scka, 2 chain: Chain, 3 negotiation: Negotiation }
 * Negotiation    { 1 auth_key(32), 2 direction (0 A2B, 1 B2A), 3 min_version, 4 max_jump, 5 max_ooo_keys }
 * Chain          { 1 direction, 2 current_epoch, 3 send_epoch, 4 next_root(32), 5 max_jump, 6 max_ooo_keys,
 *                  7 repeated Link { 1 send: Half, 2 recv: Half } }
 * Half           { 1 ctr, 2 next (32 or empty once wiped), 3 history (u32be index ‖ key32)* }
 * Scka           { 1 kind, 2 epoch, 3 auth_root(32), 4 auth_mac(32), 5 ek, 6 dk, 7 header, 8 ct1,
 *                  9 encaps_state, 10 encoder, 11 decoder }
 * ```
 *
 * @module
 */
import { InvalidRecordError } from '../errors.js';
import {
  decodeEncapsState,
  encodeEncapsState,
  MLKEM768_CT1_LENGTH,
  MLKEM768_DK_LENGTH,
  MLKEM768_EK_LENGTH,
  MLKEM768_HEADER_LENGTH,
} from '../primitives/index.js';
import { IndexedKeys, packedKeyBytes } from '../keys/index.js';
import { ProtobufMessage, ProtobufWriter } from '../wire/index.js';
import { type ChainHalf, type ChainLink, type SpqrChain, type SpqrDirection } from './chain.js';
import {
  type ChunkDecoder,
  type ChunkEncoder,
  decoderFromOwnedBytes,
  encoderFromOwnedBytes,
  serializedDecoderView,
  serializedEncoderParts,
} from './erasure.js';
import type { PqRatchetState, VersionNegotiation } from './pq-ratchet.js';
import type { SckaKind, SckaState } from './scka.js';

const fail = (reason: string): never => {
  throw new InvalidRecordError(`SPQR state: ${reason}`);
};

const KINDS: readonly SckaKind[] = [
  'keys-unsampled',
  'keys-sampled',
  'header-sent',
  'ct1-received',
  'ek-sent-ct1-received',
  'no-header-received',
  'header-received',
  'ct1-sampled',
  'ek-received-ct1-sampled',
  'ct1-acknowledged',
  'ct2-sampled',
];

/** Upper bound on chain links a legitimate state can hold (a few epochs around the send epoch). */
const MAX_LINKS = 16;
/** Largest epoch accepted from storage. */
const MAX_EPOCH = BigInt(Number.MAX_SAFE_INTEGER);

function direction(d: SpqrDirection): number {
  return d === 'a2b' ? 0 : 1;
}

function readDirection(v: number | undefined): SpqrDirection {
  if (v === 0) return 'a2b';
  if (v === 1) return 'b2a';
  return fail('bad direction');
}

function readEpoch(v: bigint | undefined): number {
  if (v === undefined || v > MAX_EPOCH) return fail('bad epoch');
  return Number(v);
}

function readLimit(v: number | undefined): number {
  if (v === undefined || v === 0 || v > 0x7fff_ffff) return fail('bad chain limit');
  return v;
}

function encodeHalf(h: ChainHalf): ProtobufWriter {
  return new ProtobufWriter().uint32(1, h.ctr).bytes(2, h.next).bytes(3, packedKeyBytes(h.history));
}

function decodeHalf(bytes: Uint8Array, maxOoo: number): ChainHalf {
  const m = new ProtobufMessage(bytes, fail);
  const next = m.requiredBytes(2).slice();
  if (next.length !== 0 && next.length !== 32) fail('bad chain key');
  const history = IndexedKeys.fromPacked(m.requiredBytes(3));
  if (history === undefined) return fail('bad key history');
  if (history.length > Math.floor((maxOoo * 11) / 10) + 1) fail('key history too long');
  return { ctr: m.requiredUint32(1), next, history };
}

function encodeChain(c: SpqrChain): ProtobufWriter {
  const w = new ProtobufWriter()
    .uint32(1, direction(c.direction))
    .uint64(2, BigInt(c.currentEpoch))
    .uint64(3, BigInt(c.sendEpoch))
    .bytes(4, c.nextRoot)
    .uint32(5, c.params.maxJump)
    .uint32(6, c.params.maxOooKeys);
  for (const l of c.links) {
    w.message(
      7,
      new ProtobufWriter().message(1, encodeHalf(l.send)).message(2, encodeHalf(l.recv)),
    );
  }
  return w;
}

function decodeChain(bytes: Uint8Array): SpqrChain {
  const m = new ProtobufMessage(bytes, fail);
  const params = { maxJump: readLimit(m.uint32(5)), maxOooKeys: readLimit(m.uint32(6)) };
  const linkBytes = m.repeatedBytes(7);
  if (linkBytes.length === 0 || linkBytes.length > MAX_LINKS) fail('bad number of chain links');
  const links: ChainLink[] = linkBytes.map((b) => {
    const l = new ProtobufMessage(b, fail);
    return {
      send: decodeHalf(l.requiredBytes(1), params.maxOooKeys),
      recv: decodeHalf(l.requiredBytes(2), params.maxOooKeys),
    };
  });
  const currentEpoch = readEpoch(m.uint64(2));
  const sendEpoch = readEpoch(m.uint64(3));
  if (links.length > currentEpoch + 1 || sendEpoch > currentEpoch) fail('inconsistent epochs');
  return {
    direction: readDirection(m.uint32(1)),
    currentEpoch,
    sendEpoch,
    links,
    nextRoot: m.requiredBytes(4, 32).slice(),
    params,
  };
}

function encodeNegotiation(n: VersionNegotiation): ProtobufWriter {
  return new ProtobufWriter()
    .bytes(1, n.authKey)
    .uint32(2, direction(n.direction))
    .uint32(3, n.minVersion)
    .uint32(4, n.params.maxJump)
    .uint32(5, n.params.maxOooKeys);
}

function decodeNegotiation(bytes: Uint8Array): VersionNegotiation {
  const m = new ProtobufMessage(bytes, fail);
  const minVersion = m.requiredUint32(3);
  if (minVersion !== 0 && minVersion !== 1) fail('bad minimum version');
  return {
    authKey: m.requiredBytes(1, 32).slice(),
    direction: readDirection(m.uint32(2)),
    minVersion: minVersion as 0 | 1,
    params: { maxJump: readLimit(m.uint32(4)), maxOooKeys: readLimit(m.uint32(5)) },
  };
}

function encodeScka(s: SckaState): ProtobufWriter {
  const w = new ProtobufWriter()
    .uint32(1, KINDS.indexOf(s.kind))
    .uint64(2, BigInt(s.epoch))
    .bytes(3, s.auth.rootKey)
    .bytes(4, s.auth.macKey);
  if ('ek' in s) w.bytes(5, s.ek);
  if ('dk' in s) w.bytes(6, s.dk);
  if ('header' in s) w.bytes(7, s.header);
  if ('ct1' in s) w.bytes(8, s.ct1);
  if ('encaps' in s) w.bytes(9, encodeEncapsState(s.encaps));
  const encoder =
    'sendingHeader' in s
      ? s.sendingHeader
      : 'sendingEk' in s
        ? s.sendingEk
        : 'sendingCt1' in s
          ? s.sendingCt1
          : 'sendingCt2' in s
            ? s.sendingCt2
            : undefined;
  if (encoder !== undefined) {
    // Header and message as pieces: the message is copied once, into the record.
    const [header, message] = serializedEncoderParts(encoder);
    w.message(10, new ProtobufWriter().raw(header).raw(message));
  }
  const decoder =
    'receivingCt1' in s
      ? s.receivingCt1
      : 'receivingCt2' in s
        ? s.receivingCt2
        : 'receivingHeader' in s
          ? s.receivingHeader
          : 'receivingEk' in s
            ? s.receivingEk
            : undefined;
  if (decoder !== undefined) w.bytes(11, serializedDecoderView(decoder));
  return w;
}

function decodeScka(bytes: Uint8Array): SckaState {
  const m = new ProtobufMessage(bytes, fail);
  const kind = KINDS[m.requiredUint32(1)];
  if (kind === undefined) return fail('unknown SCKA state');
  const epoch = readEpoch(m.uint64(2));
  if (epoch < 1) fail('bad epoch');
  const base = {
    epoch,
    auth: { rootKey: m.requiredBytes(3, 32).slice(), macKey: m.requiredBytes(4, 32).slice() },
  };
  // `bytes` is a private copy of the SCKA state (see decodePqRatchetState): fields are views.
  const ek = (): Uint8Array => m.requiredBytes(5, MLKEM768_EK_LENGTH);
  const dk = (): Uint8Array => m.requiredBytes(6, MLKEM768_DK_LENGTH);
  const header = (): Uint8Array => m.requiredBytes(7, MLKEM768_HEADER_LENGTH);
  const ct1 = (): Uint8Array => m.requiredBytes(8, MLKEM768_CT1_LENGTH);
  const encaps = (): ReturnType<typeof decodeEncapsState> => {
    try {
      return decodeEncapsState(m.requiredBytes(9));
    } catch {
      return fail('bad encapsulation state');
    }
  };
  const encoder = (): ChunkEncoder => encoderFromOwnedBytes(m.requiredBytes(10));
  const decoder = (): ChunkDecoder => decoderFromOwnedBytes(m.requiredBytes(11));
  switch (kind) {
    case 'keys-unsampled':
      return { kind, ...base };
    case 'keys-sampled':
      return { kind, ...base, ek: ek(), dk: dk(), sendingHeader: encoder() };
    case 'header-sent':
      return { kind, ...base, dk: dk(), sendingEk: encoder(), receivingCt1: decoder() };
    case 'ct1-received':
      return { kind, ...base, dk: dk(), ct1: ct1(), sendingEk: encoder() };
    case 'ek-sent-ct1-received':
      return { kind, ...base, dk: dk(), ct1: ct1(), receivingCt2: decoder() };
    case 'no-header-received':
      return { kind, ...base, receivingHeader: decoder() };
    case 'header-received':
      return { kind, ...base, header: header(), receivingEk: decoder() };
    case 'ct1-sampled':
      return {
        kind,
        ...base,
        header: header(),
        encaps: encaps(),
        ct1: ct1(),
        sendingCt1: encoder(),
        receivingEk: decoder(),
      };
    case 'ek-received-ct1-sampled':
      return { kind, ...base, encaps: encaps(), ek: ek(), ct1: ct1(), sendingCt1: encoder() };
    case 'ct1-acknowledged':
      return {
        kind,
        ...base,
        header: header(),
        encaps: encaps(),
        ct1: ct1(),
        receivingEk: decoder(),
      };
    case 'ct2-sampled':
      return { kind, ...base, sendingCt2: encoder() };
  }
}

/** Serialize (empty for V0). Contains secrets (dk, chain keys). */
export function encodePqRatchetState(state: PqRatchetState): Uint8Array {
  return writePqRatchetState(state)?.finish() ?? new Uint8Array(0);
}

/** The serialized state in a writer (for nesting without a copy), or `undefined` for V0. */
export function writePqRatchetState(state: PqRatchetState): ProtobufWriter | undefined {
  if (state.scka === undefined) return undefined;
  const w = new ProtobufWriter().message(1, encodeScka(state.scka));
  if (state.chain !== undefined) w.message(2, encodeChain(state.chain));
  if (state.negotiation !== undefined) w.message(3, encodeNegotiation(state.negotiation));
  return w;
}

/**
 * Parse a stored SPQR state.
 *
 * @throws {InvalidRecordError} `ERR_INVALID_RECORD` for anything malformed or out of bounds
 */
export function decodePqRatchetState(bytes: Uint8Array): PqRatchetState {
  if (bytes.length === 0) return { scka: undefined, chain: undefined, negotiation: undefined };
  const m = new ProtobufMessage(bytes, fail);
  const chain = m.bytes(2);
  const negotiation = m.bytes(3);
  if (chain === undefined && negotiation === undefined) fail('neither chain nor negotiation');
  const state = {
    // One private copy of the SCKA state, which its large fields (ML-KEM keys, the erasure
    // encoder's message and the decoder's points) are views into: in V8 every typed array over
    // 64 bytes has a buffer of its own that costs about a microsecond to allocate, and copying
    // each field separately made several per record load. Only the SCKA part is copied, so the
    // chain's keys (copied one by one below) are not kept alive by these views.
    scka: decodeScka(m.requiredBytes(1).slice()),
    chain: chain === undefined ? undefined : decodeChain(chain),
    negotiation: negotiation === undefined ? undefined : decodeNegotiation(negotiation),
  };
  checkConsistency(state);
  return state;
}

/**
 * Invariants every state the protocol produces keeps, so that a stored state which decodes but
 * contradicts itself is refused here (as a record error) instead of failing later as if a message
 * were bad:
 * - the chain's newest epoch is the SCKA epoch or the one before it;
 * - the send epoch is below the SCKA epoch and within the kept links;
 * - every kept link has its receiving key, and every link from the send epoch on its sending key;
 * - chain and negotiation agree on the direction.
 */
function checkConsistency(state: PqRatchetState): void {
  const { scka, chain, negotiation } = state;
  if (scka === undefined || chain === undefined) return;
  if (chain.currentEpoch !== scka.epoch && chain.currentEpoch !== scka.epoch - 1) {
    fail('chain epoch does not match the SCKA epoch');
  }
  const firstLink = chain.currentEpoch - chain.links.length + 1;
  if (chain.sendEpoch > scka.epoch - 1 || chain.sendEpoch < firstLink) {
    fail('send epoch out of range');
  }
  chain.links.forEach((link, i) => {
    const epoch = firstLink + i;
    if (link.recv.next.length !== 32) fail('receiving chain key missing');
    if (epoch >= chain.sendEpoch && link.send.next.length !== 32) fail('sending chain key missing');
  });
  if (negotiation !== undefined && negotiation.direction !== chain.direction) {
    fail('direction mismatch');
  }
}
