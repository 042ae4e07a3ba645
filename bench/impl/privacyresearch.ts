/**
 * `@privacyresearch/libsignal-protocol-typescript` 0.0.16, the TypeScript port of
 * libsignal-protocol-javascript: X3DH + Double Ratchet, message version 3, no Kyber and no SPQR.
 * Pure JavaScript curve (asm.js), WebCrypto for AES, HMAC and SHA.
 *
 * Its store interface already exchanges session records as serialized strings; prekeys and
 * identities are kept as the ArrayBuffers it hands over.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type * as Pr from '@privacyresearch/libsignal-protocol-typescript';
import type { Bundle, Implementation, Party, WireMessage } from '../types.js';

const lib = createRequire(import.meta.url)(
  '@privacyresearch/libsignal-protocol-typescript',
) as typeof Pr;

const toArrayBuffer = (b: Uint8Array): ArrayBuffer =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
const sameBytes = (a: ArrayBuffer, b: ArrayBuffer): boolean =>
  Buffer.compare(new Uint8Array(a), new Uint8Array(b)) === 0;
/** `name.device` → `name` (the library checks trust by name but saves by full address). */
const nameOf = (address: string): string => address.replace(/\.\d+$/, '');

async function privacyParty(name: string): Promise<Party> {
  const identity = await lib.KeyHelper.generateIdentityKeyPair();
  const registrationId = lib.KeyHelper.generateRegistrationId();
  const sessions = new Map<string, string>();
  const identities = new Map<string, ArrayBuffer>();
  const preKeys = new Map<string, Pr.KeyPairType>();
  const signedPreKeys = new Map<string, Pr.KeyPairType>();
  const storage: Pr.StorageType = {
    getIdentityKeyPair: async () => identity,
    getLocalRegistrationId: async () => registrationId,
    async isTrustedIdentity(identifier, identityKey) {
      const old = identities.get(nameOf(identifier));
      return old === undefined || sameBytes(old, identityKey);
    },
    async saveIdentity(address, publicKey) {
      const k = nameOf(address);
      const old = identities.get(k);
      identities.set(k, publicKey);
      return old !== undefined && !sameBytes(old, publicKey);
    },
    loadPreKey: async (id) => preKeys.get(String(id)),
    storePreKey: async (id, keyPair) => {
      preKeys.set(String(id), keyPair);
    },
    removePreKey: async (id) => {
      preKeys.delete(String(id));
    },
    storeSession: async (address, record) => {
      sessions.set(address, record);
    },
    loadSession: async (address) => sessions.get(address),
    loadSignedPreKey: async (id) => signedPreKeys.get(String(id)),
    storeSignedPreKey: async (id, keyPair) => {
      signedPreKeys.set(String(id), keyPair);
    },
    removeSignedPreKey: async (id) => {
      signedPreKeys.delete(String(id));
    },
  };
  const addresses = new Map<string, Pr.SignalProtocolAddress>();
  const addressOf = (peer: string): Pr.SignalProtocolAddress => {
    let a = addresses.get(peer);
    if (a === undefined) {
      a = new lib.SignalProtocolAddress(peer, 1);
      addresses.set(peer, a);
    }
    return a;
  };
  let nextId = 1;
  return {
    name,
    async bundle() {
      const id = nextId++;
      const spk = await lib.KeyHelper.generateSignedPreKey(identity, id);
      const pre = await lib.KeyHelper.generatePreKey(id);
      await storage.storeSignedPreKey(id, spk.keyPair);
      await storage.storePreKey(id, pre.keyPair);
      const device: Pr.DeviceType = {
        identityKey: identity.pubKey,
        registrationId,
        signedPreKey: { keyId: id, publicKey: spk.keyPair.pubKey, signature: spk.signature },
        preKey: { keyId: id, publicKey: pre.keyPair.pubKey },
      };
      return device;
    },
    async processBundle(peer: string, bundle: Bundle) {
      await new lib.SessionBuilder(storage, addressOf(peer)).processPreKey(bundle as Pr.DeviceType);
    },
    async encrypt(peer: string, plaintext: Uint8Array): Promise<WireMessage> {
      const m = await new lib.SessionCipher(storage, addressOf(peer)).encrypt(
        toArrayBuffer(plaintext),
      );
      if (m.body === undefined) throw new Error('no ciphertext');
      // The body is a "binary" string: one char per byte.
      return { type: m.type === 3 ? 'prekey' : 'whisper', body: Buffer.from(m.body, 'latin1') };
    },
    async decrypt(peer: string, message: WireMessage): Promise<Uint8Array> {
      const cipher = new lib.SessionCipher(storage, addressOf(peer));
      const body = toArrayBuffer(message.body);
      const plaintext =
        message.type === 'prekey'
          ? await cipher.decryptPreKeyWhisperMessage(body, 'binary')
          : await cipher.decryptWhisperMessage(body, 'binary');
      return new Uint8Array(plaintext);
    },
    async recordSize(peer: string) {
      const s = sessions.get(addressOf(peer).toString());
      return s === undefined ? undefined : Buffer.byteLength(s);
    },
  };
}

const implementation: Implementation = {
  id: 'privacyresearch',
  label: 'libsignal-protocol-typescript 0.0.16',
  protocol: 'X3DH + Double Ratchet (v3), no Kyber, no SPQR',
  storage: 'session records as the serialized strings its store interface exchanges',
  createParty: privacyParty,
};
export default implementation;
