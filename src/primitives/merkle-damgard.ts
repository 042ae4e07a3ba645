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
 * Hash `parts` into `h`, which may already hold `prefixBytes` of absorbed input (an HMAC key
 * state). `pending` is the caller's scratch block (its length is the block size); it is left
 * holding the last block, for the caller to wipe. `lengthBytes` is the size of the length field
 * (8 for SHA-256, 16 for SHA-512); inputs stay far below 2^53 bits, so only its low 64 bits are
 * ever non-zero.
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
    total += part.length;
    let pos = 0;
    if (fill > 0) {
      const take = Math.min(block - fill, part.length);
      pending.set(part.subarray(0, take), fill);
      fill += take;
      pos = take;
      if (fill < block) continue;
      compress(h, pending, 0);
      fill = 0;
    }
    for (; pos + block <= part.length; pos += block) compress(h, part, pos);
    if (pos < part.length) {
      pending.set(part.subarray(pos), 0);
      fill = part.length - pos;
    }
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
