/**
 * Identity changes (libsignal-wire.md §6.7, §11): a peer that re-registers with a new identity key
 * is refused on processPreKeyBundle and on decrypt (ERR_UNTRUSTED_IDENTITY, stores unchanged)
 * while the old session keeps working; once the app trusts the new key the same bytes decrypt.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  decryptText,
  encryptText,
  establish,
  expectCleanFailure,
  expectWorking,
  makeTestParty,
  recordOf,
  send,
  type TestParty,
} from '../support/session-helpers.js';

let alice: TestParty;
let bob: TestParty;
let bob2: TestParty;
beforeEach(async () => {
  alice = makeTestParty('alice');
  bob = makeTestParty('bob');
  await establish(alice, bob);
  // Bob re-registers: same address, new identity key, empty store.
  bob2 = makeTestParty('bob (new install)', { serviceId: bob.address.name });
  expect(bob2.address.equals(bob.address)).toBe(true);
  expect(bob2.identity.publicKey.equals(bob.identity.publicKey)).toBe(false);
});

describe('a changed identity key', () => {
  it('processPreKeyBundle of the new identity → ERR_UNTRUSTED_IDENTITY, nothing stored', async () => {
    const bundle = await bob2.bundle();
    const e = await expectCleanFailure(
      [alice.store],
      () => alice.manager.processPreKeyBundle(bob.address, bundle),
      'ERR_UNTRUSTED_IDENTITY',
      `untrusted identity for ${bob.address.toString()}`,
    );
    expect(e.address).toBe(bob.address.toString());
    await expectWorking(alice, bob);
  });

  it('a PreKeySignalMessage from the new identity → ERR_UNTRUSTED_IDENTITY; accepted once trusted', async () => {
    await bob2.manager.processPreKeyBundle(alice.address, await alice.bundle());
    const m = await encryptText(bob2, alice, 'it is me, new phone');
    expect(m.type).toBe('prekey');
    await expectCleanFailure(
      [alice.store, bob.store],
      () => alice.manager.decrypt(bob.address, m),
      'ERR_UNTRUSTED_IDENTITY',
    );
    // Meanwhile the old session keeps working both ways.
    await expectWorking(alice, bob);

    // The user accepts the new safety number.
    alice.store.saveIdentity(bob.address, bob2.identity.publicKey);
    expect(await decryptText(alice, bob2, m)).toBe('it is me, new phone');
    await send(alice, bob2, 'welcome back');
    await send(bob2, alice, 'thanks');
    expect(
      (await recordOf(alice, bob2)).currentState!.remoteIdentityKey.equals(bob2.identity.publicKey),
    ).toBe(true);

    // A late message of the old identity decrypts on the archived session but is then refused by
    // the identity check, and nothing changes.
    const late = await encryptText(bob, alice, 'late from the old phone');
    await expectCleanFailure(
      [alice.store],
      () => alice.manager.decrypt(bob.address, late),
      'ERR_UNTRUSTED_IDENTITY',
    );
    await send(bob2, alice, 'still fine');
  });

  it('encrypt and decrypt on an existing session whose identity is no longer trusted', async () => {
    const pending = await encryptText(bob, alice, 'in flight');
    alice.store.saveIdentity(bob.address, bob2.identity.publicKey);
    await expectCleanFailure(
      [alice.store],
      () => alice.manager.encrypt(bob.address, new Uint8Array(3)),
      'ERR_UNTRUSTED_IDENTITY',
    );
    await expectCleanFailure(
      [alice.store],
      () => alice.manager.decrypt(bob.address, pending),
      'ERR_UNTRUSTED_IDENTITY',
    );
    // Trust restored: the very same message decrypts and the session goes on.
    alice.store.saveIdentity(bob.address, bob.identity.publicKey);
    expect(await decryptText(alice, bob, pending)).toBe('in flight');
    await expectWorking(alice, bob);
  });

  it('a store that distrusts only one direction is asked with that direction', async () => {
    const directions: string[] = [];
    const original = alice.store.isTrustedIdentity.bind(alice.store);
    alice.store.isTrustedIdentity = (address, key, direction) => {
      directions.push(direction);
      return direction === 'receiving' ? original(address, key, direction) : false;
    };
    const incoming = await encryptText(bob, alice, 'incoming');
    expect(await decryptText(alice, bob, incoming)).toBe('incoming');
    await expectCleanFailure(
      [alice.store],
      () => alice.manager.encrypt(bob.address, new Uint8Array(1)),
      'ERR_UNTRUSTED_IDENTITY',
    );
    await expectCleanFailure(
      [alice.store],
      async () => alice.manager.processPreKeyBundle(bob.address, await bob.bundle()),
      'ERR_UNTRUSTED_IDENTITY',
    );
    expect(directions).toContain('receiving');
    expect(directions).toContain('sending');
  });
});
