/**
 * `npm run demo`: a real end-to-end conversation between two chiffre parties with in-memory
 * stores and embedded defaults. Nothing to configure.
 */
import {
  createPreKeyBundle,
  IdentityKeyPair,
  InMemoryProtocolStore,
  KemKeyPair,
  KyberPreKeyRecord,
  PreKeyRecord,
  preKeyId,
  ProtocolAddress,
  SessionManager,
  SignedPreKeyRecord,
} from '../src/index.js';

const encode = (s: string): Uint8Array => new TextEncoder().encode(s);
const decode = (b: Uint8Array): string => new TextDecoder().decode(b);
const step = (n: number, what: string): void => {
  console.log(`\n[${String(n)}] ${what}`);
};

async function main(): Promise<void> {
  console.log('chiffre demo: PQXDH + Double Ratchet between Alice and Bob (in-memory stores)');

  step(1, 'Identity keys');
  const aliceId = IdentityKeyPair.generate();
  const bobId = IdentityKeyPair.generate();
  console.log(`  Alice identity ${aliceId.publicKey.toHex().slice(0, 18)}…`);
  console.log(`  Bob   identity ${bobId.publicKey.toHex().slice(0, 18)}…`);
  console.log(`  (printing a key pair shows ${String(aliceId)})`);

  step(2, 'Bob publishes prekeys: one-time, signed (XEdDSA) and Kyber-1024 (last resort)');
  const bobStore = new InMemoryProtocolStore(bobId, 2222);
  const now = Date.now();
  const spk = SignedPreKeyRecord.generate(bobId, 1, now);
  const kyber = KyberPreKeyRecord.generate(bobId, 1, now, { lastResort: true });
  bobStore.storeSignedPreKey(spk);
  bobStore.storeKyberPreKey(kyber);
  bobStore.storePreKey(PreKeyRecord.generate(7));
  const bundle = await createPreKeyBundle(bobStore, {
    deviceId: 1,
    preKeyId: 7,
    signedPreKeyId: 1,
    kyberPreKeyId: 1,
  });
  const spkOk = bundle.identityKey.verifySignature(
    bundle.signedPreKey.serialize(),
    bundle.signedPreKeySignature,
  );
  const kyberOk = bundle.identityKey.verifySignature(
    bundle.kyberPreKey.serialize(),
    bundle.kyberPreKeySignature,
  );
  console.log(`  signed prekey signature verifies: ${String(spkOk)}`);
  console.log(`  Kyber prekey signature verifies:  ${String(kyberOk)}`);

  step(3, 'Kyber-1024 round trip (KEM type 0x08, as libsignal uses it)');
  const kem = KemKeyPair.generate();
  const { ciphertext, sharedSecret } = kem.publicKey.encapsulate();
  const recovered = kem.secretKey.decapsulate(ciphertext);
  console.log(
    `  ciphertext ${String(ciphertext.length)} bytes, ${String(sharedSecret.length)}-byte shared secret`,
  );
  console.log(
    `  decapsulated secret matches: ${String(Buffer.from(recovered).equals(sharedSecret))}`,
  );

  const aliceAddress = new ProtocolAddress('9d0652a3-dcc3-4d11-975f-74d61598733f', 1);
  const bobAddress = new ProtocolAddress('796abedb-ca4e-4f18-8803-1fde5b921f9f', 1);
  const alice = new SessionManager({
    store: new InMemoryProtocolStore(aliceId, 1111),
    localAddress: aliceAddress,
  });
  const bob = new SessionManager({ store: bobStore, localAddress: bobAddress });

  step(4, 'Alice processes Bob’s bundle (PQXDH) and sends the first message');
  await alice.processPreKeyBundle(bobAddress, bundle);
  const first = await alice.encrypt(bobAddress, encode('Hello Bob, this is end-to-end encrypted.'));
  console.log(`  Alice → Bob: ${first.type} message, ${String(first.body.length)} bytes`);
  console.log(`  Bob reads:  "${decode(await bob.decrypt(aliceAddress, first))}"`);
  console.log(
    `  Bob's one-time prekey 7 consumed: ${String(bobStore.loadPreKey(preKeyId(7)) === null)}`,
  );

  step(5, 'Bob replies (a new ratchet step); Alice answers');
  const reply = await bob.encrypt(aliceAddress, encode('Hi Alice! Got it.'));
  console.log(`  Bob → Alice: ${reply.type} message, ${String(reply.body.length)} bytes`);
  console.log(`  Alice reads: "${decode(await alice.decrypt(bobAddress, reply))}"`);
  const answer = await alice.encrypt(bobAddress, encode('Great, the session is established.'));
  console.log(`  Alice → Bob: ${answer.type} message`);
  console.log(`  Bob reads:  "${decode(await bob.decrypt(aliceAddress, answer))}"`);

  step(6, 'Out-of-order delivery: Alice sends three, Bob receives them 3, 1, 2');
  const batch = [];
  for (const text of ['one', 'two', 'three'])
    batch.push(await alice.encrypt(bobAddress, encode(text)));
  for (const i of [2, 0, 1]) {
    const msg = batch[i];
    if (msg === undefined) throw new Error('unreachable');
    console.log(
      `  Bob reads message ${String(i + 1)}: "${decode(await bob.decrypt(aliceAddress, msg))}"`,
    );
  }

  step(7, 'A replayed message is refused, and nothing changes');
  try {
    const again = batch[0];
    if (again === undefined) throw new Error('unreachable');
    await bob.decrypt(aliceAddress, again);
    throw new Error('replay was accepted');
  } catch (e) {
    console.log(`  refused with ${(e as { code?: string }).code ?? String(e)}`);
  }

  console.log('\nDemo complete: both sides agree on every message.');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
