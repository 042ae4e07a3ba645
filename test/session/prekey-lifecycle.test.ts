/**
 * PreKeyLifecycle with an injected clock: replenishment at the low-water mark, signed and
 * last-resort rotation with retention of replaced keys, id allocation without reuse or overflow,
 * the last-resort-used event, and that sessions built from an old bundle still work.
 */
import { describe, expect, it } from 'vitest';
import {
  createPreKeyBundle,
  IdentityKeyPair,
  InMemoryProtocolStore,
  kyberPreKeyId,
  MAX_PREKEY_ID,
  preKeyId,
  PreKeyRecord,
  ProtocolAddress,
  SessionManager,
  signedPreKeyId,
} from '../../src/index.js';
import { type PreKeyEvent, PreKeyLifecycle, type PreKeyUpload } from '../../src/prekeys.js';
import { makeParty, text, utf8 } from '../support/parties.js';

const DAY = 24 * 60 * 60 * 1000;

function setup(policy = {}) {
  let now = 1_700_000_000_000;
  const store = new InMemoryProtocolStore(IdentityKeyPair.generate(), 42);
  const uploads: PreKeyUpload[] = [];
  const events: PreKeyEvent[] = [];
  let serverCount = 0;
  let saved: string | null = null;
  const lifecycle = new PreKeyLifecycle({
    store,
    upload: async (u) => {
      uploads.push(u);
      serverCount += u.oneTimePreKeys.length;
      await Promise.resolve();
    },
    serverPreKeyCount: async () => Promise.resolve(serverCount),
    state: { load: () => saved, save: (json) => void (saved = json) },
    policy,
    onEvent: (e) => events.push(e),
    now: () => now,
  });
  return {
    store,
    lifecycle,
    uploads,
    events,
    advance: (ms: number) => void (now += ms),
    consume: (n: number) => void (serverCount -= n),
    now: () => now,
    state: () => saved,
  };
}

describe('PreKeyLifecycle', () => {
  it('publishes a full set at first, replenishes below the low-water mark only', async () => {
    const t = setup({ oneTimeLowWater: 5, oneTimeBatch: 20 });
    await t.lifecycle.refresh();
    expect(t.uploads).toHaveLength(1);
    const first = t.uploads[0]!;
    expect(first.oneTimePreKeys).toHaveLength(20);
    expect(first.signedPreKey).toBeDefined();
    expect(first.lastResortKyberPreKey).toBeDefined();
    expect(
      first.identityKey.verifySignature(
        first.signedPreKey!.publicKey.serialize(),
        first.signedPreKey!.signature,
      ),
    ).toBe(true);
    // Enough left on the server: nothing to do.
    t.consume(14);
    await t.lifecycle.refresh();
    expect(t.uploads).toHaveLength(1);
    t.consume(2); // 4 < 5
    await t.lifecycle.refresh();
    expect(t.uploads).toHaveLength(2);
    const ids = t.uploads.flatMap((u) => u.oneTimePreKeys.map((k) => k.id));
    expect(new Set(ids).size).toBe(40); // no id reused
    for (const id of ids) expect(t.store.loadPreKey(preKeyId(id))).not.toBeNull();
  });

  it('rotates on schedule, keeps replaced keys for the retention period, then removes them', async () => {
    const t = setup({
      signedPreKeyRotation: 2 * DAY,
      lastResortRotation: 3 * DAY,
      retention: 10 * DAY,
    });
    await t.lifecycle.refresh();
    const firstSigned = t.uploads[0]!.signedPreKey!.id;
    const firstKyber = t.uploads[0]!.lastResortKyberPreKey!.id;
    t.advance(2 * DAY);
    await t.lifecycle.refresh();
    expect(t.uploads[1]!.signedPreKey!.id).not.toBe(firstSigned);
    expect(t.uploads[1]!.lastResortKyberPreKey).toBeUndefined();
    expect(t.store.loadSignedPreKey(signedPreKeyId(firstSigned))).not.toBeNull(); // kept
    t.advance(DAY);
    await t.lifecycle.refresh();
    expect(t.uploads[2]!.lastResortKyberPreKey!.id).not.toBe(firstKyber);
    t.advance(10 * DAY);
    await t.lifecycle.refresh();
    expect(t.store.loadSignedPreKey(signedPreKeyId(firstSigned))).toBeNull();
    expect(t.store.loadKyberPreKey(kyberPreKeyId(firstKyber))).toBeNull();
    expect(t.events).toContainEqual({ type: 'retired-removed', kind: 'signed', id: firstSigned });
    expect(t.events).toContainEqual({
      type: 'retired-removed',
      kind: 'last-resort',
      id: firstKyber,
    });
  });

  it('ids wrap below 2^24 and skip ids still in use', async () => {
    const t = setup({ oneTimeBatch: 3 });
    await t.lifecycle.refresh();
    const state = JSON.parse(t.state()!) as { nextPreKeyId: number };
    state.nextPreKeyId = MAX_PREKEY_ID;
    // Occupy id 1 so the wrap must skip it.
    t.store.storePreKey(PreKeyRecord.generate(1));
    const t2 = new PreKeyLifecycle({
      store: t.store,
      upload: async (u) => {
        t.uploads.push(u);
        await Promise.resolve();
      },
      serverPreKeyCount: async () => Promise.resolve(0),
      state: { load: () => JSON.stringify(state), save: () => undefined },
      policy: { oneTimeBatch: 3 },
      now: t.now,
    });
    await t2.refresh();
    const ids = t.uploads.at(-1)!.oneTimePreKeys.map((k) => k.id);
    expect(ids[0]).toBe(MAX_PREKEY_ID);
    expect(ids).not.toContain(1);
    expect(ids.every((id) => id >= 1 && id <= MAX_PREKEY_ID)).toBe(true);
  });

  it('refuses corrupt bookkeeping with a typed error', async () => {
    const store = new InMemoryProtocolStore(IdentityKeyPair.generate(), 1);
    const lifecycle = new PreKeyLifecycle({
      store,
      upload: async () => Promise.resolve(),
      serverPreKeyCount: async () => Promise.resolve(0),
      state: { load: () => '{"nextPreKeyId": 0}', save: () => undefined },
    });
    await expect(lifecycle.refresh()).rejects.toMatchObject({ code: 'ERR_INVALID_RECORD' });
    const withNullRetired = new PreKeyLifecycle({
      store,
      upload: async () => Promise.resolve(),
      serverPreKeyCount: async () => Promise.resolve(0),
      state: {
        load: () =>
          '{"nextPreKeyId":1,"nextSignedPreKeyId":1,"nextKyberPreKeyId":1,"signed":null,"lastResort":null,"retired":[null]}',
        save: () => undefined,
      },
    });
    await expect(withNullRetired.refresh()).rejects.toMatchObject({ code: 'ERR_INVALID_RECORD' });
  });

  it('reports the use of the last-resort Kyber prekey; old bundles keep working', async () => {
    const t = setup({ oneTimeBatch: 1 });
    await t.lifecycle.refresh();
    const bobAddress = new ProtocolAddress('bob', 1);
    const bob = new SessionManager({
      store: t.lifecycle.observe(t.store),
      localAddress: bobAddress,
    });
    const upload = t.uploads[0]!;
    const bundle = await createPreKeyBundle(t.store, {
      deviceId: 1,
      signedPreKeyId: upload.signedPreKey!.id,
      kyberPreKeyId: upload.lastResortKyberPreKey!.id,
    });
    // Rotation happens, but the old bundle is still in a client's cache.
    t.advance(3 * DAY);
    await t.lifecycle.refresh();
    const alice = makeParty('alice');
    await alice.manager.processPreKeyBundle(bobAddress, bundle);
    const m = await alice.manager.encrypt(bobAddress, utf8('via last resort'));
    expect(text(await bob.decrypt(alice.address, m))).toBe('via last resort');
    expect(t.events).toContainEqual({
      type: 'last-resort-used',
      kyberPreKeyId: upload.lastResortKyberPreKey!.id,
    });
  });
});
