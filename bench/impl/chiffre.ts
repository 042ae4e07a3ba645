/**
 * chiffre through its front door: `SessionManager` over `InMemoryProtocolStore`, which keeps
 * every record serialized (each operation deserializes, computes and serializes again).
 *
 * `createChiffre({ spqr: false })` is the same library with SPQR off: both parties accept a peer
 * without SPQR (`spqrPolicy: 'allow-v0'`) and the initiator's fresh session is rewritten as a
 * pre-SPQR (V0) one, exactly as a peer that never speaks SPQR would hold it; the responder then
 * negotiates down to V0 on the first message, so neither side sends field 5 or salts a key.
 *
 * @module
 */
import {
  createPreKeyBundle,
  IdentityKeyPair,
  InMemoryProtocolStore,
  KyberPreKeyRecord,
  type PreKeyBundle,
  PreKeyRecord,
  ProtocolAddress,
  SessionManager,
  SignedPreKeyRecord,
} from '../../src/index.js';
import { PQ_RATCHET_V0 } from '../../src/spqr/index.js';
import type { Bundle, Implementation, Party, WireMessage } from '../types.js';

function chiffreParty(name: string, spqr: boolean): Party {
  const identity = IdentityKeyPair.generate();
  const store = new InMemoryProtocolStore(identity, 1 + Math.floor(Math.random() * 16000));
  const manager = new SessionManager({
    store,
    localAddress: new ProtocolAddress(name, 1),
    ...(spqr ? {} : { spqrPolicy: 'allow-v0' as const }),
  });
  const addresses = new Map<string, ProtocolAddress>();
  const addressOf = (peer: string): ProtocolAddress => {
    let a = addresses.get(peer);
    if (a === undefined) {
      a = new ProtocolAddress(peer, 1);
      addresses.set(peer, a);
    }
    return a;
  };
  let nextId = 1;
  return {
    name,
    async bundle() {
      const id = nextId++;
      const now = Date.now();
      store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, id, now));
      store.storeKyberPreKey(KyberPreKeyRecord.generate(identity, id, now));
      store.storePreKey(PreKeyRecord.generate(id));
      return createPreKeyBundle(store, {
        deviceId: 1,
        preKeyId: id,
        signedPreKeyId: id,
        kyberPreKeyId: id,
      });
    },
    async processBundle(peer: string, bundle: Bundle) {
      const address = addressOf(peer);
      await manager.processPreKeyBundle(address, bundle as PreKeyBundle);
      if (!spqr) {
        const record = store.loadSession(address);
        const state = record?.currentState;
        if (record === null || state === undefined) throw new Error('no session after bundle');
        store.storeSession(address, record.withCurrentState({ ...state, pqRatchet: PQ_RATCHET_V0 }));
      }
    },
    encrypt(peer: string, plaintext: Uint8Array): Promise<WireMessage> {
      return manager.encrypt(addressOf(peer), plaintext);
    },
    decrypt(peer: string, message: WireMessage): Promise<Uint8Array> {
      return manager.decrypt(addressOf(peer), message);
    },
    async recordSize(peer: string) {
      return store.loadSession(addressOf(peer))?.serialize().length;
    },
  };
}

/** chiffre with or without SPQR. */
export function createChiffre(options: { spqr: boolean }): Implementation {
  return {
    id: options.spqr ? 'chiffre' : 'chiffre-nospqr',
    label: options.spqr ? 'chiffre 0.1.0' : 'chiffre 0.1.0, SPQR off',
    protocol: options.spqr
      ? 'PQXDH (Kyber-1024) + Double Ratchet + SPQR V1'
      : 'PQXDH (Kyber-1024) + Double Ratchet, SPQR negotiated off (V0)',
    storage: 'InMemoryProtocolStore (serialized records)',
    async createParty(name: string) {
      return chiffreParty(name, options.spqr);
    },
  };
}

const implementation: Implementation = createChiffre({ spqr: true });
export default implementation;
