/**
 * A store whose every method answers asynchronously (after a macrotask, as a database would):
 * sessions work the same, concurrent operations on one address stay serialized (no lost update,
 * no reused counter), and failures still write nothing.
 */
import { describe, expect, it } from 'vitest';
import { decodeSignalMessage } from '../../src/hazmat/index.js';
import {
  createPreKeyBundle,
  IdentityKeyPair,
  InMemoryProtocolStore,
  KyberPreKeyRecord,
  PreKeyRecord,
  ProtocolAddress,
  SessionManager,
  SignedPreKeyRecord,
} from '../../src/index.js';
import type { ProtocolStore } from '../../src/storage/index.js';
import { expectSignalError, snapshotOf, text, utf8 } from '../support/session-helpers.js';

/** Every ProtocolStore method of `inner`, answering after a `setTimeout(0)`. */
function slowStore(inner: InMemoryProtocolStore): ProtocolStore {
  const later = <T>(f: () => T | Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      setTimeout(() => {
        try {
          Promise.resolve(f()).then(resolve, reject);
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      }, 0);
    });
  return {
    getIdentityKeyPair: () => later(() => inner.getIdentityKeyPair()),
    getLocalRegistrationId: () => later(() => inner.getLocalRegistrationId()),
    isTrustedIdentity: (a, k, d) => later(() => inner.isTrustedIdentity(a, k, d)),
    getIdentity: (a) => later(() => inner.getIdentity(a)),
    loadPreKey: (id) => later(() => inner.loadPreKey(id)),
    loadSignedPreKey: (id) => later(() => inner.loadSignedPreKey(id)),
    loadKyberPreKey: (id) => later(() => inner.loadKyberPreKey(id)),
    loadSession: (a) => later(() => inner.loadSession(a)),
    commit: (c) => later(() => inner.commit(c)),
  };
}

interface SlowParty {
  readonly address: ProtocolAddress;
  readonly inner: InMemoryProtocolStore;
  readonly store: ProtocolStore;
  readonly manager: SessionManager;
  readonly identity: IdentityKeyPair;
}

let uuid = 0;
function slowParty(): SlowParty {
  const identity = IdentityKeyPair.generate();
  const inner = new InMemoryProtocolStore(identity, 4242);
  const store = slowStore(inner);
  const address = new ProtocolAddress(
    `0ddba11a-0000-4000-8000-${(uuid++).toString(16).padStart(12, '0')}`,
    1,
  );
  return {
    address,
    inner,
    store,
    identity,
    manager: new SessionManager({ store, localAddress: address }),
  };
}

async function connect(a: SlowParty, b: SlowParty): Promise<void> {
  b.inner.storeSignedPreKey(SignedPreKeyRecord.generate(b.identity, 1, 0));
  b.inner.storeKyberPreKey(KyberPreKeyRecord.generate(b.identity, 1, 0));
  b.inner.storePreKey(PreKeyRecord.generate(1));
  const bundle = await createPreKeyBundle(b.store, {
    deviceId: 1,
    preKeyId: 1,
    signedPreKeyId: 1,
    kyberPreKeyId: 1,
  });
  await a.manager.processPreKeyBundle(b.address, bundle);
  const first = await a.manager.encrypt(b.address, utf8('hi'));
  expect(text(await b.manager.decrypt(a.address, first))).toBe('hi');
  const reply = await b.manager.encrypt(a.address, utf8('hello'));
  expect(text(await a.manager.decrypt(b.address, reply))).toBe('hello');
}

describe('an asynchronous store', () => {
  it('supports the whole session life cycle', async () => {
    const alice = slowParty();
    const bob = slowParty();
    await connect(alice, bob);
    expect(await alice.manager.hasSession(bob.address)).toBe(true);
    expect((await alice.manager.getSpqrStatus(bob.address))?.version).toBe(1);
    const late = await bob.manager.encrypt(alice.address, utf8('late'));
    await alice.manager.archiveSession(bob.address);
    expect(await alice.manager.hasSession(bob.address)).toBe(false);
    expect(text(await alice.manager.decrypt(bob.address, late))).toBe('late');
    const before = snapshotOf(alice.inner);
    await expectSignalError(alice.manager.decrypt(bob.address, late), 'ERR_DUPLICATE_MESSAGE');
    expect(snapshotOf(alice.inner)).toEqual(before);
  });

  it('keeps concurrent operations on one address serialized: no reused counter, nothing lost', async () => {
    const alice = slowParty();
    const bob = slowParty();
    await connect(alice, bob);
    const tasks: Promise<string>[] = [];
    for (let i = 0; i < 30; i++) {
      for (const [from, to] of [
        [alice, bob],
        [bob, alice],
      ] as const) {
        tasks.push(
          (async () => {
            const m = await from.manager.encrypt(to.address, utf8(`m${String(i)}`));
            return `${decodeSignalMessage(m.body).ratchetKey.toHex()}#${String(decodeSignalMessage(m.body).counter)}|${text(await to.manager.decrypt(from.address, m))}`;
          })(),
        );
      }
    }
    const results = await Promise.all(tasks);
    const keys = results.map((r) => r.split('|')[0]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(results.map((r) => r.split('|')[1]).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => [`m${String(i)}`, `m${String(i)}`])
        .flat()
        .sort(),
    );
    // Still in step afterwards.
    const m = await alice.manager.encrypt(bob.address, utf8('after'));
    expect(text(await bob.manager.decrypt(alice.address, m))).toBe('after');
  });
});
