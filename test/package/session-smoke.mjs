// A full session on the packed tarball, runtime-agnostic (Node, Bun, Deno, browsers): bundle,
// first message, replies, out-of-order delivery, a duplicate refused. Prints one line and exits
// non-zero on any failure. Uses only the `chiffre` package and standard globals. Every runtime it
// runs on (Node 20, Bun, Deno, Chromium) has WebCrypto X25519 and Ed25519 that pass chiffre's
// probes, so it also checks that the native paths are the ones in use.
import {
  createPreKeyBundle,
  IdentityKeyPair,
  InMemoryProtocolStore,
  isSignalError,
  KyberPreKeyRecord,
  PreKeyRecord,
  ProtocolAddress,
  SessionManager,
  SignedPreKeyRecord,
} from 'chiffre';
import { webCryptoEd25519Available, webCryptoX25519Available } from 'chiffre/hazmat';

export async function runSessionSmoke(runtime) {
  const enc = (s) => new TextEncoder().encode(s);
  const dec = (b) => new TextDecoder().decode(b);
  const check = (cond, what) => {
    if (!cond) throw new Error(`session smoke failed: ${what}`);
  };
  const aliceAddr = new ProtocolAddress('9d0652a3-dcc3-4d11-975f-74d61598733f', 1);
  const bobAddr = new ProtocolAddress('796abedb-ca4e-4f18-8803-1fde5b921f9f', 1);
  const bobId = IdentityKeyPair.generate();
  const bobStore = new InMemoryProtocolStore(bobId, 2222);
  bobStore.storeSignedPreKey(SignedPreKeyRecord.generate(bobId, 1, Date.now()));
  bobStore.storeKyberPreKey(KyberPreKeyRecord.generate(bobId, 1, Date.now(), { lastResort: true }));
  bobStore.storePreKey(PreKeyRecord.generate(1));
  const bundle = await createPreKeyBundle(bobStore, {
    deviceId: 1,
    preKeyId: 1,
    signedPreKeyId: 1,
    kyberPreKeyId: 1,
  });
  const alice = new SessionManager({
    store: new InMemoryProtocolStore(IdentityKeyPair.generate(), 1111),
    localAddress: aliceAddr,
  });
  const bob = new SessionManager({ store: bobStore, localAddress: bobAddr });
  await alice.processPreKeyBundle(bobAddr, bundle);
  const first = await alice.encrypt(bobAddr, enc('hello'));
  check(first.type === 'prekey', 'first message type');
  check(dec(await bob.decrypt(aliceAddr, first)) === 'hello', 'first message');
  const reply = await bob.encrypt(aliceAddr, enc('hi'));
  check(dec(await alice.decrypt(bobAddr, reply)) === 'hi', 'reply');
  const batch = [];
  for (const t of ['one', 'two', 'three']) batch.push(await alice.encrypt(bobAddr, enc(t)));
  check(batch[0].type === 'whisper', 'whisper after reply');
  for (const i of [2, 0, 1]) {
    check(
      dec(await bob.decrypt(aliceAddr, batch[i])) === ['one', 'two', 'three'][i],
      'out of order',
    );
  }
  try {
    await bob.decrypt(aliceAddr, batch[0]);
    check(false, 'duplicate accepted');
  } catch (e) {
    check(
      isSignalError(e, 'ERR_DUPLICATE_MESSAGE'),
      'duplicate refused with ERR_DUPLICATE_MESSAGE',
    );
  }
  const status = await alice.getSpqrStatus(bobAddr);
  check(status !== null && status.version === 1, 'SPQR V1 session');
  check(await webCryptoX25519Available(), 'native X25519 (WebCrypto) in use');
  check(await webCryptoEd25519Available(), 'native Ed25519 verification (WebCrypto) in use');
  return `session smoke OK on ${runtime} (native X25519 and Ed25519 verification)`;
}
