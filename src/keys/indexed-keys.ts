/**
 * An immutable list of numbered 32-byte secrets, packed: each entry is `u32be index ‖ key`, 36
 * bytes. The Double Ratchet keeps its skipped message seeds this way and SPQR its out-of-order
 * chain keys, in memory as in stored records, so that loading a record costs one copy instead of
 * an object and a buffer per key, and saving it none.
 *
 * @module
 */
import { installInspect, REDACTED } from './redact.js';

/** Bytes per entry: a 4-byte index and a 32-byte key. */
const ENTRY = 36;
const KEY_LENGTH = 32;

/** One entry, as read out of {@link IndexedKeys}. */
export interface IndexedKey {
  /** The message counter (or chain counter) the key belongs to. */
  readonly index: number;
  /** The 32-byte secret (a copy). */
  readonly key: Uint8Array;
}

/** The packed bytes of a list, reached only through {@link packedKeyBytes}. */
let bytesOf: (list: IndexedKeys) => Uint8Array;

/** A packed, immutable list of `(index, 32-byte key)` entries. Renders without its keys. */
export class IndexedKeys implements Iterable<IndexedKey> {
  static {
    bytesOf = (list) => list.#bytes;
  }

  readonly #bytes: Uint8Array;
  readonly #view: DataView;

  private constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The empty list. */
  static readonly EMPTY: IndexedKeys = new IndexedKeys(new Uint8Array(0));

  /**
   * Read the packed form (a copy is kept), or `undefined` when the length is not a multiple of 36.
   */
  static fromPacked(bytes: Uint8Array): IndexedKeys | undefined {
    if (bytes.length % ENTRY !== 0) return undefined;
    return bytes.length === 0 ? IndexedKeys.EMPTY : new IndexedKeys(bytes.slice());
  }

  /**
   * A list of the given entries, in order.
   *
   * @throws {RangeError} for an index that is not a u32 or a key that is not 32 bytes
   */
  static fromEntries(entries: readonly IndexedKey[]): IndexedKeys {
    if (entries.length === 0) return IndexedKeys.EMPTY;
    const out = new Uint8Array(entries.length * ENTRY);
    const view = new DataView(out.buffer);
    entries.forEach((e, i) => {
      if (!Number.isInteger(e.index) || e.index < 0 || e.index > 0xffffffff) {
        throw new RangeError('index must be a u32');
      }
      if (e.key.length !== KEY_LENGTH) throw new RangeError('key must be 32 bytes');
      view.setUint32(i * ENTRY, e.index, false);
      out.set(e.key, i * ENTRY + 4);
    });
    return new IndexedKeys(out);
  }

  /** The number of entries. */
  get length(): number {
    return this.#bytes.length / ENTRY;
  }

  /** The index of entry `pos`. */
  indexAt(pos: number): number {
    return this.#view.getUint32(this.#offset(pos), false);
  }

  /** The key of entry `pos` (a copy). */
  keyAt(pos: number): Uint8Array {
    const at = this.#offset(pos) + 4;
    return this.#bytes.slice(at, at + KEY_LENGTH);
  }

  /** Entry `pos`, negative positions counting from the end; `undefined` out of range. */
  at(pos: number): IndexedKey | undefined {
    const p = pos < 0 ? this.length + pos : pos;
    if (!Number.isInteger(p) || p < 0 || p >= this.length) return undefined;
    return { index: this.indexAt(p), key: this.keyAt(p) };
  }

  /** The position of the first entry with `index`, or −1. */
  find(index: number): number {
    const n = this.length;
    for (let p = 0; p < n; p++) if (this.#view.getUint32(p * ENTRY, false) === index) return p;
    return -1;
  }

  /** Whether some entry has `index`. */
  has(index: number): boolean {
    return this.find(index) >= 0;
  }

  /** The list without entry `pos`, order kept. */
  without(pos: number): IndexedKeys {
    const at = this.#offset(pos);
    const out = new Uint8Array(this.#bytes.length - ENTRY);
    out.set(this.#bytes.subarray(0, at));
    out.set(this.#bytes.subarray(at + ENTRY), at);
    return new IndexedKeys(out);
  }

  /** The list without entry `pos`, the last entry moved into its place (SPQR's order). */
  withoutSwapLast(pos: number): IndexedKeys {
    const at = this.#offset(pos);
    const out = this.#bytes.slice(0, this.#bytes.length - ENTRY);
    if (at < out.length) out.set(this.#bytes.subarray(this.#bytes.length - ENTRY), at);
    return new IndexedKeys(out);
  }

  /** This list's entries followed by `other`'s, cut to the first `limit` entries. */
  concat(other: IndexedKeys, limit: number = Number.POSITIVE_INFINITY): IndexedKeys {
    const count = Math.min(this.length + other.length, Math.max(0, Math.floor(limit)));
    if (count === this.length && other.length === 0) return this;
    const out = new Uint8Array(count * ENTRY);
    const mine = Math.min(this.length, count);
    out.set(this.#bytes.subarray(0, mine * ENTRY));
    out.set(other.#bytes.subarray(0, (count - mine) * ENTRY), mine * ENTRY);
    return new IndexedKeys(out);
  }

  /** The entries whose index passes `keep`, order kept. */
  filterIndex(keep: (index: number) => boolean): IndexedKeys {
    const n = this.length;
    const out = new Uint8Array(this.#bytes.length);
    let w = 0;
    for (let p = 0; p < n; p++) {
      if (keep(this.#view.getUint32(p * ENTRY, false))) {
        out.set(this.#bytes.subarray(p * ENTRY, (p + 1) * ENTRY), w);
        w += ENTRY;
      }
    }
    return w === this.#bytes.length ? this : new IndexedKeys(out.slice(0, w));
  }

  /** Every index, in order. */
  indices(): number[] {
    const out: number[] = [];
    for (let p = 0; p < this.length; p++) out.push(this.indexAt(p));
    return out;
  }

  /** The entries in order (keys copied). */
  *[Symbol.iterator](): Iterator<IndexedKey> {
    for (let p = 0; p < this.length; p++) yield { index: this.indexAt(p), key: this.keyAt(p) };
  }

  #offset(pos: number): number {
    if (!Number.isInteger(pos) || pos < 0 || pos >= this.length) {
      throw new RangeError(`position ${String(pos)} out of range`);
    }
    return pos * ENTRY;
  }

  /**
   * The JSON rendering: the indices only.
   *
   * @returns the class tag, the indices and `'<redacted>'` for the keys
   */
  toJSON(): {
    /** Always `'IndexedKeys'`. */
    type: 'IndexedKeys';
    /** The indices, in order. */
    indices: number[];
    /** Always `'<redacted>'`. */
    keys: string;
  } {
    return { type: 'IndexedKeys', indices: this.indices(), keys: REDACTED };
  }

  /**
   * A redacted rendering, also used by `util.inspect`.
   *
   * @returns `IndexedKeys(<n> entries, <redacted>)`
   */
  toString(): string {
    return `IndexedKeys(${String(this.length)} entries, ${REDACTED})`;
  }
}

installInspect(IndexedKeys);

/**
 * The packed bytes of `list` without a copy, for the record codecs. Not part of the public API
 * (a caller writing to them would change the keys of every state sharing the list).
 *
 * @internal
 */
export function packedKeyBytes(list: IndexedKeys): Uint8Array {
  return bytesOf(list);
}
