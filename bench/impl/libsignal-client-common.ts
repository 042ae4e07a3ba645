/**
 * Shared adapter of the native `@signalapp/libsignal-client` releases (0.103.0 and 0.90.0): its
 * abstract store classes implemented over maps of serialized records (`SessionRecord.serialize()`
 * bytes and friends), as an app over a database holds them: every load deserializes, every save
 * serializes.
 *
 * @module
 */
import type * as Lib0103 from 'libsignal-client-0103';
import type { Bundle, Implementation, Party, WireMessage } from '../types.js';

/** The module's API (0.103's typings; 0.90 has the same shape minus the local address). */
export type LibsignalClient = typeof Lib0103;

type AnyFn = (...args: unknown[]) => Promise<unknown>;

const key = (address: Lib0103.ProtocolAddress): string =>
  `${address.name()}.${String(address.deviceId())}`;

function libsignalParty(lib: LibsignalClient, name: string, withLocalAddress: boolean): Party {
  const identity = lib.IdentityKeyPair.generate();
  const registrationId = 1 + Math.floor(Math.random() * 16000);
  const sessions = new Map<string, Uint8Array<ArrayBuffer>>();
  const identities = new Map<string, Uint8Array<ArrayBuffer>>();
  const preKeys = new Map<number, Uint8Array<ArrayBuffer>>();
  const signedPreKeys = new Map<number, Uint8Array<ArrayBuffer>>();
  const kyberPreKeys = new Map<number, Uint8Array<ArrayBuffer>>();
  const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.compare(a, b) === 0;

  class Sessions extends lib.SessionStore {
    async saveSession(address: Lib0103.ProtocolAddress, record: Lib0103.SessionRecord) {
      sessions.set(key(address), record.serialize());
    }
    async getSession(address: Lib0103.ProtocolAddress) {
      const b = sessions.get(key(address));
      return b === undefined ? null : lib.SessionRecord.deserialize(b);
    }
    async getExistingSessions(addresses: Lib0103.ProtocolAddress[]) {
      return addresses.map((a) => {
        const b = sessions.get(key(a));
        if (b === undefined) throw new Error(`no session with ${key(a)}`);
        return lib.SessionRecord.deserialize(b);
      });
    }
  }
  class Identities extends lib.IdentityKeyStore {
    async getIdentityKey() {
      return identity.privateKey;
    }
    async getLocalRegistrationId() {
      return registrationId;
    }
    async saveIdentity(address: Lib0103.ProtocolAddress, identityKey: Lib0103.PublicKey) {
      const k = key(address);
      const old = identities.get(k);
      const bytes = identityKey.serialize();
      identities.set(k, bytes);
      return old !== undefined && !same(old, bytes)
        ? lib.IdentityChange.ReplacedExisting
        : lib.IdentityChange.NewOrUnchanged;
    }
    async isTrustedIdentity(address: Lib0103.ProtocolAddress, identityKey: Lib0103.PublicKey) {
      const old = identities.get(key(address));
      return old === undefined || same(old, identityKey.serialize());
    }
    async getIdentity(address: Lib0103.ProtocolAddress) {
      const b = identities.get(key(address));
      return b === undefined ? null : lib.PublicKey.deserialize(b);
    }
  }
  class PreKeys extends lib.PreKeyStore {
    async savePreKey(id: number, record: Lib0103.PreKeyRecord) {
      preKeys.set(id, record.serialize());
    }
    async getPreKey(id: number) {
      const b = preKeys.get(id);
      if (b === undefined) throw new Error(`no prekey ${String(id)}`);
      return lib.PreKeyRecord.deserialize(b);
    }
    async removePreKey(id: number) {
      preKeys.delete(id);
    }
  }
  class SignedPreKeys extends lib.SignedPreKeyStore {
    async saveSignedPreKey(id: number, record: Lib0103.SignedPreKeyRecord) {
      signedPreKeys.set(id, record.serialize());
    }
    async getSignedPreKey(id: number) {
      const b = signedPreKeys.get(id);
      if (b === undefined) throw new Error(`no signed prekey ${String(id)}`);
      return lib.SignedPreKeyRecord.deserialize(b);
    }
  }
  class KyberPreKeys extends lib.KyberPreKeyStore {
    async saveKyberPreKey(id: number, record: Lib0103.KyberPreKeyRecord) {
      kyberPreKeys.set(id, record.serialize());
    }
    async getKyberPreKey(id: number) {
      const b = kyberPreKeys.get(id);
      if (b === undefined) throw new Error(`no kyber prekey ${String(id)}`);
      return lib.KyberPreKeyRecord.deserialize(b);
    }
    async markKyberPreKeyUsed(id: number) {
      // One-time Kyber prekeys (the bundle publishes a fresh one each time): delete on use.
      kyberPreKeys.delete(id);
    }
  }
  const session = new Sessions();
  const ids = new Identities();
  const preKeyStore = new PreKeys();
  const signedStore = new SignedPreKeys();
  const kyberStore = new KyberPreKeys();
  const local = lib.ProtocolAddress.new(name, 1);
  // 0.91+ takes our own address after the peer's in every session call; 0.90 does not.
  const localArgs: unknown[] = withLocalAddress ? [local] : [];
  const addresses = new Map<string, Lib0103.ProtocolAddress>();
  const addressOf = (peer: string): Lib0103.ProtocolAddress => {
    let a = addresses.get(peer);
    if (a === undefined) {
      a = lib.ProtocolAddress.new(peer, 1);
      addresses.set(peer, a);
    }
    return a;
  };
  const processPreKeyBundle = lib.processPreKeyBundle as unknown as AnyFn;
  const signalEncrypt = lib.signalEncrypt as unknown as AnyFn;
  const signalDecrypt = lib.signalDecrypt as unknown as AnyFn;
  const signalDecryptPreKey = lib.signalDecryptPreKey as unknown as AnyFn;
  const prekeyType: number = lib.CiphertextMessageType.PreKey;
  let nextId = 1;

  return {
    name,
    async bundle() {
      const id = nextId++;
      const now = Date.now();
      const spkPriv = lib.PrivateKey.generate();
      const spkPub = spkPriv.getPublicKey();
      const spk = lib.SignedPreKeyRecord.new(
        id,
        now,
        spkPub,
        spkPriv,
        identity.privateKey.sign(spkPub.serialize()),
      );
      signedPreKeys.set(id, spk.serialize());
      const kem = lib.KEMKeyPair.generate();
      const kyber = lib.KyberPreKeyRecord.new(
        id,
        now,
        kem,
        identity.privateKey.sign(kem.getPublicKey().serialize()),
      );
      kyberPreKeys.set(id, kyber.serialize());
      const preKeyPriv = lib.PrivateKey.generate();
      const pre = lib.PreKeyRecord.new(id, preKeyPriv.getPublicKey(), preKeyPriv);
      preKeys.set(id, pre.serialize());
      return lib.PreKeyBundle.new(
        registrationId,
        1,
        id,
        pre.publicKey(),
        id,
        spk.publicKey(),
        spk.signature(),
        identity.publicKey,
        id,
        kyber.publicKey(),
        kyber.signature(),
      );
    },
    async processBundle(peer: string, bundle: Bundle) {
      await processPreKeyBundle(bundle, addressOf(peer), ...localArgs, session, ids);
    },
    async encrypt(peer: string, plaintext: Uint8Array): Promise<WireMessage> {
      const m = (await signalEncrypt(
        plaintext,
        addressOf(peer),
        ...localArgs,
        session,
        ids,
      )) as Lib0103.CiphertextMessage;
      return {
        type: m.type() === prekeyType ? 'prekey' : 'whisper',
        body: m.serialize(),
      };
    },
    async decrypt(peer: string, message: WireMessage): Promise<Uint8Array> {
      const from = addressOf(peer);
      const body = message.body as Uint8Array<ArrayBuffer>;
      if (message.type === 'prekey') {
        return (await signalDecryptPreKey(
          lib.PreKeySignalMessage.deserialize(body),
          from,
          ...localArgs,
          session,
          ids,
          preKeyStore,
          signedStore,
          kyberStore,
        )) as Uint8Array;
      }
      return (await signalDecrypt(
        lib.SignalMessage.deserialize(body),
        from,
        ...localArgs,
        session,
        ids,
      )) as Uint8Array;
    },
    async recordSize(peer: string) {
      return sessions.get(key(addressOf(peer)))?.length;
    },
  };
}

/** An adapter over one release of the native library. */
export function createLibsignalClient(
  lib: LibsignalClient,
  meta: { id: string; label: string; protocol: string; withLocalAddress: boolean },
): Implementation {
  return {
    id: meta.id,
    label: meta.label,
    protocol: meta.protocol,
    storage: 'abstract store classes over maps of serialize() bytes',
    async createParty(name: string) {
      return libsignalParty(lib, name, meta.withLocalAddress);
    },
  };
}
