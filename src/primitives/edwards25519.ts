/**
 * The twisted Edwards curve edwards25519 (−x² + y² = 1 + d·x²·y², RFC 8032 §5.1), as much of it
 * as XEdDSA and the X25519 checks need: extended coordinates with the complete addition law,
 * point encoding and decoding, a fixed-base multiplication over a precomputed table, and a
 * variable-time multiplication for public scalars.
 *
 * @module
 * @internal
 */
import {
  bigintToLe32,
  canonical,
  feAdd,
  feInv,
  feMul,
  feSqr,
  feSub,
  leToBigint,
  P,
  sqrtRatio,
} from './curve25519-field.js';

/** The order ℓ of the prime-order subgroup (and of the base point). */
export const L: bigint = (1n << 252n) + 27742317777372353535851937790883648493n;

/** d = −121665/121666. */
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n;
const D2 = (2n * D) % P;

/** A point in extended coordinates: x = X/Z, y = Y/Z, x·y = T/Z. Loose field elements. */
export interface EdPoint {
  readonly X: bigint;
  readonly Y: bigint;
  readonly Z: bigint;
  readonly T: bigint;
}

/** The neutral element (0, 1). */
export const IDENTITY: EdPoint = { X: 0n, Y: 1n, Z: 1n, T: 0n };

/** The base point B, with y = 4/5 and x even. */
export const BASE: EdPoint = (() => {
  const X = 15112221349535400772501151409588531511454012693041857206046113283949847762202n;
  const Y = 46316835694926478169428394003475163141307993866256225615783033603165251855960n;
  return { X, Y, Z: 1n, T: feMul(X, Y) };
})();

/** p + q (add-2008-hwcd-3 for a = −1; complete, so doublings and the identity are fine). */
export function add(p: EdPoint, q: EdPoint): EdPoint {
  const a = feMul(feSub(p.Y, p.X), feSub(q.Y, q.X));
  const b = feMul(feAdd(p.Y, p.X), feAdd(q.Y, q.X));
  const c = feMul(feMul(p.T, D2), q.T);
  const d = feMul(feAdd(p.Z, p.Z), q.Z);
  return combine(feSub(b, a), feSub(d, c), feAdd(d, c), feAdd(b, a));
}

/** 2p (dbl-2008-hwcd for a = −1), with the result scaled by −1 to save negations. */
export function double(p: EdPoint): EdPoint {
  const a = feSqr(p.X);
  const b = feSqr(p.Y);
  const c = feAdd(feSqr(p.Z), feSqr(p.Z));
  const h = feAdd(a, b); // −H
  const e = feSub(feSqr(feAdd(p.X, p.Y)), h); // E
  const g = feSub(b, a); // G
  const fNeg = feSub(feAdd(c, a), b); // −F = C − (B − A)
  // (−X3, −Y3, −Z3, −T3) = (E·(−F), G·(−H), (−F)·G, E·(−H)): the same point.
  return { X: feMul(e, fNeg), Y: feMul(g, h), Z: feMul(fNeg, g), T: feMul(e, h) };
}

function combine(e: bigint, f: bigint, g: bigint, h: bigint): EdPoint {
  return { X: feMul(e, f), Y: feMul(g, h), Z: feMul(f, g), T: feMul(e, h) };
}

/** −p. */
export function negate(p: EdPoint): EdPoint {
  return { X: feSub(0n, p.X), Y: p.Y, Z: p.Z, T: feSub(0n, p.T) };
}

/** Projective equality: X1·Z2 = X2·Z1 and Y1·Z2 = Y2·Z1. */
export function equals(p: EdPoint, q: EdPoint): boolean {
  return (
    canonical(feMul(p.X, q.Z)) === canonical(feMul(q.X, p.Z)) &&
    canonical(feMul(p.Y, q.Z)) === canonical(feMul(q.Y, p.Z))
  );
}

/** The 32-byte encoding: y little-endian, bit 255 the parity of x. */
export function encode(p: EdPoint): Uint8Array {
  const zInv = feInv(p.Z);
  const x = canonical(feMul(p.X, zInv));
  const y = canonical(feMul(p.Y, zInv));
  const out = bigintToLe32(y);
  if ((x & 1n) === 1n) out[31] = (out[31] as number) | 0x80;
  return out;
}

/**
 * Decode a 32-byte encoding, or `undefined` when it is not a point. y must be canonical (below
 * p). As in curve25519-dalek, which libsignal uses, x = 0 with the sign bit set decodes to the
 * point with x = 0 (RFC 8032 would refuse it).
 */
export function decode(bytes: Uint8Array): EdPoint | undefined {
  if (bytes.length !== 32) return undefined;
  const sign = ((bytes[31] as number) & 0x80) !== 0;
  const y = leToBigint(bytes) & ((1n << 255n) - 1n);
  if (y >= P) return undefined;
  const y2 = feSqr(y);
  let x = sqrtRatio(feSub(y2, 1n), feAdd(feMul(D, y2), 1n));
  if (x === undefined) return undefined;
  if (((x & 1n) === 1n) !== sign && x !== 0n) x = P - x;
  return { X: x, Y: y, Z: 1n, T: feMul(x, y) };
}

/**
 * A table entry in the form the mixed addition wants: (y + x, y − x, 2d·x·y) of an affine point.
 */
interface Cached {
  readonly ypx: bigint;
  readonly ymx: bigint;
  readonly t2d: bigint;
  /** −2d·x·y, so that subtracting the point costs no extra operation. */
  readonly nt2d: bigint;
}

/** p + q for an affine q given in cached form (7 multiplications). */
function addCached(p: EdPoint, ypx: bigint, ymx: bigint, t2d: bigint): EdPoint {
  const a = feMul(feSub(p.Y, p.X), ymx);
  const b = feMul(feAdd(p.Y, p.X), ypx);
  const c = feMul(p.T, t2d);
  const d = feAdd(p.Z, p.Z);
  return combine(feSub(b, a), feSub(d, c), feAdd(d, c), feAdd(b, a));
}

// The identity, in cached and extended form, with every coordinate written as a full-size loose
// element (p + 1 for 1, p for 0): BigInt multiplication by 0n or 1n returns early, and a zero
// digit must cost what any other digit costs.
const CACHED_IDENTITY: Cached = { ypx: P + 1n, ymx: P + 1n, t2d: P, nt2d: P };
const LOOSE_IDENTITY: EdPoint = { X: P, Y: P + 1n, Z: P + 1n, T: P };

/** Radix-16 windows of a scalar below 2^255: 64 signed digits. */
const WINDOWS = 64;
/** Entries per window: j·16^i·B for j = 1…8. */
const PER_WINDOW = 8;

let baseTable: readonly Cached[] | undefined;

/** j·16^i·B for i < 64, j ≤ 8, built on first use (about 700 point operations, once). */
function table(): readonly Cached[] {
  if (baseTable !== undefined) return baseTable;
  const points: EdPoint[] = [];
  let windowBase = BASE;
  for (let i = 0; i < WINDOWS; i++) {
    let multiple = windowBase;
    for (let j = 0; j < PER_WINDOW; j++) {
      points.push(multiple);
      multiple = add(multiple, windowBase);
    }
    // 16 · 16^i · B = 2 · (8 · 16^i · B)
    windowBase = double(points[points.length - 1] as EdPoint);
  }
  // One inversion for all Z (Montgomery's trick), then the cached affine form.
  const prefix: bigint[] = [];
  let acc = 1n;
  for (const p of points) {
    prefix.push(acc);
    acc = feMul(acc, p.Z);
  }
  let inv = feInv(acc);
  const out: Cached[] = new Array<Cached>(points.length);
  for (let k = points.length - 1; k >= 0; k--) {
    const p = points[k] as EdPoint;
    const zInv = feMul(inv, prefix[k] as bigint);
    inv = feMul(inv, p.Z);
    const x = canonical(feMul(p.X, zInv));
    const y = canonical(feMul(p.Y, zInv));
    const t2d = feMul(feMul(x, y), D2);
    out[k] = { ypx: feAdd(y, x), ymx: feSub(y, x), t2d, nt2d: feSub(0n, t2d) };
  }
  baseTable = out;
  return out;
}

/**
 * k·B for 0 ≤ k < 2^255: 64 table additions, one per signed radix-16 digit, the same sequence
 * for every k (a zero digit adds the identity, in a form that costs what other entries cost; a
 * negative digit selects stored values instead of computing a negation). Table lookups index by
 * digit, and BigInt arithmetic is not constant-time.
 */
export function multiplyBase(k: bigint): EdPoint {
  if (k < 0n || k >= 1n << 255n) throw new RangeError('scalar out of range');
  const digits = new Int8Array(WINDOWS);
  let carry = 0;
  for (let i = 0; i < WINDOWS - 1; i++) {
    let d = Number((k >> BigInt(4 * i)) & 15n) + carry;
    carry = (d + 8) >> 4;
    d -= carry << 4;
    digits[i] = d; // in [−8, 8)
  }
  // k < 2^255: the top nibble is at most 7, so the top digit is at most 8 and needs no carry.
  digits[WINDOWS - 1] = Number(k >> 252n) + carry;
  const t = table();
  let r = LOOSE_IDENTITY;
  for (let i = 0; i < WINDOWS; i++) {
    const d = digits[i] as number;
    const abs = d < 0 ? -d : d;
    const e = abs === 0 ? CACHED_IDENTITY : (t[i * PER_WINDOW + abs - 1] as Cached);
    // −(x, y) = (−x, y): y + x and y − x trade places and 2d·x·y changes sign.
    const neg = d < 0;
    r = addCached(r, neg ? e.ymx : e.ypx, neg ? e.ypx : e.ymx, neg ? e.nt2d : e.t2d);
  }
  digits.fill(0);
  return r;
}

/** k·p for a public k ≥ 0, variable time (4-bit fixed windows). */
export function multiplyPublic(p: EdPoint, k: bigint): EdPoint {
  if (k < 0n) throw new RangeError('scalar out of range');
  const multiples: EdPoint[] = [IDENTITY, p];
  for (let j = 2; j < 16; j++) multiples.push(add(multiples[j - 1] as EdPoint, p));
  let r = IDENTITY;
  const top = k.toString(16);
  for (let i = 0; i < top.length; i++) {
    if (i > 0) r = double(double(double(double(r))));
    const nibble = parseInt(top[i] as string, 16);
    if (nibble !== 0) r = add(r, multiples[nibble] as EdPoint);
  }
  return r;
}

/** Whether p lies in the prime-order subgroup: ℓ·p is the identity. Variable time. */
export function isTorsionFree(p: EdPoint): boolean {
  return equals(multiplyPublic(p, L), IDENTITY);
}
