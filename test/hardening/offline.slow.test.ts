/**
 * A long-offline device: 20,000 messages queue up while the receiver is offline, then arrive —
 * in order, and shuffled within the limits (every message displaced by less than 1,000
 * positions, inside both the Double Ratchet's 2,000 kept skipped keys and SPQR's 2,000-message
 * out-of-order window). Receivers: chiffre, and libsignal-client 0.103 with a chiffre sender.
 *
 * Then the forward-jump limit, just past it. With SPQR the effective limit is 24,999, not 25,000
 * (libsignal-wire.md §11): the Double Ratchet counts the jump from the next expected counter,
 * SPQR from the last index received. So in a fresh chain:
 *
 *   counter 25,001 → ERR_MESSAGE_GAP_TOO_LARGE (the Double Ratchet's own limit)
 *   counter 25,000 → ERR_INVALID_MESSAGE (SPQR's limit: a jump of 25,001 chain keys)
 *   counter 24,999 → decrypts
 *
 * and libsignal draws the line at the same place. Every refusal leaves the store unchanged.
 * Afterwards the oldest messages still decryptable are exactly the 2,000 newest skipped ones; an
 * older one is reported as a duplicate (its key is gone), as libsignal does.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  type CiphertextMessage,
  InMemoryProtocolStore,
  isSignalError,
  ProtocolAddress,
  SessionManager,
} from '../../src/index.js';
import { Prng } from '../fuzz/rng.js';
import { makeLibsignalParty } from '../support/libsignal.js';
import { makeParty, type Party } from '../support/parties.js';

type Lib = any;
const lib0103: Lib = createRequire(import.meta.url)('libsignal-client-0103');

const OFFLINE = 20_000;
const WINDOW = 1_000;

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Positions 0..n−1, shuffled inside consecutive windows of `window` (seeded). */
function windowShuffle(n: number, window: number, seed: string): number[] {
  const rng = new Prng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let start = 0; start < n; start += window) {
    const end = Math.min(n, start + window);
    for (let i = end - 1; i > start; i--) {
      const j = start + rng.below(i - start + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
  }
  return order;
}

/** A chiffre pair with an acknowledged session (one message each way). */
async function chiffrePair(): Promise<{ alice: Party; bob: Party }> {
  const alice = makeParty('alice');
  const bob = makeParty('bob');
  await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
  expect(
    dec(
      await bob.manager.decrypt(alice.address, await alice.manager.encrypt(bob.address, enc('hi'))),
    ),
  ).toBe('hi');
  expect(
    dec(
      await alice.manager.decrypt(
        bob.address,
        await bob.manager.encrypt(alice.address, enc('hi back')),
      ),
    ),
  ).toBe('hi back');
  return { alice, bob };
}

/** A second device state identical to `p`'s current one (same identity, same session with `peer`). */
function cloneReceiver(
  p: Party,
  peer: Party,
): { store: InMemoryProtocolStore; manager: SessionManager } {
  const store = new InMemoryProtocolStore(p.identity, p.store.getLocalRegistrationId());
  store.saveIdentity(peer.address, peer.identity.publicKey);
  const record = p.store.loadSession(peer.address);
  if (record === null) throw new Error('no session to clone');
  store.storeSession(peer.address, record);
  return { store, manager: new SessionManager({ store, localAddress: p.address }) };
}

async function queue(
  from: Party,
  to: ProtocolAddress,
  n: number,
  label: string,
): Promise<CiphertextMessage[]> {
  const out: CiphertextMessage[] = [];
  for (let i = 0; i < n; i++)
    out.push(await from.manager.encrypt(to, enc(`${label} ${String(i)}`)));
  return out;
}

async function expectRefusal(
  op: () => Promise<unknown>,
  snapshot: () => unknown,
  code: 'ERR_MESSAGE_GAP_TOO_LARGE' | 'ERR_INVALID_MESSAGE' | 'ERR_DUPLICATE_MESSAGE',
): Promise<void> {
  const before = snapshot();
  try {
    await op();
  } catch (e) {
    if (!isSignalError(e, code)) expect.fail(`expected ${code}, got ${String(e)}`);
    expect(snapshot()).toEqual(before);
    return;
  }
  expect.fail(`expected ${code}, but the message decrypted`);
}

describe('long-offline device', () => {
  it('chiffre → chiffre: 20,000 queued messages decrypt in order, and shuffled within the limits', async () => {
    const { alice, bob } = await chiffrePair();
    const shuffledBob = cloneReceiver(bob, alice);
    const queued = await queue(alice, bob.address, OFFLINE, 'offline');
    expect(queued.every((m) => m.type === 'whisper')).toBe(true);

    for (const [i, m] of queued.entries()) {
      expect(dec(await bob.manager.decrypt(alice.address, m))).toBe(`offline ${String(i)}`);
    }
    const order = windowShuffle(OFFLINE, WINDOW, 'offline-shuffle');
    for (const i of order) {
      expect(
        dec(await shuffledBob.manager.decrypt(alice.address, queued[i] as CiphertextMessage)),
      ).toBe(`offline ${String(i)}`);
    }
    // Both receivers are still in a working session (each answers its own copy of Alice: the two
    // Bobs are forks of one device state, so their replies start different ratchet chains).
    const aliceFork = cloneReceiver(alice, bob);
    const reply = await bob.manager.encrypt(alice.address, enc('back online'));
    expect(dec(await alice.manager.decrypt(bob.address, reply))).toBe('back online');
    const forkReply = await shuffledBob.manager.encrypt(alice.address, enc('back online too'));
    expect(dec(await aliceFork.manager.decrypt(bob.address, forkReply))).toBe('back online too');
    expect(
      dec(
        await bob.manager.decrypt(
          alice.address,
          await alice.manager.encrypt(bob.address, enc('welcome back')),
        ),
      ),
    ).toBe('welcome back');
  });

  it('chiffre → libsignal 0.103: 20,000 queued messages decrypt in order, and shuffled within the limits', async () => {
    const chiffre = makeParty('chiffre');
    const libsignal = makeLibsignalParty(lib0103, 'libsignal');
    const libAddress = new ProtocolAddress(libsignal.addressName, 1);
    const chiffreAddressLib = lib0103.ProtocolAddress.new(chiffre.address.name, 1);
    await chiffre.manager.processPreKeyBundle(libAddress, libsignal.chiffreBundle());
    await libsignal.decrypt(
      chiffreAddressLib,
      await chiffre.manager.encrypt(libAddress, enc('hi')),
    );
    await chiffre.manager.decrypt(
      libAddress,
      await libsignal.encrypt(chiffreAddressLib, enc('hi back')),
    );

    const queued = await queue(chiffre, libAddress, OFFLINE, 'offline');
    // libsignal's state lives in `sessions`: keep it, deliver in order, restore, deliver shuffled.
    const saved = new Map(libsignal.sessions);
    for (const [i, m] of queued.entries()) {
      expect(dec(await libsignal.decrypt(chiffreAddressLib, m))).toBe(`offline ${String(i)}`);
    }
    libsignal.sessions.clear();
    for (const [k, v] of saved) libsignal.sessions.set(k, v);
    for (const i of windowShuffle(OFFLINE, WINDOW, 'offline-shuffle-lib')) {
      expect(dec(await libsignal.decrypt(chiffreAddressLib, queued[i] as CiphertextMessage))).toBe(
        `offline ${String(i)}`,
      );
    }
    const reply = await libsignal.encrypt(chiffreAddressLib, enc('back online'));
    expect(dec(await chiffre.manager.decrypt(libAddress, reply))).toBe('back online');
  });

  it('just past the forward-jump limit: refused cleanly (chiffre and libsignal 0.103 agree on 24,999)', async () => {
    // chiffre receiver.
    const { alice, bob } = await chiffrePair();
    const far = await queue(alice, bob.address, 25_002, 'far');
    const snap = (): unknown => [...bob.store.snapshot()];
    await expectRefusal(
      () => bob.manager.decrypt(alice.address, far[25_001] as CiphertextMessage),
      snap,
      'ERR_MESSAGE_GAP_TOO_LARGE',
    );
    await expectRefusal(
      () => bob.manager.decrypt(alice.address, far[25_000] as CiphertextMessage),
      snap,
      'ERR_INVALID_MESSAGE',
    );
    expect(dec(await bob.manager.decrypt(alice.address, far[24_999] as CiphertextMessage))).toBe(
      'far 24999',
    );
    // Of the 24,999 skipped messages, the newest 2,000 are still decryptable; older ones are gone.
    expect(dec(await bob.manager.decrypt(alice.address, far[22_999] as CiphertextMessage))).toBe(
      'far 22999',
    );
    await expectRefusal(
      () => bob.manager.decrypt(alice.address, far[22_998] as CiphertextMessage),
      snap,
      'ERR_DUPLICATE_MESSAGE',
    );
    // The session goes on.
    expect(
      dec(
        await alice.manager.decrypt(
          bob.address,
          await bob.manager.encrypt(alice.address, enc('still here')),
        ),
      ),
    ).toBe('still here');

    // libsignal receiver, chiffre sender: the same three answers.
    const chiffre = makeParty('chiffre');
    const libsignal = makeLibsignalParty(lib0103, 'libsignal');
    const libAddress = new ProtocolAddress(libsignal.addressName, 1);
    const chiffreAddressLib = lib0103.ProtocolAddress.new(chiffre.address.name, 1);
    await chiffre.manager.processPreKeyBundle(libAddress, libsignal.chiffreBundle());
    await libsignal.decrypt(
      chiffreAddressLib,
      await chiffre.manager.encrypt(libAddress, enc('hi')),
    );
    await chiffre.manager.decrypt(
      libAddress,
      await libsignal.encrypt(chiffreAddressLib, enc('hi back')),
    );
    const toLib = await queue(chiffre, libAddress, 25_002, 'far');
    const libSnap = (): unknown =>
      [...libsignal.sessions].map(([k, v]) => [k, Buffer.from(v).toString('hex')]);
    for (const i of [25_001, 25_000]) {
      const before = libSnap();
      await expect(
        libsignal.decrypt(chiffreAddressLib, toLib[i] as CiphertextMessage),
      ).rejects.toBeInstanceOf(lib0103.LibSignalErrorBase);
      expect(libSnap()).toEqual(before);
    }
    expect(
      dec(await libsignal.decrypt(chiffreAddressLib, toLib[24_999] as CiphertextMessage)),
    ).toBe('far 24999');
  });
});
