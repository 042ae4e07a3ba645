/**
 * The recorded libsignal sessions of shared/protocol/vectors (libsignal-wire.md Appendix A), checked
 * primitive by primitive: Bob's deterministic keys, the XEdDSA signatures of his bundle, the Kyber
 * decapsulation of Alice's ciphertext, the four DH values, the PQXDH HKDF output, and the first
 * message's keys, MAC and plaintext. The protobuf is parsed by hand so that no `wire/` code is
 * involved.
 */
import { describe, expect, it } from 'vitest';
import { KEM_TYPE_KYBER1024 } from '../../src/constants.js';
import { KemSecretKey, PrivateKey, PublicKey } from '../../src/keys/index.js';
import {
  aes256CbcDecrypt,
  concatBytes,
  hkdfSha256,
  hmacSha256,
  kemDecapsulate,
  kemGenerateKeyPair,
  sha256,
  sha512,
} from '../../src/primitives/index.js';
import { bytesToHex, hexToBytes, utf8 } from '../support/hex.js';
import { fixedRandom, loadSharedVector } from './helpers.js';

interface SessionVector {
  bob: {
    identityPriv: string;
    identityPub33: string;
    registrationId: number;
    signedPreKeyId: number;
    signedPreKeyPriv: string;
    signedPreKeyPub33: string;
    signedPreKeySig: string;
    oneTimePreKeyId: number;
    oneTimePreKeyPriv: string;
    kyberPreKeyId: number;
    kyberKeygenSeed64_nobleMlKem1024: string;
    kyberPub1569_sha256: string;
    kyberSigOverPub1569: string;
    spkSigRandom64: string;
    kyberSigRandom64: string;
  };
  preKeySignalMessage: string;
  plaintext: string;
  derived: {
    aliceIdentityPub33: string;
    aliceBaseKey33: string;
    kyberCiphertext1569_sha256: string;
    dh1_IKa_SPKb: string;
    dh2_EKa_IKb: string;
    dh3_EKa_SPKb: string;
    dh4_EKa_OPKb: string;
    kyberSharedSecret: string;
    hkdfOut96_rk_ck_pqrAuth: string;
    aliceRatchetKey33: string;
    firstChain_rootKey: string;
    firstChain_chainKey: string;
    msg0_seed: string;
    msg0_cipherKey: string;
    msg0_macKey: string;
    msg0_iv: string;
    innerMac8: string;
    spqr: { salt?: string };
    addresses: string | null;
  };
}

// --- a minimal protobuf reader (varint and length-delimited fields only) ---------------------
type Field = { wire: 0; value: bigint } | { wire: 2; value: Uint8Array };

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let p = pos; p < buf.length; p++) {
    const b = buf[p]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, p + 1];
    shift += 7n;
  }
  throw new Error('truncated varint');
}

function parseProtobuf(buf: Uint8Array): Map<number, Field[]> {
  const fields = new Map<number, Field[]>();
  let pos = 0;
  while (pos < buf.length) {
    const [key, afterKey] = readVarint(buf, pos);
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    let field: Field;
    if (wire === 0) {
      const [value, next] = readVarint(buf, afterKey);
      field = { wire: 0, value };
      pos = next;
    } else if (wire === 2) {
      const [len, start] = readVarint(buf, afterKey);
      const end = start + Number(len);
      if (end > buf.length) throw new Error('truncated field');
      field = { wire: 2, value: buf.subarray(start, end) };
      pos = end;
    } else {
      throw new Error(`unexpected wire type ${String(wire)}`);
    }
    const list = fields.get(num) ?? [];
    list.push(field);
    fields.set(num, list);
  }
  return fields;
}

function bytesField(fields: Map<number, Field[]>, num: number): Uint8Array {
  const f = fields.get(num);
  if (f?.length !== 1 || f[0]!.wire !== 2) throw new Error(`field ${String(num)} missing`);
  return f[0]!.value;
}

function uintField(fields: Map<number, Field[]>, num: number): number {
  const f = fields.get(num);
  if (f?.length !== 1 || f[0]!.wire !== 0) throw new Error(`field ${String(num)} missing`);
  return Number(f[0]!.value);
}

function clampedSha256(label: string): string {
  const k = sha256(utf8(label));
  k[0] = k[0]! & 248;
  k[31] = (k[31]! & 127) | 64;
  return bytesToHex(k);
}

describe.each([
  { name: '0.90.0 (A.1)', file: 'vector_090.json' },
  { name: '0.103.0 (A.2)', file: 'vector_103.json' },
])('libsignal $name session vector', ({ file }) => {
  const v = loadSharedVector<SessionVector>(file);
  const bob = v.bob;
  const d = v.derived;
  const identity = PrivateKey.deserialize(hexToBytes(bob.identityPriv));
  const signedPreKey = PrivateKey.deserialize(hexToBytes(bob.signedPreKeyPriv));
  const oneTimePreKey = PrivateKey.deserialize(hexToBytes(bob.oneTimePreKeyPriv));
  const kyber = kemGenerateKeyPair(
    KEM_TYPE_KYBER1024,
    fixedRandom(hexToBytes(bob.kyberKeygenSeed64_nobleMlKem1024)),
  );

  const message = hexToBytes(v.preKeySignalMessage);
  const outer = parseProtobuf(message.subarray(1));
  const aliceIdentity = PublicKey.deserialize(bytesField(outer, 3));
  const aliceBase = PublicKey.deserialize(bytesField(outer, 2));
  const kyberCiphertext = bytesField(outer, 8);

  it('Bob’s keys are the labelled derivations of Appendix A', () => {
    expect(bob.identityPriv).toBe(clampedSha256('vector bob identity'));
    expect(bob.signedPreKeyPriv).toBe(clampedSha256('vector bob signed prekey'));
    expect(bob.oneTimePreKeyPriv).toBe(clampedSha256('vector bob one-time prekey'));
    expect(bob.kyberKeygenSeed64_nobleMlKem1024).toBe(
      bytesToHex(sha512(utf8('vector bob kyber seed'))),
    );
    expect(bob.spkSigRandom64).toBe(bytesToHex(sha512(utf8('vector spk sig random'))));
    expect(bob.kyberSigRandom64).toBe(bytesToHex(sha512(utf8('vector kyber sig random'))));
  });

  it('the public keys match', () => {
    expect(identity.getPublicKey().toHex()).toBe(bob.identityPub33);
    expect(signedPreKey.getPublicKey().toHex()).toBe(bob.signedPreKeyPub33);
    expect(kyber.publicKey).toHaveLength(1569);
    expect(bytesToHex(sha256(kyber.publicKey))).toBe(bob.kyberPub1569_sha256);
    expect(KemSecretKey.deserialize(kyber.secretKey).getPublicKey().serialize()).toEqual(
      kyber.publicKey,
    );
  });

  it('our XEdDSA verifies Bob’s signed-prekey and Kyber-prekey signatures', () => {
    const idPub = PublicKey.deserialize(hexToBytes(bob.identityPub33));
    const spkSig = hexToBytes(bob.signedPreKeySig);
    const kyberSig = hexToBytes(bob.kyberSigOverPub1569);
    expect(idPub.verifySignature(hexToBytes(bob.signedPreKeyPub33), spkSig)).toBe(true);
    expect(idPub.verifySignature(kyber.publicKey, kyberSig)).toBe(true);
    // The signed bytes include the type byte: the raw key does not verify.
    expect(idPub.verifySignature(hexToBytes(bob.signedPreKeyPub33).subarray(1), spkSig)).toBe(
      false,
    );
    expect(idPub.verifySignature(kyber.publicKey.subarray(1), kyberSig)).toBe(false);
  });

  it('signing with the recorded Z reproduces the recorded signatures', () => {
    const spkSig = identity.sign(
      hexToBytes(bob.signedPreKeyPub33),
      fixedRandom(hexToBytes(bob.spkSigRandom64)),
    );
    expect(bytesToHex(spkSig)).toBe(bob.signedPreKeySig);
    const kyberSig = identity.sign(kyber.publicKey, fixedRandom(hexToBytes(bob.kyberSigRandom64)));
    expect(bytesToHex(kyberSig)).toBe(bob.kyberSigOverPub1569);
  });

  it('the PreKeySignalMessage carries the recorded outer fields', () => {
    expect(message[0]).toBe(0x44);
    expect(uintField(outer, 1)).toBe(bob.oneTimePreKeyId);
    expect(aliceBase.toHex()).toBe(d.aliceBaseKey33);
    expect(aliceIdentity.toHex()).toBe(d.aliceIdentityPub33);
    expect(uintField(outer, 5)).toBe(1111);
    expect(uintField(outer, 6)).toBe(bob.signedPreKeyId);
    expect(uintField(outer, 7)).toBe(bob.kyberPreKeyId);
    expect(kyberCiphertext).toHaveLength(1569);
    expect(kyberCiphertext[0]).toBe(KEM_TYPE_KYBER1024);
    expect(bytesToHex(sha256(kyberCiphertext))).toBe(d.kyberCiphertext1569_sha256);
  });

  it('our Kyber decapsulation reproduces kyberSharedSecret', () => {
    expect(bytesToHex(kemDecapsulate(kyber.secretKey, kyberCiphertext))).toBe(d.kyberSharedSecret);
    expect(bytesToHex(KemSecretKey.deserialize(kyber.secretKey).decapsulate(kyberCiphertext))).toBe(
      d.kyberSharedSecret,
    );
  });

  it('the four DH values and the 96-byte PQXDH HKDF output reproduce', () => {
    const dh1 = signedPreKey.calculateAgreement(aliceIdentity);
    const dh2 = identity.calculateAgreement(aliceBase);
    const dh3 = signedPreKey.calculateAgreement(aliceBase);
    const dh4 = oneTimePreKey.calculateAgreement(aliceBase);
    expect(bytesToHex(dh1)).toBe(d.dh1_IKa_SPKb);
    expect(bytesToHex(dh2)).toBe(d.dh2_EKa_IKb);
    expect(bytesToHex(dh3)).toBe(d.dh3_EKa_SPKb);
    expect(bytesToHex(dh4)).toBe(d.dh4_EKa_OPKb);
    const ikm = concatBytes(
      new Uint8Array(32).fill(0xff),
      dh1,
      dh2,
      dh3,
      dh4,
      hexToBytes(d.kyberSharedSecret),
    );
    const out = hkdfSha256(
      ikm,
      undefined,
      utf8('WhisperText_X25519_SHA-256_CRYSTALS-KYBER-1024'),
      96,
    );
    expect(bytesToHex(out)).toBe(d.hkdfOut96_rk_ck_pqrAuth);
  });

  it('the first message’s chain, keys and MAC reproduce, and the body decrypts', () => {
    const hkdfOut = hexToBytes(d.hkdfOut96_rk_ck_pqrAuth);
    const inner = bytesField(outer, 4);
    expect(inner[0]).toBe(0x44);
    const body = inner.subarray(0, inner.length - 8);
    const mac = inner.subarray(inner.length - 8);
    const fields = parseProtobuf(body.subarray(1));
    const ratchetKey = PublicKey.deserialize(bytesField(fields, 1));
    expect(ratchetKey.toHex()).toBe(d.aliceRatchetKey33);
    expect(uintField(fields, 2)).toBe(0);

    // Bob's receiving chain: KDF_RK(RK, DH(SPK_B, ratchet key)).
    const rk = hkdfSha256(
      signedPreKey.calculateAgreement(ratchetKey),
      hkdfOut.subarray(0, 32),
      utf8('WhisperRatchet'),
      64,
    );
    expect(bytesToHex(rk.subarray(0, 32))).toBe(d.firstChain_rootKey);
    expect(bytesToHex(rk.subarray(32))).toBe(d.firstChain_chainKey);

    const seed = hmacSha256(rk.subarray(32), Uint8Array.of(0x01));
    expect(bytesToHex(seed)).toBe(d.msg0_seed);
    const salt = d.spqr.salt === undefined ? undefined : hexToBytes(d.spqr.salt);
    const keys = hkdfSha256(seed, salt, utf8('WhisperMessageKeys'), 80);
    expect(bytesToHex(keys.subarray(0, 32))).toBe(d.msg0_cipherKey);
    expect(bytesToHex(keys.subarray(32, 64))).toBe(d.msg0_macKey);
    expect(bytesToHex(keys.subarray(64))).toBe(d.msg0_iv);

    const fullMac = hmacSha256(
      keys.subarray(32, 64),
      concatBytes(aliceIdentity.serialize(), hexToBytes(bob.identityPub33), body),
    );
    expect(bytesToHex(fullMac.subarray(0, 8))).toBe(d.innerMac8);
    expect(bytesToHex(mac)).toBe(d.innerMac8);

    if (d.addresses === null) expect(fields.has(6)).toBe(false);
    else expect(bytesToHex(bytesField(fields, 6))).toBe(d.addresses);

    const plaintext = aes256CbcDecrypt(
      keys.subarray(0, 32),
      keys.subarray(64),
      bytesField(fields, 4),
    );
    expect(plaintext).not.toBeNull();
    expect(new TextDecoder().decode(plaintext!)).toBe(v.plaintext);
  });
});
