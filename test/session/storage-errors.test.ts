/**
 * Storage failures (docs/storage.md): an adapter that throws or rejects gives ERR_STORAGE with the
 * operation and the original error as `cause`; no plaintext and no message is returned; nothing is
 * written; and the next operation works (a message whose commit failed decrypts on retry, not as
 * a duplicate).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { RECORD_FORMAT_VERSION } from '../../src/constants.js';
import { isSignalError, SessionRecord, StorageError } from '../../src/index.js';
import { concatBytes } from '../../src/primitives/index.js';
import { ProtobufMessage, ProtobufWriter } from '../../src/wire/index.js';
import {
  decryptText,
  encryptText,
  establish,
  expectCleanFailure,
  expectWorking,
  makeTestParty,
  recordOf,
  send,
  snapshotOf,
  type TestParty,
  utf8,
} from '../support/session-helpers.js';

let alice: TestParty;
let bob: TestParty;
beforeEach(async () => {
  alice = makeTestParty('alice');
  bob = makeTestParty('bob');
  await establish(alice, bob);
});

const disk = new Error('disk full');

describe.each([
  ['throws', false],
  ['rejects', true],
])('a commit that %s', (_how, async) => {
  it('encrypt → ERR_STORAGE, no message, nothing written; the next encrypt works', async () => {
    alice.store.commitFailure = { error: disk, async };
    const e = await expectCleanFailure(
      [alice.store, bob.store],
      () => alice.manager.encrypt(bob.address, utf8('lost')),
      'ERR_STORAGE',
      'storage operation failed: commit',
    );
    expect(e).toBeInstanceOf(StorageError);
    expect(e.operation).toBe('commit');
    expect(e.cause).toBe(disk);
    expect(e.message).not.toContain('disk full');
    alice.store.commitFailure = undefined;
    await send(alice, bob, 'after the failure');
  });

  it('decrypt → ERR_STORAGE, no plaintext, nothing written; the same message decrypts on retry', async () => {
    const m = await encryptText(alice, bob, 'retry me');
    bob.store.commitFailure = { error: disk, async };
    const e = await expectCleanFailure(
      [alice.store, bob.store],
      () => bob.manager.decrypt(alice.address, m),
      'ERR_STORAGE',
    );
    expect(e.cause).toBe(disk);
    bob.store.commitFailure = undefined;
    expect(await decryptText(bob, alice, m)).toBe('retry me');
    await expectWorking(alice, bob);
  });

  it('processPreKeyBundle → ERR_STORAGE, nothing written; the bundle works on retry', async () => {
    const carol = makeTestParty('carol');
    const bundle = await bob.bundle();
    carol.store.commitFailure = { error: disk, async };
    await expectCleanFailure(
      [carol.store],
      () => carol.manager.processPreKeyBundle(bob.address, bundle),
      'ERR_STORAGE',
    );
    expect(await carol.manager.hasSession(bob.address)).toBe(false);
    carol.store.commitFailure = undefined;
    await carol.manager.processPreKeyBundle(bob.address, bundle);
    await send(carol, bob, 'hi');
  });

  it('a first PreKeySignalMessage → ERR_STORAGE; prekeys not consumed; decrypts on retry', async () => {
    const carol = makeTestParty('carol');
    await carol.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const m = await encryptText(carol, bob, 'first contact');
    bob.store.commitFailure = { error: disk, async };
    await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(carol.address, m),
      'ERR_STORAGE',
    );
    bob.store.commitFailure = undefined;
    expect(await decryptText(bob, carol, m)).toBe('first contact');
    await send(bob, carol, 'hello carol');
  });

  it('archiveSession → ERR_STORAGE, nothing written', async () => {
    alice.store.commitFailure = { error: disk, async };
    await expectCleanFailure(
      [alice.store],
      () => alice.manager.archiveSession(bob.address),
      'ERR_STORAGE',
    );
    alice.store.commitFailure = undefined;
    await expectWorking(alice, bob);
  });
});

/** Bob's record for Alice rebuilt with an undecodable state first among its archived states. */
async function injectBrokenArchivedState(): Promise<void> {
  const broken = new ProtobufWriter().uint32(1, 4).finish();
  const body = new ProtobufMessage((await recordOf(bob, alice)).serialize().subarray(1), (m) => {
    throw new Error(m);
  });
  const w = new ProtobufWriter().bytes(1, body.bytes(1)!).bytes(2, broken);
  for (const a of body.repeatedBytes(2)) w.bytes(2, a);
  bob.store.storeSession(
    alice.address,
    SessionRecord.deserialize(concatBytes(Uint8Array.of(RECORD_FORMAT_VERSION), w.finish())),
  );
}

describe('other adapter failures', () => {
  it('loadSession throwing → ERR_STORAGE "loadSession"', async () => {
    const m = await encryptText(alice, bob, 'x');
    bob.store.loadSessionFailure = new TypeError('connection reset');
    const e = await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, m),
      'ERR_STORAGE',
      'storage operation failed: loadSession',
    );
    expect(e.cause).toBeInstanceOf(TypeError);
    const e2 = await expectCleanFailure(
      [alice.store],
      async () => {
        alice.store.loadSessionFailure = 'a string';
        return alice.manager.encrypt(bob.address, utf8('y'));
      },
      'ERR_STORAGE',
    );
    expect(e2.cause).toBe('a string');
    bob.store.loadSessionFailure = undefined;
    alice.store.loadSessionFailure = undefined;
    expect(await decryptText(bob, alice, m)).toBe('x');
    await expectWorking(alice, bob);
  });

  it('a corrupt stored record is ERR_INVALID_RECORD, never a bad message or a storage error', async () => {
    let corrupt: unknown;
    try {
      SessionRecord.deserialize(Uint8Array.of(RECORD_FORMAT_VERSION, 0x0a, 5));
    } catch (e) {
      corrupt = e;
    }
    expect(isSignalError(corrupt, 'ERR_INVALID_RECORD')).toBe(true);
    const m = await encryptText(alice, bob, 'x');
    bob.store.loadSessionFailure = corrupt;
    await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, m),
      'ERR_INVALID_RECORD',
    );
    await expectCleanFailure(
      [bob.store],
      () => bob.manager.encrypt(alice.address, utf8('y')),
      'ERR_INVALID_RECORD',
    );
    bob.store.loadSessionFailure = undefined;
    expect(await decryptText(bob, alice, m)).toBe('x');
  });

  it('a malformed archived state: the current state still works; a message that needs the archived states is ERR_INVALID_RECORD', async () => {
    // Bob's record for Alice with its current state and one archived state that does not decode.
    await injectBrokenArchivedState();
    await expectWorking(alice, bob);
    expect((await recordOf(bob, alice)).previousStateCount).toBe(1);
    // A message the current state cannot authenticate falls back to the archived states.
    const m = await encryptText(alice, bob, 'tampered');
    const tampered = { ...m, body: m.body.slice() };
    // One bit of the MAC: the current state refuses it, then the archived states are tried.
    const at = tampered.body.length - 1;
    tampered.body[at] = (tampered.body[at] as number) ^ 1;
    await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, tampered),
      'ERR_INVALID_RECORD',
    );
    expect(await decryptText(bob, alice, m)).toBe('tampered');
  });

  it('a malformed archived state blocks neither PreKey messages nor an older archived state', async () => {
    await injectBrokenArchivedState();
    // A message of the old session, delivered after the reset below.
    const late = await encryptText(alice, bob, 'late, old session');
    // Alice starts over: both of her PreKey messages reach Bob before he replies.
    await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
    const first = await encryptText(alice, bob, 'new session 1');
    const second = await encryptText(alice, bob, 'new session 2');
    expect([first.type, second.type]).toEqual(['prekey', 'prekey']);
    expect(await decryptText(bob, alice, first)).toBe('new session 1');
    expect(await decryptText(bob, alice, second)).toBe('new session 2');
    await expectWorking(alice, bob);
    // Now the old session is archived behind the malformed state: [broken, old, broken].
    await injectBrokenArchivedState();
    expect((await recordOf(bob, alice)).previousStateCount).toBe(3);
    expect(await decryptText(bob, alice, late)).toBe('late, old session');
    // The old session was promoted; the malformed states are still carried, byte for byte.
    const after = await recordOf(bob, alice);
    expect(after.previousStateCount).toBe(3);
    expect(() => after.previousStates).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_RECORD' }),
    );
  });

  it('misuse (a plaintext that is not bytes, an unknown message type) is a TypeError, nothing written', async () => {
    const before = [snapshotOf(alice.store), snapshotOf(bob.store)];
    const misuse = async (op: () => Promise<unknown>): Promise<unknown> => {
      try {
        await op();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    expect(
      await misuse(() => alice.manager.encrypt(bob.address, 'text' as unknown as Uint8Array)),
    ).toBeInstanceOf(TypeError);
    expect(
      await misuse(() =>
        alice.manager.decrypt(bob.address, { type: 'sealed', body: new Uint8Array(1) } as never),
      ),
    ).toBeInstanceOf(TypeError);
    expect([snapshotOf(alice.store), snapshotOf(bob.store)]).toEqual(before);
  });

  it('a store error that is already a SignalError passes through unchanged', async () => {
    const m = await encryptText(alice, bob, 'x');
    const own = new StorageError('custom');
    bob.store.commitFailure = { error: own, async: false };
    const e = await expectCleanFailure(
      [bob.store],
      () => bob.manager.decrypt(alice.address, m),
      'ERR_STORAGE',
    );
    expect(e).toBe(own);
    bob.store.commitFailure = undefined;
  });

  it('isTrustedIdentity throwing → ERR_STORAGE "isTrustedIdentity"', async () => {
    const m = await encryptText(alice, bob, 'x');
    const before = snapshotOf(bob.store);
    bob.store.isTrustedIdentity = () => {
      throw new Error('keychain locked');
    };
    try {
      await bob.manager.decrypt(alice.address, m);
      expect.fail('decrypted');
    } catch (e) {
      expect(isSignalError(e, 'ERR_STORAGE') && e.operation).toBe('isTrustedIdentity');
    }
    expect(snapshotOf(bob.store)).toEqual(before);
  });

  it('a failed operation does not poison the per-address queue', async () => {
    alice.store.commitFailure = { error: disk, async: true };
    const results = await Promise.allSettled([
      alice.manager.encrypt(bob.address, utf8('a')),
      alice.manager.encrypt(bob.address, utf8('b')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    alice.store.commitFailure = undefined;
    await expectWorking(alice, bob);
  });
});
