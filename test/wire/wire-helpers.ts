/**
 * A hand-written protobuf encoder for the wire tests, independent of `src/wire`, so that byte
 * layouts are checked against an encoding the library did not produce.
 */
import fc from 'fast-check';
import { PublicKey } from '../../src/index.js';
import type { SignalMessageFields } from '../../src/wire/index.js';

/** LEB128 varint bytes of a non-negative integer. */
export function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

/** A protobuf key (field number, wire type). */
export function key(field: number, wireType: number): number[] {
  return varint((BigInt(field) << 3n) | BigInt(wireType));
}

/** A varint field. */
export function vField(field: number, value: number | bigint): number[] {
  return [...key(field, 0), ...varint(value)];
}

/** A length-delimited field. */
export function bField(field: number, value: Uint8Array | readonly number[]): number[] {
  return [...key(field, 2), ...varint(value.length), ...value];
}

/** Concatenate byte-ish parts into a Uint8Array. */
export function bytes(...parts: (readonly number[] | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) out.push(...p);
  return Uint8Array.from(out);
}

/** A fixed, valid 33-byte public key (any 32 bytes are a valid encoding). */
export const SAMPLE_KEY: PublicKey = PublicKey.fromRaw(new Uint8Array(32).fill(0x42));

/** Eight bytes standing in for a MAC (decoders never check it). */
export const SAMPLE_MAC: Uint8Array = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);

/** A SignalMessage protobuf body with the given extra raw protobuf bytes appended. */
export function signalProto(
  over: {
    ratchetKey?: readonly number[] | null;
    counter?: readonly number[] | null;
    previousCounter?: readonly number[] | null;
    ciphertext?: readonly number[] | null;
  } = {},
  extra: readonly number[] = [],
): number[] {
  const parts: number[] = [];
  const pick = (v: readonly number[] | null | undefined, dflt: number[]): number[] =>
    v === null ? [] : v === undefined ? dflt : [...v];
  parts.push(...pick(over.ratchetKey, bField(1, SAMPLE_KEY.serialize())));
  parts.push(...pick(over.counter, vField(2, 5)));
  parts.push(...pick(over.previousCounter, vField(3, 0)));
  parts.push(...pick(over.ciphertext, bField(4, new Uint8Array(16).fill(0xcc))));
  parts.push(...extra);
  return parts;
}

/** `version ‖ protobuf ‖ mac` as a complete SignalMessage. */
export function signalMessageBytes(proto: readonly number[], version = 0x44): Uint8Array {
  return bytes([version], proto, SAMPLE_MAC);
}

/** Arbitrary u32. */
export const u32: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xffff_ffff });

/** Arbitrary Curve25519 public key. */
export const publicKeyArb: fc.Arbitrary<PublicKey> = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((raw) => PublicKey.fromRaw(raw));

/** Arbitrary SignalMessage fields (field 5 absent or non-empty; field 6 absent or any bytes). */
export const signalFieldsArb: fc.Arbitrary<SignalMessageFields> = fc.record({
  messageVersion: fc.constantFrom(3, 4),
  ratchetKey: publicKeyArb,
  counter: u32,
  previousCounter: u32,
  ciphertext: fc.uint8Array({ maxLength: 160 }),
  pqRatchet: fc.option(fc.uint8Array({ minLength: 1, maxLength: 48 }), { nil: undefined }),
  addresses: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }),
});

/** A mutation of a byte string: the kinds of damage a hostile network does. */
export type Mutation =
  | { kind: 'flip'; pos: number; bit: number }
  | { kind: 'set'; pos: number; value: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'extend'; extra: Uint8Array }
  | { kind: 'insert'; pos: number; extra: Uint8Array }
  | { kind: 'delete'; pos: number; count: number };

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    pos: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({
    kind: fc.constant('set' as const),
    pos: fc.nat(),
    value: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }),
  fc.record({
    kind: fc.constant('extend' as const),
    extra: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    pos: fc.nat(),
    extra: fc.uint8Array({ minLength: 1, maxLength: 12 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    pos: fc.nat(),
    count: fc.integer({ min: 1, max: 12 }),
  }),
);

/** Apply mutations in order (positions are taken modulo the current length). */
export function mutate(input: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = Array.from(input);
  for (const m of mutations) {
    const at = (pos: number): number => (b.length === 0 ? 0 : pos % b.length);
    switch (m.kind) {
      case 'flip':
        if (b.length > 0) b[at(m.pos)] = (b[at(m.pos)] as number) ^ (1 << m.bit);
        break;
      case 'set':
        if (b.length > 0) b[at(m.pos)] = m.value;
        break;
      case 'truncate':
        b = b.slice(0, b.length === 0 ? 0 : m.keep % b.length);
        break;
      case 'extend':
        b = [...b, ...m.extra];
        break;
      case 'insert': {
        const p = b.length === 0 ? 0 : m.pos % (b.length + 1);
        b = [...b.slice(0, p), ...m.extra, ...b.slice(p)];
        break;
      }
      case 'delete': {
        const p = at(m.pos);
        b = [...b.slice(0, p), ...b.slice(p + m.count)];
        break;
      }
    }
  }
  return Uint8Array.from(b);
}

/** A structured random protobuf: random fields 0..10, random wire types 0..7, random payloads. */
export const rawProtobufArb: fc.Arbitrary<Uint8Array> = fc
  .array(
    fc.record({
      field: fc.integer({ min: 0, max: 10 }),
      wireType: fc.integer({ min: 0, max: 7 }),
      payload: fc.uint8Array({ maxLength: 40 }),
      value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      lengthDelta: fc.integer({ min: -3, max: 3 }),
    }),
    { maxLength: 12 },
  )
  .map((fields) => {
    const out: number[] = [];
    for (const f of fields) {
      out.push(...key(f.field, f.wireType));
      if (f.wireType === 0) out.push(...varint(f.value));
      else if (f.wireType === 2) {
        out.push(...varint(Math.max(0, f.payload.length + f.lengthDelta)), ...f.payload);
      } else out.push(...f.payload.subarray(0, f.wireType === 1 ? 8 : f.wireType === 5 ? 4 : 0));
    }
    return Uint8Array.from(out);
  });
