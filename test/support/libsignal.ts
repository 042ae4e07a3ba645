/**
 * A libsignal-client party for interop tests: in-memory implementations of libsignal's abstract
 * store classes (trust on first use, like libsignal's own `InMemSignalProtocolStore`), published
 * keys, and helpers to exchange bundles and messages with chiffre parties.
 *
 * `lib` is the imported module of one libsignal-client version (0.90 now; 0.103 beside it later).
 */
import {
  KemPublicKey,
  type PreKeyBundle as ChiffreBundle,
  PublicKey as ChiffrePublicKey,
} from '../../src/index.js';
import { freshServiceId } from './parties.js';

type Lib = any;

const hexKey = (address: { name(): string; deviceId(): number }): string =>
  `${address.name()}.${String(address.deviceId())}`;

export interface LibsignalParty {
  readonly lib: Lib;
  readonly name: string;
  /** A libsignal ProtocolAddress of this party. */
  readonly address: Lib;
  readonly addressName: string;
  readonly deviceId: number;
  readonly identity: Lib;
  readonly stores: {
    session: Lib;
    identity: Lib;
    preKey: Lib;
    signedPreKey: Lib;
    kyberPreKey: Lib;
  };
  /** Raw serialized sessions (for before/after comparisons). */
  readonly sessions: Map<string, Uint8Array>;
  /** Publish a bundle (libsignal object). */
  bundle(options?: { oneTime?: boolean }): Lib;
  /** The same bundle as chiffre's type. */
  chiffreBundle(options?: { oneTime?: boolean }): ChiffreBundle;
  encrypt(
    to: Lib,
    plaintext: Uint8Array,
  ): Promise<{ type: 'prekey' | 'whisper'; body: Uint8Array }>;
  decrypt(
    from: Lib,
    message: { type: 'prekey' | 'whisper'; body: Uint8Array },
  ): Promise<Uint8Array>;
  processBundle(to: Lib, bundle: Lib): Promise<void>;
}

export function makeLibsignalParty(
  lib: Lib,
  name: string,
  serviceId = freshServiceId(),
): LibsignalParty {
  const identity = lib.IdentityKeyPair.generate();
  const registrationId = 1 + Math.floor(Math.random() * 16000);
  const sessions = new Map<string, Uint8Array>();
  const identities = new Map<string, Uint8Array>();
  const preKeys = new Map<number, Uint8Array>();
  const signedPreKeys = new Map<number, Uint8Array>();
  const kyberPreKeys = new Map<number, Uint8Array>();

  class Sessions extends lib.SessionStore {
    async saveSession(address: Lib, record: Lib): Promise<void> {
      sessions.set(hexKey(address), record.serialize());
    }
    async getSession(address: Lib): Promise<Lib> {
      const b = sessions.get(hexKey(address));
      return b === undefined ? null : lib.SessionRecord.deserialize(b);
    }
    async getExistingSessions(addresses: Lib[]): Promise<Lib[]> {
      return addresses.map((a) => lib.SessionRecord.deserialize(sessions.get(hexKey(a))));
    }
  }
  class Identities extends lib.IdentityKeyStore {
    async getIdentityKey(): Promise<Lib> {
      return identity.privateKey;
    }
    async getLocalRegistrationId(): Promise<number> {
      return registrationId;
    }
    async saveIdentity(address: Lib, key: Lib): Promise<number> {
      const k = hexKey(address);
      const old = identities.get(k);
      identities.set(k, key.serialize());
      return old !== undefined &&
        Buffer.compare(Buffer.from(old), Buffer.from(key.serialize())) !== 0
        ? 1
        : 0;
    }
    async isTrustedIdentity(address: Lib, key: Lib): Promise<boolean> {
      const old = identities.get(hexKey(address));
      return (
        old === undefined || Buffer.compare(Buffer.from(old), Buffer.from(key.serialize())) === 0
      );
    }
    async getIdentity(address: Lib): Promise<Lib> {
      const b = identities.get(hexKey(address));
      return b === undefined ? null : lib.PublicKey.deserialize(b);
    }
  }
  class PreKeys extends lib.PreKeyStore {
    async savePreKey(id: number, record: Lib): Promise<void> {
      preKeys.set(id, record.serialize());
    }
    async getPreKey(id: number): Promise<Lib> {
      const b = preKeys.get(id);
      if (b === undefined) throw new Error(`no prekey ${String(id)}`);
      return lib.PreKeyRecord.deserialize(b);
    }
    async removePreKey(id: number): Promise<void> {
      preKeys.delete(id);
    }
  }
  class SignedPreKeys extends lib.SignedPreKeyStore {
    async saveSignedPreKey(id: number, record: Lib): Promise<void> {
      signedPreKeys.set(id, record.serialize());
    }
    async getSignedPreKey(id: number): Promise<Lib> {
      const b = signedPreKeys.get(id);
      if (b === undefined) throw new Error(`no signed prekey ${String(id)}`);
      return lib.SignedPreKeyRecord.deserialize(b);
    }
  }
  class KyberPreKeys extends lib.KyberPreKeyStore {
    async saveKyberPreKey(id: number, record: Lib): Promise<void> {
      kyberPreKeys.set(id, record.serialize());
    }
    async getKyberPreKey(id: number): Promise<Lib> {
      const b = kyberPreKeys.get(id);
      if (b === undefined) throw new Error(`no kyber prekey ${String(id)}`);
      return lib.KyberPreKeyRecord.deserialize(b);
    }
    async markKyberPreKeyUsed(): Promise<void> {
      // Kept for last resort: libsignal's reference store does nothing either.
    }
  }
  const stores = {
    session: new Sessions(),
    identity: new Identities(),
    preKey: new PreKeys(),
    signedPreKey: new SignedPreKeys(),
    kyberPreKey: new KyberPreKeys(),
  };
  const deviceId = 1;
  const address = lib.ProtocolAddress.new(serviceId, deviceId);
  // libsignal 0.91+ takes our own address after the peer's in every session call.
  const local: Lib[] = lib.signalEncrypt.length >= 5 ? [address] : [];
  let nextId = 1;
  const publish = (oneTime: boolean): { id: number; pre?: Lib; spk: Lib; kyber: Lib } => {
    const id = nextId++;
    const spkPriv = lib.PrivateKey.generate();
    const spkPub = spkPriv.getPublicKey();
    const spkSig = identity.privateKey.sign(spkPub.serialize());
    const spk = lib.SignedPreKeyRecord.new(id, Date.now(), spkPub, spkPriv, spkSig);
    signedPreKeys.set(id, spk.serialize());
    const kp = lib.KEMKeyPair.generate();
    const kyber = lib.KyberPreKeyRecord.new(
      id,
      Date.now(),
      kp,
      identity.privateKey.sign(kp.getPublicKey().serialize()),
    );
    kyberPreKeys.set(id, kyber.serialize());
    let pre: Lib;
    if (oneTime) {
      const priv = lib.PrivateKey.generate();
      pre = lib.PreKeyRecord.new(id, priv.getPublicKey(), priv);
      preKeys.set(id, pre.serialize());
    }
    return { id, pre, spk, kyber };
  };
  return {
    lib,
    name,
    address,
    addressName: serviceId,
    deviceId,
    identity,
    stores,
    sessions,
    bundle({ oneTime = true } = {}) {
      const { id, pre, spk, kyber } = publish(oneTime);
      return lib.PreKeyBundle.new(
        registrationId,
        deviceId,
        oneTime ? id : null,
        oneTime ? pre.publicKey() : null,
        id,
        spk.publicKey(),
        spk.signature(),
        identity.publicKey,
        id,
        kyber.publicKey(),
        kyber.signature(),
      );
    },
    chiffreBundle({ oneTime = true } = {}) {
      const { id, pre, spk, kyber } = publish(oneTime);
      return {
        registrationId,
        deviceId,
        preKeyId: oneTime ? id : undefined,
        preKey: oneTime ? ChiffrePublicKey.deserialize(pre.publicKey().serialize()) : undefined,
        signedPreKeyId: id,
        signedPreKey: ChiffrePublicKey.deserialize(spk.publicKey().serialize()),
        signedPreKeySignature: spk.signature(),
        kyberPreKeyId: id,
        kyberPreKey: KemPublicKey.deserialize(kyber.publicKey().serialize()),
        kyberPreKeySignature: kyber.signature(),
        identityKey: ChiffrePublicKey.deserialize(identity.publicKey.serialize()),
      };
    },
    async processBundle(to, bundle) {
      await lib.processPreKeyBundle(bundle, to, ...local, stores.session, stores.identity);
    },
    async encrypt(to, plaintext) {
      const m = await lib.signalEncrypt(
        Buffer.from(plaintext),
        to,
        ...local,
        stores.session,
        stores.identity,
      );
      return {
        type: m.type() === lib.CiphertextMessageType.PreKey ? 'prekey' : 'whisper',
        body: new Uint8Array(m.serialize()),
      };
    },
    async decrypt(from, message) {
      if (message.type === 'prekey') {
        return new Uint8Array(
          await lib.signalDecryptPreKey(
            lib.PreKeySignalMessage.deserialize(Buffer.from(message.body)),
            from,
            ...local,
            stores.session,
            stores.identity,
            stores.preKey,
            stores.signedPreKey,
            stores.kyberPreKey,
          ),
        );
      }
      return new Uint8Array(
        await lib.signalDecrypt(
          lib.SignalMessage.deserialize(Buffer.from(message.body)),
          from,
          ...local,
          stores.session,
          stores.identity,
        ),
      );
    },
  };
}

/** A libsignal bundle converted to chiffre's type. */
export function toChiffreBundle(bundle: Lib): ChiffreBundle {
  const preKeyId = bundle.preKeyId();
  return {
    registrationId: bundle.registrationId(),
    deviceId: bundle.deviceId(),
    preKeyId: preKeyId ?? undefined,
    preKey:
      preKeyId === null
        ? undefined
        : ChiffrePublicKey.deserialize(bundle.preKeyPublic().serialize()),
    signedPreKeyId: bundle.signedPreKeyId(),
    signedPreKey: ChiffrePublicKey.deserialize(bundle.signedPreKeyPublic().serialize()),
    signedPreKeySignature: new Uint8Array(bundle.signedPreKeySignature()),
    kyberPreKeyId: bundle.kyberPreKeyId(),
    kyberPreKey: KemPublicKey.deserialize(bundle.kyberPreKeyPublic().serialize()),
    kyberPreKeySignature: new Uint8Array(bundle.kyberPreKeySignature()),
    identityKey: ChiffrePublicKey.deserialize(bundle.identityKey().serialize()),
  };
}

/** A chiffre bundle converted to libsignal's type. */
export function toLibsignalBundle(lib: Lib, b: ChiffreBundle): Lib {
  return lib.PreKeyBundle.new(
    b.registrationId,
    b.deviceId,
    b.preKeyId ?? null,
    b.preKey === undefined ? null : lib.PublicKey.deserialize(Buffer.from(b.preKey.serialize())),
    b.signedPreKeyId,
    lib.PublicKey.deserialize(Buffer.from(b.signedPreKey.serialize())),
    Buffer.from(b.signedPreKeySignature),
    lib.PublicKey.deserialize(Buffer.from(b.identityKey.serialize())),
    b.kyberPreKeyId,
    lib.KEMPublicKey.deserialize(Buffer.from(b.kyberPreKey.serialize())),
    Buffer.from(b.kyberPreKeySignature),
  );
}
