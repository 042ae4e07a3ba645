/**
 * Concurrency on one session (libsignal-wire.md §11: libsignal itself does no locking, so
 * concurrent encrypts there reuse a message key). chiffre serializes per address: 100 interleaved
 * encrypts and decrypts in one Promise.all, in both directions, never reuse a counter, every
 * message decrypts exactly once, and the session stays healthy.
 */
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGE_KEYS, MAX_RECEIVER_CHAINS } from '../../src/constants.js';
import { decodePreKeySignalMessage, decodeSignalMessage } from '../../src/hazmat/index.js';
import { type CiphertextMessage, isSignalError } from '../../src/index.js';
import { KeyedLock } from '../../src/session/index.js';
import {
  decryptText,
  encryptText,
  establish,
  expectWorking,
  makeTestParty,
  recordOf,
  snapshotOf,
  type TestParty,
} from '../support/session-helpers.js';

interface Sent {
  readonly from: TestParty;
  readonly to: TestParty;
  readonly text: string;
  readonly message: CiphertextMessage;
}

const keyOf = (m: CiphertextMessage): string => {
  const s =
    m.type === 'prekey'
      ? decodePreKeySignalMessage(m.body).signalMessage
      : decodeSignalMessage(m.body);
  return `${s.ratchetKey.toHex()}#${String(s.counter)}`;
};

describe('one session under concurrent use', () => {
  it('100 interleaved encrypts and decrypts in one Promise.all: all decrypt exactly once', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    await establish(alice, bob);

    // A backlog in both directions, delivered inside the same Promise.all.
    const backlog: Sent[] = [];
    for (let i = 0; i < 15; i++) {
      backlog.push({
        from: alice,
        to: bob,
        text: `backlog a${String(i)}`,
        message: await encryptText(alice, bob, `backlog a${String(i)}`),
      });
      backlog.push({
        from: bob,
        to: alice,
        text: `backlog b${String(i)}`,
        message: await encryptText(bob, alice, `backlog b${String(i)}`),
      });
    }
    backlog.reverse();

    const sent: Sent[] = [...backlog];
    const tasks: Promise<string>[] = [];
    for (const s of backlog) tasks.push(decryptText(s.to, s.from, s.message));
    // Each round starts when the previous round's messages were decrypted (so the ratchet turns,
    // whatever the machine's speed), while the backlog decrypts run concurrently with all of it.
    let previousRound: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < 35; i++) {
      const after = previousRound;
      const round: Promise<string>[] = [];
      for (const [from, to] of [
        [alice, bob],
        [bob, alice],
      ] as const) {
        const text = `${from.name} live ${String(i)}`;
        round.push(
          (async () => {
            await after;
            const message = await encryptText(from, to, text);
            sent.push({ from, to, text, message });
            return decryptText(to, from, message);
          })(),
        );
      }
      tasks.push(...round);
      previousRound = Promise.all(round);
    }
    expect(tasks.length).toBe(100);
    const plaintexts = await Promise.all(tasks);
    expect(plaintexts.slice(0, backlog.length)).toEqual(backlog.map((s) => s.text));
    expect(new Set(plaintexts).size).toBe(100);
    expect(sent.length).toBe(100);

    // No message key was used twice: (ratchet key, counter) unique per direction.
    for (const from of [alice, bob]) {
      const keys = sent.filter((s) => s.from === from).map((s) => keyOf(s.message));
      expect(new Set(keys).size).toBe(keys.length);
      // The staggering really produced ratchet turns.
      expect(new Set(keys.map((k) => k.split('#')[0])).size).toBeGreaterThan(MAX_RECEIVER_CHAINS);
    }

    // Every message decrypted once; a second delivery is refused and changes nothing. It is a
    // duplicate while its receiving chain is still kept; a chain evicted by the 5-chain limit
    // can no longer even recognize it (libsignal behaves the same).
    let duplicates = 0;
    for (const s of sent) {
      const before = [snapshotOf(alice.store), snapshotOf(bob.store)];
      const kept = (await recordOf(s.to, s.from))
        .allStates()
        .some((st) =>
          st.receiverChains.some((c) => keyOf(s.message).startsWith(c.ratchetKey.toHex())),
        );
      try {
        await s.to.manager.decrypt(s.from.address, s.message);
        expect.fail(`"${s.text}" decrypted twice`);
      } catch (e) {
        if (kept) {
          expect(isSignalError(e, 'ERR_DUPLICATE_MESSAGE')).toBe(true);
          duplicates++;
        } else expect(isSignalError(e, 'ERR_INVALID_MESSAGE')).toBe(true);
      }
      expect([snapshotOf(alice.store), snapshotOf(bob.store)]).toEqual(before);
    }
    expect(duplicates).toBeGreaterThan(0);

    // The records are within bounds and the session keeps working.
    for (const [owner, peer] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      for (const state of (await recordOf(owner, peer)).allStates()) {
        expect(state.receiverChains.length).toBeLessThanOrEqual(MAX_RECEIVER_CHAINS);
        for (const c of state.receiverChains)
          expect(c.skippedKeys.length).toBeLessThanOrEqual(MAX_MESSAGE_KEYS);
      }
    }
    await expectWorking(alice, bob);
  });

  it('concurrent encrypts on one address get consecutive counters in call order', async () => {
    const alice = makeTestParty('alice');
    const bob = makeTestParty('bob');
    await establish(alice, bob);
    const messages = await Promise.all(
      Array.from({ length: 20 }, (_, i) => encryptText(alice, bob, `n${String(i)}`)),
    );
    const counters = messages.map((m) => decodeSignalMessage(m.body).counter);
    const first = counters[0]!;
    expect(counters).toEqual(counters.map((_, i) => first + i));
    const out = await Promise.all([...messages].reverse().map((m) => decryptText(bob, alice, m)));
    expect(out.reverse()).toEqual(messages.map((_, i) => `n${String(i)}`));
  });

  it('different peers are not serialized behind each other, and the lock forgets idle keys', async () => {
    const lock = new KeyedLock();
    const order: string[] = [];
    let release!: () => void;
    const blocked = lock.run('a', () =>
      new Promise<void>((r) => (release = r)).then(() => order.push('a')),
    );
    await lock.run('b', async () => {
      order.push('b');
    });
    expect(lock.size).toBe(1);
    release();
    await blocked;
    expect(order).toEqual(['b', 'a']);
    expect(lock.size).toBe(0);
  });
});
