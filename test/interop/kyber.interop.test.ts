/**
 * Kyber-1024 (KEM type 0x08) interop with libsignal-client 0.90 (libsignal-wire.md §1.2, §1.3,
 * §3). libsignal has no raw KEM calls, so the cross checks go through its key objects and through
 * real sessions: each side decapsulates the other's ciphertexts inside PQXDH, and the implicit
 * rejection secret is checked against an independent computation and against libsignal itself.
 */
import { sha3_256, shake256 } from '@noble/hashes/sha3.js';
import { describe, expect, it } from 'vitest';
import { KDF_INFO_PQXDH } from '../../src/constants.js';
import { hkdfSha256, initializeInitiatorState, type SessionState } from '../../src/hazmat/index.js';
import {
  KemKeyPair,
  KemPublicKey,
  KemSecretKey,
  KeyPair,
  KyberPreKeyRecord,
} from '../../src/index.js';
import { initialPqRatchetState } from '../../src/spqr/index.js';
import { SessionRecord } from '../../src/state/index.js';
import { decodePreKeySignalMessage, encodePreKeySignalMessage } from '../../src/wire/index.js';
import { toChiffreBundle, toLibsignalBundle } from '../support/libsignal.js';
import { dec, enc, expectLibError, lib, makePair } from './helpers.js';

const PK_RAW = 1568;
const SK_RAW = 3168;
const CT_RAW = 1568;

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/**
 * Kyber round-3 implicit rejection, computed independently of chiffre:
 * `SHAKE256(SHAKE256(z ‖ ct, 32) ‖ SHA3-256(ct), 32)`, z = last 32 bytes of the raw secret key.
 */
function expectedRejectionSecret(
  serializedSecretKey: Uint8Array,
  serializedCiphertext: Uint8Array,
): Uint8Array {
  const z = serializedSecretKey.subarray(serializedSecretKey.length - 32);
  const ct = serializedCiphertext.subarray(1);
  const inner = shake256(concat(z, ct), { dkLen: 32 });
  return shake256(concat(inner, sha3_256(ct)), { dkLen: 32 });
}

/** A libsignal-generated Kyber key pair as serialized bytes. */
function libKemKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  const kp = lib.KEMKeyPair.generate();
  return {
    publicKey: new Uint8Array(kp.getPublicKey().serialize()),
    secretKey: new Uint8Array(kp.getSecretKey().serialize()),
  };
}

describe('Kyber-1024 (0x08) interop with libsignal 0.90', () => {
  it('accepts libsignal secret keys; the embedded public key is libsignal’s public key', () => {
    for (let i = 0; i < 5; i++) {
      const { publicKey, secretKey } = libKemKeyPair();
      expect(publicKey.length).toBe(1 + PK_RAW);
      expect(secretKey.length).toBe(1 + SK_RAW);
      expect(publicKey[0]).toBe(0x08);
      expect(secretKey[0]).toBe(0x08);
      const sk = KemSecretKey.deserialize(secretKey);
      expect(sk.type).toBe(0x08);
      expect(sk.getPublicKey().serialize()).toEqual(publicKey);
      expect(sk.getPublicKey().equals(KemPublicKey.deserialize(publicKey))).toBe(true);
      // The FIPS 203 layout ŝ ‖ pk ‖ H(pk) ‖ z that chiffre relies on.
      expect(secretKey.subarray(1 + 1536 + PK_RAW, 1 + 1536 + PK_RAW + 32)).toEqual(
        sha3_256(publicKey.subarray(1)),
      );
      expect(KemKeyPair.fromSecretKey(sk).publicKey.serialize()).toEqual(publicKey);
    }
  });

  it('libsignal accepts chiffre-generated Kyber keys (type 0x08)', () => {
    const kp = KemKeyPair.generate();
    const pub = lib.KEMPublicKey.deserialize(Buffer.from(kp.publicKey.serialize()));
    expect(new Uint8Array(pub.serialize())).toEqual(kp.publicKey.serialize());
    const sec = lib.KEMSecretKey.deserialize(Buffer.from(kp.secretKey.serialize()));
    expect(new Uint8Array(sec.serialize())).toEqual(kp.secretKey.serialize());
  });

  it('chiffre encapsulates to libsignal keys and decapsulates with libsignal secret keys', () => {
    for (let i = 0; i < 5; i++) {
      const { publicKey, secretKey } = libKemKeyPair();
      const pk = KemPublicKey.deserialize(publicKey);
      const sk = KemSecretKey.deserialize(secretKey);
      const seen = new Set<string>();
      for (let j = 0; j < 3; j++) {
        const { ciphertext, sharedSecret } = pk.encapsulate();
        expect(ciphertext.length).toBe(1 + CT_RAW);
        expect(ciphertext[0]).toBe(0x08);
        expect(sharedSecret.length).toBe(32);
        expect(sk.decapsulate(ciphertext)).toEqual(sharedSecret);
        // Not the implicit-rejection value: the ciphertext was accepted.
        expect(sharedSecret).not.toEqual(expectedRejectionSecret(secretKey, ciphertext));
        seen.add(Buffer.from(sharedSecret).toString('hex'));
      }
      expect(seen.size).toBe(3);
    }
  });

  it('implicit rejection: chiffre’s secret for a corrupted ciphertext matches the Kyber formula', () => {
    const { publicKey, secretKey } = libKemKeyPair();
    const sk = KemSecretKey.deserialize(secretKey);
    const { ciphertext, sharedSecret } = KemPublicKey.deserialize(publicKey).encapsulate();
    for (const index of [1, 2, 700, CT_RAW - 1, CT_RAW]) {
      const bad = ciphertext.slice();
      bad[index] = (bad[index] as number) ^ 0x04;
      const got = sk.decapsulate(bad);
      expect(got).toEqual(expectedRejectionSecret(secretKey, bad));
      expect(got).not.toEqual(sharedSecret);
    }
  });

  describe('through PQXDH sessions', () => {
    it('libsignal initiator → chiffre responder: chiffre decapsulates libsignal’s ciphertext', async () => {
      for (const oneTime of [true, false]) {
        const pair = makePair();
        const bundle = await pair.chiffre.bundle({ oneTime });
        await pair.libsignal.processBundle(pair.chiffreAddressLib, toLibsignalBundle(lib, bundle));
        const m = await pair.l.encrypt(enc('hello from libsignal'));
        expect(m.type).toBe('prekey');
        const parsed = decodePreKeySignalMessage(m.body);
        expect(parsed.kyberPreKeyId).toBe(bundle.kyberPreKeyId);
        expect(parsed.kyberCiphertext?.length).toBe(1 + CT_RAW);
        expect(parsed.kyberCiphertext?.[0]).toBe(0x08);
        expect(dec(await pair.c.decrypt(m))).toBe('hello from libsignal');
        // And the conversation works on the keys derived from that secret.
        const reply = await pair.c.encrypt(enc('reply'));
        expect(dec(await pair.l.decrypt(reply))).toBe('reply');
      }
    });

    it('libsignal initiator → chiffre responder holding a libsignal-made Kyber key', async () => {
      const pair = makePair();
      // Publish a Kyber prekey whose key pair libsignal generated.
      const { secretKey } = libKemKeyPair();
      const keyPair = KemKeyPair.fromSecretKey(KemSecretKey.deserialize(secretKey));
      const identity = pair.chiffre.identity;
      const record = new KyberPreKeyRecord(
        900,
        keyPair,
        identity.privateKey.sign(keyPair.publicKey.serialize()),
        Date.now(),
        false,
      );
      pair.chiffre.store.storeKyberPreKey(record);
      const base = await pair.chiffre.bundle({ oneTime: true });
      const bundle = {
        ...base,
        kyberPreKeyId: 900,
        kyberPreKey: keyPair.publicKey,
        kyberPreKeySignature: record.signature,
      };
      await pair.libsignal.processBundle(pair.chiffreAddressLib, toLibsignalBundle(lib, bundle));
      const m = await pair.l.encrypt(enc('under a libsignal key'));
      expect(decodePreKeySignalMessage(m.body).kyberPreKeyId).toBe(900);
      expect(dec(await pair.c.decrypt(m))).toBe('under a libsignal key');
    });

    it('chiffre initiator → libsignal responder: libsignal decapsulates chiffre’s ciphertext', async () => {
      for (const oneTime of [true, false]) {
        const pair = makePair();
        const libBundle = pair.libsignal.bundle({ oneTime });
        await pair.chiffre.manager.processPreKeyBundle(pair.libAddress, toChiffreBundle(libBundle));
        const m = await pair.c.encrypt(enc('hello from chiffre'));
        expect(m.type).toBe('prekey');
        const parsed = decodePreKeySignalMessage(m.body);
        expect(parsed.kyberPreKeyId).toBe(libBundle.kyberPreKeyId());
        expect(parsed.kyberCiphertext?.length).toBe(1 + CT_RAW);
        expect(parsed.kyberCiphertext?.[0]).toBe(0x08);
        expect(dec(await pair.l.decrypt(m))).toBe('hello from chiffre');
        const reply = await pair.l.encrypt(enc('reply'));
        expect(dec(await pair.c.decrypt(reply))).toBe('reply');
      }
    });

    it('libsignal refuses a first message whose Kyber ciphertext was corrupted, then accepts the intact one', async () => {
      const pair = makePair();
      const libBundle = pair.libsignal.bundle({ oneTime: true });
      await pair.chiffre.manager.processPreKeyBundle(pair.libAddress, toChiffreBundle(libBundle));
      const m = await pair.c.encrypt(enc('first'));
      const parsed = decodePreKeySignalMessage(m.body);
      const ct = parsed.kyberCiphertext as Uint8Array;
      const before = new Map(pair.libsignal.sessions);
      for (const index of [1, 800, CT_RAW]) {
        const badCt = ct.slice();
        badCt[index] = (badCt[index] as number) ^ 0x01;
        // Field 8 sits outside the inner MAC: only the derived keys change, so the MAC fails.
        const body = encodePreKeySignalMessage({ ...parsed, kyberCiphertext: badCt });
        expect(decodePreKeySignalMessage(body).message).toEqual(parsed.message);
        await expectLibError(pair.l.decrypt({ type: 'prekey', body }));
      }
      // Also with a ciphertext of the wrong length or type byte.
      for (const badCt of [ct.subarray(0, CT_RAW), Uint8Array.from([0x0a, ...ct.subarray(1)])]) {
        const body = encodePreKeySignalMessage({ ...parsed, kyberCiphertext: badCt });
        await expectLibError(pair.l.decrypt({ type: 'prekey', body }));
      }
      expect(pair.libsignal.sessions).toEqual(before);
      expect(dec(await pair.l.decrypt(m))).toBe('first');
    });

    it('chiffre refuses a first message whose Kyber ciphertext was corrupted, then accepts the intact one', async () => {
      const pair = makePair();
      await pair.libsignal.processBundle(
        pair.chiffreAddressLib,
        toLibsignalBundle(lib, await pair.chiffre.bundle()),
      );
      const m = await pair.l.encrypt(enc('first'));
      const parsed = decodePreKeySignalMessage(m.body);
      const ct = parsed.kyberCiphertext as Uint8Array;
      const before = pair.chiffre.store.snapshot();
      for (const index of [1, 800, CT_RAW]) {
        const badCt = ct.slice();
        badCt[index] = (badCt[index] as number) ^ 0x01;
        const body = encodePreKeySignalMessage({ ...parsed, kyberCiphertext: badCt });
        const e = await pair.c.decrypt({ type: 'prekey', body }).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect((e as { code?: string } | undefined)?.code).toBe('ERR_INVALID_MESSAGE');
      }
      expect(pair.chiffre.store.snapshot()).toEqual(before);
      expect(dec(await pair.c.decrypt(m))).toBe('first');
    });

    it('libsignal’s implicit-rejection secret equals the Kyber formula (it accepts keys derived from it)', async () => {
      // chiffre builds an initiator state by hand whose Kyber secret is the predicted rejection
      // secret of a corrupted ciphertext, under a secret key libsignal generated. libsignal can
      // only decrypt the resulting message if its own decapsulation yields the same secret.
      for (const oneTime of [true, false]) {
        const pair = makePair();
        const libBundle = pair.libsignal.bundle({ oneTime });
        const kyberRecord = await pair.libsignal.stores.kyberPreKey.getKyberPreKey(
          libBundle.kyberPreKeyId(),
        );
        const libSecretKey = new Uint8Array(kyberRecord.secretKey().serialize());
        const bundle = toChiffreBundle(libBundle);

        const honest = bundle.kyberPreKey.encapsulate();
        const badCt = honest.ciphertext.slice();
        badCt[123] = (badCt[123] as number) ^ 0x80;
        const rejection = expectedRejectionSecret(libSecretKey, badCt);
        // chiffre's own decapsulation agrees with the formula for this libsignal key.
        expect(KemSecretKey.deserialize(libSecretKey).decapsulate(badCt)).toEqual(rejection);

        const identity = pair.chiffre.identity;
        const baseKey = KeyPair.generate();
        const parts = [
          identity.privateKey.calculateAgreement(bundle.signedPreKey),
          baseKey.privateKey.calculateAgreement(bundle.identityKey),
          baseKey.privateKey.calculateAgreement(bundle.signedPreKey),
          ...(bundle.preKey ? [baseKey.privateKey.calculateAgreement(bundle.preKey)] : []),
          rejection,
        ];
        const okm = hkdfSha256(
          concat(new Uint8Array(32).fill(0xff), ...parts),
          undefined,
          KDF_INFO_PQXDH,
          96,
        );
        const state: SessionState = initializeInitiatorState({
          version: 4,
          localIdentityKey: identity.publicKey,
          remoteIdentityKey: bundle.identityKey,
          rootKey: okm.slice(0, 32),
          chainKey: okm.slice(32, 64),
          theirRatchetKey: bundle.signedPreKey,
          baseKey: baseKey.publicKey,
          pendingPreKey: {
            preKeyId: bundle.preKeyId,
            signedPreKeyId: bundle.signedPreKeyId,
            baseKey: baseKey.publicKey,
            timestamp: Math.floor(Date.now() / 1000),
            kyberPreKeyId: bundle.kyberPreKeyId,
            kyberCiphertext: badCt,
          },
          localRegistrationId: pair.chiffre.store.getLocalRegistrationId(),
          remoteRegistrationId: bundle.registrationId,
          // The third 32 bytes key SPQR: libsignal only agrees if they match as well.
          pqRatchet: initialPqRatchetState({
            authKey: okm.slice(64, 96),
            direction: 'a2b',
            minVersion: 1,
          }),
        });
        pair.chiffre.store.storeSession(pair.libAddress, SessionRecord.fromStates(state, []));
        const m = await pair.c.encrypt(enc('keys from the rejection secret'));
        expect(m.type).toBe('prekey');
        expect(decodePreKeySignalMessage(m.body).kyberCiphertext).toEqual(badCt);
        expect(dec(await pair.l.decrypt(m))).toBe('keys from the rejection secret');
        // The session then runs normally in both directions.
        const reply = await pair.l.encrypt(enc('ok'));
        expect(reply.type).toBe('whisper');
        expect(dec(await pair.c.decrypt(reply))).toBe('ok');
      }
    });
  });
});
