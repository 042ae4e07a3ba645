/**
 * XEdDSA signatures over Curve25519 keys, in libsignal's variant:
 *
 * - signing does not negate the scalar to force a zero sign bit; instead the Edwards sign bit of
 *   the signer's key travels in bit 7 of the signature's last byte;
 * - the nonce is `SHA-512(0xFE ‖ 0xFF×31 ‖ k ‖ M ‖ Z) mod q` with 64 random bytes `Z`;
 * - verification ignores bit 255 of the Montgomery key, accepts `s` in `[q, 2^253)` (reduced),
 *   rejects `s ≥ 2^253`, and compares the recomputed `R` byte for byte.
 *
 * Facts: `docs/protocol.md` (XEdDSA), libsignal `rust/core/src/curve/curve25519.rs`.
 *
 * @module
 */
import { assertBytes, concatBytes, equalBytes, wipe } from './bytes.js';
import { bigintToLe32, edwardsYFromMontgomery, leToBigint, P } from './curve25519-field.js';
import {
  add,
  decode,
  encode,
  L as Q,
  multiplyBase,
  multiplyPublic,
  negate,
} from './edwards25519.js';
import { sha512 } from './hash.js';
import { drawRandom, type RandomSource, secureRandom } from './random.js';
import { isLowOrderX25519PublicKey, ORDER_8_U } from './x25519.js';

const NONCE_PREFIX = (() => {
  const p = new Uint8Array(32).fill(0xff);
  p[0] = 0xfe;
  return p;
})();

/**
 * Sign `message` with a 32-byte (clamped) Curve25519 private key.
 *
 * @param privateKey - 32-byte clamped scalar
 * @param message - bytes to sign
 * @param random - source of the 64-byte nonce randomness `Z`
 * @returns a 64-byte signature
 */
export function xeddsaSign(
  privateKey: Uint8Array,
  message: Uint8Array,
  random: RandomSource = secureRandom,
): Uint8Array {
  assertBytes(privateKey, 'privateKey', 32);
  return signWithPoint(privateKey, xeddsaEdwardsPublicKey(privateKey), message, random);
}

/**
 * {@link xeddsaSign} with the signer's Edwards point already computed (one scalar
 * multiplication saved). `edwardsPublicKey` must be `xeddsaEdwardsPublicKey(privateKey)`: a
 * wrong point with a repeated nonce would give away the key, which is why this stays internal
 * (`PrivateKey.sign` keeps the point it computed itself).
 *
 * @internal
 */
export function xeddsaSignWithPoint(
  privateKey: Uint8Array,
  edwardsPublicKey: Uint8Array,
  message: Uint8Array,
  random: RandomSource = secureRandom,
): Uint8Array {
  assertBytes(privateKey, 'privateKey', 32);
  assertBytes(edwardsPublicKey, 'edwardsPublicKey', 32);
  return signWithPoint(privateKey, edwardsPublicKey, message, random);
}

function signWithPoint(
  privateKey: Uint8Array,
  aEnc: Uint8Array,
  message: Uint8Array,
  random: RandomSource,
): Uint8Array {
  assertBytes(message, 'message');
  const z = drawRandom(random, 64);
  const a = leToBigint(privateKey) % Q;
  const signBit = (aEnc[31] as number) & 0x80;
  const nonceHash = sha512(concatBytes(NONCE_PREFIX, privateKey, message, z));
  const r = leToBigint(nonceHash) % Q;
  const rEnc = encode(multiplyBase(r));
  const h = leToBigint(sha512(concatBytes(rEnc, aEnc, message))) % Q;
  const s = (h * a + r) % Q;
  const signature = concatBytes(rEnc, bigintToLe32(s));
  signature[63] = ((signature[63] as number) & 0x7f) | signBit;
  wipe(nonceHash, z);
  return signature;
}

/**
 * The Edwards encoding of a private key's public point `a·B` (sign bit included), the `A` that
 * every signature with this key hashes. Depends on the private key alone, so a long-lived key
 * (an identity) can compute it once.
 *
 * @param privateKey - 32-byte (clamped) Curve25519 private key
 * @returns 32 bytes
 */
export function xeddsaEdwardsPublicKey(privateKey: Uint8Array): Uint8Array {
  assertBytes(privateKey, 'privateKey', 32);
  return encode(multiplyBase(leToBigint(privateKey) % Q));
}

/**
 * Verify an XEdDSA signature against a raw 32-byte Montgomery public key. Never throws for bad
 * keys or signatures of the right length; it returns `false`.
 *
 * @param publicKey - 32-byte Montgomery u-coordinate
 * @param message - signed bytes
 * @param signature - 64 bytes
 * @returns whether the signature is valid
 */
export function xeddsaVerify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  assertBytes(publicKey, 'publicKey', 32);
  assertBytes(message, 'message');
  assertBytes(signature, 'signature');
  const form = edwardsForm(publicKey, signature);
  if (form === false) return false;
  const A = decode(form.edwardsKey);
  if (A === undefined) return false;
  const s = leToBigint(form.signature.subarray(32)) % Q;
  const rEnc = form.signature.subarray(0, 32);
  // libsignal hashes A re-encoded, which differs from the bytes only when x = 0 and the sign
  // bit was set (the bit does not survive).
  const aEnc = A.X === 0n ? bigintToLe32(A.Y) : form.edwardsKey;
  const h = leToBigint(sha512(concatBytes(rEnc, aEnc, message))) % Q;
  const check = add(multiplyBase(s), negate(multiplyPublic(A, h)));
  return equalBytes(encode(check), rEnc);
}

/**
 * The Edwards key and the `R ‖ s` signature an XEdDSA signature stands for, as libsignal reads
 * them: Montgomery `u` (bit 255 ignored, reduced mod p) mapped to Edwards `y = (u − 1)/(u + 1)`
 * with the sign bit taken from the signature's last byte, which is then cleared. `false` where
 * the verdict needs no curve arithmetic: a wrong length, `u = p − 1`, or `s ≥ 2^253`.
 */
function edwardsForm(publicKey: Uint8Array, signature: Uint8Array): Ed25519Form | false {
  if (signature.length !== 64) return false;
  const u = (leToBigint(publicKey) & ((1n << 255n) - 1n)) % P;
  if (u === P - 1n) return false;
  const edwardsKey = edwardsYFromMontgomery(u);
  edwardsKey[31] = ((edwardsKey[31] as number) & 0x7f) | ((signature[63] as number) & 0x80);
  const form = signature.slice();
  form[63] = (form[63] as number) & 0x7f;
  if ((form[63] & 0xe0) !== 0) return false;
  return { edwardsKey, signature: form };
}

let smallOrderYCache: ReadonlySet<bigint> | undefined;

/**
 * The y-coordinates of the eight points of order dividing 8 (five distinct values): 1 (the
 * identity), −1 (order 2), 0 (order 4) and ±y8 (order 8), where y8 is the image of an order-8
 * Montgomery u (one of the two in `x25519.ts`'s blocklist) under y = (u − 1)/(u + 1).
 */
function smallOrderYs(): ReadonlySet<bigint> {
  if (smallOrderYCache === undefined) {
    const y8 = leToBigint(edwardsYFromMontgomery(ORDER_8_U));
    smallOrderYCache = new Set([1n, P - 1n, 0n, y8, P - y8]);
  }
  return smallOrderYCache;
}

/** What {@link prepareXeddsaForEd25519} hands to an RFC 8032 Ed25519 verifier. */
export interface Ed25519Form {
  /** The Edwards public key: y from the Montgomery u, sign bit from the signature. */
  readonly edwardsKey: Uint8Array;
  /** `R ‖ s` with the sign bit cleared from `s`. */
  readonly signature: Uint8Array;
}

/**
 * Restate an XEdDSA verification as an RFC 8032 Ed25519 one, for a platform verifier. Returns
 * the verdict itself where `xeddsaVerify` decides without any curve arithmetic (`false`), and
 * `undefined` where an RFC 8032 verifier may legitimately disagree with libsignal: `s` in
 * `[q, 2^253)` (libsignal reduces it, RFC 8032 refuses it), a key (`u = 0` among them) or `R` of
 * small order (which WebCrypto implementations may refuse outright), and an `R` with a
 * non-canonical y. For everything else both compute `[s]B − [h]A` and compare it with `R` byte for byte,
 * so their verdicts are equal.
 *
 * @param publicKey - 32-byte Montgomery u-coordinate
 * @param signature - 64-byte XEdDSA signature
 * @returns the Ed25519 form, a verdict, or `undefined` (verify with `xeddsaVerify`)
 */
export function prepareXeddsaForEd25519(
  publicKey: Uint8Array,
  signature: Uint8Array,
): Ed25519Form | boolean | undefined {
  assertBytes(publicKey, 'publicKey', 32);
  assertBytes(signature, 'signature');
  const form = edwardsForm(publicKey, signature);
  if (form === false) return false;
  if (isLowOrderX25519PublicKey(publicKey)) return undefined;
  if (leToBigint(form.signature.subarray(32)) >= Q) return undefined;
  // R is compared byte for byte by both, so an R that is not a point simply fails both ways; a
  // non-canonical y or a small-order R is left to JavaScript.
  const y = leToBigint(form.signature.subarray(0, 32)) & ((1n << 255n) - 1n);
  if (y >= P || smallOrderYs().has(y)) return undefined;
  return form;
}
