/**
 * `IndexedKeys`, the packed list behind skipped message seeds and SPQR's key history: every
 * operation against a plain array of entries, the packed layout, input checks and redaction.
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type IndexedKey, IndexedKeys, packedKeyBytes } from '../../src/keys/index.js';
import { bytesToHex } from '../support/hex.js';
import { fcParams } from '../primitives/helpers.js';

const entry = fc.record({
  index: fc.integer({ min: 0, max: 0xffff_ffff }),
  key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
});
const entries = fc.array(entry, { maxLength: 40 });

const plain = (list: IndexedKeys): { index: number; key: string }[] =>
  [...list].map((e) => ({ index: e.index, key: bytesToHex(e.key) }));
const model = (list: readonly IndexedKey[]): { index: number; key: string }[] =>
  list.map((e) => ({ index: e.index, key: bytesToHex(e.key) }));

describe('IndexedKeys', () => {
  it('packs entries as u32be index ‖ key, and reads the packed form back', () => {
    const key = new Uint8Array(32).fill(0xab);
    const list = IndexedKeys.fromEntries([{ index: 0x01020304, key }]);
    const packed = packedKeyBytes(list);
    expect(packed).toHaveLength(36);
    expect([...packed.subarray(0, 4)]).toEqual([1, 2, 3, 4]);
    expect(packed.subarray(4)).toEqual(key);
    fc.assert(
      fc.property(entries, (es) => {
        const a = IndexedKeys.fromEntries(es);
        const b = IndexedKeys.fromPacked(packedKeyBytes(a));
        expect(b).toBeDefined();
        expect(plain(b!)).toEqual(model(es));
        expect(a.length).toBe(es.length);
        expect(a.indices()).toEqual(es.map((e) => e.index));
      }),
      fcParams(100),
    );
  });

  it('refuses a packed length that is not a multiple of 36, bad indices and bad key lengths', () => {
    expect(IndexedKeys.fromPacked(new Uint8Array(35))).toBeUndefined();
    expect(IndexedKeys.fromPacked(new Uint8Array(37))).toBeUndefined();
    expect(IndexedKeys.fromPacked(new Uint8Array(0))).toBe(IndexedKeys.EMPTY);
    const key = new Uint8Array(32);
    for (const index of [-1, 0x1_0000_0000, 1.5, Number.NaN]) {
      expect(() => IndexedKeys.fromEntries([{ index, key }])).toThrow(RangeError);
    }
    expect(() => IndexedKeys.fromEntries([{ index: 1, key: new Uint8Array(31) }])).toThrow(
      RangeError,
    );
    const list = IndexedKeys.fromEntries([{ index: 1, key }]);
    for (const pos of [-1, 1, 0.5]) {
      expect(() => list.keyAt(pos)).toThrow(RangeError);
      expect(() => list.without(pos)).toThrow(RangeError);
    }
    expect(list.at(1)).toBeUndefined();
    expect(list.at(-2)).toBeUndefined();
  });

  it('keeps a copy of what it reads and hands out copies of keys', () => {
    const packed = packedKeyBytes(
      IndexedKeys.fromEntries([{ index: 7, key: new Uint8Array(32).fill(1) }]),
    ).slice();
    const list = IndexedKeys.fromPacked(packed)!;
    packed.fill(0);
    expect(list.keyAt(0)).toEqual(new Uint8Array(32).fill(1));
    list.keyAt(0).fill(9);
    expect(list.keyAt(0)).toEqual(new Uint8Array(32).fill(1));
    expect(list.indexAt(0)).toBe(7);
    // The packed bytes are reachable only through the internal function, not from the object.
    expect(Object.getOwnPropertyNames(IndexedKeys.prototype)).not.toContain('packedView');
    expect(Object.keys(list)).toEqual([]);
  });

  it('find, has, at, without, withoutSwapLast, concat and filterIndex behave like the array operations', () => {
    fc.assert(
      fc.property(
        entries,
        entries,
        fc.nat(),
        fc.integer({ min: 0, max: 90 }),
        fc.nat(),
        (es, more, pick, limit, threshold) => {
          const list = IndexedKeys.fromEntries(es);
          const other = IndexedKeys.fromEntries(more);
          const probe = es.length > 0 ? (es[pick % es.length] as IndexedKey).index : pick;
          const pos = es.findIndex((e) => e.index === probe);
          expect(list.find(probe)).toBe(pos);
          expect(list.has(probe)).toBe(pos >= 0);
          if (es.length > 0) {
            const at = es.length - 1;
            expect(model([list.at(-1)!])).toEqual(model([es[at]!]));
          }
          if (pos >= 0) {
            expect(plain(list.without(pos))).toEqual(model(es.filter((_, i) => i !== pos)));
            const swapped = es.slice();
            const last = swapped.pop()!;
            if (pos < swapped.length) swapped[pos] = last;
            expect(plain(list.withoutSwapLast(pos))).toEqual(model(swapped));
          }
          expect(plain(list.concat(other))).toEqual(model([...es, ...more]));
          expect(plain(list.concat(other, limit))).toEqual(model([...es, ...more].slice(0, limit)));
          const t = threshold % 0x1_0000_0000;
          expect(plain(list.filterIndex((i) => i >= t))).toEqual(
            model(es.filter((e) => e.index >= t)),
          );
        },
      ),
      fcParams(150),
    );
  });

  it('never renders its keys', () => {
    const key = new Uint8Array(32).fill(0x5a);
    const list = IndexedKeys.fromEntries([{ index: 3, key }]);
    const hex = bytesToHex(key);
    for (const text of [JSON.stringify(list), String(list), inspect(list), inspect({ list })]) {
      expect(text).not.toContain(hex);
      expect(text).not.toContain('5a5a');
      expect(text).toContain('<redacted>');
    }
    expect(JSON.parse(JSON.stringify(list))).toEqual({
      type: 'IndexedKeys',
      indices: [3],
      keys: '<redacted>',
    });
  });
});
