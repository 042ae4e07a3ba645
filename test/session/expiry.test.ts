/**
 * Unacknowledged sessions expire after 30 days (libsignal-wire.md §6.4, MAX_UNACKNOWLEDGED_SESSION_AGE):
 * with an injected clock, encrypt works at +29 days and gives ERR_SESSION_NOT_FOUND at +31 days;
 * an acknowledged session never expires.
 */
import { describe, expect, it } from 'vitest';
import { MAX_UNACKNOWLEDGED_SESSION_AGE_SECONDS } from '../../src/constants.js';
import {
  decryptText,
  encryptText,
  expectCleanFailure,
  makeTestParty,
  send,
  type TestParty,
  utf8,
} from '../support/session-helpers.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = Date.UTC(2025, 0, 1);

function clocked(): { alice: TestParty; bob: TestParty; at: (ms: number) => void } {
  let now = T0;
  const alice = makeTestParty('alice', { now: () => now });
  const bob = makeTestParty('bob', { now: () => now });
  return { alice, bob, at: (ms) => (now = T0 + ms) };
}

describe('30-day expiry of unacknowledged sessions', () => {
  it('encrypt works at +29 days, ERR_SESSION_NOT_FOUND at +31 days, store unchanged', async () => {
    const { alice, bob, at } = clocked();
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    at(29 * DAY);
    const late = await encryptText(alice, bob, 'day 29');
    expect(late.type).toBe('prekey');
    expect(await alice.manager.hasSession(bob.address)).toBe(true);

    at(31 * DAY);
    expect(await alice.manager.hasSession(bob.address)).toBe(false);
    const e = await expectCleanFailure(
      [alice.store],
      () => alice.manager.encrypt(bob.address, utf8('day 31')),
      'ERR_SESSION_NOT_FOUND',
      `no usable session for ${bob.address.toString()} (encrypt)`,
    );
    expect(e.address).toBe(bob.address.toString());
    expect(e.operation).toBe('encrypt');

    // The receiver does not apply the age limit: the day-29 message still starts the session,
    // and its reply revives the initiator's session (acknowledged).
    expect(await decryptText(bob, alice, late)).toBe('day 29');
    await send(bob, alice, 'got it');
    expect(await alice.manager.hasSession(bob.address)).toBe(true);
    expect((await encryptText(alice, bob, 'day 31, acknowledged')).type).toBe('whisper');
  });

  it('the boundary is exactly 30 days (inclusive), in whole seconds', async () => {
    const { alice, bob, at } = clocked();
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const limit = MAX_UNACKNOWLEDGED_SESSION_AGE_SECONDS * 1000;
    at(limit + 999);
    expect(await alice.manager.hasSession(bob.address)).toBe(true);
    await encryptText(alice, bob, 'last second');
    at(limit + 1000);
    expect(await alice.manager.hasSession(bob.address)).toBe(false);
    await expectCleanFailure(
      [alice.store],
      () => alice.manager.encrypt(bob.address, utf8('too late')),
      'ERR_SESSION_NOT_FOUND',
    );
  });

  it('an acknowledged session works at +365 days; a fresh bundle replaces an expired one', async () => {
    const { alice, bob, at } = clocked();
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    await send(alice, bob, 'hi');
    await send(bob, alice, 'hi back');
    at(365 * DAY);
    expect((await encryptText(alice, bob, 'a year later')).type).toBe('whisper');

    const carol = makeTestParty('carol', { now: () => T0 + 365 * DAY });
    await alice.manager.processPreKeyBundle(carol.address, await carol.bundle());
    at(400 * DAY);
    await expectCleanFailure(
      [alice.store],
      () => alice.manager.encrypt(carol.address, utf8('x')),
      'ERR_SESSION_NOT_FOUND',
    );
    await alice.manager.processPreKeyBundle(carol.address, await carol.bundle());
    await send(alice, carol, 'fresh start');
  });

  it('encrypt without any session → ERR_SESSION_NOT_FOUND; decrypt of a whisper without a session too', async () => {
    const { alice, bob } = clocked();
    await expectCleanFailure(
      [alice.store],
      () => alice.manager.encrypt(bob.address, utf8('x')),
      'ERR_SESSION_NOT_FOUND',
    );
    const carol = makeTestParty('carol');
    await carol.manager.processPreKeyBundle(bob.address, await bob.bundle());
    await send(carol, bob, 'hello');
    const whisper = await encryptText(bob, carol, 'to carol');
    const e = await expectCleanFailure(
      [alice.store],
      () => alice.manager.decrypt(bob.address, whisper),
      'ERR_SESSION_NOT_FOUND',
    );
    expect(e.operation).toBe('decrypt');
  });
});
