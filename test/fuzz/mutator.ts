/**
 * A structured mutator for the fuzzer. It knows enough about the byte formats to aim at the
 * parsers' corners, not just at random bytes:
 *
 * - raw: bit flips, interesting bytes, truncation, extension, insertion, deletion, duplication,
 *   splicing with another seed;
 * - protobuf (found by a lenient parse of the bytes): remove, duplicate (repeated scalars), swap
 *   and reorder fields, move a value to another field, field number 0 / huge / out of range,
 *   every wire type including groups (3, 4) and the invalid 6 and 7, overlong varints for keys,
 *   lengths and values, boundary varint values (2^32, 2^63, 10-byte overflow), length prefixes
 *   that lie (±1, 2^31, 2^64 − 1), values replaced by keys of the right and wrong shapes, and
 *   recursion into embedded messages (records, the inner SignalMessage of a PreKeySignalMessage);
 * - SignalMessage framing (version byte, protobuf, 8-byte MAC) and SPQR V1 field-5 payloads
 *   (version, epoch, index, type, chunk index, chunk data), with field-aware edits.
 *
 * Every mutation is a pure function of the input and the {@link Prng}, so a seed replays.
 */
import type { Prng } from './rng.js';

/** How a byte string is structured, for the structure-aware mutations. */
export type Layout =
  | 'raw'
  /** A bare protobuf message. */
  | 'protobuf'
  /** One leading byte (version / record format) then a protobuf message. */
  | 'versioned-protobuf'
  /** Version byte ‖ protobuf ‖ 8-byte MAC. */
  | 'signal-message'
  /** SPQR V1 message (SignalMessage field 5). */
  | 'spqr';

// ------------------------------------------------------------------------------------------
// Varints and a lenient protobuf field splitter
// ------------------------------------------------------------------------------------------

/** Minimal LEB128 encoding of a non-negative integer (any size). */
export function varint(value: bigint | number): Uint8Array {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return Uint8Array.from(out);
}

/** LEB128 padded with `extra` redundant continuation bytes (an overlong encoding). */
export function overlongVarint(value: bigint | number, extra: number): Uint8Array {
  const minimal = Array.from(varint(value));
  if (extra <= 0) return Uint8Array.from(minimal);
  minimal[minimal.length - 1] = (minimal[minimal.length - 1] as number) | 0x80;
  for (let i = 0; i < extra - 1; i++) minimal.push(0x80);
  minimal.push(0x00);
  return Uint8Array.from(minimal);
}

function readVarintAt(bytes: Uint8Array, at: number): { value: bigint; end: number } | undefined {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (at + i >= bytes.length) return undefined;
    const b = bytes[at + i] as number;
    value |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) return { value, end: at + i + 1 };
  }
  return undefined;
}

/** One protobuf field, kept as its raw pieces so that untouched fields re-encode identically. */
export interface RawField {
  readonly tag: number;
  readonly wire: number;
  readonly key: Uint8Array;
  /** Length prefix bytes (wire type 2 only). */
  readonly len?: Uint8Array;
  /** Varint bytes (0), fixed bytes (1, 5) or content (2). */
  readonly value: Uint8Array;
}

/** Split `bytes` into fields; `undefined` unless the whole input parses (wire types 0, 1, 2, 5). */
export function splitFields(bytes: Uint8Array): RawField[] | undefined {
  const out: RawField[] = [];
  let at = 0;
  while (at < bytes.length) {
    const k = readVarintAt(bytes, at);
    if (k === undefined) return undefined;
    const tag = Number(k.value >> 3n);
    const wire = Number(k.value & 7n);
    if (tag === 0) return undefined;
    const key = bytes.subarray(at, k.end);
    at = k.end;
    if (wire === 0) {
      const v = readVarintAt(bytes, at);
      if (v === undefined) return undefined;
      out.push({ tag, wire, key, value: bytes.subarray(at, v.end) });
      at = v.end;
    } else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (at + n > bytes.length) return undefined;
      out.push({ tag, wire, key, value: bytes.subarray(at, at + n) });
      at += n;
    } else if (wire === 2) {
      const l = readVarintAt(bytes, at);
      if (l === undefined || l.value > BigInt(bytes.length - l.end)) return undefined;
      const end = l.end + Number(l.value);
      out.push({
        tag,
        wire,
        key,
        len: bytes.subarray(at, l.end),
        value: bytes.subarray(l.end, end),
      });
      at = end;
    } else {
      return undefined;
    }
  }
  return out;
}

/** Concatenate byte arrays. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Re-encode fields from their raw pieces. */
export function joinFields(fields: readonly RawField[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of fields) {
    parts.push(f.key);
    if (f.len !== undefined) parts.push(f.len);
    parts.push(f.value);
  }
  return concat(...parts);
}

/** A length-delimited field with new content (and an honest length prefix). */
export function withContent(f: RawField, content: Uint8Array): RawField {
  return { ...f, len: varint(content.length), value: content };
}

function keyBytes(tag: number | bigint, wire: number): Uint8Array {
  return varint((BigInt(tag) << 3n) | BigInt(wire));
}

/** Guess the layout of an embedded byte string. */
export function guessLayout(bytes: Uint8Array): Layout {
  if (bytes.length >= 9 && (bytes[0] === 0x44 || bytes[0] === 0x33)) {
    const body = splitFields(bytes.subarray(1, bytes.length - 8));
    if (body !== undefined && body.length > 0) return 'signal-message';
    const versioned = splitFields(bytes.subarray(1));
    if (versioned !== undefined && versioned.length > 0) return 'versioned-protobuf';
  }
  const fields = bytes.length > 0 ? splitFields(bytes) : undefined;
  return fields !== undefined && fields.length > 0 ? 'protobuf' : 'raw';
}

// ------------------------------------------------------------------------------------------
// Interesting values
// ------------------------------------------------------------------------------------------

const INTERESTING_BYTES = [0x00, 0x01, 0x05, 0x08, 0x0a, 0x33, 0x44, 0x7f, 0x80, 0xfe, 0xff];

const INTERESTING_VARINTS: readonly bigint[] = [
  0n,
  1n,
  2n,
  0x7fn,
  0x80n,
  2000n,
  2001n,
  24_999n,
  25_000n,
  25_001n,
  65_535n,
  65_536n,
  0x7fff_ffffn,
  0x8000_0000n,
  0xffff_fffen,
  0xffff_ffffn,
  0x1_0000_0000n,
  2n ** 53n - 1n,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
];

const HUGE_LENGTHS: readonly bigint[] = [
  0x7fff_ffffn,
  0x8000_0000n,
  0xffff_ffffn,
  2n ** 53n,
  2n ** 63n,
  2n ** 64n - 1n,
];

/** Byte strings of the shapes parsers look for (keys, MACs, chunks), good and bad. */
function interestingContent(rng: Prng, old: Uint8Array): Uint8Array {
  switch (rng.below(12)) {
    case 0:
      return new Uint8Array(0);
    case 1:
      return concat(Uint8Array.of(0x05), rng.bytes(32));
    case 2:
      return concat(Uint8Array.of(0x05), new Uint8Array(32)); // low-order point u = 0
    case 3: {
      const k = new Uint8Array(33).fill(0xff); // non-canonical u ≥ p
      k[0] = 0x05;
      return k;
    }
    case 4:
      return concat(Uint8Array.of(0x05), rng.bytes(33)); // one byte too long
    case 5:
      return rng.bytes(32);
    case 6:
      return new Uint8Array(rng.pick([31, 32, 33, 34, 36, 64, 1568, 1569, 1570])).fill(
        rng.u32() & 0xff,
      );
    case 7:
      return concat(
        Uint8Array.of(rng.pick([0x08, 0x0a, 0x07, 0x00])),
        rng.bytes(rng.pick([1568, 1567, 1569])),
      );
    case 8:
      return old.subarray(0, Math.max(0, old.length - 1));
    case 9:
      return concat(old, Uint8Array.of(rng.u32() & 0xff));
    case 10:
      return rng.bytes(rng.smallInt(old.length + 16));
    default:
      return concat(old, old);
  }
}

// ------------------------------------------------------------------------------------------
// Raw mutations
// ------------------------------------------------------------------------------------------

function rawMutation(bytes: Uint8Array, rng: Prng, pool: readonly Uint8Array[]): Uint8Array {
  const n = bytes.length;
  switch (rng.below(10)) {
    case 0: {
      // bit flips
      if (n === 0) return Uint8Array.of(rng.u32() & 0xff);
      const out = bytes.slice();
      const flips = 1 + rng.smallInt(7);
      for (let i = 0; i < flips; i++) {
        const at = rng.below(n);
        out[at] = (out[at] as number) ^ (1 << rng.below(8));
      }
      return out;
    }
    case 1: {
      if (n === 0) return Uint8Array.of(rng.pick(INTERESTING_BYTES));
      const out = bytes.slice();
      out[rng.below(n)] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.u32() & 0xff;
      return out;
    }
    case 2:
      // truncation: anywhere, or just a few bytes off the end
      return rng.chance(0.5)
        ? bytes.subarray(0, rng.below(n + 1))
        : bytes.subarray(0, Math.max(0, n - 1 - rng.smallInt(40)));
    case 3:
      // extension: random bytes, zeros, or a copy of itself
      return rng.chance(0.3)
        ? concat(bytes, bytes)
        : concat(
            bytes,
            rng.chance(0.5)
              ? rng.bytes(1 + rng.smallInt(64))
              : new Uint8Array(1 + rng.smallInt(64)),
          );
    case 4: {
      const at = rng.below(n + 1);
      return concat(bytes.subarray(0, at), rng.bytes(1 + rng.smallInt(16)), bytes.subarray(at));
    }
    case 5: {
      if (n === 0) return bytes;
      const at = rng.below(n);
      const len = 1 + rng.smallInt(Math.min(64, n - at - 1));
      return concat(bytes.subarray(0, at), bytes.subarray(at + len));
    }
    case 6: {
      if (n === 0) return bytes;
      const at = rng.below(n);
      const len = 1 + rng.smallInt(Math.min(64, n - at - 1));
      return concat(
        bytes.subarray(0, at + len),
        bytes.subarray(at, at + len),
        bytes.subarray(at + len),
      );
    }
    case 7: {
      // splice with another seed
      const other = pool.length > 0 ? rng.pick(pool) : bytes;
      const cut = rng.below(n + 1);
      const from = rng.below(other.length + 1);
      return concat(bytes.subarray(0, cut), other.subarray(from));
    }
    case 8: {
      // overwrite a run with a single value (erases structure locally)
      if (n === 0) return bytes;
      const out = bytes.slice();
      const at = rng.below(n);
      out.fill(rng.pick(INTERESTING_BYTES), at, Math.min(n, at + 1 + rng.smallInt(32)));
      return out;
    }
    default: {
      // an interesting varint somewhere
      const at = rng.below(n + 1);
      const v = rng.chance(0.5)
        ? varint(rng.pick(INTERESTING_VARINTS))
        : overlongVarint(rng.below(128), 1 + rng.below(11));
      return concat(bytes.subarray(0, at), v, bytes.subarray(at));
    }
  }
}

// ------------------------------------------------------------------------------------------
// Protobuf mutations
// ------------------------------------------------------------------------------------------

function protobufMutation(
  bytes: Uint8Array,
  rng: Prng,
  pool: readonly Uint8Array[],
  depth: number,
  inSignalMessage: boolean,
): Uint8Array {
  const fields = splitFields(bytes);
  if (fields === undefined || fields.length === 0) return rawMutation(bytes, rng, pool);
  const fs = fields.slice();
  const i = rng.below(fs.length);
  const f = fs[i] as RawField;
  const op = rng.below(16);
  switch (op) {
    case 0:
      fs.splice(i, 1);
      break;
    case 1:
      // repeated field: same field again, same or other value
      fs.splice(
        rng.below(fs.length + 1),
        0,
        rng.chance(0.5)
          ? f
          : {
              ...f,
              value: f.wire === 2 ? f.value.subarray(0, f.value.length >> 1) : f.value,
              ...(f.wire === 2 ? { len: varint(f.value.length >> 1) } : {}),
            },
      );
      break;
    case 2: {
      // reorder
      const j = rng.below(fs.length);
      fs[i] = fs[j] as RawField;
      fs[j] = f;
      break;
    }
    case 3: {
      // field swap: this field's value under another field's number
      const other = rng.pick(fs);
      fs[i] = { ...f, key: keyBytes(other.tag, f.wire), tag: other.tag };
      fs[fs.indexOf(other)] = { ...other, key: keyBytes(f.tag, other.wire), tag: f.tag };
      break;
    }
    case 4: {
      // field number abuse: 0, neighbours, huge, out of range
      const tag = rng.pick<bigint>([
        0n,
        BigInt(f.tag + 1),
        BigInt(Math.max(1, f.tag - 1)),
        15n,
        16n,
        2n ** 29n - 1n,
        2n ** 29n,
        2n ** 32n,
        2n ** 60n,
      ]);
      fs[i] = { ...f, key: keyBytes(tag, f.wire) };
      break;
    }
    case 5:
      // wrong wire type (incl. groups 3/4 and invalid 6/7), value bytes unchanged
      fs[i] = { ...f, key: keyBytes(f.tag, rng.below(8)) };
      break;
    case 6: {
      // overlong key
      const raw = readVarintAt(f.key, 0);
      if (raw !== undefined) fs[i] = { ...f, key: overlongVarint(raw.value, 1 + rng.below(11)) };
      break;
    }
    case 7:
      if (f.wire === 0) {
        const raw = readVarintAt(f.value, 0);
        fs[i] = {
          ...f,
          value: rng.chance(0.5)
            ? varint(rng.pick(INTERESTING_VARINTS))
            : rng.chance(0.3)
              ? Uint8Array.from([
                  0xff,
                  0xff,
                  0xff,
                  0xff,
                  0xff,
                  0xff,
                  0xff,
                  0xff,
                  0xff,
                  rng.pick([0x01, 0x02, 0x7f]),
                ])
              : overlongVarint(raw?.value ?? 0n, 1 + rng.below(11)),
        };
      } else if (f.wire === 2) {
        // lying length prefix
        const lie = rng.chance(0.5)
          ? varint(rng.pick(HUGE_LENGTHS))
          : rng.chance(0.5)
            ? varint(Math.max(0, f.value.length + rng.pick([-2, -1, 1, 2, 64])))
            : overlongVarint(f.value.length, 1 + rng.below(11));
        fs[i] = { ...f, len: lie };
      }
      break;
    case 8:
    case 9:
    case 10:
      if (f.wire === 2) {
        if (depth < 4 && f.value.length > 0 && rng.chance(0.7)) {
          const inner = inSignalMessage && f.tag === 5 ? 'spqr' : guessLayout(f.value);
          fs[i] = withContent(f, mutateOnce(f.value, inner, rng, pool, depth + 1));
        } else {
          fs[i] = withContent(f, interestingContent(rng, f.value));
        }
      } else {
        fs[i] = { ...f, value: rawMutation(f.value, rng, pool) };
      }
      break;
    case 11:
      // a group or an invalid wire type appended or inserted
      fs.splice(rng.below(fs.length + 1), 0, {
        tag: f.tag,
        wire: 3,
        key: concat(
          keyBytes(rng.chance(0.5) ? f.tag : 99, rng.pick([3, 4, 6, 7])),
          rng.bytes(rng.smallInt(4)),
        ),
        value: new Uint8Array(0),
      });
      break;
    case 12:
      // field 0, then a value
      fs.splice(rng.below(fs.length + 1), 0, {
        tag: 0,
        wire: 0,
        key: Uint8Array.of(rng.pick([0x00, 0x02, 0x05])),
        value: Uint8Array.of(0x01),
      });
      break;
    case 13: {
      // an unknown field with a value of any wire type
      const tag = rng.pick([7, 8, 9, 13, 100, 536_870_911]);
      const wire = rng.pick([0, 1, 2, 5]);
      const value =
        wire === 0
          ? varint(rng.pick(INTERESTING_VARINTS))
          : wire === 1
            ? rng.bytes(8)
            : wire === 5
              ? rng.bytes(4)
              : rng.bytes(rng.smallInt(48));
      fs.splice(rng.below(fs.length + 1), 0, {
        tag,
        wire,
        key: keyBytes(tag, wire),
        ...(wire === 2 ? { len: varint(value.length) } : {}),
        value,
      });
      break;
    }
    case 14:
      // the last field cut in the middle
      return joinFields(fs).subarray(
        0,
        Math.max(0, bytes.length - 1 - rng.smallInt(Math.max(1, f.value.length))),
      );
    default:
      return rawMutation(bytes, rng, pool);
  }
  return joinFields(fs);
}

// ------------------------------------------------------------------------------------------
// SPQR V1 payloads (field 5)
// ------------------------------------------------------------------------------------------

interface SpqrParts {
  version: Uint8Array;
  epoch: Uint8Array;
  index: Uint8Array;
  type: Uint8Array;
  chunkIndex: Uint8Array;
  data: Uint8Array;
}

function splitSpqr(bytes: Uint8Array): SpqrParts | undefined {
  if (bytes.length === 0) return undefined;
  const e = readVarintAt(bytes, 1);
  if (e === undefined) return undefined;
  const ix = readVarintAt(bytes, e.end);
  if (ix === undefined || ix.end >= bytes.length) return undefined;
  const typeEnd = ix.end + 1;
  const type = bytes[ix.end] as number;
  let chunkIndex: Uint8Array = new Uint8Array(0);
  let dataStart = typeEnd;
  if (type !== 0 && type !== 4) {
    const c = readVarintAt(bytes, typeEnd);
    if (c !== undefined) {
      chunkIndex = bytes.subarray(typeEnd, c.end);
      dataStart = c.end;
    }
  }
  return {
    version: bytes.subarray(0, 1),
    epoch: bytes.subarray(1, e.end),
    index: bytes.subarray(e.end, ix.end),
    type: bytes.subarray(ix.end, typeEnd),
    chunkIndex,
    data: bytes.subarray(dataStart),
  };
}

function spqrMutation(bytes: Uint8Array, rng: Prng, pool: readonly Uint8Array[]): Uint8Array {
  const p = splitSpqr(bytes);
  if (p === undefined || rng.chance(0.15)) return rawMutation(bytes, rng, pool);
  const num = (b: Uint8Array): bigint => readVarintAt(b, 0)?.value ?? 0n;
  const near = (v: bigint): bigint => {
    const d = BigInt(rng.pick([-2, -1, 1, 2, 25_000, 25_001, 2001]));
    return v + d < 0n ? 0n : v + d;
  };
  const some = (v: bigint): Uint8Array =>
    rng.chance(0.4)
      ? varint(near(v))
      : rng.chance(0.5)
        ? varint(rng.pick(INTERESTING_VARINTS))
        : overlongVarint(v, 1 + rng.below(11));
  switch (rng.below(9)) {
    case 0:
      p.version = Uint8Array.of(rng.pick([0x00, 0x02, 0x03, 0x80, 0xff]));
      break;
    case 1:
      p.epoch = some(num(p.epoch));
      break;
    case 2:
      p.index = some(num(p.index));
      break;
    case 3:
      p.type = Uint8Array.of(rng.chance(0.7) ? rng.below(8) : rng.u32() & 0xff);
      break;
    case 4:
      p.chunkIndex = rng.chance(0.5)
        ? varint(rng.pick([0n, 1n, 30n, 36n, 65_535n, 65_536n, 2n ** 32n, 2n ** 63n]))
        : some(num(p.chunkIndex));
      break;
    case 5:
      p.data = rng.chance(0.5)
        ? p.data.subarray(0, rng.below(p.data.length + 1))
        : concat(p.data, rng.bytes(1 + rng.smallInt(40)));
      break;
    case 6: {
      if (p.data.length === 0) break;
      const d = p.data.slice();
      const at = rng.below(d.length);
      d[at] = (d[at] as number) ^ (1 << rng.below(8));
      p.data = d;
      break;
    }
    case 7: {
      // another chunk's data, or another real payload's chunk position
      const other = pool.length > 0 ? splitSpqr(rng.pick(pool)) : undefined;
      if (other !== undefined) {
        if (rng.chance(0.5)) p.data = other.data;
        else p.chunkIndex = other.chunkIndex;
      }
      break;
    }
    default:
      // a different payload type with this chunk (or no chunk)
      p.type = Uint8Array.of(rng.below(7));
      if (rng.chance(0.5)) {
        p.chunkIndex = new Uint8Array(0);
        p.data = new Uint8Array(0);
      }
  }
  return concat(p.version, p.epoch, p.index, p.type, p.chunkIndex, p.data);
}

// ------------------------------------------------------------------------------------------
// Entry points
// ------------------------------------------------------------------------------------------

/** Apply one mutation chosen for `layout`. */
export function mutateOnce(
  bytes: Uint8Array,
  layout: Layout,
  rng: Prng,
  pool: readonly Uint8Array[] = [],
  depth = 0,
): Uint8Array {
  if (rng.chance(0.12)) return rawMutation(bytes, rng, pool);
  switch (layout) {
    case 'raw':
      return rawMutation(bytes, rng, pool);
    case 'spqr':
      return spqrMutation(bytes, rng, pool);
    case 'protobuf':
      return protobufMutation(bytes, rng, pool, depth, false);
    case 'versioned-protobuf': {
      if (bytes.length === 0) return rawMutation(bytes, rng, pool);
      if (rng.chance(0.08)) {
        return concat(
          Uint8Array.of(
            rng.pick([0x00, 0x01, 0x02, 0x03, 0x22, 0x33, 0x34, 0x43, 0x44, 0x45, 0x55, 0xff]),
          ),
          bytes.subarray(1),
        );
      }
      return concat(
        bytes.subarray(0, 1),
        protobufMutation(bytes.subarray(1), rng, pool, depth, false),
      );
    }
    case 'signal-message': {
      if (bytes.length < 9) return rawMutation(bytes, rng, pool);
      const version = bytes.subarray(0, 1);
      const body = bytes.subarray(1, bytes.length - 8);
      const mac = bytes.subarray(bytes.length - 8);
      const r = rng.float();
      if (r < 0.08) {
        return concat(
          Uint8Array.of(rng.pick([0x00, 0x22, 0x23, 0x33, 0x34, 0x43, 0x45, 0x4f, 0x54, 0xff])),
          body,
          mac,
        );
      }
      if (r < 0.16) return concat(version, body, rawMutation(mac, rng, pool));
      return concat(version, protobufMutation(body, rng, pool, depth, true), mac);
    }
  }
}

/** Apply 1–4 stacked mutations (mostly one). */
export function mutate(
  bytes: Uint8Array,
  layout: Layout,
  rng: Prng,
  pool: readonly Uint8Array[] = [],
): Uint8Array {
  let out = bytes;
  const rounds = rng.chance(0.6) ? 1 : 2 + rng.below(3);
  for (let i = 0; i < rounds; i++) {
    // Later rounds re-guess the layout: an earlier round may have broken the structure.
    out = mutateOnce(out, i === 0 ? layout : rng.chance(0.7) ? layout : 'raw', rng, pool);
  }
  // Keep inputs bounded: the fuzzer looks for logic bugs, not for the allocator's limits.
  return out.length > 64 * 1024 ? out.subarray(0, 64 * 1024) : out;
}
