/**
 * ProtobufWriter: byte-exact output against an independent reference encoder (the test helpers'),
 * growth past its initial buffer, nested messages without an intermediate `finish`, raw
 * prefixes, the full u32/u64 ranges, and a round trip through the reader.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRecordError } from '../../src/errors.js';
import { ProtobufMessage, ProtobufWriter } from '../../src/wire/index.js';
import { fcRuns } from '../support/session-helpers.js';
import { bField, bytes, vField } from './wire-helpers.js';

type Op =
  | { readonly kind: 'u32'; readonly field: number; readonly value: number }
  | { readonly kind: 'u64'; readonly field: number; readonly value: bigint }
  | { readonly kind: 'bool'; readonly field: number; readonly value: boolean }
  | { readonly kind: 'bytes'; readonly field: number; readonly value: Uint8Array };

const fieldArb = fc.integer({ min: 1, max: 20_000 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('u32' as const), field: fieldArb, value: fc.nat(0xffff_ffff) }),
  fc.record({
    kind: fc.constant('u64' as const),
    field: fieldArb,
    value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  }),
  fc.record({ kind: fc.constant('bool' as const), field: fieldArb, value: fc.boolean() }),
  fc.record({
    kind: fc.constant('bytes' as const),
    field: fieldArb,
    value: fc.uint8Array({ maxLength: 300 }),
  }),
);

function write(w: ProtobufWriter, ops: readonly Op[]): ProtobufWriter {
  for (const op of ops) {
    if (op.kind === 'u32') w.uint32(op.field, op.value);
    else if (op.kind === 'u64') w.uint64(op.field, op.value);
    else if (op.kind === 'bool') w.bool(op.field, op.value);
    else w.bytes(op.field, op.value);
  }
  return w;
}

function reference(ops: readonly Op[]): Uint8Array {
  return bytes(
    ...ops.map((op) =>
      op.kind === 'bytes'
        ? bField(op.field, op.value)
        : vField(op.field, op.kind === 'bool' ? (op.value ? 1 : 0) : op.value),
    ),
  );
}

describe('ProtobufWriter', () => {
  it('writes exactly what the reference encoder writes, at any initial capacity', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 40 }),
        fc.integer({ min: 1, max: 256 }),
        (ops, cap) => {
          expect(write(new ProtobufWriter(cap), ops).finish()).toEqual(reference(ops));
        },
      ),
      fcRuns(300),
    );
  });

  it('nests a writer with message() exactly as bytes() of its finished output', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 10 }),
        fc.array(opArb, { maxLength: 10 }),
        (a, b) => {
          const inner = write(new ProtobufWriter(1), b);
          const viaMessage = write(new ProtobufWriter(1), a).message(7, inner).finish();
          const viaBytes = write(new ProtobufWriter(), a).bytes(7, inner.finish()).finish();
          expect(viaMessage).toEqual(viaBytes);
          expect(viaMessage).toEqual(bytes(reference(a), bField(7, reference(b))));
        },
      ),
      fcRuns(200),
    );
  });

  it('puts raw bytes in front without a key and keeps writing after them', () => {
    const out = new ProtobufWriter(2).raw(Uint8Array.of(0x43)).uint32(1, 300).finish();
    expect([...out]).toEqual([0x43, 0x08, 0xac, 0x02]);
  });

  it('returns a buffer of its own: later writes and other writers do not change it', () => {
    const w = new ProtobufWriter(4).bytes(1, Uint8Array.of(1, 2, 3));
    const first = w.finish();
    w.bytes(2, new Uint8Array(100).fill(9));
    expect([...first]).toEqual([0x0a, 3, 1, 2, 3]);
    expect(first.buffer.byteLength).toBe(first.length);
  });

  it('encodes the edges of the integer ranges and refuses values outside them', () => {
    expect([...new ProtobufWriter().uint32(1, 0xffff_ffff).finish()]).toEqual(
      vField(1, 0xffff_ffff),
    );
    expect([...new ProtobufWriter().uint64(1, 2n ** 64n - 1n).finish()]).toEqual(
      vField(1, 2n ** 64n - 1n),
    );
    expect(() => new ProtobufWriter().uint32(1, 2 ** 32)).toThrow(RangeError);
    expect(() => new ProtobufWriter().uint32(1, -1)).toThrow(RangeError);
    expect(() => new ProtobufWriter().uint32(1, 1.5)).toThrow(RangeError);
    expect(() => new ProtobufWriter().uint64(1, 2n ** 64n)).toThrow(RangeError);
    expect(() => new ProtobufWriter().uint64(1, -1n)).toThrow(RangeError);
  });

  it('round-trips through the reader', () => {
    const fail = (reason: string): never => {
      throw new InvalidRecordError(reason);
    };
    fc.assert(
      fc.property(fc.uniqueArray(opArb, { selector: (o) => o.field, maxLength: 30 }), (ops) => {
        const m = new ProtobufMessage(write(new ProtobufWriter(1), ops).finish(), fail);
        for (const op of ops) {
          if (op.kind === 'u32') expect(m.uint32(op.field)).toBe(op.value);
          else if (op.kind === 'u64') expect(m.uint64(op.field)).toBe(op.value);
          else if (op.kind === 'bool') expect(m.bool(op.field)).toBe(op.value);
          else expect(m.bytes(op.field)).toEqual(op.value);
        }
      }),
      fcRuns(200),
    );
  });
});
