/**
 * SPQR's erasure code (libsignal-extras §D.8; upstream spqr `encoding/polynomial.rs`): a message
 * is cut into 32-byte chunks, one per SPQR message, such that any `n` distinct chunks rebuild it,
 * where `n = ⌈L / 32⌉` for an L-byte message. The chunk format is a wire format and matches
 * libsignal byte for byte.
 *
 * The code, over GF(2¹⁶) (`gf16.ts`):
 * - the message is read as big-endian 16-bit symbols s₀, s₁, …; symbol i is the value at
 *   x = ⌊i/16⌋ of polynomial `i mod 16`. Polynomial j thus has nⱼ = ⌊(L/2)/16⌋ points, plus one
 *   when j < (L/2) mod 16, and is the unique polynomial of degree < nⱼ through them (the zero
 *   polynomial when nⱼ = 0);
 * - chunk t (0 ≤ t ≤ 65 535) is P₀(t) ‖ … ‖ P₁₅(t), each value big-endian, where t is read as a
 *   field element. Chunks t < nⱼ are systematic: for L a multiple of 32, chunk t is bytes
 *   [32t, 32t + 32) of the message;
 * - the encoder hands out chunks 0, 1, 2, … and wraps from 65 535 to 0.
 *
 * The decoder keeps points exactly as upstream does, so that even inconsistent (hostile) chunks
 * decode to the same bytes as in libsignal:
 * - a chunk's value for polynomial j is kept when its index is < nⱼ, or when fewer than nⱼ points
 *   are stored for j; otherwise it is dropped. At most 2·nⱼ points are ever stored for j;
 * - a kept point whose index is already stored *replaces* the stored value (upstream keeps the
 *   points in a `sorted_vec::SortedSet`, whose `push` replaces an equal element);
 * - once every polynomial has nⱼ points, each symbol comes from the stored point at its x when
 *   there is one, and otherwise from the polynomial through the nⱼ stored points of smallest x.
 *
 * Encoder and decoder are immutable values: {@link ChunkEncoder.nextChunk} and
 * {@link ChunkDecoder.withChunk} return a new object and leave the old one untouched, so a
 * caller can compute first and commit after (STYLE §1.9).
 *
 * Serialized layouts (local storage only, never on the wire; integers big-endian):
 * ```
 * ChunkEncoder  0x01 ‖ u16 L ‖ u16 nextIndex ‖ message (L bytes)                  5 + L bytes
 * ChunkDecoder  0x02 ‖ u16 L ‖ 16 × ( u8 count ‖ count × (u16 x ‖ u16 y) )         ≤ 4 627 bytes
 *               points of one polynomial in strictly increasing x; count ≤ 2·nⱼ and at
 *               most nⱼ points with x ≥ nⱼ (the only states the keeping rule can reach)
 * ```
 * L is even and at most {@link MAX_ERASURE_MESSAGE_LENGTH}. Anything else is rejected with
 * `InvalidRecordError`.
 *
 * Not this module's concern: which message is encoded, chunk index parsing from the wire (the
 * SPQR message codec rejects indexes above 65 535), and MAC checks of the decoded bytes.
 *
 * @module
 */
import { SPQR_CHUNK_LENGTH } from '../constants.js';
import { InvalidRecordError } from '../errors.js';
import { assertBytes, concatBytes } from '../primitives/index.js';
import { gfDiv, gfMul } from './gf16.js';

/**
 * Largest message the erasure code accepts, in bytes: the ML-KEM-768 encapsulation key (1152),
 * the biggest thing SPQR V1 sends. Upstream accepts up to 16 · 65 536 bytes, but SPQR only ever
 * encodes 96, 1152, 960 and 160 bytes; the cap keeps stored decoder state and interpolation
 * cost small (nⱼ ≤ 36).
 */
export const MAX_ERASURE_MESSAGE_LENGTH = 1152;

/** Largest chunk index; indexes are u16 on the wire. */
export const MAX_CHUNK_INDEX = 0xffff;

/** One erasure-code chunk: its index and its 32 bytes. */
export interface ErasureChunk {
  /** `0..65535`. */
  readonly index: number;
  /** Exactly {@link SPQR_CHUNK_LENGTH} (32) bytes. */
  readonly data: Uint8Array;
}

/** Symbols per chunk, which is also the number of polynomials. @internal */
const POLYS = SPQR_CHUNK_LENGTH / 2;
/** Layout tag of a serialized encoder. @internal */
const ENCODER_LAYOUT = 0x01;
/** Layout tag of a serialized decoder. @internal */
const DECODER_LAYOUT = 0x02;
/** The empty message, used to build instances that are filled in right after. @internal */
const EMPTY = new Uint8Array(0);

// ------------------------------------------------------------------------------------------
// Shared helpers
// ------------------------------------------------------------------------------------------

/** Whether `length` is a message length this module accepts. @internal */
function isValidLength(length: number): boolean {
  return (
    Number.isSafeInteger(length) &&
    length >= 0 &&
    length <= MAX_ERASURE_MESSAGE_LENGTH &&
    length % 2 === 0
  );
}

/** Throw `RangeError` unless `length` is an accepted message length. @internal */
function checkLength(length: number, name: string): void {
  if (!isValidLength(length)) {
    throw new RangeError(
      `${name} must be even and at most ${String(MAX_ERASURE_MESSAGE_LENGTH)}, got ${String(length)}`,
    );
  }
}

/** Throw `RangeError` unless `index` is an integer chunk index 0..65535. @internal */
function checkIndex(index: number): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_CHUNK_INDEX) {
    throw new RangeError(`chunk index must be an integer 0..65535, got ${String(index)}`);
  }
}

/** nⱼ for each of the 16 polynomials of an L-byte message (upstream `necessary_points`). @internal */
function pointsNeeded(length: number): readonly number[] {
  const symbols = length / 2;
  const base = Math.floor(symbols / POLYS);
  const extra = symbols % POLYS;
  const out: number[] = [];
  for (let j = 0; j < POLYS; j++) out.push(j < extra ? base + 1 : base);
  return out;
}

/**
 * Coefficients (lowest degree first) of the polynomial of degree < `count` through the first
 * `count` points `(xs[k], ys[k])`, whose x values must be distinct.
 *
 * Lagrange in O(count²): build M(x) = Π (x − x_k) once, then for each k divide out (x − x_k)
 * by synthetic division, evaluate the quotient at x_k for the denominator, and add the scaled
 * quotient. In characteristic 2, − is + is XOR.
 *
 * @internal
 */
function interpolate(xs: ArrayLike<number>, ys: ArrayLike<number>, count: number): Uint16Array {
  const coefficients = new Uint16Array(count);
  if (count === 0) return coefficients;
  const master = new Uint16Array(count + 1);
  master[0] = 1;
  for (let k = 0; k < count; k++) {
    const xk = xs[k] as number;
    for (let i = k + 1; i >= 1; i--) {
      master[i] = (master[i - 1] as number) ^ gfMul(master[i] as number, xk);
    }
    master[0] = gfMul(master[0], xk);
  }
  const quotient = new Uint16Array(count);
  for (let k = 0; k < count; k++) {
    const xk = xs[k] as number;
    quotient[count - 1] = master[count] as number;
    for (let i = count - 1; i >= 1; i--) {
      quotient[i - 1] = (master[i] as number) ^ gfMul(xk, quotient[i] as number);
    }
    // quotient(x_k) = Π_{m≠k} (x_k − x_m), non-zero because the x values are distinct.
    const scale = gfDiv(ys[k] as number, evaluate(quotient, xk));
    if (scale === 0) continue;
    for (let i = 0; i < count; i++) {
      coefficients[i] = (coefficients[i] as number) ^ gfMul(scale, quotient[i] as number);
    }
  }
  return coefficients;
}

/** Horner evaluation; the empty polynomial is 0, as upstream. @internal */
function evaluate(coefficients: Uint16Array, x: number): number {
  let acc = 0;
  for (let i = coefficients.length - 1; i >= 0; i--) {
    acc = gfMul(acc, x) ^ (coefficients[i] as number);
  }
  return acc;
}

/** Throw the record error for a corrupt stored encoder or decoder. @internal */
function corrupt(kind: string, reason: string): never {
  throw new InvalidRecordError(`${kind}: ${reason}`);
}

/**
 * Give a class a `util.inspect` rendering equal to its `toString()` (the symbol Node looks up,
 * reached without importing `node:util`). Installed on the prototype rather than declared as a
 * computed method so that declarations stay isolated; `keys/` has the same helper, but this layer
 * does not import `keys/`.
 *
 * @internal
 */
function installInspect(cls: { prototype: { toString(): string } }): void {
  Object.defineProperty(cls.prototype, Symbol.for('nodejs.util.inspect.custom'), {
    value(this: { toString(): string }): string {
      return this.toString();
    },
    enumerable: false,
  });
}

// ------------------------------------------------------------------------------------------
// Encoder
// ------------------------------------------------------------------------------------------

/** Barycentric weights per point count, see {@link weightsFor}. @internal */
const weightCache = new Map<number, Uint16Array>();

/**
 * The barycentric weights `w_k = 1 / Π_{m≠k} (k − m)` of the points `x = 0..n−1`, which every
 * encoder interpolates through (public constants; at most 37 counts exist, so the cache stays
 * bounded). @internal
 */
function weightsFor(n: number): Uint16Array {
  let w = weightCache.get(n);
  if (w === undefined) {
    w = new Uint16Array(n);
    for (let k = 0; k < n; k++) {
      let d = 1;
      for (let m = 0; m < n; m++) if (m !== k) d = gfMul(d, k ^ m);
      w[k] = gfDiv(1, d);
    }
    weightCache.set(n, w);
  }
  return w;
}

/**
 * The Lagrange basis at `x ≥ n` for the nodes `0..n−1`: `c_k = ℓ(x)·w_k / (x − k)` with
 * `ℓ(x) = Π_k (x − k)`, so that the polynomial through `(k, y_k)` has the value `Σ_k c_k·y_k`
 * at x. The same value as interpolating the coefficients and evaluating them (upstream's way),
 * in O(n) per polynomial once the basis is known, and the basis depends only on n and x, so
 * every polynomial of a chunk shares it. In characteristic 2, − is XOR, and `x − k` is never 0
 * because `x ≥ n > k`. A plain array: n goes up to 36, and typed arrays over 64 bytes are slow
 * to allocate in V8. @internal
 */
function lagrangeBasis(n: number, x: number): number[] {
  const w = weightsFor(n);
  let ell = 1;
  for (let k = 0; k < n; k++) ell = gfMul(ell, x ^ k);
  const basis: number[] = [];
  for (let k = 0; k < n; k++) basis.push(gfDiv(gfMul(ell, w[k] as number), x ^ k));
  return basis;
}

/**
 * The value at x of polynomial `j` of `message` (its symbols at `0..n−1`), from the basis of
 * {@link lagrangeBasis} for n and x. The empty polynomial (n = 0) is 0 everywhere, as upstream.
 * @internal
 */
function valueFromBasis(message: Uint8Array, j: number, basis: readonly number[]): number {
  let sum = 0;
  for (let k = 0; k < basis.length; k++) {
    const at = 2 * (k * POLYS + j);
    const y = ((message[at] as number) << 8) | (message[at + 1] as number);
    if (y !== 0) sum ^= gfMul(y, basis[k] as number);
  }
  return sum;
}

let adoptEncoder: (bytes: Uint8Array) => ChunkEncoder;
let encoderParts: (encoder: ChunkEncoder) => readonly [Uint8Array, Uint8Array];
let adoptDecoder: (bytes: Uint8Array) => ChunkDecoder;
let decoderBytes: (decoder: ChunkDecoder) => Uint8Array;

/**
 * For the SPQR state codec, which parses a private copy of a stored state: an encoder or decoder
 * built on `bytes` as they are (views into them, no copy). `bytes` must not be reachable by
 * anyone else. Same checks and errors as `deserialize`.
 *
 * @internal
 */
export function encoderFromOwnedBytes(bytes: Uint8Array): ChunkEncoder {
  return adoptEncoder(bytes);
}

/** @internal See {@link encoderFromOwnedBytes}. */
export function decoderFromOwnedBytes(bytes: Uint8Array): ChunkDecoder {
  return adoptDecoder(bytes);
}

/**
 * An encoder's serialized form as two pieces, its 5-byte header and its message (the encoder's
 * own bytes, not a copy: read only, and only until the next write), so that a writer can copy
 * the message once, into its output.
 *
 * @internal
 */
export function serializedEncoderParts(encoder: ChunkEncoder): readonly [Uint8Array, Uint8Array] {
  return encoderParts(encoder);
}

/**
 * A decoder's serialized form: its own bytes when it has not changed since it was parsed (read
 * only, not a copy), otherwise new bytes.
 *
 * @internal
 */
export function serializedDecoderView(decoder: ChunkDecoder): Uint8Array {
  return decoderBytes(decoder);
}

/**
 * Hands out the chunks of one message. Immutable: {@link ChunkEncoder.nextChunk} returns the
 * chunk together with the encoder for the next one.
 *
 * Chunks below nⱼ are copied from the message; later chunks evaluate each polynomial in Lagrange
 * form at the chunk index (upstream interpolates the coefficients once and evaluates them; the
 * values are the same), so nothing but the message needs keeping between chunks.
 *
 * @example
 * ```ts
 * let encoder = new ChunkEncoder(ek); // 1152 bytes → chunks 0..35 are systematic
 * const { chunk, encoder: next } = encoder.nextChunk(); // chunk.index === 0
 * encoder = next;
 * ```
 */
export class ChunkEncoder {
  #message: Uint8Array;
  #nextIndex: number;
  #needed: readonly number[];

  /**
   * Start encoding `message`; the first chunk handed out is chunk 0.
   *
   * @param message - the bytes to encode (copied); even length, at most
   *   {@link MAX_ERASURE_MESSAGE_LENGTH}
   * @throws {TypeError} when `message` is not a `Uint8Array`
   * @throws {RangeError} when its length is odd or too large
   */
  constructor(message: Uint8Array) {
    assertBytes(message, 'message');
    checkLength(message.length, 'message length');
    this.#message = message.slice();
    this.#nextIndex = 0;
    this.#needed = pointsNeeded(message.length);
  }

  /** An encoder sharing `message` (already owned) and its polynomial cache. */
  static #make(message: Uint8Array, needed: readonly number[], nextIndex: number): ChunkEncoder {
    const e = new ChunkEncoder(EMPTY);
    e.#message = message;
    e.#needed = needed;
    e.#nextIndex = nextIndex;
    return e;
  }

  /** Length in bytes of the encoded message. */
  get messageLength(): number {
    return this.#message.length;
  }

  /** Index of the chunk {@link ChunkEncoder.nextChunk} will return, `0..65535`. */
  get nextIndex(): number {
    return this.#nextIndex;
  }

  /**
   * The chunk at `index`, without changing the encoder (upstream `chunk_at`).
   *
   * @param index - chunk index `0..65535`
   * @returns 32 new bytes: P₀(index) ‖ … ‖ P₁₅(index), big-endian
   * @throws {RangeError} when `index` is not an integer in `0..65535`
   * @example
   * ```ts
   * new ChunkEncoder(msg96).chunkAt(1); // msg96.subarray(32, 64)
   * ```
   */
  chunkAt(index: number): Uint8Array {
    checkIndex(index);
    const message = this.#message;
    const out = new Uint8Array(SPQR_CHUNK_LENGTH);
    // Polynomials have at most two sizes (nⱼ differs by one at most), so at most two bases.
    let basis: number[] = [];
    let basisSize = -1;
    for (let j = 0; j < POLYS; j++) {
      const n = this.#needed[j] as number;
      let value: number;
      if (index < n) {
        const at = 2 * (index * POLYS + j);
        value = ((message[at] as number) << 8) | (message[at + 1] as number);
      } else {
        if (n !== basisSize) {
          basis = lagrangeBasis(n, index);
          basisSize = n;
        }
        value = valueFromBasis(message, j, basis);
      }
      out[2 * j] = value >>> 8;
      out[2 * j + 1] = value & 0xff;
    }
    return out;
  }

  /**
   * The next chunk, and the encoder that continues after it (upstream `next_chunk`). The index
   * wraps from 65 535 to 0, like upstream's `idx as u16` over a wrapping u32 counter.
   *
   * @returns `{ chunk, encoder }`; `this` is unchanged
   * @example
   * ```ts
   * const { chunk, encoder } = sending.nextChunk();
   * state = { ...state, sending: encoder };
   * ```
   */
  nextChunk(): { readonly chunk: ErasureChunk; readonly encoder: ChunkEncoder } {
    const index = this.#nextIndex;
    const chunk: ErasureChunk = { index, data: this.chunkAt(index) };
    const encoder = ChunkEncoder.#make(this.#message, this.#needed, (index + 1) & MAX_CHUNK_INDEX);
    return { chunk, encoder };
  }

  /**
   * Serialize for storage: `0x01 ‖ u16 L ‖ u16 nextIndex ‖ message`.
   *
   * @returns new bytes, 5 + L long
   */
  serialize(): Uint8Array {
    return concatBytes(...encoderParts(this));
  }

  /**
   * Parse a serialized encoder.
   *
   * @param bytes - output of {@link ChunkEncoder.serialize}
   * @returns the encoder
   * @throws {TypeError} when `bytes` is not a `Uint8Array`
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` for a wrong tag, a bad length or trailing
   *   or missing bytes
   */
  static deserialize(bytes: Uint8Array): ChunkEncoder {
    assertBytes(bytes, 'serialized encoder');
    return ChunkEncoder.#parse(bytes.slice());
  }

  /** Parse `bytes`, which the new encoder keeps (views into it, no copy). */
  static #parse(bytes: Uint8Array): ChunkEncoder {
    const kind = 'erasure encoder';
    if (bytes.length < 5) corrupt(kind, 'truncated');
    if (bytes[0] !== ENCODER_LAYOUT) corrupt(kind, `unknown layout ${String(bytes[0])}`);
    const length = ((bytes[1] as number) << 8) | (bytes[2] as number);
    if (!isValidLength(length)) corrupt(kind, `bad message length ${String(length)}`);
    if (bytes.length !== 5 + length) corrupt(kind, 'length mismatch');
    const nextIndex = ((bytes[3] as number) << 8) | (bytes[4] as number);
    return ChunkEncoder.#make(bytes.subarray(5), pointsNeeded(length), nextIndex);
  }

  static {
    adoptEncoder = (bytes) => ChunkEncoder.#parse(bytes);
    encoderParts = (e) => {
      const length = e.#message.length;
      const header = Uint8Array.of(
        ENCODER_LAYOUT,
        length >>> 8,
        length & 0xff,
        e.#nextIndex >>> 8,
        e.#nextIndex & 0xff,
      );
      return [header, e.#message];
    };
  }

  /** Public summary only; the message stays out of logs. */
  toJSON(): { type: 'ChunkEncoder'; messageLength: number; nextIndex: number } {
    return {
      type: 'ChunkEncoder',
      messageLength: this.#message.length,
      nextIndex: this.#nextIndex,
    };
  }

  /** Public summary only. */
  toString(): string {
    return `ChunkEncoder(length: ${String(this.#message.length)}, next: ${String(this.#nextIndex)})`;
  }
}

installInspect(ChunkEncoder);

// ------------------------------------------------------------------------------------------
// Decoder
// ------------------------------------------------------------------------------------------

/**
 * Stored points of one polynomial, in strictly increasing x. Never mutated once built. Plain
 * arrays rather than `Uint16Array`s: a decoder holds up to 72 points per polynomial, and V8 puts
 * every typed array over 64 bytes in a buffer of its own, which costs about a microsecond to
 * allocate; adding a chunk builds up to 32 of these arrays. @internal
 */
interface Points {
  readonly xs: readonly number[];
  readonly ys: readonly number[];
}

/** Position of `x` in sorted `xs`, or where it would be inserted. @internal */
function lowerBound(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The empty point set, shared by every polynomial with no points yet. @internal */
const NO_POINTS: Points = { xs: [], ys: [] };

/**
 * Check the points of a serialized decoder (`bytes` as {@link ChunkDecoder.serialize} writes it,
 * header already checked) and, with `build`, return them. Accepts exactly the states the keeping
 * rule can reach. @internal
 *
 * @throws {InvalidRecordError} `ERR_INVALID_RECORD` for too many points, unsorted or repeated x
 *   values, or trailing or missing bytes
 */
function readPoints(bytes: Uint8Array, needed: readonly number[], build: boolean): Points[] {
  const kind = 'erasure decoder';
  const points: Points[] = [];
  let at = 3;
  for (let j = 0; j < POLYS; j++) {
    if (at >= bytes.length) corrupt(kind, 'truncated');
    const count = bytes[at++] as number;
    const n = needed[j] as number;
    if (count > 2 * n) corrupt(kind, `too many points for polynomial ${String(j)}`);
    if (at + 4 * count > bytes.length) corrupt(kind, 'truncated');
    const xs: number[] | undefined = build ? [] : undefined;
    const ys: number[] | undefined = build ? [] : undefined;
    let beyond = 0;
    let previous = -1;
    for (let k = 0; k < count; k++) {
      const x = ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
      const y = ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number);
      at += 4;
      if (x <= previous) corrupt(kind, 'points not strictly increasing');
      previous = x;
      if (x >= n) beyond++;
      if (xs !== undefined && ys !== undefined) {
        xs.push(x);
        ys.push(y);
      }
    }
    // A point at x ≥ nⱼ is only kept while fewer than nⱼ points are stored.
    if (beyond > n) corrupt(kind, `too many extra points for polynomial ${String(j)}`);
    if (xs !== undefined && ys !== undefined) points.push(count === 0 ? NO_POINTS : { xs, ys });
  }
  if (at !== bytes.length) corrupt(kind, 'trailing bytes');
  return points;
}

/**
 * Rebuilds a message of known length from chunks received in any order. Immutable:
 * {@link ChunkDecoder.withChunk} returns a new decoder.
 *
 * Memory is bounded by the keeping rule (module doc): at most 2·nⱼ points per polynomial, so at
 * most 1 152 points for the largest message.
 *
 * @example
 * ```ts
 * let decoder = new ChunkDecoder(960);
 * decoder = decoder.withChunk(chunk.index, chunk.data);
 * const ct1 = decoder.message(); // undefined until 30 distinct chunks arrived
 * ```
 */
export class ChunkDecoder {
  #length: number;
  #needed: readonly number[];
  /** The points; `undefined` until first needed after {@link ChunkDecoder.deserialize}. */
  #points: readonly Points[] | undefined;
  /**
   * The serialized form this decoder was parsed from (a private, checked copy), while its points
   * are unchanged: storing it again needs no re-encoding, and a decoder that only passes through
   * a record load is never expanded into arrays.
   */
  #serialized: Uint8Array | undefined;
  /** The decoded message once computed: `null` = not computed yet. */
  #decoded: Uint8Array | undefined | null = null;

  /**
   * Start decoding a message of `messageLength` bytes.
   *
   * @param messageLength - even, at most {@link MAX_ERASURE_MESSAGE_LENGTH}
   * @throws {RangeError} when the length is odd, negative, not an integer or too large
   */
  constructor(messageLength: number) {
    checkLength(messageLength, 'message length');
    this.#length = messageLength;
    this.#needed = pointsNeeded(messageLength);
    this.#points = new Array<Points>(POLYS).fill(NO_POINTS);
  }

  /** A decoder with the given (already validated, never mutated) points or serialized form. */
  static #make(
    length: number,
    needed: readonly number[],
    points: readonly Points[] | undefined,
    serialized?: Uint8Array,
  ): ChunkDecoder {
    const d = new ChunkDecoder(0);
    d.#length = length;
    d.#needed = needed;
    d.#points = points;
    d.#serialized = serialized;
    return d;
  }

  /** The points, parsed from the serialized form on first use. */
  #allPoints(): readonly Points[] {
    this.#points ??= readPoints(this.#serialized as Uint8Array, this.#needed, true);
    return this.#points;
  }

  /** Length in bytes of the message being decoded. */
  get messageLength(): number {
    return this.#length;
  }

  /** Whether enough points are stored for {@link ChunkDecoder.message} to return the message. */
  get complete(): boolean {
    for (let j = 0; j < POLYS; j++) {
      if ((this.#allPoints()[j] as Points).xs.length < (this.#needed[j] as number)) return false;
    }
    return true;
  }

  /**
   * Add one chunk (upstream `add_chunk`), following upstream's keeping rule: per polynomial,
   * a point is kept when its index is below nⱼ or fewer than nⱼ points are stored, and a kept
   * point replaces a stored one with the same index. Chunks may come in any order; repeating a
   * chunk changes nothing.
   *
   * @param index - chunk index `0..65535` (the wire codec has already rejected larger ones)
   * @param data - the chunk's 32 bytes (copied)
   * @returns the new decoder, or `this` when nothing changed
   * @throws {RangeError} when `index` is not an integer in `0..65535` or `data` is not 32 bytes
   * @throws {TypeError} when `data` is not a `Uint8Array`
   * @example
   * ```ts
   * const next = decoder.withChunk(3, chunk3);
   * ```
   */
  withChunk(index: number, data: Uint8Array): ChunkDecoder {
    checkIndex(index);
    assertBytes(data, 'chunk data', SPQR_CHUNK_LENGTH);
    let points: Points[] | undefined;
    const stored = this.#allPoints();
    for (let j = 0; j < POLYS; j++) {
      const needed = this.#needed[j] as number;
      const current = stored[j] as Points;
      const count = current.xs.length;
      if (index >= needed && count >= needed) continue;
      const y = ((data[2 * j] as number) << 8) | (data[2 * j + 1] as number);
      const at = lowerBound(current.xs, index);
      let next: Points;
      if (at < count && current.xs[at] === index) {
        if (current.ys[at] === y) continue;
        // Same x again with another value: upstream's SortedSet::push replaces the old point.
        const ys = current.ys.slice();
        ys[at] = y;
        next = { xs: current.xs, ys };
      } else {
        const xs = current.xs.slice(0, at);
        const ys = current.ys.slice(0, at);
        xs.push(index);
        ys.push(y);
        for (let k = at; k < count; k++) {
          xs.push(current.xs[k] as number);
          ys.push(current.ys[k] as number);
        }
        next = { xs, ys };
      }
      points ??= stored.slice();
      points[j] = next;
    }
    if (points === undefined) return this;
    return ChunkDecoder.#make(this.#length, this.#needed, points);
  }

  /**
   * The decoded message, once every polynomial has nⱼ points (upstream `decoded_message`).
   * Symbols whose own point is stored are taken from it; the others are interpolated from the
   * nⱼ stored points of smallest x.
   *
   * @returns a new copy of the L message bytes, or `undefined` while incomplete
   * @example
   * ```ts
   * const hdr = decoder.message();
   * if (hdr !== undefined) checkHeaderMac(hdr);
   * ```
   */
  message(): Uint8Array | undefined {
    if (this.#decoded === null) this.#decoded = this.#decode();
    return this.#decoded?.slice();
  }

  #decode(): Uint8Array | undefined {
    if (!this.complete) return undefined;
    const out = new Uint8Array(this.#length);
    for (let j = 0; j < POLYS; j++) {
      const needed = this.#needed[j] as number;
      const { xs, ys } = this.#allPoints()[j] as Points;
      let poly: Uint16Array | undefined;
      for (let x = 0; x < needed; x++) {
        const at = lowerBound(xs, x);
        let value: number;
        if (at < xs.length && xs[at] === x) {
          value = ys[at] as number;
        } else {
          poly ??= interpolate(xs, ys, needed);
          value = evaluate(poly, x);
        }
        const offset = 2 * (x * POLYS + j);
        out[offset] = value >>> 8;
        out[offset + 1] = value & 0xff;
      }
    }
    return out;
  }

  /**
   * Serialize for storage: `0x02 ‖ u16 L ‖ 16 × (u8 count ‖ count × (u16 x ‖ u16 y))`.
   *
   * @returns new bytes, at most 4 627 long
   */
  serialize(): Uint8Array {
    if (this.#points === undefined && this.#serialized !== undefined) {
      return this.#serialized.slice();
    }
    const all = this.#allPoints();
    let size = 3;
    for (const p of all) size += 1 + 4 * p.xs.length;
    const out = new Uint8Array(size);
    out[0] = DECODER_LAYOUT;
    out[1] = this.#length >>> 8;
    out[2] = this.#length & 0xff;
    let at = 3;
    for (const { xs, ys } of all) {
      out[at++] = xs.length;
      for (let k = 0; k < xs.length; k++) {
        const x = xs[k] as number;
        const y = ys[k] as number;
        out[at++] = x >>> 8;
        out[at++] = x & 0xff;
        out[at++] = y >>> 8;
        out[at++] = y & 0xff;
      }
    }
    return out;
  }

  /**
   * Parse a serialized decoder. Accepts exactly the states the keeping rule can reach.
   *
   * @param bytes - output of {@link ChunkDecoder.serialize}
   * @returns the decoder
   * @throws {TypeError} when `bytes` is not a `Uint8Array`
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` for a wrong tag, a bad length, too many
   *   points, unsorted or repeated x values, or trailing or missing bytes
   */
  static deserialize(bytes: Uint8Array): ChunkDecoder {
    assertBytes(bytes, 'serialized decoder');
    return ChunkDecoder.#parse(bytes.slice());
  }

  /** Parse `bytes`, which the new decoder keeps as its serialized form (no copy). */
  static #parse(bytes: Uint8Array): ChunkDecoder {
    const kind = 'erasure decoder';
    if (bytes.length < 3) corrupt(kind, 'truncated');
    if (bytes[0] !== DECODER_LAYOUT) corrupt(kind, `unknown layout ${String(bytes[0])}`);
    const length = ((bytes[1] as number) << 8) | (bytes[2] as number);
    if (!isValidLength(length)) corrupt(kind, `bad message length ${String(length)}`);
    const needed = pointsNeeded(length);
    // Checked in full now; the points themselves are built only when something needs them.
    readPoints(bytes, needed, false);
    return ChunkDecoder.#make(length, needed, undefined, bytes);
  }

  static {
    adoptDecoder = (bytes) => ChunkDecoder.#parse(bytes);
    decoderBytes = (d) =>
      d.#points === undefined && d.#serialized !== undefined ? d.#serialized : d.serialize();
  }

  /** Public summary only; point values stay out of logs. */
  toJSON(): { type: 'ChunkDecoder'; messageLength: number; points: number; complete: boolean } {
    let points = 0;
    for (const p of this.#allPoints()) points += p.xs.length;
    return { type: 'ChunkDecoder', messageLength: this.#length, points, complete: this.complete };
  }

  /** Public summary only. */
  toString(): string {
    const j = this.toJSON();
    return `ChunkDecoder(length: ${String(j.messageLength)}, points: ${String(j.points)}, complete: ${String(j.complete)})`;
  }
}

installInspect(ChunkDecoder);
