/**
 * The source of randomness. Production code uses the platform CSPRNG
 * (`crypto.getRandomValues`, reached through noble's `randomBytes`); tests may inject a seeded
 * {@link RandomSource} wherever an API accepts one. Nothing defaults to a non-CSPRNG.
 *
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js';

/** Returns `length` random bytes. Must be cryptographically secure outside tests. */
export type RandomSource = (length: number) => Uint8Array;

/** The platform CSPRNG. */
export const secureRandom: RandomSource = (length: number): Uint8Array => randomBytes(length);

/**
 * Draw `length` bytes from `random` and check that the source honoured the length.
 *
 * @internal
 */
export function drawRandom(random: RandomSource, length: number): Uint8Array {
  const out = random(length);
  if (!(out instanceof Uint8Array) || out.length !== length) {
    throw new TypeError(`random source must return ${String(length)} bytes`);
  }
  // A copy: callers clamp or wipe what they draw, and must not touch a source's own buffer.
  return out.slice();
}
