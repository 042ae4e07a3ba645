/**
 * No secret reaches a string (STYLE.md 1.1 rule 3, 1.8): JSON, String(), util.inspect and the
 * console formatters of every secret-holding key object show `<redacted>` and never the secret
 * bytes, in hex, base64 or as a decimal list; error messages carry no key bytes.
 */
import { format, inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KEM_TYPE_KYBER1024, KEM_TYPE_MLKEM1024 } from '../../src/constants.js';
import { isSignalError } from '../../src/errors.js';
import {
  IdentityKeyPair,
  KemKeyPair,
  KemSecretKey,
  KeyPair,
  PrivateKey,
  PublicKey,
  REDACTED,
} from '../../src/keys/index.js';
import {
  kemDecapsulate,
  kemEncapsulate,
  type KemType,
  x25519Agree,
} from '../../src/primitives/index.js';
import { bytesToBase64, bytesToBase64Url, bytesToHex } from '../support/hex.js';
import { catchError, fcParams, fixedRandom, seededRandom } from './helpers.js';

/** Every way a secret could show up in a string. */
function leakPatterns(secret: Uint8Array): string[] {
  const patterns = new Set<string>();
  const hex = bytesToHex(secret);
  const b64 = bytesToBase64(secret);
  const b64url = bytesToBase64Url(secret);
  patterns.add(hex).add(hex.toUpperCase()).add(b64).add(b64url);
  // Any 8-byte run of the secret in hex.
  for (let i = 0; i + 8 <= secret.length; i++) {
    const w = hex.slice(2 * i, 2 * i + 16);
    patterns.add(w).add(w.toUpperCase());
  }
  // Any 9-byte run in base64 (aligned as it would be in an encoding of the whole secret).
  for (let i = 0; i + 12 <= b64.length; i += 4) {
    patterns.add(b64.slice(i, i + 12));
    patterns.add(b64url.slice(i, i + 12));
  }
  // Any 6-byte run as a decimal list (how util.inspect and JSON render a Uint8Array).
  for (let i = 0; i + 6 <= secret.length; i++) {
    patterns.add(Array.from(secret.subarray(i, i + 6)).join(','));
  }
  return [...patterns];
}

/** Every rendering of `value` we care about; whitespace is removed to catch decimal lists. */
function renderings(value: unknown): Record<string, string> {
  const r: Record<string, string> = {
    json: JSON.stringify(value),
    string: String(value),
    concat: 'x'.concat(value as string),
    inspect: inspect(value),
    inspectDeep: inspect(value, { depth: Infinity, showHidden: true }),
    inspectNoCustom: inspect(value, { depth: Infinity, showHidden: true, customInspect: false }),
    formatO: format('%o', value),
    formatOO: format('%O', value),
    formatS: format('%s', value),
    formatJ: format('%j', value),
    nestedJson: JSON.stringify({ wrapped: [value] }),
    nestedInspect: inspect({ wrapped: [value] }, { depth: Infinity }),
  };
  return r;
}

function expectNoLeak(value: unknown, secret: Uint8Array): void {
  const patterns = leakPatterns(secret);
  for (const [how, text] of Object.entries(renderings(value))) {
    const compact = text.replace(/\s+/g, '');
    for (const p of patterns) {
      if (text.includes(p) || compact.includes(p)) {
        throw new Error(`secret leaked through ${how}: ${p}`);
      }
    }
  }
}

function expectRedactedMarker(value: unknown): void {
  const r = renderings(value);
  expect(REDACTED).toBe('<redacted>');
  for (const how of [
    'json',
    'string',
    'concat',
    'inspect',
    'formatO',
    'formatS',
    'nestedInspect',
  ]) {
    expect(r[how], how).toContain('<redacted>');
  }
}

/** Secret parts of a serialized KEM secret key: ŝ and z (the embedded pk and H(pk) are public). */
function kemSecretParts(sk: Uint8Array): Uint8Array[] {
  return [sk.subarray(1, 1 + 1536), sk.subarray(sk.length - 32)];
}

describe('the leak detector itself', () => {
  it('catches raw bytes, hex, base64 and partial runs', () => {
    const secret = seededRandom('detector')(32);
    const leaky: unknown[] = [
      { key: secret },
      { key: bytesToHex(secret) },
      { key: bytesToBase64(secret) },
      `prefix ${bytesToHex(secret.subarray(4, 14)).toUpperCase()} suffix`,
      Buffer.from(secret),
      Array.from(secret.subarray(10, 20)),
    ];
    for (const value of leaky) {
      expect(() => {
        expectNoLeak(value, secret);
      }).toThrow(/leaked/);
    }
    expect(() => {
      expectNoLeak({ key: '<redacted>' }, secret);
    }).not.toThrow();
  });
});

describe('redaction of Curve25519 secrets', () => {
  it('PrivateKey, KeyPair, IdentityKeyPair never render the private key (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (seed) => {
        const priv = PrivateKey.deserialize(seed);
        const secret = priv.serialize();
        const pair = KeyPair.fromPrivateKey(priv);
        const identity = IdentityKeyPair.generate(fixedRandom(seed));
        expect(identity.privateKey.serialize()).toEqual(secret);
        for (const value of [priv, pair, identity, pair.privateKey, identity.privateKey]) {
          expectNoLeak(value, secret);
          // The caller's raw bytes too (they differ from the clamped key in two bytes).
          expectNoLeak(value, seed.subarray(1, 31));
        }
      }),
      fcParams(30),
    );
  });

  it('show <redacted> and the public half', () => {
    const priv = PrivateKey.generate(seededRandom('redaction curve'));
    const pair = KeyPair.fromPrivateKey(priv);
    const identity = new IdentityKeyPair(pair.publicKey, priv);
    const pubHex = pair.publicKey.toHex();
    for (const value of [priv, pair, identity]) expectRedactedMarker(value);
    for (const value of [pair, identity]) {
      expect(JSON.stringify(value)).toContain(pubHex);
      expect(String(value)).toContain(pubHex);
      expect(inspect(value)).toContain(pubHex);
    }
    expect(JSON.parse(JSON.stringify(priv))).toEqual({ type: 'PrivateKey', key: '<redacted>' });
    expect(String(priv)).toBe('PrivateKey(<redacted>)');
    expect(inspect(priv)).toBe('PrivateKey(<redacted>)');
  });

  it('no own enumerable property exposes the secret bytes', () => {
    const priv = PrivateKey.generate();
    const secret = priv.serialize();
    const pair = KeyPair.fromPrivateKey(priv);
    for (const value of [priv, pair, new IdentityKeyPair(pair.publicKey, priv)]) {
      for (const v of Object.values(value)) {
        expect(v instanceof Uint8Array && bytesToHex(v) === bytesToHex(secret)).toBe(false);
      }
      expect(Object.getOwnPropertySymbols(value)).toEqual([]);
    }
  });

  it('public keys render as hex (they are public)', () => {
    const pub = PublicKey.deserialize(KeyPair.generate().publicKey.serialize());
    expect(String(pub)).toBe(`PublicKey(${pub.toHex()})`);
    expect(inspect(pub)).toBe(`PublicKey(${pub.toHex()})`);
    expect(JSON.parse(JSON.stringify(pub))).toEqual({ type: 'PublicKey', key: pub.toHex() });
  });
});

describe.each<{ type: KemType; label: string }>([
  { type: KEM_TYPE_KYBER1024, label: '0x08' },
  { type: KEM_TYPE_MLKEM1024, label: '0x0a' },
])('redaction of KEM secrets ($label)', ({ type }) => {
  const pair = KemKeyPair.generate(type, seededRandom(`redaction kem ${String(type)}`));
  const sk = pair.secretKey.serialize();

  it('KemSecretKey and KemKeyPair never render the secret key', () => {
    const fromBytes = KemSecretKey.deserialize(sk);
    const rebuilt = KemKeyPair.fromSecretKey(fromBytes);
    for (const value of [pair, pair.secretKey, fromBytes, rebuilt]) {
      for (const part of kemSecretParts(sk)) expectNoLeak(value, part);
    }
  });

  it('show <redacted>, the type and a public-key digest', () => {
    for (const value of [pair, pair.secretKey]) expectRedactedMarker(value);
    expect(String(pair.secretKey)).toBe(`KemSecretKey(type ${String(type)}, <redacted>)`);
    expect(JSON.parse(JSON.stringify(pair.secretKey))).toEqual({
      type: 'KemSecretKey',
      kemType: type,
      key: '<redacted>',
    });
    expect(String(pair)).toContain(String(pair.publicKey));
  });
});

describe('errors carry no key bytes', () => {
  it('errors raised for bad keys have constant messages and pass isSignalError', () => {
    const priv = PrivateKey.generate();
    const privHex = bytesToHex(priv.serialize());
    const pub = priv.getPublicKey().serialize();
    const wrongType = pub.slice();
    wrongType[0] = 0x06;
    const identity = IdentityKeyPair.generate().serialize();
    const mismatched = Uint8Array.of(...identity.subarray(0, 37), ...priv.serialize());
    const kem = KemKeyPair.generate(KEM_TYPE_KYBER1024, seededRandom('redaction errors'));
    const kemSk = kem.secretKey.serialize();
    const ct = kem.publicKey.encapsulate().ciphertext;
    const badSk = kemSk.slice();
    badSk[1 + 3104] = badSk[1 + 3104]! ^ 1;
    const badPk = new Uint8Array(1569).fill(0xff);
    badPk[0] = KEM_TYPE_KYBER1024;

    const failures: [unknown, Uint8Array[]][] = [
      [catchError(() => PublicKey.deserialize(wrongType)), [wrongType.subarray(1)]],
      [catchError(() => PublicKey.deserialize(Uint8Array.of(...pub, 1))), [pub.subarray(1)]],
      [
        catchError(() => PrivateKey.deserialize(Uint8Array.of(...priv.serialize(), 0))),
        [priv.serialize()],
      ],
      [
        catchError(() => IdentityKeyPair.deserialize(mismatched)),
        [identity.subarray(3, 35), priv.serialize()],
      ],
      [catchError(() => x25519Agree(priv.serialize(), new Uint8Array(32))), [priv.serialize()]],
      [catchError(() => kemDecapsulate(badSk, ct)), kemSecretParts(badSk)],
      [
        catchError(() => kemDecapsulate(kemSk, ct.subarray(0, 100))),
        [...kemSecretParts(kemSk), ct.subarray(1, 100)],
      ],
      [catchError(() => kemEncapsulate(badPk)), []],
    ];
    for (const [e, secrets] of failures) {
      expect(isSignalError(e)).toBe(true);
      const err = e as Error;
      expect(err.message).not.toMatch(/[0-9a-f]{16}/i);
      expect(err.message).not.toContain(privHex);
      for (const s of secrets) {
        for (const p of leakPatterns(s)) {
          expect(err.message.includes(p)).toBe(false);
          expect(inspect(err).includes(p)).toBe(false);
          expect(JSON.stringify(err).includes(p)).toBe(false);
        }
      }
    }
  });
});
