/**
 * `libsignal` 6.0.0, the Node fork of libsignal-protocol-javascript used by WhatsApp-Web clients
 * (Baileys and others): X3DH + Double Ratchet, message version 3, no Kyber and no SPQR. X25519
 * runs on Node's native `crypto`; signatures on pure-JS curve25519-js.
 *
 * Its store hands over `SessionRecord` objects; this one keeps them as JSON strings
 * (`JSON.stringify(record.serialize())`), the way such apps persist them.
 *
 * @module
 */
import { createRequire } from 'node:module';
import type * as LibsignalNode from 'libsignal';
import type { Bundle, Implementation, Party, WireMessage } from '../types.js';

type KeyPair = { pubKey: Buffer; privKey: Buffer };
type Lib = typeof LibsignalNode & {
  curve: { calculateSignature(privKey: Buffer, message: Buffer): Buffer };
  keyhelper: { generateIdentityKeyPair(): KeyPair; generateRegistrationId(): number };
  SessionRecord: { deserialize(data: unknown): LibsignalNode.SessionRecord };
};
type PreKeyKeyPair = { keyId: number; keyPair: KeyPair };
type Keyhelper = {
  generateSignedPreKey(identity: KeyPair, id: number): PreKeyKeyPair & { signature: Buffer };
  generatePreKey(id: number): PreKeyKeyPair;
};

const lib = createRequire(import.meta.url)('libsignal') as Lib;
const keyhelper = lib.keyhelper as unknown as Keyhelper;

const asBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function nodeParty(name: string): Party {
  const identity = lib.keyhelper.generateIdentityKeyPair();
  const registrationId = lib.keyhelper.generateRegistrationId();
  const sessions = new Map<string, string>();
  const identities = new Map<string, string>();
  const preKeys = new Map<number, KeyPair>();
  const signedPreKeys = new Map<number, KeyPair>();
  const storage: LibsignalNode.SignalStorage = {
    async loadSession(id: string) {
      const s = sessions.get(id);
      return s === undefined ? undefined : lib.SessionRecord.deserialize(JSON.parse(s));
    },
    async storeSession(id: string, record: LibsignalNode.SessionRecord) {
      sessions.set(id, JSON.stringify(record.serialize()));
    },
    isTrustedIdentity(identifier: string, identityKey: Uint8Array) {
      const k = asBuffer(identityKey).toString('base64');
      const old = identities.get(identifier);
      if (old === undefined) identities.set(identifier, k);
      return old === undefined || old === k;
    },
    async loadPreKey(id: number | string) {
      return preKeys.get(Number(id));
    },
    removePreKey(id: number) {
      preKeys.delete(id);
    },
    loadSignedPreKey(...args: unknown[]) {
      const kp = signedPreKeys.get(Number(args[0]));
      if (kp === undefined) throw new Error('no signed prekey');
      return kp;
    },
    getOurRegistrationId: () => registrationId,
    getOurIdentity: () => identity,
  };
  const addresses = new Map<string, LibsignalNode.ProtocolAddress>();
  const addressOf = (peer: string): LibsignalNode.ProtocolAddress => {
    let a = addresses.get(peer);
    if (a === undefined) {
      a = new lib.ProtocolAddress(peer, 1);
      addresses.set(peer, a);
    }
    return a;
  };
  let nextId = 1;
  return {
    name,
    async bundle() {
      const id = nextId++;
      const spk = keyhelper.generateSignedPreKey(identity, id);
      const pre = keyhelper.generatePreKey(id);
      signedPreKeys.set(id, spk.keyPair);
      preKeys.set(id, pre.keyPair);
      return {
        registrationId,
        identityKey: identity.pubKey,
        signedPreKey: { keyId: id, publicKey: spk.keyPair.pubKey, signature: spk.signature },
        preKey: { keyId: id, publicKey: pre.keyPair.pubKey },
      };
    },
    async processBundle(peer: string, bundle: Bundle) {
      await new lib.SessionBuilder(storage, addressOf(peer)).initOutgoing(
        bundle as Parameters<LibsignalNode.SessionBuilder['initOutgoing']>[0],
      );
    },
    async encrypt(peer: string, plaintext: Uint8Array): Promise<WireMessage> {
      const cipher = new lib.SessionCipher(storage, addressOf(peer));
      const m = await cipher.encrypt(asBuffer(plaintext));
      // The typings say string; 6.0.0 returns a Buffer.
      const body = m.body as unknown as Buffer;
      return { type: m.type === 3 ? 'prekey' : 'whisper', body };
    },
    async decrypt(peer: string, message: WireMessage): Promise<Uint8Array> {
      const cipher = new lib.SessionCipher(storage, addressOf(peer));
      const body = asBuffer(message.body);
      return message.type === 'prekey'
        ? cipher.decryptPreKeyWhisperMessage(body)
        : cipher.decryptWhisperMessage(body);
    },
    async recordSize(peer: string) {
      const s = sessions.get(addressOf(peer).toString());
      return s === undefined ? undefined : Buffer.byteLength(s);
    },
  };
}

const implementation: Implementation = {
  id: 'libsignal-node',
  label: 'libsignal 6.0.0 (Node fork)',
  protocol: 'X3DH + Double Ratchet (v3), no Kyber, no SPQR',
  storage: 'SessionRecord.serialize() as a JSON string',
  async createParty(name: string) {
    return nodeParty(name);
  },
};
export default implementation;
