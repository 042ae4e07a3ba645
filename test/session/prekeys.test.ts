/**
 * Prekeys and bundles: unknown and already-used prekeys (ERR_MISSING_PREKEY with kind and id),
 * bad bundle signatures (ERR_INVALID_SIGNATURE), low-order keys (ERR_INVALID_KEY), last-resort
 * Kyber prekeys shared by several initiators and protected against replays — always with the
 * stores unchanged on failure.
 */
import { describe, expect, it } from 'vitest';
import {
  MissingPreKeyError,
  type PreKeyBundle,
  PublicKey,
  SessionRecord,
} from '../../src/index.js';
import {
  decryptText,
  encryptText,
  establish,
  expectCleanFailure,
  expectWorking,
  makeTestParty,
  send,
  snapshotOf,
} from '../support/session-helpers.js';

describe('missing prekeys', () => {
  it('an unknown one-time prekey → ERR_MISSING_PREKEY kind "one-time" with its id', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    const bundle = await bob.bundle();
    // The bundle names a one-time prekey Bob never had.
    await alice.manager.processPreKeyBundle(bob.address, { ...bundle, preKeyId: 4711 });
    const m = await encryptText(alice, bob, 'hello');
    const e = await expectCleanFailure(
      [alice.store, bob.store],
      () => bob.manager.decrypt(alice.address, m),
      'ERR_MISSING_PREKEY',
      'missing one-time prekey 4711',
    );
    expect(e).toBeInstanceOf(MissingPreKeyError);
    expect(e.kind).toBe('one-time');
    expect(e.id).toBe(4711);
  });

  it('an unknown signed prekey and an unknown Kyber prekey', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    const bundle = await bob.bundle();
    bob.store.removeSignedPreKey(bundle.signedPreKeyId as never);
    await alice.manager.processPreKeyBundle(bob.address, bundle);
    const m = await encryptText(alice, bob, 'hello');
    const signed = await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, m),
      'ERR_MISSING_PREKEY',
    );
    expect([signed.kind, signed.id]).toEqual(['signed', bundle.signedPreKeyId]);

    const carol = makeTestParty('carol');
    const bundle2 = await bob.bundle();
    bob.store.removeKyberPreKey(bundle2.kyberPreKeyId as never);
    await carol.manager.processPreKeyBundle(bob.address, bundle2);
    const m2 = await encryptText(carol, bob, 'hello');
    const kyber = await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(carol.address, m2),
      'ERR_MISSING_PREKEY',
    );
    expect([kyber.kind, kyber.id]).toEqual(['kyber', bundle2.kyberPreKeyId]);
  });

  it('an already used one-time prekey (after its session was removed) → ERR_MISSING_PREKEY "one-time"', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    // Last-resort Kyber key: only the one-time EC prekey is consumed.
    const bundle = await bob.bundle({ lastResort: true });
    await alice.manager.processPreKeyBundle(bob.address, bundle);
    const m = await encryptText(alice, bob, 'once');
    expect(await decryptText(bob, alice, m)).toBe('once');
    expect(snapshotOf(bob.store)[`prekey:${String(bundle.preKeyId)}`]).toBeUndefined();
    bob.store.storeSession(alice.address, SessionRecord.empty());
    const e = await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, m),
      'ERR_MISSING_PREKEY',
    );
    expect([e.kind, e.id]).toEqual(['one-time', bundle.preKeyId]);
    expect(e.message).toBe(`missing one-time prekey ${String(bundle.preKeyId)}`);
  });

  it('an already used one-time Kyber prekey (after its session was removed) → ERR_MISSING_PREKEY "kyber"', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    const bundle = await bob.bundle();
    await alice.manager.processPreKeyBundle(bob.address, bundle);
    const m = await encryptText(alice, bob, 'once');
    expect(await decryptText(bob, alice, m)).toBe('once');
    bob.store.storeSession(alice.address, SessionRecord.empty());
    const e = await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, m),
      'ERR_MISSING_PREKEY',
    );
    expect([e.kind, e.id]).toEqual(['kyber', bundle.kyberPreKeyId]);
  });

  it('after the failures the session still starts from a fresh bundle', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    const bundle = await bob.bundle();
    await alice.manager.processPreKeyBundle(bob.address, { ...bundle, preKeyId: 1234 });
    const bad = await encryptText(alice, bob, 'lost');
    await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, bad),
      'ERR_MISSING_PREKEY',
    );
    await establish(alice, bob);
    await expectWorking(alice, bob);
  });
});

describe('bundle checks (nothing stored on failure)', () => {
  async function setup(): Promise<{
    alice: ReturnType<typeof makeTestParty>;
    bob: ReturnType<typeof makeTestParty>;
    bundle: PreKeyBundle;
  }> {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    return { alice, bob, bundle: await bob.bundle() };
  }
  const flip = (b: Uint8Array, at: number, mask = 1): Uint8Array => {
    const out = b.slice();
    out[at] = (out[at] as number) ^ mask;
    return out;
  };

  it('a bad signed-prekey signature → ERR_INVALID_SIGNATURE', async () => {
    const { alice, bob, bundle } = await setup();
    for (const signature of [
      flip(bundle.signedPreKeySignature, 0),
      flip(bundle.signedPreKeySignature, 40),
      flip(bundle.signedPreKeySignature, 63, 0x80),
      bundle.kyberPreKeySignature,
      new Uint8Array(64),
      bundle.signedPreKeySignature.subarray(0, 63),
    ]) {
      await expectCleanFailure(
        [alice.store],
        () =>
          alice.manager.processPreKeyBundle(bob.address, {
            ...bundle,
            signedPreKeySignature: signature,
          }),
        'ERR_INVALID_SIGNATURE',
        'signed prekey signature is invalid',
      );
    }
    expect(await alice.manager.hasSession(bob.address)).toBe(false);
  });

  it('a bad Kyber signature → ERR_INVALID_SIGNATURE', async () => {
    const { alice, bob, bundle } = await setup();
    for (const signature of [
      flip(bundle.kyberPreKeySignature, 5),
      bundle.signedPreKeySignature,
      new Uint8Array(64),
    ]) {
      await expectCleanFailure(
        [alice.store],
        () =>
          alice.manager.processPreKeyBundle(bob.address, {
            ...bundle,
            kyberPreKeySignature: signature,
          }),
        'ERR_INVALID_SIGNATURE',
        'Kyber prekey signature is invalid',
      );
    }
  });

  it('a signature by another identity → ERR_INVALID_SIGNATURE', async () => {
    const { alice, bob, bundle } = await setup();
    const mallory = makeTestParty('mallory');
    const forged = { ...bundle, identityKey: mallory.identity.publicKey };
    await expectCleanFailure(
      [alice.store],
      () => alice.manager.processPreKeyBundle(bob.address, forged),
      'ERR_INVALID_SIGNATURE',
    );
  });

  it.each([
    ['u = 0', new Uint8Array(32)],
    ['u = 1', Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0))],
    [
      'u = p - 1',
      Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xec : i === 31 ? 0x7f : 0xff)),
    ],
    [
      'u = p (non-canonical 0)',
      Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xed : i === 31 ? 0x7f : 0xff)),
    ],
    [
      'order-8 point',
      Uint8Array.from([
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
      ]),
    ],
  ])('a validly signed low-order signed prekey (%s) → ERR_INVALID_KEY', async (_name, raw) => {
    const { alice, bob, bundle } = await setup();
    const lowOrder = PublicKey.fromRaw(raw);
    const signedPreKeySignature = bob.identity.privateKey.sign(lowOrder.serialize());
    expect(
      bob.identity.publicKey.verifySignature(lowOrder.serialize(), signedPreKeySignature),
    ).toBe(true);
    const e = await expectCleanFailure(
      [alice.store],
      () =>
        alice.manager.processPreKeyBundle(bob.address, {
          ...bundle,
          signedPreKey: lowOrder,
          signedPreKeySignature,
        }),
      'ERR_INVALID_KEY',
    );
    expect(e.message).toBe('low-order signed prekey');
    expect(e.keyType).toBe('curve25519-public');
  });

  it('a low-order one-time prekey → ERR_INVALID_KEY', async () => {
    const { alice, bob, bundle } = await setup();
    await expectCleanFailure(
      [alice.store],
      () =>
        alice.manager.processPreKeyBundle(bob.address, {
          ...bundle,
          preKey: PublicKey.fromRaw(new Uint8Array(32)),
        }),
      'ERR_INVALID_KEY',
      'low-order one-time prekey',
    );
  });

  it.each([
    ['u = 0', new Uint8Array(32)],
    ['u = 1', Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0))],
  ])(
    'a low-order identity key (%s) with garbage signatures → a typed error',
    async (_name, raw) => {
      const { alice, bob, bundle } = await setup();
      const before = snapshotOf(alice.store);
      try {
        await alice.manager.processPreKeyBundle(bob.address, {
          ...bundle,
          identityKey: PublicKey.fromRaw(raw),
        });
        expect.fail('accepted a low-order identity key');
      } catch (e) {
        expect((e as { code?: string }).code).toMatch(/^ERR_INVALID_(SIGNATURE|KEY)$/);
      }
      expect(snapshotOf(alice.store)).toEqual(before);
    },
  );

  it('an inconsistent bundle (prekey id without prekey) → ERR_INVALID_MESSAGE', async () => {
    const { alice, bob, bundle } = await setup();
    await expectCleanFailure(
      [alice.store],
      () => alice.manager.processPreKeyBundle(bob.address, { ...bundle, preKey: undefined }),
      'ERR_INVALID_MESSAGE',
      'one-time prekey id and key must come together',
    );
  });

  it('after all refusals the genuine bundle works', async () => {
    const { alice, bob, bundle } = await setup();
    await expectCleanFailure(
      [alice.store],
      () =>
        alice.manager.processPreKeyBundle(bob.address, {
          ...bundle,
          kyberPreKeySignature: new Uint8Array(64),
        }),
      'ERR_INVALID_SIGNATURE',
    );
    await alice.manager.processPreKeyBundle(bob.address, bundle);
    await send(alice, bob, 'genuine');
    await send(bob, alice, 'reply');
  });
});

describe('last-resort Kyber prekeys', () => {
  it('one bundle without a one-time prekey serves two initiators; a replay is refused by the store', async () => {
    const bob = makeTestParty('bob');
    const alice = makeTestParty('alice');
    const carol = makeTestParty('carol');
    const bundle = await bob.bundle({ oneTime: false, lastResort: true });
    expect(bundle.preKeyId).toBeUndefined();
    await alice.manager.processPreKeyBundle(bob.address, bundle);
    await carol.manager.processPreKeyBundle(bob.address, bundle);
    const fromAlice = await encryptText(alice, bob, 'alice here');
    const fromCarol = await encryptText(carol, bob, 'carol here');
    expect(await decryptText(bob, alice, fromAlice)).toBe('alice here');
    expect(await decryptText(bob, carol, fromCarol)).toBe('carol here');
    // The last-resort key stays.
    expect(snapshotOf(bob.store)[`kyber-prekey:${String(bundle.kyberPreKeyId)}`]).toBeDefined();
    await send(bob, alice, 'hi alice');
    await send(bob, carol, 'hi carol');

    // Bob loses his session with Alice; the recorded first message comes again.
    bob.store.storeSession(alice.address, SessionRecord.empty());
    const e = await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, fromAlice),
      'ERR_INVALID_MESSAGE',
      'last-resort Kyber prekey reused with the same base key',
    );
    expect(e.messageType).toBe('prekey');
    // Carol's session is untouched and keeps working.
    await expectWorking(carol, bob);
    // Alice starts over from the same (still valid) last-resort bundle.
    await alice.manager.processPreKeyBundle(bob.address, bundle);
    await send(alice, bob, 'again');
    await send(bob, alice, 'welcome back');
  });

  it('a one-time Kyber prekey is deleted on use', async () => {
    const bob = makeTestParty('bob');
    const alice = makeTestParty('alice');
    const bundle = await bob.bundle({ oneTime: false });
    await alice.manager.processPreKeyBundle(bob.address, bundle);
    await send(alice, bob, 'use it');
    expect(snapshotOf(bob.store)[`kyber-prekey:${String(bundle.kyberPreKeyId)}`]).toBeUndefined();
  });
});
