/**
 * Native X25519 through the platform's WebCrypto (`crypto.subtle`), where it exists (Node 20+,
 * current browsers): the same RFC 7748 function as noble's, several times faster, but
 * asynchronous. Detected once; every caller keeps noble as the fallback, and results are
 * identical bit for bit (tests run both against each other and against RFC 7748 vectors).
 *
 * Only the platform's `crypto.subtle` is used: no Node built-in.
 *
 * @module
 */
import { InvalidKeyError } from '../errors.js';
import { assertBytes, concatBytes, toHex, wipe } from './bytes.js';
import { checkSharedSecret, isLowOrderX25519PublicKey } from './x25519.js';
import { SparePool } from './spare-pool.js';
import { prepareXeddsaForEd25519 } from './xeddsa.js';

/** The structural subset of `SubtleCrypto` used here (the core's lib has no DOM types). */
interface Subtle {
  generateKey(alg: { name: string }, extractable: boolean, usages: string[]): Promise<unknown>;
  importKey(
    format: string,
    data: Uint8Array | Record<string, string>,
    alg: { name: string },
    extractable: boolean,
    usages: string[],
  ): Promise<unknown>;
  exportKey(format: 'jwk', key: unknown): Promise<{ d?: string; x?: string }>;
  deriveBits(
    alg: { name: string; public: unknown },
    key: unknown,
    length: number,
  ): Promise<ArrayBuffer>;
}

// PKCS#8 wrapping of a raw X25519 private key (RFC 8410 §7): fixed 16-byte prefix ‖ 32 bytes.
const PKCS8_PREFIX = Uint8Array.of(
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x6e,
  0x04,
  0x22,
  0x04,
  0x20,
);
const ALG = { name: 'X25519' };

function subtle(): Subtle | undefined {
  const c = (globalThis as { crypto?: { subtle?: unknown } }).crypto;
  return (c?.subtle ?? undefined) as Subtle | undefined;
}

let detected: Promise<boolean> | undefined;

/**
 * Whether this platform's WebCrypto does X25519 and agrees with the RFC 7748 §6.1 vector.
 * Computed once per process.
 */
export function webCryptoX25519Available(): Promise<boolean> {
  detected ??= (async () => {
    const s = subtle();
    if (s === undefined) return false;
    try {
      // RFC 7748 §6.1: Alice's private key and Bob's public key give the known shared secret.
      const priv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
      const pub = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
      const shared = await agree(s, priv, pub);
      return toHex(shared) === '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    } catch {
      return false;
    }
  })();
  return detected;
}

function hex(s: string): Uint8Array {
  return Uint8Array.from({ length: s.length / 2 }, (_, i) =>
    parseInt(s.slice(i * 2, i * 2 + 2), 16),
  );
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function base64url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += (B64URL[(n >> 18) & 63] as string) + (B64URL[(n >> 12) & 63] as string);
    if (i + 1 < bytes.length) out += B64URL[(n >> 6) & 63] as string;
    if (i + 2 < bytes.length) out += B64URL[n & 63] as string;
  }
  return out;
}

function fromBase64url(text: string | undefined, length: number): Uint8Array | undefined {
  if (text?.length !== Math.ceil((length * 4) / 3)) return undefined;
  const out = new Uint8Array(length);
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const ch of text) {
    const v = B64URL.indexOf(ch);
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  return o === length ? out : undefined;
}

// Imported key handles, so a ratchet step does not import the same key twice. Private handles
// (of keys generated here) are keyed by their public key: the agreement depends only on the point
// the private key multiplies by, so any private key with that public key gives the same result.
// One is dropped after two agreements, the most a ratchet key pair takes part in (its sending
// chain, then the peer's next ratchet key), after PRIVATE_HANDLE_MS, or when pushed out by newer
// ones, whichever comes first: a key whose second agreement never comes (the peer stays silent)
// stays reachable here, as an extractable CryptoKey, for ten minutes at most. Public handles are
// public data.
const PRIVATE_HANDLES = 16;
const PRIVATE_HANDLE_MS = 10 * 60 * 1000;
const PUBLIC_HANDLES = 16;
const privateHandles = new Map<string, { handle: unknown; uses: number; expires: number }>();
// Kept as promises, so agreements with one peer key that start together share one import.
const publicHandles = new Map<string, Promise<unknown>>();

/** Drop private handles past their time. */
function expirePrivateHandles(now: number): void {
  for (const [id, entry] of privateHandles) {
    if (entry.expires <= now) privateHandles.delete(id);
  }
}

function remember<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  if (map.size >= limit) {
    const oldest = map.keys().next();
    if (oldest.done !== true) map.delete(oldest.value);
  }
  map.set(key, value);
}

/** The cached private handle for `ourPublicKey`, counting one use. */
function takePrivateHandle(ourPublicKey: Uint8Array): unknown {
  expirePrivateHandles(Date.now());
  const id = toHex(ourPublicKey);
  const entry = privateHandles.get(id);
  if (entry === undefined) return undefined;
  entry.uses -= 1;
  if (entry.uses <= 0) privateHandles.delete(id);
  return entry.handle;
}

function publicHandle(s: Subtle, publicKey: Uint8Array): Promise<unknown> {
  const id = toHex(publicKey);
  const cached = publicHandles.get(id);
  if (cached !== undefined) return cached;
  const handle = s.importKey('raw', publicKey, ALG, false, []);
  remember(publicHandles, id, handle, PUBLIC_HANDLES);
  // A failed import is not kept: the next agreement with this key tries again.
  handle.catch(() => {
    if (publicHandles.get(id) === handle) publicHandles.delete(id);
  });
  return handle;
}

async function agree(
  s: Subtle,
  privateKey: Uint8Array,
  publicKey: Uint8Array,
  ourPublicKey?: Uint8Array,
): Promise<Uint8Array> {
  // With our public key at hand, a JWK import skips re-deriving it (several times faster than
  // PKCS#8 on Node); the agreement depends on the private scalar alone either way.
  const pkcs8 = ourPublicKey === undefined ? concatBytes(PKCS8_PREFIX, privateKey) : undefined;
  try {
    const priv =
      ourPublicKey === undefined
        ? await s.importKey('pkcs8', pkcs8 as Uint8Array, ALG, false, ['deriveBits'])
        : (takePrivateHandle(ourPublicKey) ??
          (await s.importKey(
            'jwk',
            { kty: 'OKP', crv: 'X25519', d: base64url(privateKey), x: base64url(ourPublicKey) },
            ALG,
            false,
            ['deriveBits'],
          )));
    const pub = await publicHandle(s, publicKey);
    return new Uint8Array(await s.deriveBits({ name: 'X25519', public: pub }, priv, 256));
  } finally {
    wipe(pkcs8);
  }
}

/**
 * X25519 on WebCrypto. Same contract as `x25519Agree`: low-order public keys are refused before
 * any computation, an all-zero result is refused.
 *
 * `ourPublicKey` (the public half of `privateKey`), when known, makes the import faster; it must
 * match, or the platform may refuse the key (then callers fall back to noble).
 *
 * @throws {InvalidKeyError} `ERR_INVALID_KEY`
 */
export async function webCryptoX25519Agree(
  privateKey: Uint8Array,
  publicKey: Uint8Array,
  ourPublicKey?: Uint8Array,
): Promise<Uint8Array> {
  assertBytes(privateKey, 'privateKey', 32);
  assertBytes(publicKey, 'publicKey', 32);
  if (ourPublicKey !== undefined) assertBytes(ourPublicKey, 'ourPublicKey', 32);
  spares.discardExpired();
  if (isLowOrderX25519PublicKey(publicKey)) {
    throw new InvalidKeyError('low-order public key', 'curve25519-public');
  }
  const s = subtle();
  if (s === undefined) throw new TypeError('WebCrypto is not available');
  let shared: Uint8Array;
  try {
    shared = await agree(s, privateKey, publicKey, ourPublicKey);
  } catch (cause) {
    throw new InvalidKeyError('key agreement failed', 'curve25519-public', { cause });
  }
  return checkSharedSecret(shared);
}

/** A generated key pair and its WebCrypto handle. */
interface NativePair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
  handle: unknown;
}

// Key pairs generated ahead of need. Generating one on WebCrypto means a round trip through the
// platform's worker threads (about 80 µs on Node 20, most of it waiting); a ratchet step that
// finds one ready skips that wait, and the replacement is generated while the caller goes on.
// At most SPARE_PAIRS wait. One older than SPARE_MS is never handed out: it is wiped at the next
// native X25519 call (there is no timer, which would keep a process alive). They are fresh
// random keys that nothing has used: holding one is like holding the session state it joins,
// and one that expires unused protects nothing.
const SPARE_PAIRS = 2;
const SPARE_MS = 60 * 1000;
const spares = new SparePool<NativePair>(
  () => {
    const s = subtle();
    return s === undefined
      ? Promise.reject(new TypeError('WebCrypto is not available'))
      : generatePair(s);
  },
  (pair) => {
    wipe(pair.privateKey);
  },
  SPARE_PAIRS,
  SPARE_MS,
);

async function generatePair(s: Subtle): Promise<NativePair> {
  const pair = (await s.generateKey(ALG, true, ['deriveBits'])) as {
    privateKey: unknown;
    publicKey: unknown;
  };
  // One JWK export carries both halves (d and x).
  const jwk = await s.exportKey('jwk', pair.privateKey);
  const privateKey = fromBase64url(jwk.d, 32);
  const publicKey = fromBase64url(jwk.x, 32);
  if (privateKey === undefined || publicKey === undefined) {
    wipe(privateKey);
    throw new TypeError('WebCrypto exported an unexpected X25519 key');
  }
  privateKey[0] = (privateKey[0] as number) & 248;
  privateKey[31] = ((privateKey[31] as number) & 127) | 64;
  return { privateKey, publicKey, handle: pair.privateKey };
}

/** Drop every key pair generated ahead, wiping its private key. */
export function clearWebCryptoSpares(): void {
  spares.clear();
}

/**
 * A fresh X25519 key pair from WebCrypto's generator (the platform CSPRNG). The private key is
 * returned clamped, as chiffre stores private keys. A pair generated ahead of time is handed out
 * when one is ready (see {@link clearWebCryptoSpares}); either way, each pair is handed out once.
 */
export async function webCryptoX25519Generate(): Promise<{
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}> {
  const s = subtle();
  if (s === undefined) throw new TypeError('WebCrypto is not available');
  const now = Date.now();
  const pair = spares.take() ?? (await generatePair(s));
  void spares.refill();
  expirePrivateHandles(now);
  remember(
    privateHandles,
    toHex(pair.publicKey),
    { handle: pair.handle, uses: 2, expires: now + PRIVATE_HANDLE_MS },
    PRIVATE_HANDLES,
  );
  return { privateKey: pair.privateKey, publicKey: pair.publicKey };
}

// -- XEdDSA verification on WebCrypto's Ed25519 ----------------------------------------------

/** The structural subset of `SubtleCrypto` Ed25519 verification needs. */
interface SubtleVerify {
  importKey(
    format: 'raw',
    data: Uint8Array,
    alg: { name: string },
    extractable: boolean,
    usages: string[],
  ): Promise<unknown>;
  verify(
    alg: { name: string },
    key: unknown,
    signature: Uint8Array,
    data: Uint8Array,
  ): Promise<boolean>;
}

const ED25519 = { name: 'Ed25519' };
let ed25519Detected: Promise<boolean> | undefined;

async function ed25519Verify(
  s: SubtleVerify,
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  const key = await s.importKey('raw', publicKey, ED25519, false, ['verify']);
  return s.verify(ED25519, key, signature, message);
}

/**
 * The platform checks this verifier must pass before it is used (each a public key, message and
 * signature in hex, and the verdict libsignal's equation gives):
 *
 * - RFC 8032 §7.1 test 2, and the same with one bit of `R` flipped;
 * - a key with a small-order component (`a·B + T`, T of order 8) whose signature has `8 | h`:
 *   the cofactorless equation libsignal checks accepts it, a verifier that insists on prime-order
 *   keys would not;
 * - an `R` with a small-order component (`r·B + T`): the cofactorless equation refuses it, the
 *   cofactored one RFC 8032 also permits would accept it.
 *
 * (The last two were made for this check with noble's Edwards arithmetic.)
 */
const ED25519_PROBES: readonly (readonly [string, string, string, boolean])[] = [
  [
    '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
      '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    true,
  ],
  [
    '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    '72',
    '93a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da' +
      '085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    false,
  ],
  [
    'c2ecc2af9bfefd06ee0f9cbb9adf4abda71f6a01db3f1a78458754856f6bd5c4',
    '611b00',
    '8ee7c60f72e3c6743dcbfe340dd62ad5d9cf13b8268c9172818efbd9cf94f061' +
      '6622b4ab8f9775868e499eae7c7787e30bfef659b90b2dfd31aef5b4138f6201',
    true,
  ],
  [
    'c4c1227d7fff941a976049ecefad7b663fa5121d769cbbd79a53d344e4773e98',
    '62',
    '22804c3184f9850814cc39365b3984a4d1da26272d65ba64503fb8c7c68cbec1' +
      '6e7ffc22403fb2f8b6319433f0feefadc7924044b08b34fb5a7eea22271d7609',
    false,
  ],
];

/**
 * Whether this platform's WebCrypto verifies Ed25519 exactly as libsignal's equation does on
 * every probe in {@link ED25519_PROBES} (cofactorless, no prime-order requirement on keys).
 * Computed once; any failure or error means JavaScript verifies everything.
 */
export function webCryptoEd25519Available(): Promise<boolean> {
  ed25519Detected ??= (async () => {
    const s = subtle() as SubtleVerify | undefined;
    if (s === undefined) return false;
    try {
      for (const [pub, message, sig, expected] of ED25519_PROBES) {
        if ((await ed25519Verify(s, hex(pub), hex(message), hex(sig))) !== expected) return false;
      }
      return true;
    } catch {
      return false;
    }
  })();
  return ed25519Detected;
}

/**
 * XEdDSA verification (libsignal's variant, as `xeddsaVerify`) on WebCrypto's Ed25519, for the
 * signatures where the two agree by construction; `undefined` for the others, which the caller
 * verifies with `xeddsaVerify`.
 *
 * The Edwards key is derived from the Montgomery key exactly as `xeddsaVerify` does (sign bit from
 * the signature), and the equation checked is the same cofactorless one with `R` compared byte
 * for byte. Left to the caller (`undefined`): an `s` in `[q, 2^253)`, which libsignal reduces but
 * RFC 8032 refuses; keys and `R` values of small order, which WebCrypto implementations may refuse
 * on principle; an `R` with a non-canonical y; and any platform error. (The key `u = 0`, an
 * Edwards point with `x = 0`, is of small order.)
 *
 * @param publicKey - 32-byte Montgomery u-coordinate
 * @param message - signed bytes
 * @param signature - the 64-byte signature
 * @returns the verdict, or `undefined` when the platform cannot be trusted to match libsignal
 */
export async function webCryptoXeddsaVerify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean | undefined> {
  assertBytes(publicKey, 'publicKey', 32);
  assertBytes(message, 'message');
  assertBytes(signature, 'signature', 64);
  const s = subtle() as SubtleVerify | undefined;
  if (s === undefined || !(await webCryptoEd25519Available())) return undefined;
  const prepared = prepareXeddsaForEd25519(publicKey, signature);
  if (prepared === undefined || typeof prepared === 'boolean') return prepared;
  try {
    return await ed25519Verify(s, prepared.edwardsKey, message, prepared.signature);
  } catch {
    return undefined;
  }
}
