/**
 * chiffre through its front door: `SessionManager` over `InMemoryProtocolStore`, which keeps
 * every record serialized (each operation deserializes, computes and serializes again). The code
 * measured is `src/` compiled as for shipping (`./compile-chiffre.ts`).
 *
 * `createChiffre({ spqr: false })` is the same library with SPQR off: both parties accept a peer
 * without SPQR (`spqrPolicy: 'allow-v0'`) and the initiator's fresh session is rewritten as a
 * pre-SPQR (V0) one, exactly as a peer that never speaks SPQR would hold it; the responder then
 * negotiates down to V0 on the first message, so neither side sends field 5 or salts a key.
 *
 * @module
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as Chiffre from '../../src/index.js';
import type * as Spqr from '../../src/spqr/index.js';
import type { Bundle, Implementation, Party, WireMessage } from '../types.js';
import { chiffreBuild } from './compile-chiffre.js';

type Lib = typeof Chiffre & Pick<typeof Spqr, 'PQ_RATCHET_V0'>;

let loaded: Promise<Lib> | undefined;

/** chiffre as compiled for shipping (see `./compile-chiffre.ts`), loaded once. */
function load(): Promise<Lib> {
  loaded ??= (async () => {
    const dir = await chiffreBuild();
    const url = (p: string): string => pathToFileURL(join(dir, p)).href;
    const main = (await import(url('src/index.js'))) as typeof Chiffre;
    const spqr = (await import(url('src/spqr/index.js'))) as typeof Spqr;
    return { ...main, PQ_RATCHET_V0: spqr.PQ_RATCHET_V0 };
  })();
  return loaded;
}

function chiffreParty(lib: Lib, name: string, spqr: boolean, noble: boolean): Party {
  const {
    createPreKeyBundle,
    IdentityKeyPair,
    InMemoryProtocolStore,
    KyberPreKeyRecord,
    PreKeyRecord,
    ProtocolAddress,
    SessionManager,
    SignedPreKeyRecord,
    PQ_RATCHET_V0,
  } = lib;
  const identity = IdentityKeyPair.generate();
  const store = new InMemoryProtocolStore(identity, 1 + Math.floor(Math.random() * 16000));
  const manager = new SessionManager({
    store,
    localAddress: new ProtocolAddress(name, 1),
    ...(spqr ? {} : { spqrPolicy: 'allow-v0' as const }),
    ...(noble ? { crypto: 'noble' as const } : {}),
  });
  const addresses = new Map<string, Chiffre.ProtocolAddress>();
  const addressOf = (peer: string): Chiffre.ProtocolAddress => {
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
      await manager.processPreKeyBundle(address, bundle as Chiffre.PreKeyBundle);
      if (!spqr) {
        const record = store.loadSession(address);
        const state = record?.currentState;
        if (record === null || state === undefined) throw new Error('no session after bundle');
        store.storeSession(
          address,
          record.withCurrentState({ ...state, pqRatchet: PQ_RATCHET_V0 }),
        );
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

/** chiffre with or without SPQR, on native X25519 where available or on pure noble. */
export function createChiffre(options: { spqr: boolean; noble?: boolean }): Implementation {
  const noble = options.noble ?? false;
  return {
    id: noble ? 'chiffre-noble' : options.spqr ? 'chiffre' : 'chiffre-nospqr',
    label: noble
      ? 'chiffre 0.1.0, pure noble'
      : options.spqr
        ? 'chiffre 0.1.0'
        : 'chiffre 0.1.0, SPQR off',
    protocol: options.spqr
      ? 'PQXDH (Kyber-1024) + Double Ratchet + SPQR V1'
      : 'PQXDH (Kyber-1024) + Double Ratchet, SPQR negotiated off (V0)',
    storage: 'InMemoryProtocolStore (serialized records)',
    async createParty(name: string) {
      return chiffreParty(await load(), name, options.spqr, noble);
    },
  };
}

const implementation: Implementation = createChiffre({ spqr: true });
export default implementation;
