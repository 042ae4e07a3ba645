/**
 * Byte helpers: argument checks that throw `TypeError`/`RangeError` for misuse, concatenation,
 * constant-time comparison and best-effort wiping. No protocol knowledge.
 *
 * @module
 */

/**
 * Throw `TypeError` unless `value` is a `Uint8Array`, and `RangeError` unless it has `length`
 * (when given). Messages name the argument and the lengths, never the contents.
 *
 * @internal
 */
export function assertBytes(value: unknown, name: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name} must be a Uint8Array`);
  }
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${name} must be ${String(length)} bytes, got ${String(value.length)}`);
  }
  return value;
}

/** Concatenate byte arrays into a new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Compare two byte arrays in time that depends only on their lengths. Use for MACs, tags and any
 * other secret-derived value.
 */
export function equalConstantTime(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/**
 * Overwrite secret bytes with zeros. Best effort: JavaScript engines may have copied the data
 * elsewhere (garbage collection, string conversion), so this narrows exposure, it does not end it.
 */
export function wipe(...arrays: readonly (Uint8Array | undefined)[]): void {
  for (const a of arrays) a?.fill(0);
}

/** Plain (not constant-time) equality, for public values only. */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX_DIGITS: readonly string[] = Array.from({ length: 256 }, (_, b) =>
  b.toString(16).padStart(2, '0'),
);

/**
 * Lower-case hex of public bytes (diagnostics, and map keys of public keys; never secrets). Also
 * on the per-message path (native key handles are found by public key), hence the table.
 */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX_DIGITS[bytes[i] as number] as string;
  return s;
}
