/**
 * The Merkle–Damgård framing SHA-256 and SHA-512 share (FIPS 180-4 §5.1): a message given as
 * several parts is cut into blocks for the compression function without concatenating the parts,
 * then padded with `0x80`, zeros and its length in bits, big-endian, in the last bytes of the
 * final block.
 *
 * @module
 * @internal
 */

/** A compression function: absorb `block[offset .. offset + block length]` into the state `h`. */
export type Compress = (h: Int32Array, block: Uint8Array, offset: number) => void;

const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;

/**
 * The engine's own getters of typed arrays. They run no caller code (an own or inherited
 * property of the object could): `length`, which throws `TypeError` for anything that is not a
 * typed array, and the tag, which names the real kind (`'Uint8Array'` also for a `Buffer`) and is
 * `undefined` for anything else, a Proxy of a Uint8Array included.
 */
/* eslint-disable @typescript-eslint/unbound-method -- only ever called with .call(value) */
export const typedArrayLength = Object.getOwnPropertyDescriptor(typedArrayPrototype, 'length')
  ?.get as (this: unknown) => number;
const typedArrayTag = Object.getOwnPropertyDescriptor(typedArrayPrototype, Symbol.toStringTag)
  ?.get as (this: unknown) => string | undefined;
/* eslint-enable @typescript-eslint/unbound-method */

/** Whether `value` is a real Uint8Array (or subclass, such as Buffer): no Proxy, no other kind. */
export function isPlainUint8Array(value: unknown): value is Uint8Array {
  return typedArrayTag.call(value) === 'Uint8Array';
}

/**
 * `parts` checked and made safe to hash, in a new array read once here: `TypeError` unless each
 * is a `Uint8Array`, and a Proxy of one (which passes `instanceof`) is copied out. So no caller
 * code runs later, while a hash uses its shared working arrays (a Proxy's reads could start
 * another hash on them); the built-ins themselves are assumed untouched.
 */
export function plainParts(parts: readonly Uint8Array[]): Uint8Array[] {
  const n = parts.length;
  const out = new Array<Uint8Array>(n);
  for (let i = 0; i < n; i++) {
    const part: unknown = parts[i];
    const tag = typedArrayTag.call(part);
    if (tag === 'Uint8Array') out[i] = part as Uint8Array;
    // No tag but `instanceof`: a Proxy of a Uint8Array. (Another kind of typed array given the
    // Uint8Array prototype has a tag, and is refused.)
    else if (tag === undefined && part instanceof Uint8Array) out[i] = Uint8Array.from(part);
    else throw new TypeError('input must be Uint8Arrays');
  }
  return out;
}

/**
 * Hash `parts` into `h`, which may already hold `prefixBytes` of absorbed input (an HMAC key
 * state). `pending` is the caller's scratch block (its length is the block size); it is left
 * holding the last block, for the caller to wipe. `lengthBytes` is the size of the length field
 * (8 for SHA-256, 16 for SHA-512); inputs stay far below 2^53 bits, so only its low 64 bits are
 * ever non-zero. `parts` must have passed {@link plainParts}: lengths are read with the engine's
 * getter and bytes element by element, so hashing runs no caller code.
 */
export function hashBlocks(
  h: Int32Array,
  compress: Compress,
  pending: Uint8Array,
  lengthBytes: number,
  parts: readonly Uint8Array[],
  prefixBytes: number,
): void {
  const block = pending.length;
  let fill = 0;
  let total = prefixBytes;
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p] as Uint8Array;
    const length = typedArrayLength.call(part);
    total += length;
    let pos = 0;
    if (fill > 0) {
      const take = block - fill < length ? block - fill : length;
      for (let i = 0; i < take; i++) pending[fill + i] = part[i] as number;
      fill += take;
      pos = take;
      if (fill < block) continue;
      compress(h, pending, 0);
      fill = 0;
    }
    for (; pos + block <= length; pos += block) compress(h, part, pos);
    for (let i = pos; i < length; i++) pending[i - pos] = part[i] as number;
    if (pos < length) fill = length - pos;
  }
  pending[fill++] = 0x80;
  if (fill > block - lengthBytes) {
    pending.fill(0, fill);
    compress(h, pending, 0);
    fill = 0;
  }
  pending.fill(0, fill, block - 8);
  const bits = total * 8;
  const high = Math.floor(bits / 0x1_0000_0000);
  const low = bits >>> 0;
  pending[block - 8] = high >>> 24;
  pending[block - 7] = high >>> 16;
  pending[block - 6] = high >>> 8;
  pending[block - 5] = high;
  pending[block - 4] = low >>> 24;
  pending[block - 3] = low >>> 16;
  pending[block - 2] = low >>> 8;
  pending[block - 1] = low;
  compress(h, pending, 0);
}
