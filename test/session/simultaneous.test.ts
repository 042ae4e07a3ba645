/**
 * Simultaneous initiation converges (libsignal-wire.md §6.3), and archived states are promoted
 * when a message of an older session arrives (§6.2).
 */
import { describe, expect, it } from 'vitest';
import { ARCHIVED_STATES_MAX_LENGTH } from '../../src/constants.js';
import {
  decryptText,
  encryptText,
  establish,
  expectWorking,
  makeTestParty,
  recordOf,
  send,
} from '../support/session-helpers.js';

describe('simultaneous initiation', () => {
  it('both process each other’s bundles and send; replies flow; both settle on one session', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    const [aliceBundle, bobBundle] = [await alice.bundle(), await bob.bundle()];
    await Promise.all([
      alice.manager.processPreKeyBundle(bob.address, bobBundle),
      bob.manager.processPreKeyBundle(alice.address, aliceBundle),
    ]);
    const fromAlice = await encryptText(alice, bob, 'alice first');
    const fromBob = await encryptText(bob, alice, 'bob first');
    expect([fromAlice.type, fromBob.type]).toEqual(['prekey', 'prekey']);
    // Cross in flight.
    const [atBob, atAlice] = await Promise.all([
      decryptText(bob, alice, fromAlice),
      decryptText(alice, bob, fromBob),
    ]);
    expect([atBob, atAlice]).toEqual(['alice first', 'bob first']);

    // Both now send on the session the other started; each finds it among its archived states.
    const a2 = await encryptText(alice, bob, 'alice second');
    const b2 = await encryptText(bob, alice, 'bob second');
    expect(await decryptText(bob, alice, a2)).toBe('alice second');
    expect(await decryptText(alice, bob, b2)).toBe('bob second');

    // One reply after receiving settles it.
    await send(alice, bob, 'alice third');
    await send(bob, alice, 'bob third');
    await expectWorking(alice, bob);
    const [ra, rb] = [await recordOf(alice, bob), await recordOf(bob, alice)];
    expect(ra.currentState!.aliceBaseKey.equals(rb.currentState!.aliceBaseKey)).toBe(true);
    // The other session is kept archived on both sides.
    expect(ra.previousStates.length).toBe(1);
    expect(rb.previousStates.length).toBe(1);
    expect(ra.currentState!.pendingPreKey).toBeUndefined();
    expect(rb.currentState!.pendingPreKey).toBeUndefined();
  });

  it('converges under every delivery order of the first round', async () => {
    for (const order of ['alice-first', 'bob-first', 'late-prekey'] as const) {
      const alice = makeTestParty('alice');
      const bob = makeTestParty('bob');
      await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
      await bob.manager.processPreKeyBundle(alice.address, await alice.bundle());
      const fromAlice = await encryptText(alice, bob, 'a1');
      const fromBob = await encryptText(bob, alice, 'b1');
      if (order === 'alice-first') {
        expect(await decryptText(bob, alice, fromAlice)).toBe('a1');
        const reply = await encryptText(bob, alice, 'b-reply');
        expect(await decryptText(alice, bob, reply)).toBe('b-reply');
        expect(await decryptText(alice, bob, fromBob)).toBe('b1');
      } else if (order === 'bob-first') {
        expect(await decryptText(alice, bob, fromBob)).toBe('b1');
        expect(await decryptText(bob, alice, fromAlice)).toBe('a1');
      } else {
        // Alice keeps sending PreKey messages on her session before anything arrives.
        const a2 = await encryptText(alice, bob, 'a2');
        expect(await decryptText(alice, bob, fromBob)).toBe('b1');
        expect(await decryptText(bob, alice, a2)).toBe('a2');
        expect(await decryptText(bob, alice, fromAlice)).toBe('a1');
      }
      await send(alice, bob, 'settle a');
      await send(bob, alice, 'settle b');
      await expectWorking(alice, bob);
      const [ra, rb] = [await recordOf(alice, bob), await recordOf(bob, alice)];
      expect(ra.currentState!.aliceBaseKey.equals(rb.currentState!.aliceBaseKey)).toBe(true);
    }
  });
});

describe('archived state promotion', () => {
  it('a message of an older session decrypts after a new session replaced it, and is promoted', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    await establish(alice, bob);
    const oldBase = (await recordOf(alice, bob)).currentState!.aliceBaseKey;
    const delayed = await encryptText(bob, alice, 'sent on the old session');

    // Alice starts a new session; Bob accepts it (his old one is archived).
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const newBase = (await recordOf(alice, bob)).currentState!.aliceBaseKey;
    expect(newBase.equals(oldBase)).toBe(false);
    await send(alice, bob, 'on the new session');
    const fromNew = await encryptText(bob, alice, 'bob on the new session');

    // The delayed message decrypts on the archived state, which becomes current again.
    expect(await decryptText(alice, bob, delayed)).toBe('sent on the old session');
    let ra = await recordOf(alice, bob);
    expect(ra.currentState!.aliceBaseKey.equals(oldBase)).toBe(true);
    expect(ra.previousStates[0]!.aliceBaseKey.equals(newBase)).toBe(true);
    expect(ra.previousStates.length).toBe(1);

    // And the new session's message is found in turn.
    expect(await decryptText(alice, bob, fromNew)).toBe('bob on the new session');
    ra = await recordOf(alice, bob);
    expect(ra.currentState!.aliceBaseKey.equals(newBase)).toBe(true);
    await expectWorking(alice, bob);
  });

  it('archiveSession: encrypt then needs a new session, late messages still decrypt', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    await establish(alice, bob);
    const late = await encryptText(bob, alice, 'late');
    await alice.manager.archiveSession(bob.address);
    expect(await alice.manager.hasSession(bob.address)).toBe(false);
    expect(await decryptText(alice, bob, late)).toBe('late');
    // The decrypting state was promoted back to current.
    expect(await alice.manager.hasSession(bob.address)).toBe(true);
    await expectWorking(alice, bob);
  });

  it(`keeps at most ${String(ARCHIVED_STATES_MAX_LENGTH)} archived states, newest first`, async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    const bases: string[] = [];
    for (let i = 0; i < ARCHIVED_STATES_MAX_LENGTH + 2; i++) {
      await alice.manager.processPreKeyBundle(
        bob.address,
        await bob.bundle({ oneTime: false, lastResort: true }),
      );
      bases.push((await recordOf(alice, bob)).currentState!.aliceBaseKey.toHex());
    }
    const r = await recordOf(alice, bob);
    expect(r.previousStates.length).toBe(ARCHIVED_STATES_MAX_LENGTH);
    expect(r.previousStates.map((s) => s.aliceBaseKey.toHex())).toEqual(
      bases.slice(1, -1).reverse(),
    );
    expect(r.previousStates.every((s) => s.pendingPreKey === undefined)).toBe(true);
    await send(alice, bob, 'newest works');
  });
});
