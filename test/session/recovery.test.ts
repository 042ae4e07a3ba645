/**
 * Recovery helpers: suggested actions on errors, and SessionRecovery resetting a broken session
 * (archive, fresh bundle, tell the peer) with a per-peer rate limit so peers never loop.
 */
import { describe, expect, it } from 'vitest';
import {
  type CiphertextMessage,
  DuplicateMessageError,
  InvalidMessageError,
  isSignalError,
  MessageGapTooLargeError,
  MissingPreKeyError,
  SessionNotFoundError,
  UnsupportedVersionError,
  UntrustedIdentityError,
} from '../../src/index.js';
import { SessionRecovery } from '../../src/recovery.js';
import { makeParty, text, utf8 } from '../support/parties.js';

describe('suggested actions', () => {
  it('each error kind suggests its usual recovery', () => {
    expect(new DuplicateMessageError(3).suggestedAction).toBe('drop-duplicate');
    expect(new InvalidMessageError('decryption failed', 'whisper').suggestedAction).toBe(
      'request-resend',
    );
    expect(new InvalidMessageError('bad', 'bundle').suggestedAction).toBe('refetch-bundle');
    expect(new MessageGapTooLargeError(30000, 25000).suggestedAction).toBe('reset-session');
    expect(new MissingPreKeyError('one-time', 4).suggestedAction).toBe('reset-session');
    expect(new SessionNotFoundError('a.1', 'encrypt').suggestedAction).toBe('refetch-bundle');
    expect(new UntrustedIdentityError('a.1').suggestedAction).toBe('confirm-identity');
    // A version byte can be flipped in transit before any MAC is checked: never worth a reset.
    expect(new UnsupportedVersionError('v', 5).suggestedAction).toBe('request-resend');
  });
});

describe('SessionRecovery', () => {
  it('resets a session the receiver lost, and the conversation continues', async () => {
    let now = 1_000_000;
    const alice = makeParty('alice');
    const bob = makeParty('bob');
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    await bob.manager.decrypt(alice.address, await alice.manager.encrypt(bob.address, utf8('hi')));
    await alice.manager.decrypt(bob.address, await bob.manager.encrypt(alice.address, utf8('yo')));
    // Bob loses his session (e.g. restored an old backup).
    bob.store.removeSession(alice.address);
    const lost = await alice.manager.encrypt(bob.address, utf8('lost'));

    const toAlice: CiphertextMessage[] = [];
    const recovery = new SessionRecovery({
      manager: bob.manager,
      fetchBundle: () => alice.bundle(),
      notifyPeer: async (address, reason) => {
        expect(address.equals(alice.address)).toBe(true);
        expect(reason).toBe('session-reset');
        toAlice.push(await bob.manager.encrypt(alice.address, utf8('please resend')));
      },
      now: () => now,
    });
    let error: unknown;
    try {
      await bob.manager.decrypt(alice.address, lost);
    } catch (e) {
      error = e;
    }
    expect(isSignalError(error, 'ERR_SESSION_NOT_FOUND')).toBe(true);
    expect(await recovery.handleDecryptError(alice.address, error)).toEqual({
      action: 'session-reset',
    });
    expect(toAlice).toHaveLength(1);
    expect(toAlice[0]?.type).toBe('prekey');
    expect(text(await alice.manager.decrypt(bob.address, toAlice[0]!))).toBe('please resend');
    const again = await alice.manager.encrypt(bob.address, utf8('resent'));
    expect(again.type).toBe('whisper');
    expect(text(await bob.manager.decrypt(alice.address, again))).toBe('resent');

    // A second failure within the interval is rate-limited: no loop of resets.
    const before = bob.store.snapshot();
    expect(
      await recovery.handleDecryptError(alice.address, new MessageGapTooLargeError(1, 0)),
    ).toEqual({ action: 'rate-limited', suggested: 'reset-session' });
    expect(bob.store.snapshot()).toEqual(before);
    now += 60 * 60 * 1000;
    expect(
      (await recovery.handleDecryptError(alice.address, new MessageGapTooLargeError(1, 0))).action,
    ).toBe('session-reset');
  });

  it('drops duplicates, flags identity changes, requests resends, and rethrows foreign errors', async () => {
    const alice = makeParty('alice');
    const bob = makeParty('bob');
    const notes: string[] = [];
    const recovery = new SessionRecovery({
      manager: bob.manager,
      fetchBundle: () => alice.bundle(),
      notifyPeer: async (_a, reason) => {
        notes.push(reason);
        await Promise.resolve();
      },
      minIntervalMs: 10,
      maxTrackedPeers: 1,
    });
    expect(await recovery.handleDecryptError(alice.address, new DuplicateMessageError(1))).toEqual({
      action: 'dropped-duplicate',
    });
    expect(
      await recovery.handleDecryptError(alice.address, new UntrustedIdentityError('x')),
    ).toEqual({ action: 'identity-confirmation-needed' });
    expect(
      await recovery.handleDecryptError(
        alice.address,
        new InvalidMessageError('decryption failed', 'whisper'),
      ),
    ).toEqual({ action: 'resend-requested' });
    expect(notes).toEqual(['resend-request']);
    // A resend request does not hold back a reset: they are rate-limited separately.
    expect(
      (await recovery.handleDecryptError(alice.address, new MessageGapTooLargeError(1, 0))).action,
    ).toBe('session-reset');
    expect(notes).toEqual(['resend-request', 'session-reset']);
    await expect(recovery.handleDecryptError(alice.address, new TypeError('x'))).rejects.toThrow(
      TypeError,
    );
  });
});
