/**
 * What chiffre puts on the wire, from real sessions: the PreKeySignalMessage fields (ids, keys,
 * registration id, Kyber ciphertext), the inner message (counter 0 first, SPQR field 5, field 6
 * binding sender and recipient), and plain SignalMessages after the first reply (no field 6).
 * Also the field-6 check on receipt.
 */
import { describe, expect, it } from 'vitest';
import {
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodeAddresses,
  encodePreKeySignalMessage,
} from '../../src/hazmat/index.js';
import { kyberPreKeyId, preKeyId, signedPreKeyId } from '../../src/index.js';
import { bytesToHex } from '../support/hex.js';
import {
  decryptText,
  encryptText,
  expectCleanFailure,
  makeTestParty,
  recordOf,
  send,
} from '../support/session-helpers.js';

describe('chiffre’s messages on the wire', () => {
  it('PreKeySignalMessages carry the bundle ids, our keys and registration id; counters count up', async () => {
    const alice = makeTestParty('alice', { registrationId: 1111 });
    const bob = makeTestParty('bob', { registrationId: 2222 });
    const bundle = await bob.bundle();
    await alice.manager.processPreKeyBundle(bob.address, bundle);
    const pending = (await recordOf(alice, bob)).currentState!.pendingPreKey!;

    const first = await encryptText(alice, bob, 'one');
    const second = await encryptText(alice, bob, 'two');
    expect([first.type, second.type]).toEqual(['prekey', 'prekey']);
    const p1 = decodePreKeySignalMessage(first.body);
    const p2 = decodePreKeySignalMessage(second.body);
    expect(first.body[0]).toBe(0x44);
    expect(p1.registrationId).toBe(1111);
    expect(p1.preKeyId).toBe(bundle.preKeyId);
    expect(p1.signedPreKeyId).toBe(bundle.signedPreKeyId);
    expect(p1.kyberPreKeyId).toBe(bundle.kyberPreKeyId);
    expect(p1.kyberCiphertext!.length).toBe(1569);
    expect(p1.kyberCiphertext![0]).toBe(0x08);
    expect(p1.identityKey.equals(alice.identity.publicKey)).toBe(true);
    expect(p1.baseKey.equals(pending.baseKey)).toBe(true);
    // Every PreKey message of one session repeats the same outer fields.
    expect(bytesToHex(p2.kyberCiphertext!)).toBe(bytesToHex(p1.kyberCiphertext!));
    expect(p2.baseKey.equals(p1.baseKey)).toBe(true);
    // Re-encoding is byte-identical (tag order).
    expect(bytesToHex(encodePreKeySignalMessage(p1))).toBe(bytesToHex(first.body));

    const inner1 = p1.signalMessage;
    expect(inner1.counter).toBe(0);
    expect(p2.signalMessage.counter).toBe(1);
    expect(inner1.previousCounter).toBe(0);
    expect(inner1.pqRatchet).toBeDefined();
    expect(bytesToHex(inner1.addresses!)).toBe(
      bytesToHex(encodeAddresses(alice.address, bob.address)!),
    );
    expect(inner1.addresses!.length).toBe(36);
    expect(inner1.ratchetKey.equals(p2.signalMessage.ratchetKey)).toBe(true);

    expect(await decryptText(bob, alice, second)).toBe('two');
    expect(await decryptText(bob, alice, first)).toBe('one');
    await send(bob, alice, 'reply');
    const whisper = await encryptText(alice, bob, 'three');
    expect(whisper.type).toBe('whisper');
    const w = decodeSignalMessage(whisper.body);
    expect(whisper.body[0]).toBe(0x44);
    expect(w.addresses).toBeUndefined();
    expect(w.pqRatchet).toBeDefined();
    expect(w.ratchetKey.equals(inner1.ratchetKey)).toBe(false);
    expect(await decryptText(bob, alice, whisper)).toBe('three');
  });

  it('without a one-time prekey, field 1 is absent', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle({ oneTime: false }));
    const m = await encryptText(alice, bob, 'no opk');
    expect(decodePreKeySignalMessage(m.body).preKeyId).toBeUndefined();
    expect(m.body[1]).toBe(0x12);
    expect(await decryptText(bob, alice, m)).toBe('no opk');
  });

  it('names that are not ServiceIds, PNI names and device ids > 127: field 6 only when computable', async () => {
    const cases: [string, string, number, boolean][] = [
      ['alice', 'bob', 1, false],
      [
        'PNI:9d0652a3-dcc3-4d11-975f-74d61598733f',
        'PNI:796abedb-ca4e-4f18-8803-1fde5b921f9f',
        1,
        true,
      ],
      ['9d0652a3-dcc3-4d11-975f-74d61598733f', '796abedb-ca4e-4f18-8803-1fde5b921f9f', 200, false],
      ['9D0652A3-DCC3-4D11-975F-74D61598733F', '796abedb-ca4e-4f18-8803-1fde5b921f9f', 127, true],
    ];
    for (const [a, b, deviceId, bound] of cases) {
      const alice = makeTestParty('alice', { serviceId: a, deviceId });
      const bob = makeTestParty('bob', { serviceId: b, deviceId });
      await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
      const m = await encryptText(alice, bob, 'hi');
      const addresses = decodePreKeySignalMessage(m.body).signalMessage.addresses;
      expect(addresses !== undefined).toBe(bound);
      expect(await decryptText(bob, alice, m)).toBe('hi');
      await send(bob, alice, 'hello');
    }
  });
});

describe('field 6 on receipt', () => {
  it('a PreKeySignalMessage delivered as if from another address is refused (binding mismatch)', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    const mallory = makeTestParty('mallory');
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const m = await encryptText(alice, bob, 'for bob, from alice');
    // Bob is told the message comes from Mallory's address: identity, keys and MAC all verify,
    // only the sender/recipient binding does not.
    await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(mallory.address, m),
      'ERR_INVALID_MESSAGE',
      'decryption failed',
    );
    // Another device of Alice's account is another address too.
    const aliceDevice2 = makeTestParty('alice 2', { serviceId: alice.address.name, deviceId: 2 });
    await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(aliceDevice2.address, m),
      'ERR_INVALID_MESSAGE',
    );
    expect(await decryptText(bob, alice, m)).toBe('for bob, from alice');
  });

  it('a message meant for another recipient (same identity, other device) is refused', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const m = await encryptText(alice, bob, 'for device 1');
    // Bob's second device shares his identity and store contents but not his address.
    const bob2 = makeTestParty('bob 2', {
      identity: bob.identity,
      serviceId: bob.address.name,
      deviceId: 2,
    });
    const id = decodePreKeySignalMessage(m.body);
    bob2.store.storeSignedPreKey(bob.store.loadSignedPreKey(signedPreKeyId(id.signedPreKeyId))!);
    bob2.store.storeKyberPreKey(bob.store.loadKyberPreKey(kyberPreKeyId(id.kyberPreKeyId!))!);
    bob2.store.storePreKey(bob.store.loadPreKey(preKeyId(id.preKeyId!))!);
    await expectCleanFailure(
      [bob2.store],
      () => bob2.manager.decrypt(alice.address, m),
      'ERR_INVALID_MESSAGE',
      'decryption failed',
    );
    expect(await decryptText(bob, alice, m)).toBe('for device 1');
  });
});
