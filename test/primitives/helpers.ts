/**
 * Shared helpers of the primitives and key-layer tests: vector loading, deterministic random
 * sources, and error capture.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha512 } from '@noble/hashes/sha2.js';
import { isSignalError } from '../../src/errors.js';
import type { RandomSource } from '../../src/primitives/index.js';

/** Absolute path of the repository root. */
export const repoRoot: string = fileURLToPath(new URL('../..', import.meta.url));

/** Parse a JSON file from `test/vectors/`. */
export function loadVector<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(repoRoot, 'test', 'vectors', file), 'utf8')) as T;
}

/** Parse a JSON file from the shared protocol vectors (`../shared/protocol/vectors/`). */
export function loadSharedVector<T>(file: string): T {
  const p = path.resolve(repoRoot, '..', 'shared', 'protocol', 'vectors', file);
  return JSON.parse(readFileSync(p, 'utf8')) as T;
}

/** Fixed fast-check seed: property runs are reproducible (STYLE.md 1.11). */
export const FC_SEED = 0x0c1ff4e;

/** fast-check parameters with the fixed seed. */
export function fcParams(numRuns: number): { seed: number; numRuns: number } {
  return { seed: FC_SEED, numRuns };
}

/** Run `fn` and return what it threw; fail the test when it does not throw. */
export function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to throw');
}

/**
 * True when `e` is one of the outcomes the style guide allows for bad input: a chiffre error, or a
 * `TypeError`/`RangeError` for misuse.
 */
export function isAllowedError(e: unknown): boolean {
  return isSignalError(e) || e instanceof TypeError || e instanceof RangeError;
}

/**
 * A random source that serves the given byte strings in order, each as a fresh copy (so that a
 * callee wiping its randomness does not clobber the test's data), and fails on any other request.
 */
export function fixedRandom(...chunks: readonly Uint8Array[]): RandomSource {
  let i = 0;
  return (length: number): Uint8Array => {
    const chunk = chunks[i++];
    if (chunk === undefined) throw new Error('fixedRandom: no more chunks');
    if (chunk.length !== length) {
      throw new Error(
        `fixedRandom: asked for ${String(length)} bytes, have ${String(chunk.length)}`,
      );
    }
    return chunk.slice();
  };
}

/** A deterministic stream of bytes: SHA-512(label ‖ counter) blocks. For tests only. */
export function seededRandom(label: string): RandomSource {
  const prefix = new TextEncoder().encode(label);
  let counter = 0;
  return (length: number): Uint8Array => {
    const out = new Uint8Array(length);
    let off = 0;
    while (off < length) {
      const input = new Uint8Array(prefix.length + 4);
      input.set(prefix);
      new DataView(input.buffer).setUint32(prefix.length, counter++);
      const block = sha512(input);
      const n = Math.min(block.length, length - off);
      out.set(block.subarray(0, n), off);
      off += n;
    }
    return out;
  };
}

/** `bytes` cut at the given points (sorted, clamped), so parts may be empty. */
export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const p of points) {
    parts.push(bytes.subarray(from, p));
    from = p;
  }
  parts.push(bytes.subarray(from));
  return parts;
}

/**
 * A Proxy over `bytes` (it still passes `instanceof Uint8Array`) that calls `onRead` once, at the
 * first property read `when` accepts (every read by default): for checking that a function whose
 * input runs code while it is read (here, usually, a call back into the same function) still
 * gives the right answer. Methods are bound to the real array.
 */
export function proxyRunningOnRead(
  bytes: Uint8Array,
  onRead: () => void,
  when: (key: string | symbol) => boolean = () => true,
): Uint8Array {
  let fired = false;
  return new Proxy(bytes, {
    get(target, key) {
      if (!fired && when(key)) {
        fired = true;
        onRead();
      }
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
