/**
 * XEdDSA verification on WebCrypto's Ed25519 against the JavaScript verifier (`xeddsaVerify`,
 * itself checked against libsignal in xeddsa.test.ts): the same verdict for valid signatures,
 * every kind of tampering, the `s ≥ q` signatures libsignal accepts and RFC 8032 refuses,
 * small-order `R` values and low-order keys (handed back to JavaScript), and bundles verified
 * either way refused with the same error.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it, vi } from 'vitest';
import {
  IdentityKeyPair,
  InMemoryProtocolStore,
  KyberPreKeyRecord,
  PreKeyRecord,
  createPreKeyBundle,
  SignedPreKeyRecord,
  type PreKeyBundle,
} from '../../src/index.js';
import { PublicKey } from '../../src/keys/index.js';
import {
  generateX25519PrivateKey,
  webCryptoEd25519Available,
  webCryptoXeddsaVerify,
  x25519PublicKey,
  xeddsaEdwardsPublicKey,
  xeddsaSign,
  xeddsaVerify,
} from '../../src/primitives/index.js';
import { bigintToLe32, leToBigint } from '../../src/primitives/curve25519-field.js';
import { prepareXeddsaForEd25519 } from '../../src/primitives/xeddsa.js';
import { verifyPreKeyBundle, verifyPreKeyBundleAsync } from '../../src/session/index.js';
import { catchError, fcParams } from './helpers.js';

const Q = ed25519.Point.Fn.ORDER;

interface Case {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

function signed(message: Uint8Array): Case {
  const priv = generateX25519PrivateKey();
  return { publicKey: x25519PublicKey(priv), message, signature: xeddsaSign(priv, message) };
}

/** Native verdict, the JavaScript verdict, and what the combined path answers. */
async function verdicts(c: Case): Promise<{ native: boolean | undefined; js: boolean }> {
  const native = await webCryptoXeddsaVerify(c.publicKey, c.message, c.signature);
  const js = xeddsaVerify(c.publicKey, c.message, c.signature);
  return { native, js };
}

async function expectSameVerdict(c: Case): Promise<boolean | undefined> {
  const { native, js } = await verdicts(c);
  if (native !== undefined) expect(native).toBe(js);
  const key = PublicKey.fromRaw(c.publicKey);
  expect(await key.verifySignatureAsync(c.message, c.signature)).toBe(js);
  expect(key.verifySignature(c.message, c.signature)).toBe(js);
  return native;
}

describe('XEdDSA verification on WebCrypto Ed25519', () => {
  it('is available on this Node (RFC 8032 §7.1 test 2 passes, a flipped bit fails)', async () => {
    expect(await webCryptoEd25519Available()).toBe(true);
  });

  it('verifies valid signatures natively, for messages of every size the protocol signs', async () => {
    for (const length of [0, 1, 33, 64, 1569, 4000]) {
      for (let i = 0; i < 10; i++) {
        const c = signed(crypto.getRandomValues(new Uint8Array(length)));
        expect(await expectSameVerdict(c)).toBe(true);
      }
    }
  });

  it('gives the JavaScript verdict for any tampering of key, message or signature', async () => {
    let native = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 100 }),
        fc.constantFrom('signature', 'message', 'key', 'sign-bit', 'none'),
        fc.nat(),
        async (message, what, at) => {
          const c = signed(message);
          const signature = c.signature.slice();
          const publicKey = c.publicKey.slice();
          const m = message.slice();
          if (what === 'signature')
            signature[at % 64] = (signature[at % 64] as number) ^ (1 << (at % 8));
          if (what === 'sign-bit') signature[63] = (signature[63] as number) ^ 0x80;
          if (what === 'message' && m.length > 0)
            m[at % m.length] = (m[at % m.length] as number) ^ 1;
          if (what === 'key') publicKey[at % 32] = (publicKey[at % 32] as number) ^ (1 << (at % 8));
          if ((await expectSameVerdict({ publicKey, message: m, signature })) !== undefined)
            native++;
        },
      ),
      fcParams(300),
    );
    // Most cases must really have been decided natively (R that no longer decodes is not).
    expect(native).toBeGreaterThan(200);
  });

  it('hands s in [q, 2^253) back to JavaScript, which accepts it as libsignal does', async () => {
    let checked = 0;
    for (let i = 0; i < 40 && checked < 10; i++) {
      const c = signed(crypto.getRandomValues(new Uint8Array(32)));
      const s = leToBigint(c.signature.subarray(32)) & ((1n << 255n) - 1n);
      const bumped = s + Q;
      if (bumped >= 1n << 253n) continue;
      const signature = c.signature.slice();
      signature.set(bigintToLe32(bumped), 32);
      signature[63] = (signature[63] as number) | ((c.signature[63] as number) & 0x80);
      const native = await expectSameVerdict({ ...c, signature });
      expect(native).toBeUndefined();
      expect(xeddsaVerify(c.publicKey, c.message, signature)).toBe(true);
      checked++;
    }
    expect(checked).toBe(10);
  });

  it('refuses s ≥ 2^253 and the key u = p − 1 without any curve arithmetic, as JavaScript does', async () => {
    const c = signed(Uint8Array.of(1, 2, 3));
    const big = c.signature.slice();
    big[63] = (big[63] as number) | 0x20;
    expect(prepareXeddsaForEd25519(c.publicKey, big)).toBe(false);
    expect(await expectSameVerdict({ ...c, signature: big })).toBe(false);
    const pMinus1 = new Uint8Array(32).fill(0xff);
    pMinus1[0] = 0xec;
    pMinus1[31] = 0x7f;
    expect(await expectSameVerdict({ ...c, publicKey: pMinus1 })).toBe(false);
  });

  it('hands small-order R values and low-order keys back to JavaScript', async () => {
    const c = signed(Uint8Array.of(9));
    const smallOrder = [
      ed25519.Point.ZERO,
      ...[1n, 2n, 3n, 4n, 5n, 6n, 7n].map((k) =>
        // A point of order dividing 8: the torsion generator multiples.
        ed25519.Point.fromHex(
          'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
        ).multiplyUnsafe(k),
      ),
    ];
    for (const point of smallOrder) {
      const signature = c.signature.slice();
      signature.set(point.toBytes(), 0);
      expect(await expectSameVerdict({ ...c, signature })).toBeUndefined();
    }
    for (const u of [
      '00',
      '01',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
    ]) {
      const publicKey = new Uint8Array(32);
      publicKey.set(Uint8Array.from(Buffer.from(u, 'hex')));
      expect(await expectSameVerdict({ ...c, publicKey })).toBeUndefined();
    }
  });

  it('refuses natively, as JavaScript does, an R that is not a point', async () => {
    const c = signed(Uint8Array.of(7));
    let tried = 0;
    for (let i = 0; i < 200 && tried < 5; i++) {
      const r = crypto.getRandomValues(new Uint8Array(32));
      r[31] = (r[31] as number) & 0x7f; // canonical y (below p with overwhelming probability)
      const decodes = (() => {
        try {
          ed25519.Point.fromBytes(r);
          return true;
        } catch {
          return false;
        }
      })();
      if (decodes) continue;
      const signature = c.signature.slice();
      signature.set(r, 0);
      expect(await expectSameVerdict({ ...c, signature })).toBe(false);
      tried++;
    }
    expect(tried).toBe(5);
  });

  it('hands an R with a non-canonical y (y ≥ p) back to JavaScript', async () => {
    const c = signed(Uint8Array.of(8));
    for (const low of [0xed, 0xee, 0xf0, 0xff]) {
      // y = p + (low − 0xed): 0xed ‖ 0xff… ‖ 0x7f is p itself.
      const r = new Uint8Array(32).fill(0xff);
      r[0] = low;
      r[31] = 0x7f;
      for (const sign of [0, 0x80]) {
        const signature = c.signature.slice();
        signature.set(r, 0);
        signature[31] = (signature[31] as number) | sign;
        expect(await expectSameVerdict({ ...c, signature })).toBeUndefined();
      }
    }
  });
});

describe('bundle verification, native and JavaScript', () => {
  async function bundle(): Promise<PreKeyBundle> {
    const identity = IdentityKeyPair.generate();
    const store = new InMemoryProtocolStore(identity, 42);
    store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, 1, Date.now()));
    store.storeKyberPreKey(KyberPreKeyRecord.generate(identity, 2, Date.now()));
    store.storePreKey(PreKeyRecord.generate(3));
    return createPreKeyBundle(store, {
      deviceId: 1,
      preKeyId: 3,
      signedPreKeyId: 1,
      kyberPreKeyId: 2,
    });
  }

  it('accepts a good bundle both ways', async () => {
    const b = await bundle();
    expect(() => {
      verifyPreKeyBundle(b);
    }).not.toThrow();
    await expect(verifyPreKeyBundleAsync(b)).resolves.toBeUndefined();
  });

  it('refuses each bad signature with the same error both ways', async () => {
    const b = await bundle();
    const flip = (sig: Uint8Array): Uint8Array => {
      const out = sig.slice();
      out[5] = (out[5] as number) ^ 0x10;
      return out;
    };
    const variants: PreKeyBundle[] = [
      { ...b, signedPreKeySignature: flip(b.signedPreKeySignature) },
      { ...b, kyberPreKeySignature: flip(b.kyberPreKeySignature) },
      {
        ...b,
        signedPreKeySignature: flip(b.signedPreKeySignature),
        kyberPreKeySignature: flip(b.kyberPreKeySignature),
      },
      { ...b, identityKey: (await bundle()).identityKey },
    ];
    for (const v of variants) {
      const sync = catchError(() => {
        verifyPreKeyBundle(v);
      });
      const async = await verifyPreKeyBundleAsync(v).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(sync).toBeInstanceOf(Error);
      expect(async).toBeInstanceOf(Error);
      expect((async as Error).constructor).toBe((sync as Error).constructor);
      expect((async as Error).message).toBe((sync as Error).message);
    }
  });
});

describe('XEdDSA on WebCrypto: points with a small-order component', () => {
  const T = ed25519.Point.fromHex(
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  ); // order 8

  function scalarOf(priv: Uint8Array): bigint {
    return leToBigint(priv) % Q;
  }

  it('refuses, natively as in JavaScript, an R with a torsion component (only a cofactored check accepts it)', async () => {
    for (let i = 0; i < 10; i++) {
      const priv = generateX25519PrivateKey();
      const a = scalarOf(priv);
      const aEnc = xeddsaEdwardsPublicKey(priv);
      const message = crypto.getRandomValues(new Uint8Array(40));
      const r = leToBigint(crypto.getRandomValues(new Uint8Array(32))) % Q;
      const rEnc = ed25519.Point.BASE.multiply(r).add(T).toBytes();
      const h = leToBigint(sha512(new Uint8Array([...rEnc, ...aEnc, ...message]))) % Q;
      const signature = new Uint8Array([...rEnc, ...bigintToLe32((r + h * a) % Q)]);
      signature[63] = (signature[63] as number) | ((aEnc[31] as number) & 0x80);
      const native = await expectSameVerdict({
        publicKey: x25519PublicKey(priv),
        message,
        signature,
      });
      expect(native).toBe(false);
    }
  });

  it('accepts, natively as in JavaScript, a key with a torsion component when 8 divides h', async () => {
    let checked = 0;
    for (let i = 0; i < 400 && checked < 5; i++) {
      const a = leToBigint(crypto.getRandomValues(new Uint8Array(32))) % Q;
      const point = ed25519.Point.BASE.multiply(a).add(T);
      const aEnc = point.toBytes();
      // The Montgomery u of the point: u = (1 + y)/(1 − y).
      const y = point.toAffine().y;
      const Fp = ed25519.Point.Fp;
      const u = Fp.mul(Fp.add(1n, y), Fp.inv(Fp.sub(1n, y)));
      const message = Uint8Array.of(i & 0xff, i >> 8);
      const r = leToBigint(crypto.getRandomValues(new Uint8Array(32))) % Q;
      const rEnc = ed25519.Point.BASE.multiply(r).toBytes();
      const h = leToBigint(sha512(new Uint8Array([...rEnc, ...aEnc, ...message]))) % Q;
      if (h % 8n !== 0n) continue;
      const signature = new Uint8Array([...rEnc, ...bigintToLe32((r + h * a) % Q)]);
      signature[63] = (signature[63] as number) | ((aEnc[31] as number) & 0x80);
      const native = await expectSameVerdict({ publicKey: bigintToLe32(u), message, signature });
      expect(native).toBe(true);
      checked++;
    }
    expect(checked).toBe(5);
  });
});

describe('the WebCrypto Ed25519 probe', () => {
  async function probeWith(
    verify: (sig: Uint8Array, message: Uint8Array, key: Uint8Array) => boolean,
  ): Promise<boolean> {
    const real = globalThis.crypto;
    const subtle = {
      importKey: (_format: string, data: Uint8Array) => Promise.resolve({ data: data.slice() }),
      verify: (_alg: unknown, key: { data: Uint8Array }, sig: Uint8Array, message: Uint8Array) =>
        Promise.resolve(verify(sig, message, key.data)),
    };
    vi.stubGlobal('crypto', { getRandomValues: real.getRandomValues.bind(real), subtle });
    try {
      vi.resetModules();
      const fresh = await import('../../src/primitives/webcrypto.js');
      return await fresh.webCryptoEd25519Available();
    } finally {
      vi.unstubAllGlobals();
      vi.resetModules();
    }
  }

  it('refuses a platform that checks the cofactored equation', async () => {
    expect(await probeWith((sig, m, key) => ed25519.verify(sig, m, key, { zip215: true }))).toBe(
      false,
    );
  });

  it('refuses a platform that accepts everything', async () => {
    expect(await probeWith(() => true)).toBe(false);
  });

  it('accepts a platform that checks exactly what libsignal checks', async () => {
    // RFC 8032 decoding and s < L, then the cofactorless equation with R compared byte for byte
    // (noble's own verify is cofactored, so the equation is written out here).
    const cofactorless = (sig: Uint8Array, m: Uint8Array, key: Uint8Array): boolean => {
      try {
        const A = ed25519.Point.fromBytes(key);
        ed25519.Point.fromBytes(sig.subarray(0, 32));
        const sc = leToBigint(sig.subarray(32));
        if (sc >= Q) return false;
        const h = leToBigint(sha512(new Uint8Array([...sig.subarray(0, 32), ...key, ...m]))) % Q;
        const check = ed25519.Point.BASE.multiplyUnsafe(sc).subtract(A.multiplyUnsafe(h));
        return Buffer.from(check.toBytes()).equals(Buffer.from(sig.subarray(0, 32)));
      } catch {
        return false;
      }
    };
    expect(await probeWith(cofactorless)).toBe(true);
  });
});
