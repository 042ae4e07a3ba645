/**
 * The recorded libsignal-initiated sessions (libsignal-wire.md Appendix A): Bob's keys are rebuilt
 * from their labels, loaded into an InMemoryProtocolStore, and SessionManager decrypts the
 * recorded PreKeySignalMessage. The intermediate values are reproduced with the hazmat functions.
 */
import { describe, expect, it } from 'vitest';
import { KEM_TYPE_KYBER1024 } from '../../src/constants.js';
import {
  aes256CbcDecrypt,
  agreeAsResponder,
  concatBytes,
  decodePreKeySignalMessage,
  deriveChainStep,
  deriveMessageKeys,
  deriveMessageSeed,
  deriveNextChainKey,
  deriveRootStep,
  hmacSha256,
  sha256,
} from '../../src/hazmat/index.js';
import {
  IdentityKeyPair,
  KemKeyPair,
  KeyPair,
  KyberPreKeyRecord,
  PreKeyRecord,
  PrivateKey,
  ProtocolAddress,
  SessionManager,
  SignedPreKeyRecord,
} from '../../src/index.js';
import { bytesToHex, hexToBytes } from '../support/hex.js';
import {
  expectCleanFailure,
  fixedRandom,
  loadSessionVector,
  type SessionVector,
  sha256Label,
  sha512Label,
  snapshotOf,
  TestStore,
  text,
  utf8,
} from '../support/session-helpers.js';

const CREATED = 1_700_000_000_000;

interface Bob {
  readonly identity: IdentityKeyPair;
  readonly signedPreKey: SignedPreKeyRecord;
  readonly oneTimePreKey: PreKeyRecord;
  readonly kyberPreKey: KyberPreKeyRecord;
  readonly store: TestStore;
}

/** Bob's keys from the Appendix A labels (private keys = SHA-256(label), clamped on load). */
function rebuildBob(v: SessionVector): Bob {
  const identityPrivate = PrivateKey.deserialize(sha256Label('vector bob identity'));
  const identity = new IdentityKeyPair(identityPrivate.getPublicKey(), identityPrivate);
  const spk = KeyPair.fromPrivateKey(
    PrivateKey.deserialize(sha256Label('vector bob signed prekey')),
  );
  const opk = KeyPair.fromPrivateKey(
    PrivateKey.deserialize(sha256Label('vector bob one-time prekey')),
  );
  const kyberSeed = sha512Label('vector bob kyber seed');
  expect(bytesToHex(kyberSeed)).toBe(v.bob.kyberKeygenSeed64_nobleMlKem1024);
  const kem = KemKeyPair.generate(KEM_TYPE_KYBER1024, fixedRandom(kyberSeed));

  const spkZ = sha512Label('vector spk sig random');
  const kyberZ = sha512Label('vector kyber sig random');
  expect(bytesToHex(spkZ)).toBe(v.bob.spkSigRandom64);
  expect(bytesToHex(kyberZ)).toBe(v.bob.kyberSigRandom64);
  const spkSignature = identity.privateKey.sign(spk.publicKey.serialize(), fixedRandom(spkZ));
  const kyberSignature = identity.privateKey.sign(kem.publicKey.serialize(), fixedRandom(kyberZ));

  const signedPreKey = new SignedPreKeyRecord(v.bob.signedPreKeyId, spk, spkSignature, CREATED);
  const oneTimePreKey = new PreKeyRecord(v.bob.oneTimePreKeyId, opk);
  const kyberPreKey = new KyberPreKeyRecord(
    v.bob.kyberPreKeyId,
    kem,
    kyberSignature,
    CREATED,
    false,
  );

  const store = new TestStore(identity, v.bob.registrationId);
  store.storeSignedPreKey(signedPreKey);
  store.storePreKey(oneTimePreKey);
  store.storeKyberPreKey(kyberPreKey);
  return { identity, signedPreKey, oneTimePreKey, kyberPreKey, store };
}

describe.each(['vector_090.json', 'vector_103.json'] as const)(
  'libsignal-initiated session %s',
  (file) => {
    const v = loadSessionVector(file);
    const wire = hexToBytes(v.preKeySignalMessage);
    const alice = new ProtocolAddress('9d0652a3-dcc3-4d11-975f-74d61598733f', 1);
    const bobAddress = new ProtocolAddress('796abedb-ca4e-4f18-8803-1fde5b921f9f', 1);

    it('uses the addresses, ids and registration id of Appendix A', () => {
      expect(alice.toString()).toBe(v.aliceAddress);
      expect(bobAddress.toString()).toBe(v.bobAddress);
      expect([v.bob.signedPreKeyId, v.bob.oneTimePreKeyId, v.bob.kyberPreKeyId]).toEqual([
        41, 31, 51,
      ]);
      expect(v.bob.registrationId).toBe(2222);
    });

    it('rebuilds Bob’s keys and signatures byte for byte', () => {
      const bob = rebuildBob(v);
      expect(bytesToHex(bob.identity.privateKey.serialize())).toBe(v.bob.identityPriv);
      expect(bob.identity.publicKey.toHex()).toBe(v.bob.identityPub33);
      expect(bytesToHex(bob.signedPreKey.keyPair.privateKey.serialize())).toBe(
        v.bob.signedPreKeyPriv,
      );
      expect(bob.signedPreKey.keyPair.publicKey.toHex()).toBe(v.bob.signedPreKeyPub33);
      expect(bytesToHex(bob.signedPreKey.signature)).toBe(v.bob.signedPreKeySig);
      expect(bytesToHex(bob.oneTimePreKey.keyPair.privateKey.serialize())).toBe(
        v.bob.oneTimePreKeyPriv,
      );
      const kyberPublic = bob.kyberPreKey.keyPair.publicKey.serialize();
      expect(kyberPublic.length).toBe(1569);
      expect(bytesToHex(sha256(kyberPublic))).toBe(v.bob.kyberPub1569_sha256);
      expect(bytesToHex(bob.kyberPreKey.signature)).toBe(v.bob.kyberSigOverPub1569);
      // The same records come out of .generate() with the label bytes and Z as the random source.
      const spkZ = sha512Label('vector spk sig random');
      const kyberZ = sha512Label('vector kyber sig random');
      const generatedSpk = SignedPreKeyRecord.generate(
        bob.identity,
        41,
        CREATED,
        fixedRandom(sha256Label('vector bob signed prekey'), spkZ),
      );
      expect(bytesToHex(generatedSpk.serialize())).toBe(bytesToHex(bob.signedPreKey.serialize()));
      const generatedKyber = KyberPreKeyRecord.generate(bob.identity, 51, CREATED, {
        random: fixedRandom(sha512Label('vector bob kyber seed'), kyberZ),
      });
      expect(bytesToHex(generatedKyber.serialize())).toBe(bytesToHex(bob.kyberPreKey.serialize()));
      // The records survive their own storage format.
      expect(SignedPreKeyRecord.deserialize(bob.signedPreKey.serialize()).signature).toEqual(
        bob.signedPreKey.signature,
      );
    });

    it('SessionManager decrypts the recorded PreKeySignalMessage', async () => {
      const bob = rebuildBob(v);
      const manager = new SessionManager({
        store: bob.store,
        localAddress: bobAddress,
        now: () => CREATED,
      });
      const before = snapshotOf(bob.store);
      const plaintext = await manager.decryptPreKeyMessage(alice, wire);
      expect(text(plaintext)).toBe(v.plaintext);
      expect(v.plaintext).toBe(
        file === 'vector_090.json' ? 'hello from libsignal 090' : 'hello from libsignal 103',
      );

      const after = snapshotOf(bob.store);
      // One-time prekey and one-time Kyber prekey consumed; signed prekey kept.
      expect(before['prekey:31']).toBeDefined();
      expect(after['prekey:31']).toBeUndefined();
      expect(after['kyber-prekey:51']).toBeUndefined();
      expect(after['signed-prekey:41']).toBe(before['signed-prekey:41']);
      // Alice's identity remembered; a session stored.
      expect(after[`identity:${v.aliceAddress}`]).toBe(v.derived.aliceIdentityPub33);
      expect(after[`session:${v.aliceAddress}`]).toBeDefined();

      const record = bob.store.loadSession(alice)!;
      const state = record.currentState!;
      expect(state.aliceBaseKey.toHex()).toBe(v.derived.aliceBaseKey33);
      expect(state.remoteIdentityKey.toHex()).toBe(v.derived.aliceIdentityPub33);
      expect(state.remoteRegistrationId).toBe(1111);
      expect(state.localRegistrationId).toBe(2222);
      expect(state.receiverChains.length).toBe(1);
      expect(state.receiverChains[0]!.ratchetKey.toHex()).toBe(v.derived.aliceRatchetKey33);
      expect(state.receiverChains[0]!.chainKey.index).toBe(1);

      // A replay is a duplicate and changes nothing.
      await expectCleanFailure(
        [bob.store],
        () => manager.decryptPreKeyMessage(alice, wire),
        'ERR_DUPLICATE_MESSAGE',
        'message with old counter 0',
      );

      // Bob can answer: a SignalMessage (he is the responder, nothing pending).
      const reply = await manager.encrypt(alice, utf8('hello from chiffre'));
      expect(reply.type).toBe('whisper');
    });

    it('the same message refused while Alice’s identity is untrusted, then accepted', async () => {
      const bob = rebuildBob(v);
      const manager = new SessionManager({ store: bob.store, localAddress: bobAddress });
      bob.store.saveIdentity(alice, KeyPair.generate().publicKey);
      await expectCleanFailure(
        [bob.store],
        () => manager.decryptPreKeyMessage(alice, wire),
        'ERR_UNTRUSTED_IDENTITY',
      );
      bob.store.saveIdentity(alice, decodePreKeySignalMessage(wire).identityKey);
      expect(text(await manager.decryptPreKeyMessage(alice, wire))).toBe(v.plaintext);
    });

    it('reproduces every intermediate value with the hazmat functions', () => {
      const bob = rebuildBob(v);
      const m = decodePreKeySignalMessage(wire);
      const spk = bob.signedPreKey.keyPair.privateKey;
      const opk = bob.oneTimePreKey.keyPair.privateKey;
      const d = v.derived;

      expect(bytesToHex(spk.calculateAgreement(m.identityKey))).toBe(d.dh1_IKa_SPKb);
      expect(bytesToHex(bob.identity.privateKey.calculateAgreement(m.baseKey))).toBe(d.dh2_EKa_IKb);
      expect(bytesToHex(spk.calculateAgreement(m.baseKey))).toBe(d.dh3_EKa_SPKb);
      expect(bytesToHex(opk.calculateAgreement(m.baseKey))).toBe(d.dh4_EKa_OPKb);
      expect(bytesToHex(bob.kyberPreKey.keyPair.secretKey.decapsulate(m.kyberCiphertext!))).toBe(
        d.kyberSharedSecret,
      );

      const secrets = agreeAsResponder({
        ourIdentity: bob.identity,
        ourSignedPreKey: bob.signedPreKey.keyPair,
        ourOneTimePreKey: bob.oneTimePreKey.keyPair,
        ourKyberSecretKey: bob.kyberPreKey.keyPair.secretKey,
        theirIdentityKey: m.identityKey,
        theirBaseKey: m.baseKey,
        kyberCiphertext: m.kyberCiphertext!,
      });
      expect(bytesToHex(concatBytes(secrets.rootKey, secrets.chainKey, secrets.pqrAuthKey))).toBe(
        d.hkdfOut96_rk_ck_pqrAuth,
      );

      const inner = m.signalMessage;
      expect(inner.ratchetKey.toHex()).toBe(d.aliceRatchetKey33);
      const first = deriveRootStep(secrets.rootKey, spk.calculateAgreement(inner.ratchetKey));
      expect(bytesToHex(first.rootKey)).toBe(d.firstChain_rootKey);
      expect(bytesToHex(first.chainKey)).toBe(d.firstChain_chainKey);

      const seed = deriveMessageSeed(first.chainKey);
      expect(bytesToHex(seed)).toBe(d.msg0_seed);
      // The combined step (one prepared HMAC key) gives the same two outputs.
      const step = deriveChainStep(first.chainKey);
      expect(bytesToHex(step.seed)).toBe(d.msg0_seed);
      expect(bytesToHex(step.next)).toBe(bytesToHex(deriveNextChainKey(first.chainKey)));
      // 0.90 sends SPQR index 0 (no salt); 0.103 salts with the epoch-0 chain key of index 1.
      const salt = d.spqr.salt === undefined ? undefined : hexToBytes(d.spqr.salt);
      expect(salt === undefined).toBe(file === 'vector_090.json');
      const keys = deriveMessageKeys(seed, salt);
      expect(bytesToHex(keys.cipherKey)).toBe(d.msg0_cipherKey);
      expect(bytesToHex(keys.macKey)).toBe(d.msg0_macKey);
      expect(bytesToHex(keys.iv)).toBe(d.msg0_iv);

      const mac = hmacSha256(
        keys.macKey,
        concatBytes(m.identityKey.serialize(), bob.identity.publicKey.serialize(), inner.macInput),
      );
      expect(bytesToHex(mac.subarray(0, 8))).toBe(d.innerMac8);
      expect(bytesToHex(inner.mac)).toBe(d.innerMac8);
      expect(text(aes256CbcDecrypt(keys.cipherKey, keys.iv, inner.ciphertext)!)).toBe(v.plaintext);

      if (file === 'vector_090.json') {
        // Salting 0.90's message would break it: the salt really is absent.
        const salted = deriveMessageKeys(seed, new Uint8Array(32).fill(1));
        expect(bytesToHex(salted.macKey)).not.toBe(d.msg0_macKey);
      }
    });

    it('a message with one flipped byte anywhere in the inner message is refused, store unchanged', async () => {
      const bob = rebuildBob(v);
      const manager = new SessionManager({ store: bob.store, localAddress: bobAddress });
      const m = decodePreKeySignalMessage(wire);
      const at = findSub(wire, m.message);
      // Offsets: version byte (high nibble), ratchet key, field-4 key, field 5 (SPQR), MAC.
      for (const [offset, flip, code] of [
        [0, 0x10, 'ERR_UNSUPPORTED_VERSION'],
        [0, 0x01, 'ERR_INVALID_MESSAGE'],
        [5, 0x01, 'ERR_INVALID_MESSAGE'],
        [40, 0x01, 'ERR_INVALID_MESSAGE'],
        [m.message.length - 20, 0x01, 'ERR_INVALID_MESSAGE'],
        [m.message.length - 1, 0x80, 'ERR_INVALID_MESSAGE'],
      ] as const) {
        const bad = wire.slice();
        bad[at + offset] = (bad[at + offset] as number) ^ flip;
        await expectCleanFailure([bob.store], () => manager.decryptPreKeyMessage(alice, bad), code);
      }
      expect(text(await manager.decryptPreKeyMessage(alice, wire))).toBe(v.plaintext);
    });
  },
);

function findSub(haystack: Uint8Array, needle: Uint8Array): number {
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    let ok = true;
    for (let j = 0; j < needle.length && ok; j++) ok = haystack[i + j] === needle[j];
    if (ok) return i;
  }
  throw new Error('not found');
}
