/**
 * XEdDSA interop with libsignal-client 0.90 (libsignal-wire.md §2): signatures made by either side
 * verify on the other, tampered signatures are refused by both, and the prekey signatures each side
 * publishes are accepted by the other.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  IdentityKeyPair,
  isSignalError,
  KemPublicKey,
  KyberPreKeyRecord,
  PrivateKey,
  PublicKey,
  SignedPreKeyRecord,
} from '../../src/index.js';
import { bigintToLe32, P } from '../../src/primitives/curve25519-field.js';
import { encode, multiplyBase } from '../../src/primitives/edwards25519.js';
import { xeddsaVerify } from '../../src/primitives/xeddsa.js';
import { makeLibsignalParty, toChiffreBundle, toLibsignalBundle } from '../support/libsignal.js';
import { makeParty } from '../support/parties.js';
import { expectLibError, flipByte, lib, makePair, rejection } from './helpers.js';

const RUNS = 100;
const SEED = 0x0c1ff4e;
const params = { numRuns: RUNS, seed: SEED };

const keyBytes = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = fc.uint8Array({ minLength: 0, maxLength: 300 });

/** The three tamperings the brief names: a bit of R, a bit of s, the sign bit (sig[63] bit 7). */
const tamperings = (sig: Uint8Array, rBit: number, sBit: number): [string, Uint8Array][] => [
  ['R', flipByte(sig, rBit >> 3, 1 << (rBit & 7))],
  // s occupies bytes 32..63 with bit 7 of byte 63 reserved for the sign; bits 0..252 are s.
  ['s', flipByte(sig, 32 + (sBit >> 3), 1 << (sBit & 7))],
  ['sign bit', flipByte(sig, 63, 0x80)],
];

const libVerify = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean =>
  lib.PublicKey.deserialize(Buffer.from(pub)).verify(Buffer.from(msg), Buffer.from(sig)) as boolean;

describe('XEdDSA interop with libsignal 0.90', () => {
  it('both sides derive the same public key from the same private bytes', () => {
    fc.assert(
      fc.property(keyBytes, (k) => {
        const ours = PrivateKey.deserialize(k);
        const theirs = lib.PrivateKey.deserialize(Buffer.from(k));
        expect(Buffer.from(theirs.serialize())).toEqual(Buffer.from(ours.serialize()));
        expect(Buffer.from(theirs.getPublicKey().serialize())).toEqual(
          Buffer.from(ours.getPublicKey().serialize()),
        );
      }),
      params,
    );
  });

  it('chiffre signatures verify in libsignal; tampered ones are refused by both', () => {
    let signBitSet = 0;
    fc.assert(
      fc.property(
        keyBytes,
        message,
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 252 }),
        (k, msg, rBit, sBit) => {
          const priv = PrivateKey.deserialize(k);
          const pub = priv.getPublicKey();
          const sig = priv.sign(msg);
          expect(sig.length).toBe(64);
          if (((sig[63] as number) & 0x80) !== 0) signBitSet++;
          expect(pub.verifySignature(msg, sig)).toBe(true);
          expect(libVerify(pub.serialize(), msg, sig)).toBe(true);
          for (const [, bad] of tamperings(sig, rBit, sBit)) {
            expect(pub.verifySignature(msg, bad)).toBe(false);
            expect(libVerify(pub.serialize(), msg, bad)).toBe(false);
          }
          // A changed message is refused too.
          const other = msg.length === 0 ? Uint8Array.of(0) : flipByte(msg, msg.length - 1);
          expect(pub.verifySignature(other, sig)).toBe(false);
          expect(libVerify(pub.serialize(), other, sig)).toBe(false);
        },
      ),
      params,
    );
    // libsignal carries the Edwards sign bit in sig[63] (about half of all keys): both kinds occurred.
    expect(signBitSet).toBeGreaterThan(RUNS / 5);
    expect(signBitSet).toBeLessThan(RUNS - RUNS / 5);
  });

  it('libsignal signatures verify in chiffre; tampered ones are refused by both', () => {
    let signBitSet = 0;
    fc.assert(
      fc.property(
        keyBytes,
        message,
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 252 }),
        (k, msg, rBit, sBit) => {
          const libPriv = lib.PrivateKey.deserialize(Buffer.from(k));
          const pubBytes = new Uint8Array(libPriv.getPublicKey().serialize());
          const sig = new Uint8Array(libPriv.sign(Buffer.from(msg)));
          expect(sig.length).toBe(64);
          if (((sig[63] as number) & 0x80) !== 0) signBitSet++;
          const pub = PublicKey.deserialize(pubBytes);
          expect(pub.verifySignature(msg, sig)).toBe(true);
          for (const [, bad] of tamperings(sig, rBit, sBit)) {
            expect(pub.verifySignature(msg, bad)).toBe(false);
            expect(libVerify(pubBytes, msg, bad)).toBe(false);
          }
        },
      ),
      params,
    );
    expect(signBitSet).toBeGreaterThan(RUNS / 5);
    expect(signBitSet).toBeLessThan(RUNS - RUNS / 5);
  });

  it('refuses signatures of the wrong length on both sides', () => {
    const priv = PrivateKey.generate();
    const msg = Uint8Array.of(1, 2, 3);
    const sig = priv.sign(msg);
    for (const bad of [sig.subarray(0, 63), Uint8Array.from([...sig, 0]), new Uint8Array(0)]) {
      expect(priv.getPublicKey().verifySignature(msg, bad)).toBe(false);
      expect(libVerify(priv.getPublicKey().serialize(), msg, bad)).toBe(false);
    }
  });

  it("reaches libsignal's verdicts for low-order keys, the sign bit on x = 0 included", () => {
    // R = r·B and s = r: valid exactly when h·A is the identity, which for a low-order A depends
    // on h, so both verdicts occur. u = 0 with the sign bit set is the point (0, −1), which
    // curve25519-dalek decodes and RFC 8032 decoders refuse.
    const lowOrder = [
      0n,
      1n,
      325606250916557431795983626356110631294008115727848805560023387167927233504n,
      39382357235489614581723060781553021112529911719440698176882885853963445705823n,
      P - 1n,
    ];
    const accepted = new Map<string, number>();
    for (const u of lowOrder) {
      const pub = Uint8Array.of(5, ...bigintToLe32(u));
      for (const signBit of [0, 0x80]) {
        for (let i = 0; i < 24; i++) {
          const r = BigInt(1000 + i * 7919);
          const sig = Uint8Array.of(...encode(multiplyBase(r)), ...bigintToLe32(r));
          sig[63] = (sig[63] as number) | signBit;
          const msg = Uint8Array.of(i, signBit, Number(u & 0xffn));
          const theirs = libVerify(pub, msg, sig);
          expect(xeddsaVerify(pub.subarray(1), msg, sig), `u=${String(u)} sign=${signBit}`).toBe(
            theirs,
          );
          const key = `${String(u)}/${String(signBit)}`;
          if (theirs) accepted.set(key, (accepted.get(key) ?? 0) + 1);
        }
      }
    }
    // Not vacuous: the identity-like cases accept, and u = 0 with the sign bit accepts sometimes.
    expect(accepted.get('0/128') ?? 0).toBeGreaterThan(0);
    expect(accepted.get('0/0') ?? 0).toBeGreaterThan(0);
  });

  it('chiffre signed-prekey and Kyber-prekey signatures verify in libsignal', () => {
    for (let i = 0; i < 10; i++) {
      const identity = IdentityKeyPair.generate();
      const libIdentity = lib.PublicKey.deserialize(Buffer.from(identity.publicKey.serialize()));
      const spk = SignedPreKeyRecord.generate(identity, i + 1, Date.now());
      const spkPublic = spk.keyPair.publicKey.serialize();
      expect(libIdentity.verify(Buffer.from(spkPublic), Buffer.from(spk.signature))).toBe(true);
      // The signature covers the 33-byte serialized key, not the raw 32 bytes.
      expect(
        libIdentity.verify(Buffer.from(spkPublic.subarray(1)), Buffer.from(spk.signature)),
      ).toBe(false);
      const kyber = KyberPreKeyRecord.generate(identity, i + 1, Date.now());
      const kyberPublic = kyber.keyPair.publicKey.serialize();
      expect(kyberPublic.length).toBe(1569);
      expect(kyberPublic[0]).toBe(0x08);
      expect(libIdentity.verify(Buffer.from(kyberPublic), Buffer.from(kyber.signature))).toBe(true);
      expect(
        libIdentity.verify(Buffer.from(kyberPublic), Buffer.from(flipByte(kyber.signature, 5))),
      ).toBe(false);
      // libsignal accepts the keys themselves.
      expect(lib.PublicKey.deserialize(Buffer.from(spkPublic)).serialize().length).toBe(33);
      expect(lib.KEMPublicKey.deserialize(Buffer.from(kyberPublic)).serialize().length).toBe(1569);
    }
  });

  it('libsignal signed-prekey and Kyber-prekey signatures verify in chiffre', () => {
    const party = makeLibsignalParty(lib, 'libsignal');
    for (let i = 0; i < 10; i++) {
      const b = party.bundle({ oneTime: i % 2 === 0 });
      const identity = PublicKey.deserialize(new Uint8Array(b.identityKey().serialize()));
      const spk = new Uint8Array(b.signedPreKeyPublic().serialize());
      const spkSig = new Uint8Array(b.signedPreKeySignature());
      const kyber = new Uint8Array(b.kyberPreKeyPublic().serialize());
      const kyberSig = new Uint8Array(b.kyberPreKeySignature());
      expect(identity.verifySignature(spk, spkSig)).toBe(true);
      expect(identity.verifySignature(kyber, kyberSig)).toBe(true);
      expect(KemPublicKey.deserialize(kyber).serialize()).toEqual(kyber);
      expect(identity.verifySignature(spk, flipByte(spkSig, 40))).toBe(false);
      expect(identity.verifySignature(kyber, flipByte(kyberSig, 63, 0x80))).toBe(false);
    }
  });

  it('each side accepts the other side’s bundle and refuses it with a broken signature', async () => {
    // chiffre processes libsignal bundles.
    {
      const pair = makePair();
      const good = toChiffreBundle(pair.libsignal.bundle());
      for (const field of ['signedPreKeySignature', 'kyberPreKeySignature'] as const) {
        for (const [index, mask] of [
          [3, 0x10],
          [40, 0x01],
          [63, 0x80],
        ] as const) {
          const bad = { ...good, [field]: flipByte(good[field], index, mask) };
          const e = await rejection(pair.chiffre.manager.processPreKeyBundle(pair.libAddress, bad));
          expect(isSignalError(e, 'ERR_INVALID_SIGNATURE')).toBe(true);
        }
      }
      // Nothing was stored by the refusals; the intact bundle works.
      expect(await pair.chiffre.manager.hasSession(pair.libAddress)).toBe(false);
      await pair.chiffre.manager.processPreKeyBundle(pair.libAddress, good);
      expect(await pair.chiffre.manager.hasSession(pair.libAddress)).toBe(true);
    }
    // libsignal processes chiffre bundles.
    {
      const party = makeParty('chiffre');
      const libParty = makeLibsignalParty(lib, 'libsignal');
      const to = lib.ProtocolAddress.new(party.address.name, 1);
      const good = await party.bundle();
      for (const field of ['signedPreKeySignature', 'kyberPreKeySignature'] as const) {
        for (const [index, mask] of [
          [3, 0x10],
          [40, 0x01],
          [63, 0x80],
        ] as const) {
          const bad = { ...good, [field]: flipByte(good[field], index, mask) };
          await expectLibError(libParty.processBundle(to, toLibsignalBundle(lib, bad)));
        }
      }
      expect(libParty.sessions.size).toBe(0);
      await libParty.processBundle(to, toLibsignalBundle(lib, good));
      expect(libParty.sessions.size).toBe(1);
    }
  });
});
