/**
 * The native X25519 backend (WebCrypto) against noble and the RFC 7748 vectors: identical results
 * bit for bit, the same refusals, and sessions whose parties use different backends interoperate.
 */
import { describe, expect, it } from 'vitest';
import {
  clampPrivateKey,
  generateX25519PrivateKey,
  webCryptoX25519Agree,
  webCryptoX25519Available,
  webCryptoX25519Generate,
  x25519Agree,
  x25519PublicKey,
} from '../../src/primitives/index.js';
import { clearWebCryptoSpares } from '../../src/primitives/webcrypto.js';
import { SessionManager } from '../../src/index.js';
import { makeParty, text, utf8 } from '../support/parties.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('native X25519 (WebCrypto)', () => {
  it('is available on this Node and passes the RFC 7748 §6.1 vector', async () => {
    expect(await webCryptoX25519Available()).toBe(true);
    const alicePriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bobPub = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    expect(toHex(await webCryptoX25519Agree(alicePriv, bobPub))).toBe(
      '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
    );
  });

  it('agrees with noble bit for bit, including non-canonical public keys', async () => {
    for (let i = 0; i < 150; i++) {
      const priv = generateX25519PrivateKey();
      let pub = x25519PublicKey(generateX25519PrivateKey());
      if (i % 3 === 1) {
        pub = pub.slice();
        pub[31] = (pub[31] as number) | 0x80; // bit 255 set: ignored by both
      }
      if (i % 3 === 2) pub = crypto.getRandomValues(new Uint8Array(32)); // any u, curve or twist
      let nobleResult: string;
      try {
        nobleResult = toHex(x25519Agree(priv, pub));
      } catch (e) {
        nobleResult = `error ${(e as { code?: string }).code ?? ''}`;
      }
      let nativeResult: string;
      try {
        // Both import paths: PKCS#8 (private key only) and JWK (with our public key).
        const ours = i % 2 === 0 ? x25519PublicKey(priv) : undefined;
        nativeResult = toHex(await webCryptoX25519Agree(priv, pub, ours));
      } catch (e) {
        nativeResult = `error ${(e as { code?: string }).code ?? ''}`;
      }
      expect(nativeResult).toBe(nobleResult);
    }
  });

  it('refuses low-order public keys with the same typed error', async () => {
    const priv = generateX25519PrivateKey();
    const p = (1n << 255n) - 19n;
    for (const u of [0n, 1n, p - 1n, p, p + 1n]) {
      const bytes = new Uint8Array(32);
      let v = u;
      for (let i = 0; i < 32; i++) {
        bytes[i] = Number(v & 0xffn);
        v >>= 8n;
      }
      await expect(webCryptoX25519Agree(priv, bytes)).rejects.toMatchObject({
        code: 'ERR_INVALID_KEY',
      });
      expect(() => x25519Agree(priv, bytes)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_KEY' }),
      );
    }
  });

  it('generates clamped private keys whose noble public key matches', async () => {
    for (let i = 0; i < 20; i++) {
      const { privateKey, publicKey } = await webCryptoX25519Generate();
      expect(toHex(clampPrivateKey(privateKey.slice()))).toBe(toHex(privateKey));
      expect(toHex(x25519PublicKey(privateKey))).toBe(toHex(publicKey));
    }
  });

  it('hands out every generated pair once, including pairs generated ahead', async () => {
    // Consecutive calls are served from the pairs generated ahead while the pool refills in the
    // background; no pair (private or public half) may come out twice.
    clearWebCryptoSpares();
    const seen = new Set<string>();
    const pairs = [];
    // One at a time (served from the pairs made ahead), then more at once than the pool holds.
    for (let i = 0; i < 20; i++) pairs.push(await webCryptoX25519Generate());
    pairs.push(...(await Promise.all(Array.from({ length: 20 }, () => webCryptoX25519Generate()))));
    for (const { privateKey, publicKey } of pairs) {
      expect(toHex(x25519PublicKey(privateKey))).toBe(toHex(publicKey));
      expect(seen.has(toHex(privateKey))).toBe(false);
      seen.add(toHex(privateKey));
    }
    expect(seen.size).toBe(40);
    clearWebCryptoSpares();
  });

  it('agrees with noble through the kept handle of a generated key, and after it is used up', async () => {
    // A generated key's handle is kept for two agreements (then the key is imported again), and
    // a peer key's import is kept too: results must not depend on which path ran.
    for (let i = 0; i < 20; i++) {
      const { privateKey, publicKey } = await webCryptoX25519Generate();
      const peers = [0, 1, 2, 3].map(() => x25519PublicKey(generateX25519PrivateKey()));
      for (const peer of [...peers, peers[0] as Uint8Array, peers[1] as Uint8Array]) {
        const native = await webCryptoX25519Agree(privateKey, peer, publicKey);
        expect(toHex(native)).toBe(toHex(x25519Agree(privateKey, peer)));
      }
    }
  });

  it('a party on the native backend and a party on pure noble interoperate', async () => {
    const a = makeParty('alice');
    const b = makeParty('bob');
    const alice = new SessionManager({ store: a.store, localAddress: a.address, crypto: 'auto' });
    const bob = new SessionManager({ store: b.store, localAddress: b.address, crypto: 'noble' });
    await alice.processPreKeyBundle(b.address, await b.bundle());
    for (let i = 0; i < 30; i++) {
      const [from, fromAddr, to, toAddr] =
        i % 3 === 2 ? [bob, b.address, alice, a.address] : [alice, a.address, bob, b.address];
      const m = await from.encrypt(toAddr, utf8(`m${String(i)}`));
      expect(text(await to.decrypt(fromAddr, m))).toBe(`m${String(i)}`);
    }
  });
});
