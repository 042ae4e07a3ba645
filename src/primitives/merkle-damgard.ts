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

/**
 * The engine's own `length` getter of typed arrays: it runs no caller code (an own or inherited
 * `length` property could) and throws `TypeError` for anything that is not a typed array.
 */
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with .call(part) only
const typedArrayLength = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype) as object,
  'length',
)?.get as (this: unknown) => number;

/**
 * `parts` checked and made safe to hash: `TypeError` unless each is a `Uint8Array`, and a Proxy of
 * one (which passes `instanceof`) is copied out here, so that no caller code runs later, while a
 * hash uses its shared working arrays (a Proxy's reads could start another hash on them).
 */
export function plainParts(parts: readonly Uint8Array[]): readonly Uint8Array[] {
  let copied: Uint8Array[] | undefined;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (!(part instanceof Uint8Array)) throw new TypeError('input must be Uint8Arrays');
    if (!ArrayBuffer.isView(part)) {
      copied ??= parts.slice();
      copied[i] = Uint8Array.from(part);
    }
  }
  return copied ?? parts;
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
  for (const part of parts) {
    const length = typedArrayLength.call(part);
    total += length;
    let pos = 0;
    if (fill > 0) {
      const take = Math.min(block - fill, length);
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
