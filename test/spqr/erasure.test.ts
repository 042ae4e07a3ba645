/**
 * SPQR erasure code: GF(2^16) arithmetic, the libsignal-compatible chunk vectors of
 * libsignal-extras §D.8, reconstruction properties, upstream's point-keeping rule (checked against
 * an independent model written from the spqr `encoding/polynomial.rs` description), and the
 * stored layouts (round trips, corruption → InvalidRecordError only).
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSignalError } from '../../src/errors.js';
import {
  ChunkDecoder,
  ChunkEncoder,
  MAX_CHUNK_INDEX,
  MAX_ERASURE_MESSAGE_LENGTH,
} from '../../src/spqr/erasure.js';
import { GF16_POLYNOMIAL, gfDiv, gfInv, gfMul } from '../../src/spqr/gf16.js';
import { bytesToHex, hexToBytes } from '../support/hex.js';
import { fcRuns } from '../support/session-helpers.js';

// ------------------------------------------------------------------------------------------
// Independent reference arithmetic (carry-less multiply, square-and-multiply inverse, direct
// Lagrange evaluation): deliberately a different algorithm from src/spqr.
// ------------------------------------------------------------------------------------------

function refMul(a: number, b: number): number {
  let r = 0;
  for (let i = 0; i < 16; i++) if ((b >>> i) & 1) r ^= a << i;
  for (let i = 31; i >= 16; i--) if ((r >>> i) & 1) r ^= 0x1100b << (i - 16);
  return r;
}

function refInv(a: number): number {
  // a^(2^16 - 2), as upstream's div_impl.
  let result = 1;
  let base = a;
  let e = 0xfffe;
  while (e > 0) {
    if (e & 1) result = refMul(result, base);
    base = refMul(base, base);
    e >>>= 1;
  }
  return result;
}

interface Pt {
  x: number;
  y: number;
}

/** Value at `x` of the polynomial of degree < pts.length through `pts` (0 when empty). */
function refLagrangeAt(pts: readonly Pt[], x: number): number {
  let acc = 0;
  for (const pk of pts) {
    let num = 1;
    let den = 1;
    for (const pm of pts) {
      if (pm.x === pk.x) continue;
      num = refMul(num, x ^ pm.x);
      den = refMul(den, pk.x ^ pm.x);
    }
    acc ^= refMul(pk.y, refMul(num, refInv(den)));
  }
  return acc;
}

function needed(length: number, j: number): number {
  const symbols = length / 2;
  return Math.floor(symbols / 16) + (j < symbols % 16 ? 1 : 0);
}

function symbol(message: Uint8Array, i: number): number {
  return ((message[2 * i] as number) << 8) | (message[2 * i + 1] as number);
}

/** Chunk `t` computed straight from the definition. */
function refChunk(message: Uint8Array, t: number): Uint8Array {
  const out = new Uint8Array(32);
  for (let j = 0; j < 16; j++) {
    const n = needed(message.length, j);
    const pts: Pt[] = [];
    for (let x = 0; x < n; x++) pts.push({ x, y: symbol(message, 16 * x + j) });
    const v = refLagrangeAt(pts, t);
    out[2 * j] = v >>> 8;
    out[2 * j + 1] = v & 0xff;
  }
  return out;
}

/**
 * Model of upstream's PolyDecoder: per polynomial a map x → y; a point is kept when x < n or
 * fewer than n points are stored, and a kept point overwrites (SortedSet::push replaces); decoding
 * uses the stored y at x, else interpolates over the n smallest-x points.
 */
class RefDecoder {
  readonly pts: Map<number, number>[] = Array.from({ length: 16 }, () => new Map());
  readonly length: number;
  constructor(length: number) {
    this.length = length;
  }

  add(index: number, data: Uint8Array): void {
    for (let j = 0; j < 16; j++) {
      const n = needed(this.length, j);
      const p = this.pts[j] as Map<number, number>;
      if (index < n || p.size < n) p.set(index, symbol(data, j));
    }
  }

  message(): Uint8Array | undefined {
    for (let j = 0; j < 16; j++) {
      if ((this.pts[j] as Map<number, number>).size < needed(this.length, j)) return undefined;
    }
    const out = new Uint8Array(this.length);
    for (let i = 0; i < this.length / 2; i++) {
      const j = i % 16;
      const x = Math.floor(i / 16);
      const p = this.pts[j] as Map<number, number>;
      let v = p.get(x);
      if (v === undefined) {
        const sorted = [...p.entries()]
          .sort((a, b) => a[0] - b[0])
          .slice(0, needed(this.length, j))
          .map(([px, py]) => ({ x: px, y: py }));
        v = refLagrangeAt(sorted, x);
      }
      out[2 * i] = v >>> 8;
      out[2 * i + 1] = v & 0xff;
    }
    return out;
  }
}

function expectRecordError(f: () => unknown): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isSignalError(caught, 'ERR_INVALID_RECORD')).toBe(true);
}

function feed(decoder: ChunkDecoder, encoder: ChunkEncoder, indexes: readonly number[]) {
  let d = decoder;
  for (const i of indexes) d = d.withChunk(i, encoder.chunkAt(i));
  return d;
}

const sha256 = (b: number): Uint8Array =>
  new Uint8Array(createHash('sha256').update(Uint8Array.of(b)).digest());

/** The §D.8 message: SHA-256([0]) ‖ SHA-256([1]) ‖ SHA-256([2]). */
const D8_MESSAGE = new Uint8Array([...sha256(0), ...sha256(1), ...sha256(2)]);
const D8_CHUNKS: Record<number, string> = {
  0: '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  3: 'fe00ad7acb09cad0f02037f8f192b9ce8c064a597cca999a19ababa2047d3c01',
  4: 'dc1475e7e3876c186f48719909a8909db868315e5a86ce4bb6ab2f8f1ef9f945',
  36: '9804e673247e2e2614e6a491b4ddadb7c7d3146c8133f24efd70bb7c624702d9',
  1000: '7ed92c394e09f0ec177492bf2cf4eb3f4715c32a03ec0a453280e2bc8b598713',
};

/** Message lengths SPQR V1 encodes: hdr‖mac, ek, ct1, ct2‖mac. */
const SPQR_LENGTHS = [96, 160, 960, 1152] as const;

// ------------------------------------------------------------------------------------------

describe('GF(2^16)', () => {
  it('matches the §D.8 vectors', () => {
    expect(GF16_POLYNOMIAL).toBe(0x1100b);
    expect(gfMul(0x1234, 0x5678)).toBe(0x6324);
    expect(gfMul(0x8000, 2)).toBe(0x100b);
    expect(gfMul(0xffff, 0xffff)).toBe(0x0733);
    expect(gfInv(2)).toBe(0x8805);
    expect(refInv(2)).toBe(0x8805);
  });

  it('multiplies like a carry-less multiply reduced by 0x1100B', () => {
    const el = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(el, el, (a, b) => gfMul(a, b) === refMul(a, b) && gfMul(a, b) === gfMul(b, a)),
      fcRuns(2000),
    );
    expect(gfMul(0, 0x1234)).toBe(0);
    expect(gfMul(1, 0xbeef)).toBe(0xbeef);
  });

  it('inverts every non-zero element, as a^(2^16-2)', () => {
    for (let a = 1; a <= 0xffff; a++) {
      if (gfMul(a, gfInv(a)) !== 1) throw new Error(`bad inverse of ${String(a)}`);
    }
    for (const a of [1, 3, 0x100, 0x1234, 0xffff]) expect(gfInv(a)).toBe(refInv(a));
    expect(gfDiv(gfMul(0x4321, 0x0777), 0x0777)).toBe(0x4321);
    expect(() => gfInv(0)).toThrow(RangeError);
    expect(() => gfDiv(5, 0)).toThrow(RangeError);
  });
});

describe('ChunkEncoder', () => {
  it('produces the §D.8 chunks of SHA-256([0]) ‖ SHA-256([1]) ‖ SHA-256([2])', () => {
    const encoder = new ChunkEncoder(D8_MESSAGE);
    for (const [t, hex] of Object.entries(D8_CHUNKS)) {
      expect(bytesToHex(encoder.chunkAt(Number(t)))).toBe(hex);
      expect(bytesToHex(refChunk(D8_MESSAGE, Number(t)))).toBe(hex);
    }
    for (let t = 0; t < 3; t++) {
      expect(encoder.chunkAt(t)).toEqual(D8_MESSAGE.subarray(32 * t, 32 * t + 32));
    }
  });

  it('agrees with the definition at random indexes for random messages and lengths', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 0, max: MAX_ERASURE_MESSAGE_LENGTH / 2 })
          .chain((half) => fc.uint8Array({ minLength: 2 * half, maxLength: 2 * half })),
        fc.array(fc.integer({ min: 0, max: MAX_CHUNK_INDEX }), { minLength: 1, maxLength: 3 }),
        (message, indexes) => {
          const encoder = new ChunkEncoder(message);
          for (const t of indexes) {
            expect(encoder.chunkAt(t)).toEqual(refChunk(message, t));
          }
        },
      ),
      fcRuns(40),
    );
  });

  it('hands out 0, 1, 2, … without changing itself, and wraps at 65536', () => {
    const e0 = new ChunkEncoder(D8_MESSAGE);
    const { chunk: c0, encoder: e1 } = e0.nextChunk();
    const { chunk: c1, encoder: e2 } = e1.nextChunk();
    expect(e0.nextIndex).toBe(0);
    expect([c0.index, c1.index, e2.nextIndex]).toEqual([0, 1, 2]);
    expect(c1.data).toEqual(D8_MESSAGE.subarray(32, 64));
    expect(bytesToHex(e2.nextChunk().chunk.data)).toBe(bytesToHex(D8_MESSAGE.subarray(64, 96)));

    const last = e0.serialize();
    last[3] = 0xff;
    last[4] = 0xff;
    const eLast = ChunkEncoder.deserialize(last);
    const { chunk, encoder: wrapped } = eLast.nextChunk();
    expect(chunk.index).toBe(65535);
    expect(chunk.data).toEqual(refChunk(D8_MESSAGE, 65535));
    expect(wrapped.nextIndex).toBe(0);
    expect(wrapped.nextChunk().chunk).toEqual({ index: 0, data: D8_MESSAGE.subarray(0, 32) });
  });

  it('copies its input and returns fresh chunk bytes', () => {
    const message = D8_MESSAGE.slice();
    const encoder = new ChunkEncoder(message);
    message.fill(0);
    const c = encoder.chunkAt(0);
    c.fill(0);
    expect(encoder.chunkAt(0)).toEqual(D8_MESSAGE.subarray(0, 32));
  });

  it('handles short and empty messages like upstream (missing polynomials are zero)', () => {
    const abc = new TextEncoder().encode('abcdefghij');
    const encoder = new ChunkEncoder(abc);
    const zeros22 = new Uint8Array(22);
    expect(encoder.chunkAt(0)).toEqual(new Uint8Array([...abc, ...zeros22]));
    // Upstream test encode_and_decode_small: chunks 1 and 2 rebuild the message.
    let d = new ChunkDecoder(10);
    d = feed(d, encoder, [1, 2]);
    expect(d.message()).toEqual(abc);

    const empty = new ChunkEncoder(new Uint8Array(0));
    expect(empty.chunkAt(7)).toEqual(new Uint8Array(32));
    const d0 = new ChunkDecoder(0);
    expect(d0.complete).toBe(true);
    expect(d0.message()).toEqual(new Uint8Array(0));
  });

  it('rejects misuse with TypeError / RangeError', () => {
    expect(() => new ChunkEncoder('x' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => new ChunkEncoder(new Uint8Array(95))).toThrow(RangeError);
    expect(() => new ChunkEncoder(new Uint8Array(MAX_ERASURE_MESSAGE_LENGTH + 2))).toThrow(
      RangeError,
    );
    const e = new ChunkEncoder(D8_MESSAGE);
    for (const bad of [-1, 65536, 1.5, Number.NaN])
      expect(() => e.chunkAt(bad)).toThrow(RangeError);
  });
});

describe('ChunkDecoder', () => {
  it('decodes the §D.8 message from chunks {3, 36, 1000}', () => {
    let d = new ChunkDecoder(96);
    for (const t of [1000, 3, 36]) {
      expect(d.message()).toBeUndefined();
      d = d.withChunk(t, hexToBytes(D8_CHUNKS[t] as string));
    }
    expect(d.complete).toBe(true);
    expect(bytesToHex(d.message() as Uint8Array)).toBe(bytesToHex(D8_MESSAGE));
  });

  for (const length of SPQR_LENGTHS) {
    const n = length / 32;
    it(`rebuilds a ${String(length)}-byte message from any ${String(n)} distinct chunks`, () => {
      const scenario = fc
        .record({
          message: fc.uint8Array({ minLength: length, maxLength: length }),
          indexes: fc.uniqueArray(
            fc.oneof(
              fc.integer({ min: 0, max: 2 * n }),
              fc.integer({ min: 0, max: MAX_CHUNK_INDEX }),
            ),
            { minLength: n, maxLength: n },
          ),
          duplicates: fc.nat({ max: n }),
        })
        .chain((s) => {
          const all = [...s.indexes, ...s.indexes.slice(0, s.duplicates)];
          return fc
            .shuffledSubarray(all, { minLength: all.length, maxLength: all.length })
            .map((order) => ({ ...s, order }));
        });
      fc.assert(
        fc.property(scenario, ({ message, order }) => {
          const encoder = new ChunkEncoder(message);
          let d = new ChunkDecoder(length);
          const seen = new Set<number>();
          for (const t of order) {
            d = d.withChunk(t, encoder.chunkAt(t));
            seen.add(t);
            // Complete exactly when n distinct chunks have arrived, never before.
            expect(d.complete).toBe(seen.size >= n);
            if (seen.size < n) expect(d.message()).toBeUndefined();
            else expect(d.message()).toEqual(message);
          }
        }),
        fcRuns(length > 500 ? 12 : 30),
      );
    });
  }

  it('rebuilds messages of any even length from ⌈L/32⌉ distinct chunks', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: MAX_ERASURE_MESSAGE_LENGTH / 2 })
          .chain((half) => fc.uint8Array({ minLength: 2 * half, maxLength: 2 * half })),
        fc.uniqueArray(fc.integer({ min: 0, max: MAX_CHUNK_INDEX }), {
          minLength: 36,
          maxLength: 36,
        }),
        (message, pool) => {
          const n = Math.ceil(message.length / 32);
          const encoder = new ChunkEncoder(message);
          const indexes = pool.slice(0, n);
          const almost = feed(new ChunkDecoder(message.length), encoder, indexes.slice(0, n - 1));
          expect(almost.message()).toBeUndefined();
          const d = almost.withChunk(
            indexes[n - 1] as number,
            encoder.chunkAt(indexes[n - 1] as number),
          );
          expect(d.message()).toEqual(message);
        },
      ),
      fcRuns(25),
    );
  });

  it('is immutable: withChunk returns a new decoder, or the same one when nothing changes', () => {
    const encoder = new ChunkEncoder(D8_MESSAGE);
    const d0 = new ChunkDecoder(96);
    const d1 = d0.withChunk(5, encoder.chunkAt(5));
    expect(d1).not.toBe(d0);
    expect(d0.toJSON().points).toBe(0);
    expect(d1.toJSON().points).toBe(16);
    expect(d1.withChunk(5, encoder.chunkAt(5))).toBe(d1);
    const d3 = feed(d1, encoder, [6, 7]);
    expect(d3.complete).toBe(true);
    // Once 3 points are stored, chunks at x ≥ 3 are dropped.
    expect(d3.withChunk(8, new Uint8Array(32).fill(0xaa))).toBe(d3);
    const m = d3.message() as Uint8Array;
    m.fill(0);
    expect(d3.message()).toEqual(D8_MESSAGE);
  });

  it('keeps points like upstream: systematic points always, others only while short', () => {
    const encoder = new ChunkEncoder(D8_MESSAGE);
    const garbage = new Uint8Array(32).fill(0x5a);
    // Complete from non-systematic chunks, then a bogus chunk 0 arrives: it is stored (x < n)
    // and used directly for the symbols at x = 0, and it also feeds the interpolation.
    const d = feed(new ChunkDecoder(96), encoder, [10, 11, 12]);
    expect(d.message()).toEqual(D8_MESSAGE);
    const bogus = d.withChunk(0, garbage);
    const out = bogus.message() as Uint8Array;
    expect(out.subarray(0, 32)).toEqual(garbage);
    const model = new RefDecoder(96);
    for (const t of [10, 11, 12]) model.add(t, encoder.chunkAt(t));
    model.add(0, garbage);
    expect(out).toEqual(model.message());
  });

  it('replaces a stored point when the same index comes again and is kept', () => {
    const encoder = new ChunkEncoder(D8_MESSAGE);
    const garbage = new Uint8Array(32).fill(0x33);
    // x = 20 ≥ n, but fewer than n points are stored, so the genuine value overwrites.
    let d = new ChunkDecoder(96).withChunk(20, garbage);
    d = feed(d, encoder, [20, 21, 22]);
    expect(d.message()).toEqual(D8_MESSAGE);
    // x = 1 < n is always kept: a later bogus chunk 1 overwrites the genuine one.
    const s = feed(new ChunkDecoder(96), encoder, [0, 1, 2]).withChunk(1, garbage);
    expect((s.message() as Uint8Array).subarray(32, 64)).toEqual(garbage);
  });

  it('decodes hostile chunk sequences exactly like the upstream model', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(10, 34, 96, 160),
        fc.array(
          fc.record({
            index: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 65535 })),
            garbage: fc.option(fc.uint8Array({ minLength: 32, maxLength: 32 }), { nil: undefined }),
          }),
          { maxLength: 20 },
        ),
        fc.uint8Array({ minLength: 160, maxLength: 160 }),
        (length, ops, source) => {
          const message = source.subarray(0, length);
          const encoder = new ChunkEncoder(message);
          const model = new RefDecoder(length);
          let d = new ChunkDecoder(length);
          for (const { index, garbage } of ops) {
            const data = garbage ?? encoder.chunkAt(index);
            d = d.withChunk(index, data);
            model.add(index, data);
            expect(d.message()).toEqual(model.message());
          }
          const again = ChunkDecoder.deserialize(d.serialize());
          expect(again.message()).toEqual(model.message());
        },
      ),
      fcRuns(150),
    );
  });

  it('behaves the same when reloaded from bytes before every chunk, and keeps its own copy', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(64, 96, 160),
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 16 }),
        fc.uint8Array({ minLength: 160, maxLength: 160 }),
        (length, indexes, source) => {
          const message = source.subarray(0, length);
          const encoder = new ChunkEncoder(message);
          let kept = new ChunkDecoder(length);
          let reloaded = new ChunkDecoder(length);
          for (const index of indexes) {
            const bytes = reloaded.serialize();
            reloaded = ChunkDecoder.deserialize(bytes);
            bytes.fill(0xff); // the reloaded decoder must not depend on the caller's buffer
            kept = kept.withChunk(index, encoder.chunkAt(index));
            reloaded = reloaded.withChunk(index, encoder.chunkAt(index));
            expect(reloaded.serialize()).toEqual(kept.serialize());
            expect(reloaded.complete).toBe(kept.complete);
            expect(reloaded.message()).toEqual(kept.message());
            expect(reloaded.toJSON()).toEqual(kept.toJSON());
          }
        },
      ),
      fcRuns(100),
    );
  });

  it('bounds stored points at 2·n per polynomial', () => {
    const encoder = new ChunkEncoder(new Uint8Array(1152).fill(7));
    // 36 large indexes first, then all 36 systematic ones, then more large ones.
    const indexes = [
      ...Array.from({ length: 36 }, (_, i) => 1000 + i),
      ...Array.from({ length: 36 }, (_, i) => i),
      ...Array.from({ length: 50 }, (_, i) => 5000 + i),
    ];
    const d = feed(new ChunkDecoder(1152), encoder, indexes);
    expect(d.toJSON().points).toBe(16 * 72);
    expect(d.serialize().length).toBe(3 + 16 * (1 + 72 * 4));
    expect(d.message()).toEqual(new Uint8Array(1152).fill(7));
  });

  it('rejects misuse with TypeError / RangeError', () => {
    for (const bad of [-2, 3, 1.5, MAX_ERASURE_MESSAGE_LENGTH + 2, Number.NaN]) {
      expect(() => new ChunkDecoder(bad)).toThrow(RangeError);
    }
    const d = new ChunkDecoder(96);
    expect(() => d.withChunk(65536, new Uint8Array(32))).toThrow(RangeError);
    expect(() => d.withChunk(-1, new Uint8Array(32))).toThrow(RangeError);
    expect(() => d.withChunk(0, new Uint8Array(31))).toThrow(RangeError);
    expect(() => d.withChunk(0, [] as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('stored layouts', () => {
  it('round-trips encoders mid-stream', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SPQR_LENGTHS),
        fc.integer({ min: 0, max: 80 }),
        fc.uint8Array({ minLength: 1152, maxLength: 1152 }),
        (length, steps, source) => {
          const message = source.subarray(0, length);
          let e = new ChunkEncoder(message);
          for (let i = 0; i < steps; i++) e = e.nextChunk().encoder;
          const bytes = e.serialize();
          expect(bytes.length).toBe(5 + length);
          const back = ChunkEncoder.deserialize(bytes);
          expect(back.serialize()).toEqual(bytes);
          expect(back.nextIndex).toBe(steps);
          expect(back.messageLength).toBe(length);
          expect(back.nextChunk().chunk).toEqual(e.nextChunk().chunk);
          expect(back.nextChunk().chunk.data).toEqual(refChunk(message, steps));
        },
      ),
      fcRuns(20),
    );
  });

  it('round-trips decoders mid-stream', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SPQR_LENGTHS),
        fc.uniqueArray(fc.integer({ min: 0, max: MAX_CHUNK_INDEX }), {
          minLength: 36,
          maxLength: 36,
        }),
        fc.nat(),
        fc.uint8Array({ minLength: 1152, maxLength: 1152 }),
        (length, pool, cut, source) => {
          const message = source.subarray(0, length);
          const n = length / 32;
          const indexes = pool.slice(0, n);
          const k = cut % n;
          const encoder = new ChunkEncoder(message);
          const partial = feed(new ChunkDecoder(length), encoder, indexes.slice(0, k));
          const bytes = partial.serialize();
          const back = ChunkDecoder.deserialize(bytes);
          expect(back.serialize()).toEqual(bytes);
          expect(back.messageLength).toBe(length);
          expect(back.complete).toBe(false);
          const done = feed(back, encoder, indexes.slice(k));
          expect(done.message()).toEqual(message);
          expect(ChunkDecoder.deserialize(done.serialize()).message()).toEqual(message);
        },
      ),
      fcRuns(20),
    );
  });

  it('documents the exact layouts', () => {
    const e = new ChunkEncoder(Uint8Array.of(0xab, 0xcd)).nextChunk().encoder;
    expect(bytesToHex(e.serialize())).toBe('0100020001abcd');
    const d = new ChunkDecoder(4).withChunk(9, new Uint8Array(32).fill(1));
    // n = [1, 1, 0, …]: polynomials 0 and 1 keep (9, 0x0101); the other 14 keep nothing.
    expect(bytesToHex(d.serialize())).toBe(
      '020004' + '0100090101' + '0100090101' + '00'.repeat(14),
    );
  });

  it('rejects corrupt encoder states with InvalidRecordError', () => {
    const good = new ChunkEncoder(D8_MESSAGE).serialize();
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      good.subarray(0, 4),
      good.subarray(0, good.length - 1),
      new Uint8Array([...good, 0]),
      Uint8Array.from(good, (b, i) => (i === 0 ? 2 : b)),
      Uint8Array.from(good, (b, i) => (i === 2 ? 97 : b)), // odd length
      new Uint8Array([1, 0x04, 0x82, 0, 0, ...new Uint8Array(1154)]), // 1154 > max
    ];
    for (const c of cases) expectRecordError(() => ChunkEncoder.deserialize(c));
    expect(() => ChunkEncoder.deserialize('x' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('rejects corrupt decoder states with InvalidRecordError', () => {
    const pt = (x: number, y: number) => [x >>> 8, x & 0xff, y >>> 8, y & 0xff];
    const header = [2, 0, 96]; // L = 96, n = 3 for every polynomial
    const rest = (k: number) => new Array<number>(k).fill(0);
    const valid = [...header, 2, ...pt(0, 1), ...pt(9, 2), ...rest(15)];
    expect(() => ChunkDecoder.deserialize(Uint8Array.from(valid))).not.toThrow();
    const cases: number[][] = [
      [],
      [2, 0],
      [1, 0, 96, ...rest(16)], // encoder tag
      [2, 0, 95, ...rest(16)], // odd length
      [2, 0x04, 0x82, ...rest(16)], // too long
      [...header, ...rest(15)], // missing a polynomial
      [...header, ...rest(16), 0], // trailing byte
      [...header, 2, ...pt(0, 1), ...rest(15)], // truncated points
      [...header, 2, ...pt(9, 1), ...pt(0, 2), ...rest(15)], // unsorted
      [...header, 2, ...pt(4, 1), ...pt(4, 2), ...rest(15)], // repeated x
      [...header, 7, ...rest(28), ...rest(15)], // 7 > 2·3 points
      [...header, 4, ...pt(3, 0), ...pt(4, 0), ...pt(5, 0), ...pt(6, 0), ...rest(15)], // 4 > 3 extra
      [2, 0, 4, 0, 0, 1, ...pt(0, 0), ...rest(13)], // n = 0 but a point stored
    ];
    for (const c of cases) expectRecordError(() => ChunkDecoder.deserialize(Uint8Array.from(c)));
    expect(() => ChunkDecoder.deserialize(null as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('turns any corruption into InvalidRecordError or a usable state, nothing else', () => {
    const encoder = new ChunkEncoder(new Uint8Array(160).map((_, i) => (i * 37) & 0xff));
    const samples = [
      encoder.serialize(),
      encoder.nextChunk().encoder.serialize(),
      feed(new ChunkDecoder(160), encoder, [0, 7, 300]).serialize(),
      feed(new ChunkDecoder(96), encoder, [9, 2, 4, 1]).serialize(),
    ];
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat({ max: 255 }) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('append' as const), extra: fc.uint8Array({ maxLength: 8 }) }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(...samples),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (sample, mutations, asEncoder) => {
          let b = sample.slice();
          for (const m of mutations) {
            if (m.kind === 'set' && b.length > 0) b[m.at % b.length] = m.value;
            else if (m.kind === 'cut') b = b.subarray(0, m.at % (b.length + 1));
            else if (m.kind === 'append') b = new Uint8Array([...b, ...m.extra]);
          }
          try {
            if (asEncoder) {
              const e = ChunkEncoder.deserialize(b);
              e.chunkAt(e.nextIndex);
              e.chunkAt(65535);
              expect(ChunkEncoder.deserialize(e.serialize()).serialize()).toEqual(b);
            } else {
              const d = ChunkDecoder.deserialize(b);
              d.message();
              expect(d.serialize()).toEqual(b);
            }
          } catch (e) {
            expect(isSignalError(e, 'ERR_INVALID_RECORD')).toBe(true);
          }
        },
      ),
      fcRuns(400),
    );
  });

  it('renders only a public summary', () => {
    const secretish = new Uint8Array(96).fill(0xee);
    const e = new ChunkEncoder(secretish);
    const d = new ChunkDecoder(96).withChunk(0, secretish.subarray(0, 32));
    for (const s of [
      JSON.stringify(e),
      String(e),
      inspect(e),
      JSON.stringify(d),
      String(d),
      inspect(d),
    ]) {
      expect(s).not.toMatch(/eeee|238/);
    }
    expect(String(e)).toBe('ChunkEncoder(length: 96, next: 0)');
    expect(inspect(d)).toBe('ChunkDecoder(length: 96, points: 16, complete: false)');
    expect(JSON.parse(JSON.stringify(d))).toEqual({
      type: 'ChunkDecoder',
      messageLength: 96,
      points: 16,
      complete: false,
    });
  });
});
