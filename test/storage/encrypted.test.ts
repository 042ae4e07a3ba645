/**
 * Encryption at rest (src/storage/encrypted.ts): sealed records reveal no record bytes, a wrong key
 * fails at open with a typed error and writes nothing, altered / truncated / moved records are
 * refused with `ERR_INVALID_RECORD` naming the record, versions pass through, and the key never
 * appears in a rendering.
 */
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRecordError, isSignalError } from '../../src/errors.js';
import {
  IdentityKeyPair,
  preKeyId,
  ProtocolAddress,
  signedPreKeyId,
} from '../../src/keys/index.js';
import { aeadOpen } from '../../src/primitives/index.js';
import { createPreKeyBundle, SessionManager } from '../../src/session/index.js';
import { KyberPreKeyRecord, PreKeyRecord, SignedPreKeyRecord } from '../../src/state/index.js';
import {
  BackendProtocolStore,
  encryptedBackend,
  MemoryBackend,
  type RecordBackend,
  type RecordKind,
} from '../../src/storage/index.js';
import { bytesToHex } from '../support/hex.js';
import { fcParams } from '../primitives/helpers.js';

const KINDS: readonly RecordKind[] = [
  'local',
  'identity',
  'session',
  'prekey',
  'signed-prekey',
  'kyber-prekey',
  'kyber-use',
];

const keyOf = (seed: number): Uint8Array =>
  new Uint8Array(32).map((_, i) => (i * 31 + seed) & 0xff);
const KEY = keyOf(7);
const OTHER_KEY = keyOf(8);

/** Every record of a backend, `kind/id → version:hex`. */
async function dump(backend: RecordBackend): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const kind of KINDS) {
    for (const id of await backend.ids(kind)) {
      const r = (await backend.get(kind, id))!;
      out.set(`${kind}/${id}`, `${String(r.version)}:${bytesToHex(r.bytes)}`);
    }
  }
  return out;
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const alice = new ProtocolAddress('alice', 1);
const bob = new ProtocolAddress('bob', 1);

/** A populated encrypted store: identity, prekeys of each kind, a peer identity, a session. */
async function populated(inner: MemoryBackend = new MemoryBackend()) {
  const identity = IdentityKeyPair.generate();
  const store = await BackendProtocolStore.open(encryptedBackend(inner, KEY), {
    createIdentity: () => ({ identity, registrationId: 77 }),
  });
  const now = Date.now();
  const preKey = PreKeyRecord.generate(1);
  const signed = SignedPreKeyRecord.generate(identity, 2, now);
  const kyber = KyberPreKeyRecord.generate(identity, 3, now, { lastResort: true });
  await store.storePreKey(preKey);
  await store.storeSignedPreKey(signed);
  await store.storeKyberPreKey(kyber);

  // A real session with a peer (through SessionManager, so the commit path is encrypted too).
  const peer = await BackendProtocolStore.open(new MemoryBackend(), {
    createIdentity: () => ({ identity: IdentityKeyPair.generate(), registrationId: 78 }),
  });
  const peerIdentity = peer.getIdentityKeyPair();
  await peer.storeSignedPreKey(SignedPreKeyRecord.generate(peerIdentity, 1, now));
  await peer.storeKyberPreKey(KyberPreKeyRecord.generate(peerIdentity, 1, now));
  const bundle = await createPreKeyBundle(peer, {
    deviceId: 1,
    signedPreKeyId: 1,
    kyberPreKeyId: 1,
  });
  const manager = new SessionManager({ store, localAddress: alice });
  await manager.processPreKeyBundle(bob, bundle);
  await manager.encrypt(bob, new TextEncoder().encode('hi'));
  const session = (await store.loadSession(bob))!;
  return { inner, store, identity, preKey, signed, kyber, session, manager };
}

describe('encryptedBackend: confidentiality', () => {
  it('the inner backend holds no plaintext record bytes and no private key', async () => {
    const p = await populated();
    const plaintexts: [string, Uint8Array][] = [
      ['identity key pair', p.identity.serialize()],
      ['identity private key', p.identity.privateKey.serialize()],
      ['prekey record', p.preKey.serialize()],
      ['prekey private key', p.preKey.keyPair.privateKey.serialize()],
      ['signed prekey record', p.signed.serialize()],
      ['signed prekey private key', p.signed.keyPair.privateKey.serialize()],
      ['kyber prekey record', p.kyber.serialize()],
      ['session record', p.session.serialize()],
    ];
    const all = await dump(p.inner);
    expect(all.size).toBeGreaterThanOrEqual(7);
    const blob = [...all.values()].join('|');
    for (const [what, bytes] of plaintexts) {
      expect(blob.includes(bytesToHex(bytes)), what).toBe(false);
    }
    // No 16-byte window of any secret-bearing record survives, at any byte offset.
    for (const kind of KINDS) {
      for (const id of p.inner.ids(kind)) {
        const sealed = p.inner.get(kind, id)!.bytes;
        for (const [what, bytes] of plaintexts) {
          for (let off = 0; off + 16 <= bytes.length; off += 8) {
            expect(
              indexOfBytes(sealed, bytes.subarray(off, off + 16)),
              `${what} in ${kind}/${id}`,
            ).toBe(-1);
          }
        }
      }
    }
  });

  it('record format: nonce ‖ XChaCha20-Poly1305 with AD "chiffre record v1" 0 kind 0 UTF-8(id)', async () => {
    const inner = new MemoryBackend();
    const backend = encryptedBackend(inner, KEY);
    const id = 'zoë ✓.3';
    const bytes = Uint8Array.of(1, 2, 3);
    await backend.write({ puts: [{ kind: 'session', id, bytes }], deletes: [] });
    const sealed = inner.get('session', id)!.bytes;
    expect(sealed).toHaveLength(3 + 24 + 16);
    const ad = new Uint8Array([
      ...new TextEncoder().encode('chiffre record v1'),
      0,
      ...new TextEncoder().encode('session'),
      0,
      ...new TextEncoder().encode(id),
    ]);
    expect(aeadOpen(KEY, sealed, ad)).toEqual(bytes);
    expect(await backend.get('session', id)).toEqual({ bytes, version: 1 });
  });

  it('versions, counts and ids pass through unchanged', async () => {
    const inner = new MemoryBackend();
    const backend = encryptedBackend(inner, KEY);
    for (let i = 0; i < 3; i++) {
      await backend.write({
        puts: [{ kind: 'prekey', id: '5', bytes: Uint8Array.of(i) }],
        deletes: [],
      });
    }
    expect((await backend.get('prekey', '5'))!.version).toBe(inner.get('prekey', '5')!.version);
    expect((await backend.get('prekey', '5'))!.version).toBe(3);
    expect(await backend.count('prekey')).toBe(1);
    expect(await backend.ids('prekey')).toEqual(['5']);
    await expect(
      backend.write({
        puts: [{ kind: 'prekey', id: '5', bytes: Uint8Array.of(9), expectedVersion: 2 }],
        deletes: [],
      }),
    ).rejects.toMatchObject({ code: 'ERR_CONCURRENT_MODIFICATION' });
    expect(await backend.get('session', 'nobody.1')).toBeNull();
  });
});

describe('encryptedBackend: a wrong key', () => {
  it('fails at open with InvalidRecordError naming the record, and writes nothing', async () => {
    const p = await populated();
    const before = await dump(p.inner);
    let created = 0;
    const e = await BackendProtocolStore.open(encryptedBackend(p.inner, OTHER_KEY), {
      createIdentity: () => {
        created++;
        return { identity: IdentityKeyPair.generate(), registrationId: 1 };
      },
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InvalidRecordError);
    expect(e).toMatchObject({
      code: 'ERR_INVALID_RECORD',
      reason: 'local identity-key-pair: cannot be opened (wrong key or corrupt)',
    });
    expect(created).toBe(0);
    expect(await dump(p.inner)).toEqual(before);
    // The right key still opens everything.
    const again = await BackendProtocolStore.open(encryptedBackend(p.inner, KEY), {
      createIdentity: () => {
        throw new Error('must not be called');
      },
    });
    expect(bytesToHex(again.getIdentityKeyPair().serialize())).toBe(
      bytesToHex(p.identity.serialize()),
    );
    expect(bytesToHex((await again.loadSession(bob))!.serialize())).toBe(
      bytesToHex(p.session.serialize()),
    );
  });

  it('used directly, it refuses every batch that would replace or delete a record it cannot open', async () => {
    const p = await populated();
    const before = await dump(p.inner);
    const wrong = encryptedBackend(p.inner, OTHER_KEY);
    const refused = async (
      batch: Parameters<RecordBackend['write']>[0],
      reason: string,
    ): Promise<void> => {
      const e = await Promise.resolve(wrong.write(batch)).catch((x: unknown) => x);
      expect(isSignalError(e, 'ERR_INVALID_RECORD')).toBe(true);
      expect((e as InvalidRecordError).reason).toBe(reason);
      expect(await dump(p.inner)).toEqual(before);
    };
    const bytes = Uint8Array.of(1);
    await refused(
      { puts: [{ kind: 'session', id: 'bob.1', bytes }], deletes: [] },
      'session bob.1: cannot be opened (wrong key or corrupt)',
    );
    await refused(
      { puts: [], deletes: [{ kind: 'prekey', id: '1' }] },
      'prekey 1: cannot be opened (wrong key or corrupt)',
    );
    // A batch mixing a harmless new record with an overwrite is refused whole.
    await refused(
      {
        puts: [
          { kind: 'prekey', id: '99', bytes },
          { kind: 'local', id: 'identity-key-pair', bytes, expectedVersion: 1 },
        ],
        deletes: [],
      },
      'local identity-key-pair: cannot be opened (wrong key or corrupt)',
    );
    await expect(Promise.resolve(wrong.get('session', 'bob.1'))).rejects.toMatchObject({
      code: 'ERR_INVALID_RECORD',
      reason: 'session bob.1: cannot be opened (wrong key or corrupt)',
    });
    // `expectedVersion: null` cannot overwrite: the inner backend refuses an existing record.
    await expect(
      Promise.resolve(
        wrong.write({
          puts: [{ kind: 'session', id: 'bob.1', bytes, expectedVersion: null }],
          deletes: [],
        }),
      ),
    ).rejects.toMatchObject({ code: 'ERR_CONCURRENT_MODIFICATION' });
    expect(await dump(p.inner)).toEqual(before);
  });

  it('an error names kind and id only: no key, no record bytes', async () => {
    const p = await populated();
    const e = await Promise.resolve(encryptedBackend(p.inner, OTHER_KEY).get('prekey', '1')).catch(
      (x: unknown) => x,
    );
    const rendered = `${String(e)} ${JSON.stringify(e)} ${inspect(e)}`;
    expect(rendered).not.toContain(bytesToHex(OTHER_KEY));
    expect(rendered).not.toContain(bytesToHex(KEY));
    expect(rendered).not.toContain(bytesToHex(p.inner.get('prekey', '1')!.bytes).slice(0, 32));
    expect((e as Error).message).toBe(
      'invalid record: prekey 1: cannot be opened (wrong key or corrupt)',
    );
  });
});

describe('encryptedBackend: altered and moved records', () => {
  it('any flipped byte of a sealed session is ERR_INVALID_RECORD through the store and SessionManager', async () => {
    const p = await populated();
    const sealed = p.inner.get('session', 'bob.1')!.bytes;
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: sealed.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (i, x) => {
          const t = sealed.slice();
          t[i]! ^= x;
          await p.inner.write({ puts: [{ kind: 'session', id: 'bob.1', bytes: t }], deletes: [] });
          await expect(p.store.loadSession(bob)).rejects.toMatchObject({
            code: 'ERR_INVALID_RECORD',
            reason: 'session bob.1: cannot be opened (wrong key or corrupt)',
          });
        },
      ),
      fcParams(30),
    );
    await expect(p.manager.encrypt(bob, Uint8Array.of(1))).rejects.toMatchObject({
      code: 'ERR_INVALID_RECORD',
    });
  });

  it('a truncated or emptied record is ERR_INVALID_RECORD', async () => {
    const p = await populated();
    const sealed = p.inner.get('signed-prekey', '2')!.bytes;
    for (const bytes of [
      sealed.subarray(0, 39),
      sealed.subarray(0, sealed.length - 1),
      new Uint8Array(0),
    ]) {
      await p.inner.write({ puts: [{ kind: 'signed-prekey', id: '2', bytes }], deletes: [] });
      await expect(p.store.loadSignedPreKey(signedPreKeyId(2))).rejects.toMatchObject({
        code: 'ERR_INVALID_RECORD',
        reason: 'signed-prekey 2: cannot be opened (wrong key or corrupt)',
      });
    }
  });

  it('a record moved to another id or kind does not open', async () => {
    const p = await populated();
    const sealed = p.inner.get('session', 'bob.1')!.bytes;
    // Bob's session placed under Mallory's address.
    await p.inner.write({
      puts: [{ kind: 'session', id: 'mallory.1', bytes: sealed }],
      deletes: [],
    });
    await expect(p.store.loadSession(new ProtocolAddress('mallory', 1))).rejects.toMatchObject({
      code: 'ERR_INVALID_RECORD',
      reason: 'session mallory.1: cannot be opened (wrong key or corrupt)',
    });
    // A prekey placed under another prekey id, and under another kind.
    const preKey = p.inner.get('prekey', '1')!.bytes;
    await p.inner.write({
      puts: [
        { kind: 'prekey', id: '2', bytes: preKey },
        { kind: 'signed-prekey', id: '1', bytes: preKey },
      ],
      deletes: [],
    });
    await expect(p.store.loadPreKey(preKeyId(2))).rejects.toMatchObject({
      code: 'ERR_INVALID_RECORD',
    });
    await expect(p.store.loadSignedPreKey(signedPreKeyId(1))).rejects.toMatchObject({
      code: 'ERR_INVALID_RECORD',
    });
    // The original is untouched.
    expect((await p.store.loadPreKey(preKeyId(1)))!.serialize()).toEqual(p.preKey.serialize());
  });
});

describe('encryptedBackend: the key', () => {
  it('is redacted in JSON, String and inspect', () => {
    const backend = encryptedBackend(new MemoryBackend(), KEY);
    const rendered = backend as RecordBackend & { toString(): string };
    const hex = bytesToHex(KEY);
    for (const s of [
      JSON.stringify(backend),
      rendered.toString(),
      inspect(backend),
      inspect(backend, { showHidden: true }),
    ]) {
      expect(s).not.toContain(hex);
      expect(s).not.toContain(String([...KEY.subarray(0, 8)]));
      expect(s).toContain('<redacted>');
    }
  });

  it('is copied: wiping the caller buffer afterwards does not change the key', async () => {
    const inner = new MemoryBackend();
    const key = KEY.slice();
    const backend = encryptedBackend(inner, key);
    await backend.write({
      puts: [{ kind: 'prekey', id: '1', bytes: Uint8Array.of(5) }],
      deletes: [],
    });
    key.fill(0);
    expect((await backend.get('prekey', '1'))!.bytes).toEqual(Uint8Array.of(5));
  });

  it('TypeError / RangeError for misuse', () => {
    const inner = new MemoryBackend();
    expect(() => encryptedBackend(inner, new Uint8Array(16))).toThrow(RangeError);
    expect(() => encryptedBackend(inner, [...KEY] as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => encryptedBackend(null as unknown as RecordBackend, KEY)).toThrow(TypeError);
  });
});

describe('BackendProtocolStore.open on a damaged local identity', () => {
  it('a backend holding only half of the local identity is ERR_INVALID_RECORD, nothing written', async () => {
    const { BackendProtocolStore, MemoryBackend } = await import('../../src/storage/index.js');
    const { IdentityKeyPair } = await import('../../src/index.js');
    const backend = new MemoryBackend();
    await backend.write({
      puts: [{ kind: 'local', id: 'registration-id', bytes: Uint8Array.of(0, 0, 0, 7) }],
      deletes: [],
    });
    let created = 0;
    await expect(
      BackendProtocolStore.open(backend, {
        createIdentity: () => {
          created++;
          return { identity: IdentityKeyPair.generate(), registrationId: 1 };
        },
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_RECORD' });
    expect(created).toBe(0);
    expect(backend.ids('local')).toEqual(['registration-id']);
  });
});
