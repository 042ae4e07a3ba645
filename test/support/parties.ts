/**
 * Test participants: a chiffre party with an in-memory store, published keys and a bundle.
 */
import {
  createPreKeyBundle,
  IdentityKeyPair,
  InMemoryProtocolStore,
  KyberPreKeyRecord,
  type PreKeyBundle,
  PreKeyRecord,
  ProtocolAddress,
  type RandomSource,
  SessionManager,
  type SessionManagerOptions,
  SignedPreKeyRecord,
} from '../../src/index.js';

export interface Party {
  readonly name: string;
  readonly address: ProtocolAddress;
  readonly store: InMemoryProtocolStore;
  readonly manager: SessionManager;
  readonly identity: IdentityKeyPair;
  /** Publish a fresh bundle (new one-time prekey unless `oneTime` is false). */
  bundle(options?: { oneTime?: boolean; lastResort?: boolean }): Promise<PreKeyBundle>;
}

let nextUuid = 1;
/** A fresh ACI-looking name, so field 6 is exercised. */
export function freshServiceId(): string {
  const n = (nextUuid++).toString(16).padStart(12, '0');
  return `9d0652a3-dcc3-4d11-975f-${n}`;
}

export function makeParty(
  name: string,
  options: {
    random?: RandomSource;
    now?: () => number;
    deviceId?: number;
    serviceId?: string;
    /** SPQR policy of the party's sessions (SessionManager's default when absent). */
    spqrPolicy?: SessionManagerOptions['spqrPolicy'];
  } = {},
): Party {
  const identity = IdentityKeyPair.generate();
  const registrationId = 1 + Math.floor(Math.random() * 16000);
  const store = new InMemoryProtocolStore(identity, registrationId);
  const address = new ProtocolAddress(options.serviceId ?? freshServiceId(), options.deviceId ?? 1);
  const manager = new SessionManager({
    store,
    localAddress: address,
    ...(options.random ? { random: options.random } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.spqrPolicy ? { spqrPolicy: options.spqrPolicy } : {}),
  });
  let nextId = 1;
  return {
    name,
    address,
    store,
    manager,
    identity,
    async bundle({ oneTime = true, lastResort = false } = {}) {
      const id = nextId++;
      const now = options.now ? options.now() : Date.now();
      store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, id, now));
      store.storeKyberPreKey(KyberPreKeyRecord.generate(identity, id, now, { lastResort }));
      if (oneTime) store.storePreKey(PreKeyRecord.generate(id));
      return createPreKeyBundle(store, {
        deviceId: address.deviceId,
        ...(oneTime ? { preKeyId: id } : {}),
        signedPreKeyId: id,
        kyberPreKeyId: id,
      });
    },
  };
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);
