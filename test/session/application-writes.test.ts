/**
 * Application writes inside the commit: `encrypt(..., { withCiphertext })` puts the message in
 * the app's outbox together with the ratchet step, `decrypt(..., { withPlaintext })` stores the
 * plaintext together with the ratchet step; when the app write throws, nothing is committed and
 * the operation rejects with the app's own error.
 */
import { describe, expect, it } from 'vitest';
import type { CiphertextMessage } from '../../src/index.js';
import { makeParty, text, utf8 } from '../support/parties.js';

async function pair() {
  const alice = makeParty('alice');
  const bob = makeParty('bob');
  await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
  return { alice, bob };
}

describe('application writes', () => {
  it('withCiphertext sees the message inside the commit; a throw commits nothing', async () => {
    const { alice, bob } = await pair();
    const outbox: CiphertextMessage[] = [];
    const m = await alice.manager.encrypt(bob.address, utf8('one'), {
      withCiphertext: (message, transaction) => {
        expect(transaction).toBeUndefined(); // the in-memory store has no transaction handle
        outbox.push(message);
      },
    });
    expect(outbox).toEqual([m]);
    const before = alice.store.snapshot();
    const failure = new Error('outbox full');
    await expect(
      alice.manager.encrypt(bob.address, utf8('two'), {
        withCiphertext: () => {
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
    expect(alice.store.snapshot()).toEqual(before);
    // The next message uses the counter the failed one would have used: nothing was consumed.
    const next = await alice.manager.encrypt(bob.address, utf8('three'));
    expect(text(await bob.manager.decrypt(alice.address, outbox[0]!))).toBe('one');
    expect(text(await bob.manager.decrypt(alice.address, next))).toBe('three');
  });

  it('withPlaintext failing (sync or async) keeps the message decryptable', async () => {
    const { alice, bob } = await pair();
    const m = await alice.manager.encrypt(bob.address, utf8('keep me'));
    const before = bob.store.snapshot();
    await expect(
      bob.manager.decrypt(alice.address, m, {
        withPlaintext: async () => {
          await Promise.resolve();
          throw new Error('disk full');
        },
      }),
    ).rejects.toThrow('disk full');
    expect(bob.store.snapshot()).toEqual(before);
    const saved: string[] = [];
    await bob.manager.decrypt(alice.address, m, { withPlaintext: (p) => void saved.push(text(p)) });
    expect(saved).toEqual(['keep me']);
  });
});
