/**
 * The SPQR V1 message carried in SignalMessage field 5 (not protobuf):
 *
 * ```
 * 0x01 ‖ varint(epoch ≥ 1) ‖ varint(index, u32) ‖ type (1 byte) ‖ [varint(chunk index ≤ 65535) ‖ 32 bytes]
 * ```
 *
 * Types: 0 None, 1 Hdr, 2 Ek, 3 EkCt1Ack, 4 Ct1Ack, 5 Ct1, 6 Ct2; types 1, 2, 3, 5, 6 carry a
 * chunk. Varints are LEB128 of at most 10 bytes. Trailing bytes are allowed (forward
 * compatibility), as upstream.
 *
 * @module
 */
import { SPQR_CHUNK_LENGTH, SPQR_VERSION_V1 } from '../constants.js';
import { concatBytes } from '../primitives/index.js';
import { SpqrError } from './errors.js';

/** Payload kinds of an SPQR V1 message. */
export type SpqrPayload =
  | { readonly type: 'none' }
  | { readonly type: 'ct1-ack' }
  | {
      readonly type: 'hdr' | 'ek' | 'ek-ct1-ack' | 'ct1' | 'ct2';
      readonly chunk: { readonly index: number; readonly data: Uint8Array };
    };

/** A parsed SPQR V1 message. */
export interface SpqrMessage {
  readonly epoch: number;
  readonly index: number;
  readonly payload: SpqrPayload;
}

const TYPE_CODES = ['none', 'hdr', 'ek', 'ek-ct1-ack', 'ct1-ack', 'ct1', 'ct2'] as const;

function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** Serialize an SPQR V1 message. */
export function encodeSpqrMessage(message: SpqrMessage): Uint8Array {
  const head: number[] = [SPQR_VERSION_V1];
  writeVarint(head, message.epoch);
  writeVarint(head, message.index);
  const p = message.payload;
  head.push(TYPE_CODES.indexOf(p.type));
  if (p.type === 'none' || p.type === 'ct1-ack') return Uint8Array.from(head);
  writeVarint(head, p.chunk.index);
  return concatBytes(Uint8Array.from(head), p.chunk.data);
}

/** The version-independent start of every SPQR message (SPQR 1.6 parses it first). */
export interface SpqrPreamble {
  readonly version: number;
  readonly epoch: number;
  readonly index: number;
  /** Offset of the first byte after the preamble. */
  readonly end: number;
}

/**
 * Parse `version ‖ varint(epoch ≥ 1) ‖ varint(index, u32)`.
 *
 * @throws {SpqrError} `malformed`
 */
export function decodeSpqrPreamble(bytes: Uint8Array): SpqrPreamble {
  let at = 0;
  const fail = (): never => {
    throw new SpqrError('malformed');
  };
  const varint = (): bigint => {
    let out = 0n;
    for (let i = 0; i < 10; i++) {
      if (at >= bytes.length) fail();
      const b = bytes[at++] as number;
      out |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return out & 0xffff_ffff_ffff_ffffn;
    }
    return fail();
  };
  if (bytes.length === 0) fail();
  at = 1;
  const epoch = varint();
  // Epochs beyond 2^53 cannot be reached by an honest peer; refusing them keeps epochs numbers.
  if (epoch === 0n || epoch > BigInt(Number.MAX_SAFE_INTEGER)) fail();
  const index = varint();
  if (index > 0xffff_ffffn) fail();
  return { version: bytes[0] as number, epoch: Number(epoch), index: Number(index), end: at };
}

/**
 * Parse an SPQR V1 message (its first byte must be 1).
 *
 * @throws {SpqrError} `malformed` for anything malformed
 */
export function decodeSpqrMessage(bytes: Uint8Array): SpqrMessage {
  const fail = (): never => {
    throw new SpqrError('malformed');
  };
  if (bytes.length === 0 || bytes[0] !== SPQR_VERSION_V1) fail();
  const pre = decodeSpqrPreamble(bytes);
  let at = pre.end;
  if (at >= bytes.length) fail();
  const code = bytes[at++] as number;
  const type = TYPE_CODES[code];
  if (type === undefined) return fail();
  const base = { epoch: pre.epoch, index: pre.index };
  if (type === 'none' || type === 'ct1-ack') return { ...base, payload: { type } };
  let chunkIndex = 0n;
  for (let i = 0; ; i++) {
    if (i === 10 || at >= bytes.length) fail();
    const b = bytes[at++] as number;
    chunkIndex |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) break;
  }
  if (chunkIndex > 65535n || at + SPQR_CHUNK_LENGTH > bytes.length) fail();
  const data = bytes.slice(at, at + SPQR_CHUNK_LENGTH);
  return { ...base, payload: { type, chunk: { index: Number(chunkIndex), data } } };
}
