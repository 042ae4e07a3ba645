/**
 * The browser side of the IndexedDB tests: bundled with esbuild from the real `src/` and loaded
 * into Chromium pages, where {@link install} exposes {@link PageApi} as `globalThis.chiffreIdb`. The Node test
 * (`indexeddb.browser.test.ts`) drives it through playwright-core.
 *
 * Every function resolves when its checks pass and rejects with a message saying what failed.
 */
import {
  openIndexedDbBackend,
  openIndexedDbProtocolStore,
  LockedSessionManager,
  webLocks,
  withWebLock,
  type IndexedDbBackend,
} from '../../src/adapters/indexeddb.js';
import {
  createPreKeyBundle,
  IdentityKeyPair,
  isSignalError,
  KyberPreKeyRecord,
  PreKeyRecord,
  ProtocolAddress,
  SessionManager,
  SignedPreKeyRecord,
} from '../../src/index.js';
import type { BackendProtocolStore, RecordBatch } from '../../src/storage/index.js';
import {
  decodeBundle,
  decodeMessage,
  encodeBundle,
  encodeMessage,
  type Outcome,
  type WireBundle,
  type WireMessage,
} from './indexeddb-wire.js';

// -- helpers -------------------------------------------------------------------------------------

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

function describe(e: unknown): string {
  if (isSignalError(e)) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

async function rejection(what: string, p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error(`${what}: expected a rejection, but it resolved`);
}

async function expectCode(what: string, p: Promise<unknown>, code: string): Promise<unknown> {
  const e = await rejection(what, p);
  check(isSignalError(e) && e.code === code, `${what}: expected ${code}, got ${describe(e)}`);
  return e;
}

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const same = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let unique = 0;
/** A database name no other test uses (the origin's storage outlives a test). */
function dbName(label: string): string {
  return `${label}-${Date.now().toString(36)}-${String(unique++)}-${Math.random().toString(36).slice(2)}`;
}

function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

function idbRequest<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => {
      resolve(req.result);
    };
    req.onerror = () => {
      reject(req.error ?? new Error('request failed'));
    };
  });
}

/** Read every value of an application store with a separate, plain connection. */
async function readAll(name: string, store: string): Promise<unknown[]> {
  const db = await idbRequest(indexedDB.open(name));
  try {
    return await idbRequest(db.transaction([store], 'readonly').objectStore(store).getAll());
  } finally {
    db.close();
  }
}

async function deleteDatabase(name: string): Promise<void> {
  await idbRequest(indexedDB.deleteDatabase(name));
}

const createIdentity = (): { identity: IdentityKeyPair; registrationId: number } => ({
  identity: IdentityKeyPair.generate(),
  registrationId: 1 + Math.floor(Math.random() * 16000),
});

const noNewIdentity = (): never => {
  throw new Error('the store should have loaded the stored identity');
};

/** Publish prekeys `id` into `store` and return the bundle. */
async function publish(store: BackendProtocolStore, id: number): Promise<WireBundle> {
  const identity = store.getIdentityKeyPair();
  const now = Date.now();
  await store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, id, now));
  await store.storeKyberPreKey(KyberPreKeyRecord.generate(identity, id, now));
  await store.storePreKey(PreKeyRecord.generate(id));
  return encodeBundle(
    await createPreKeyBundle(store, {
      deviceId: 1,
      preKeyId: id,
      signedPreKeyId: id,
      kyberPreKeyId: id,
    }),
  );
}

/** `withPlaintext` that files the message in the `inbox` application store. */
function fileInInbox(tab: string): (plaintext: Uint8Array, tx: unknown) => void {
  return (plaintext, tx) => {
    (tx as IDBTransaction)
      .objectStore('inbox')
      .put({ text: text(plaintext), tab }, crypto.randomUUID());
  };
}

// -- adapter checks ------------------------------------------------------------------------------

async function roundTrip(): Promise<void> {
  const b = await openIndexedDbBackend(dbName('round-trip'));
  check((await b.get('session', 'alice.1')) === null, 'a missing record must be null');
  await b.write({
    puts: [
      { kind: 'session', id: 'alice.1', bytes: bytes(1, 2, 3) },
      { kind: 'prekey', id: '7', bytes: bytes(7) },
      { kind: 'prekey', id: '', bytes: bytes(0) },
      { kind: 'prekey', id: 'zoë ✓/\uffff\uffff', bytes: bytes(9) },
      { kind: 'identity', id: 'alice.1', bytes: new Uint8Array(0) },
    ],
    deletes: [],
  });
  const s = await b.get('session', 'alice.1');
  check(s !== null && same(s.bytes, bytes(1, 2, 3)) && s.version === 1, 'session round trip');
  const empty = await b.get('identity', 'alice.1');
  check(empty !== null && empty.bytes.length === 0, 'empty bytes round trip');
  check((await b.get('identity', 'alice.2')) === null, 'other id: null');
  check((await b.get('kyber-prekey', '7')) === null, 'same id, other kind: null');
  const odd = await b.get('prekey', 'zoë ✓/\uffff\uffff');
  check(odd !== null && same(odd.bytes, bytes(9)), 'non-ASCII id round trip');
  const ids = (await b.ids('prekey')).sort();
  check(
    JSON.stringify(ids) === JSON.stringify(['', '7', 'zoë ✓/\uffff\uffff']),
    `ids: ${ids.join()}`,
  );
  check((await b.count('prekey')) === 3 && (await b.count('session')) === 1, 'count');
  check((await b.count('kyber-use')) === 0 && (await b.ids('local')).length === 0, 'empty kind');

  // Versions grow by one per write; a subarray is stored without its surrounding buffer, and
  // mutating the caller's array afterwards changes nothing stored.
  const big = new Uint8Array(4096).fill(0xaa);
  const view = big.subarray(100, 110);
  await b.write({ puts: [{ kind: 'session', id: 'alice.1', bytes: view }], deletes: [] });
  big.fill(0);
  const s2 = await b.get('session', 'alice.1');
  check(s2 !== null && s2.version === 2, 'second write: version 2');
  check(
    s2.bytes.buffer.byteLength === 10,
    `stored buffer is ${String(s2.bytes.buffer.byteLength)} bytes`,
  );
  check(
    s2.bytes.every((x) => x === 0xaa),
    'stored bytes unaffected by a later mutation',
  );

  // Deletes; deleting a missing record without an expectation is fine; a record created again
  // continues its versions (never reused); an empty batch is a no-op.
  await b.write({
    puts: [],
    deletes: [
      { kind: 'prekey', id: '7' },
      { kind: 'prekey', id: 'never-stored' },
    ],
  });
  check((await b.get('prekey', '7')) === null, 'deleted');
  await b.write({ puts: [{ kind: 'prekey', id: '7', bytes: bytes(8) }], deletes: [] });
  check((await b.get('prekey', '7'))?.version === 2, 'a re-created record continues at version 2');
  await b.write({ puts: [], deletes: [] });
  b.close();
}

async function compareAndSwap(): Promise<void> {
  const name = dbName('cas');
  const b = await openIndexedDbBackend(name);
  await b.write({
    puts: [{ kind: 'session', id: 'x', bytes: bytes(1), expectedVersion: null }],
    deletes: [],
  });
  // Expecting absence of an existing record: refused, and the batch's other put is not written.
  const e = await expectCode(
    'create over an existing record',
    b.write({
      puts: [
        { kind: 'prekey', id: '9', bytes: bytes(9) },
        { kind: 'session', id: 'x', bytes: bytes(2), expectedVersion: null },
      ],
      deletes: [{ kind: 'prekey', id: 'other' }],
    }),
    'ERR_CONCURRENT_MODIFICATION',
  );
  check((e as { record?: string }).record === 'session x', 'the error names the record');
  check((await b.get('prekey', '9')) === null, 'nothing of a refused batch is written');
  const s1 = await b.get('session', 'x');
  check(s1 !== null && same(s1.bytes, bytes(1)) && s1.version === 1, 'record unchanged');

  await b.write({
    puts: [{ kind: 'session', id: 'x', bytes: bytes(3), expectedVersion: 1 }],
    deletes: [],
  });
  check((await b.get('session', 'x'))?.version === 2, 'matching expectation: written');
  await expectCode(
    'stale put',
    b.write({
      puts: [{ kind: 'session', id: 'x', bytes: bytes(4), expectedVersion: 1 }],
      deletes: [],
    }),
    'ERR_CONCURRENT_MODIFICATION',
  );
  await expectCode(
    'stale delete',
    b.write({ puts: [], deletes: [{ kind: 'session', id: 'x', expectedVersion: 1 }] }),
    'ERR_CONCURRENT_MODIFICATION',
  );
  await expectCode(
    'expected version of a missing record',
    b.write({
      puts: [{ kind: 'session', id: 'y', bytes: bytes(5), expectedVersion: 1 }],
      deletes: [],
    }),
    'ERR_CONCURRENT_MODIFICATION',
  );
  check((await b.get('session', 'y')) === null, 'missing record still missing');
  const s2 = await b.get('session', 'x');
  check(
    s2 !== null && same(s2.bytes, bytes(3)) && s2.version === 2,
    'refused writes changed nothing',
  );

  // Two connections (as two tabs): a writer holding an old version loses.
  const other = await openIndexedDbBackend(name);
  const seen = await other.get('session', 'x');
  await b.write({
    puts: [{ kind: 'session', id: 'x', bytes: bytes(6), expectedVersion: 2 }],
    deletes: [],
  });
  await expectCode(
    'stale writer on another connection',
    other.write({
      puts: [{ kind: 'session', id: 'x', bytes: bytes(7), expectedVersion: seen?.version ?? null }],
      deletes: [],
    }),
    'ERR_CONCURRENT_MODIFICATION',
  );
  const s3 = await other.get('session', 'x');
  check(s3 !== null && same(s3.bytes, bytes(6)) && s3.version === 3, 'the first writer won');
  await b.write({ puts: [], deletes: [{ kind: 'session', id: 'x', expectedVersion: 3 }] });
  check((await b.get('session', 'x')) === null, 'delete with matching expectation');

  // No ABA: a copy loaded before a delete and a re-create must not match the new record.
  await b.write({
    puts: [{ kind: 'session', id: 'x', bytes: bytes(8), expectedVersion: null }],
    deletes: [],
  });
  check((await b.get('session', 'x'))?.version === 4, 'a re-created record continues at version 4');
  await expectCode(
    'a writer holding version 3 from before the delete',
    other.write({
      puts: [{ kind: 'session', id: 'x', bytes: bytes(9), expectedVersion: 3 }],
      deletes: [],
    }),
    'ERR_CONCURRENT_MODIFICATION',
  );
  // Delete and create in one batch: the new record still gets a fresh version.
  await b.write({
    puts: [{ kind: 'session', id: 'x', bytes: bytes(10) }],
    deletes: [{ kind: 'session', id: 'x', expectedVersion: 4 }],
  });
  const s4 = await b.get('session', 'x');
  check(s4 !== null && s4.version === 5 && same(s4.bytes, bytes(10)), 'delete + put in one batch');

  // Many concurrent compare-and-swap writers on one record: exactly one wins each version.
  await b.write({
    puts: [{ kind: 'session', id: 'z', bytes: bytes(0), expectedVersion: null }],
    deletes: [],
  });
  const results = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) =>
      (i % 2 === 0 ? b : other).write({
        puts: [{ kind: 'session', id: 'z', bytes: bytes(i), expectedVersion: 1 }],
        deletes: [],
      }),
    ),
  );
  check(results.filter((r) => r.status === 'fulfilled').length === 1, 'exactly one writer wins');
  check((await b.get('session', 'z'))?.version === 2, 'one version step');
  b.close();
  other.close();
}

async function applicationWriteAborts(): Promise<void> {
  const name = dbName('app-abort');
  const b = await openIndexedDbBackend(name, { applicationStores: ['inbox'] });
  await b.write({ puts: [{ kind: 'session', id: 's', bytes: bytes(1) }], deletes: [] });
  const boom = new Error('disk full (injected)');
  const e = await rejection(
    'throwing application write',
    b.write({
      puts: [
        { kind: 'session', id: 's', bytes: bytes(2), expectedVersion: 1 },
        { kind: 'prekey', id: '1', bytes: bytes(1) },
      ],
      deletes: [{ kind: 'session', id: 'gone' }],
      applicationWrite: (tx) => {
        (tx as IDBTransaction).objectStore('inbox').put('hello', 'm1');
        throw boom;
      },
    }),
  );
  check(e === boom, `the application's error propagates unchanged, got ${describe(e)}`);
  const s = await b.get('session', 's');
  check(s !== null && same(s.bytes, bytes(1)) && s.version === 1, 'session unchanged');
  check((await b.get('prekey', '1')) === null, 'no put of the batch landed');
  check((await readAll(name, 'inbox')).length === 0, 'the application write was rolled back');

  // A rejected promise from an application write that awaited only its own requests.
  const e2 = await rejection(
    'async application write that rejects',
    b.write({
      puts: [{ kind: 'prekey', id: '2', bytes: bytes(2) }],
      deletes: [],
      applicationWrite: async (tx) => {
        await idbRequest((tx as IDBTransaction).objectStore('inbox').put('x', 'm2'));
        throw boom;
      },
    }),
  );
  check(e2 === boom, 'rejection propagates');
  check((await b.get('prekey', '2')) === null, 'nothing written');
  check((await readAll(name, 'inbox')).length === 0, 'application write rolled back');
  b.close();
}

async function engineFailureMidCommit(): Promise<void> {
  // A request failing inside the transaction (here: a key collision provoked through the
  // application write) aborts the whole batch, as a quota or disk error would.
  const name = dbName('engine-failure');
  const b = await openIndexedDbBackend(name, { applicationStores: ['inbox'] });
  await b.write({ puts: [{ kind: 'session', id: 's', bytes: bytes(1) }], deletes: [] });
  await b.write({
    puts: [],
    deletes: [],
    applicationWrite: (tx) => {
      (tx as IDBTransaction).objectStore('inbox').add('first', 'dup');
    },
  });
  const e = await rejection(
    'batch whose transaction hits a failing request',
    b.write({
      puts: [
        { kind: 'session', id: 's', bytes: bytes(2), expectedVersion: 1 },
        { kind: 'prekey', id: '1', bytes: bytes(1) },
      ],
      deletes: [],
      applicationWrite: (tx) => {
        (tx as IDBTransaction).objectStore('inbox').add('second', 'dup');
      },
    }),
  );
  check(isSignalError(e, 'ERR_STORAGE'), `engine failure: ERR_STORAGE, got ${describe(e)}`);
  const s = await b.get('session', 's');
  check(s !== null && same(s.bytes, bytes(1)) && s.version === 1, 'session unchanged');
  check((await b.get('prekey', '1')) === null, 'nothing of the batch landed');
  b.close();
}

async function applicationWriteLands(): Promise<void> {
  const name = dbName('app-lands');
  const b = await openIndexedDbBackend(name, { applicationStores: ['inbox', 'outbox'] });
  await b.write({
    puts: [{ kind: 'session', id: 's', bytes: bytes(1), expectedVersion: null }],
    deletes: [],
    applicationWrite: (tx) => {
      (tx as IDBTransaction).objectStore('inbox').put('hello', 'm1');
    },
  });
  check((await b.get('session', 's'))?.version === 1, 'record written');
  check(JSON.stringify(await readAll(name, 'inbox')) === '["hello"]', 'application write landed');

  // An application write may await requests of its own transaction (promise wrappers).
  await b.write({
    puts: [{ kind: 'session', id: 's', bytes: bytes(2), expectedVersion: 1 }],
    deletes: [],
    applicationWrite: async (tx) => {
      const t = tx as IDBTransaction;
      const count = await idbRequest(t.objectStore('inbox').count());
      await idbRequest(t.objectStore('outbox').put(`inbox had ${String(count)}`, 'o1'));
      t.objectStore('inbox').put('world', 'm2');
    },
  });
  check((await b.get('session', 's'))?.version === 2, 'record written after an async app write');
  check((await readAll(name, 'inbox')).length === 2, 'inbox has both');
  check(JSON.stringify(await readAll(name, 'outbox')) === '["inbox had 1"]', 'outbox written');
  b.close();
}

async function applicationWriteMisuse(): Promise<void> {
  // Awaiting a timer lets IndexedDB commit the transaction; the batch must then not be
  // reported as written (and is not): the ratchet step is lost, never the message.
  const name = dbName('app-misuse');
  const b = await openIndexedDbBackend(name, { applicationStores: ['inbox'] });
  const e = await rejection(
    'application write awaiting a timer',
    b.write({
      puts: [{ kind: 'session', id: 's', bytes: bytes(1), expectedVersion: null }],
      deletes: [],
      applicationWrite: async () => {
        await sleep(20);
      },
    }),
  );
  check(isSignalError(e, 'ERR_STORAGE'), `misuse: ERR_STORAGE, got ${describe(e)}`);
  check((await b.get('session', 's')) === null, 'the batch was not written');
  b.close();
}

async function schemaUpgrade(): Promise<void> {
  const name = dbName('upgrade');
  const calls: number[] = [];
  const v0 = await openIndexedDbBackend(name, {
    upgrade: (_db, _tx, old) => calls.push(old),
  });
  check(JSON.stringify(calls) === '[0]', `new database: upgrade(0), got ${JSON.stringify(calls)}`);
  await v0.write({ puts: [{ kind: 'session', id: 's', bytes: bytes(1) }], deletes: [] });

  // Newer code (another tab) adds an application store while v0's connection is open: v0
  // closes on `versionchange`, the upgrade runs, and the records survive.
  const v1 = await openIndexedDbBackend(name, {
    applicationVersion: 1,
    applicationStores: ['inbox'],
    upgrade: (db, _tx, old) => {
      calls.push(old);
      check(!(db as IDBDatabase).objectStoreNames.contains('inbox'), 'store created after upgrade');
    },
  });
  check(
    JSON.stringify(calls) === '[0,0]',
    `upgrade from application version 0: ${JSON.stringify(calls)}`,
  );
  const s = await v1.get('session', 's');
  check(s !== null && s.version === 1 && same(s.bytes, bytes(1)), 'records survive the upgrade');
  await v1.write({
    puts: [{ kind: 'session', id: 's', bytes: bytes(2), expectedVersion: 1 }],
    deletes: [],
    applicationWrite: (tx) => {
      (tx as IDBTransaction).objectStore('inbox').put('m', 'k');
    },
  });
  // The old code's connection was closed for the upgrade; reopening with its older version
  // is refused with a typed error instead of running on a schema it does not know.
  await expectCode('older code on a newer database', v0.get('session', 's'), 'ERR_INVALID_RECORD');
  await expectCode(
    'open with an older application version',
    openIndexedDbBackend(name),
    'ERR_INVALID_RECORD',
  );
  // Same version again: no upgrade call.
  const again = await openIndexedDbBackend(name, {
    applicationVersion: 1,
    applicationStores: ['inbox'],
    upgrade: (_db, _tx, old) => calls.push(old),
  });
  check(calls.length === 2, 'no upgrade at the same version');
  check((await again.get('session', 's'))?.version === 2, 'data visible to a new connection');

  // A store listed without raising the version cannot be created: a clear error.
  await expectCode(
    'new application store without a version bump',
    openIndexedDbBackend(name, { applicationVersion: 1, applicationStores: ['inbox', 'drafts'] }),
    'ERR_STORAGE',
  );
  // A failing upgrade aborts: the open rejects with its error and the database is unchanged.
  const boom = new Error('upgrade failed (injected)');
  const e = await rejection(
    'throwing upgrade',
    openIndexedDbBackend(name, {
      applicationVersion: 2,
      applicationStores: ['inbox', 'drafts'],
      upgrade: () => {
        throw boom;
      },
    }),
  );
  check(e === boom, `upgrade error propagates, got ${describe(e)}`);
  const after = await openIndexedDbBackend(name, {
    applicationVersion: 1,
    applicationStores: ['inbox'],
  });
  check((await after.get('session', 's'))?.version === 2, 'still at version 1, data intact');
  again.close();
  after.close();
  v1.close();
}

async function deletedDatabase(): Promise<void> {
  // Another tab deletes the database (a logout): this connection closes so the deletion can
  // proceed, and later calls fail instead of recreating an empty database.
  const name = dbName('deleted');
  const b = await openIndexedDbBackend(name);
  await b.write({ puts: [{ kind: 'local', id: 'x', bytes: bytes(1) }], deletes: [] });
  await deleteDatabase(name);
  await expectCode('use after deletion', b.get('local', 'x'), 'ERR_STORAGE');
  await expectCode(
    'write after deletion',
    b.write({ puts: [{ kind: 'local', id: 'x', bytes: bytes(2) }], deletes: [] }),
    'ERR_STORAGE',
  );
  const dbs = await indexedDB.databases();
  check(!dbs.some((d) => d.name === name), 'the database was not recreated');
}

async function webLockSerializes(): Promise<void> {
  check(webLocks() !== undefined, 'Chromium has navigator.locks');
  const measure = async (locks: null | undefined): Promise<number> => {
    const lockName = `chiffre-test:${dbName('lock')}`;
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        withWebLock(
          lockName,
          async () => {
            inside++;
            most = Math.max(most, inside);
            await sleep(10);
            inside--;
          },
          locks,
        ),
      ),
    );
    return most;
  };
  check((await measure(undefined)) === 1, 'with navigator.locks: one at a time');
  check((await measure(null)) > 1, 'without a lock manager: concurrent');
}

// -- a conversation on IndexedDB, and durability across a reload -----------------------------------

interface Party {
  readonly store: BackendProtocolStore;
  readonly manager: LockedSessionManager;
  readonly address: ProtocolAddress;
}

async function openParty(
  db: string,
  name: string,
  create: typeof createIdentity | typeof noNewIdentity,
): Promise<Party> {
  const store = await openIndexedDbProtocolStore(db, {
    applicationStores: ['inbox'],
    applicationVersion: 1,
    createIdentity: create,
  });
  const address = new ProtocolAddress(name, 1);
  const manager = new LockedSessionManager(new SessionManager({ store, localAddress: address }), {
    scope: db,
  });
  return { store, manager, address };
}

async function deliver(to: Party, from: Party, m: WireMessage, expected: string): Promise<void> {
  const got = text(
    await to.manager.decrypt(from.address, decodeMessage(m), {
      withPlaintext: fileInInbox('main'),
    }),
  );
  check(got === expected, `expected "${expected}", decrypted "${got}"`);
}

async function send(from: Party, to: Party, t: string): Promise<WireMessage> {
  return encodeMessage(await from.manager.encrypt(to.address, utf8(t)));
}

async function inboxTexts(db: string): Promise<string[]> {
  return (await readAll(db, 'inbox')).map((v) => (v as { text: string }).text).sort();
}

/** Start a conversation; returns identities and two messages left undelivered for later. */
async function conversationStart(
  prefix: string,
  aliceName: string,
  bobName: string,
): Promise<{ alice: string; bob: string; pending: WireMessage[] }> {
  const alice = await openParty(`${prefix}-alice`, aliceName, createIdentity);
  const bob = await openParty(`${prefix}-bob`, bobName, createIdentity);
  check(bob.manager.crossTab, 'Web Locks in use');
  const bundle = await publish(bob.store, 1);
  await alice.manager.processPreKeyBundle(bob.address, decodeBundle(bundle));

  const first = await send(alice, bob, 'a0');
  check(first.type === 'prekey', 'the first message is a prekey message');
  await deliver(bob, alice, first, 'a0');
  check((await bob.store.countPreKeys()) === 0, 'the one-time prekey was consumed');
  await deliver(alice, bob, await send(bob, alice, 'b0'), 'b0');

  // Out of order, a duplicate, and a failing application write that loses nothing.
  const batch: WireMessage[] = [];
  for (let i = 1; i <= 5; i++) batch.push(await send(alice, bob, `a${String(i)}`));
  check(
    batch.every((m) => m.type === 'whisper'),
    'acknowledged: whisper messages',
  );
  for (const i of [3, 1, 5])
    await deliver(bob, alice, batch[i - 1] as WireMessage, `a${String(i)}`);
  await expectCode(
    'duplicate delivery',
    bob.manager.decrypt(alice.address, decodeMessage(batch[0] as WireMessage)),
    'ERR_DUPLICATE_MESSAGE',
  );
  const inboxFull = new Error('inbox full (injected)');
  const failure = await rejection(
    'a failing application write',
    bob.manager.decrypt(alice.address, decodeMessage(batch[1] as WireMessage), {
      withPlaintext: () => {
        throw inboxFull;
      },
    }),
  );
  check(failure === inboxFull, `decrypt rejects with the app's error, got ${describe(failure)}`);
  for (const i of [2, 4]) await deliver(bob, alice, batch[i - 1] as WireMessage, `a${String(i)}`);

  const b1 = await send(bob, alice, 'b1');
  const b2 = await send(bob, alice, 'b2');
  await deliver(alice, bob, b2, 'b2');
  await deliver(alice, bob, b1, 'b1');
  const pending = [await send(alice, bob, 'p1'), await send(alice, bob, 'p2')];
  const expected = ['a0', 'a1', 'a2', 'a3', 'a4', 'a5'];
  const inbox = await inboxTexts(`${prefix}-bob`);
  check(JSON.stringify(inbox) === JSON.stringify(expected), `bob's inbox: ${inbox.join()}`);
  return {
    alice: alice.store.getIdentityKeyPair().publicKey.toHex(),
    bob: bob.store.getIdentityKeyPair().publicKey.toHex(),
    pending,
  };
}

/** After a reload: re-open both stores and continue where {@link conversationStart} stopped. */
async function conversationContinue(
  prefix: string,
  aliceName: string,
  bobName: string,
  identities: { alice: string; bob: string },
  pending: WireMessage[],
): Promise<void> {
  const alice = await openParty(`${prefix}-alice`, aliceName, noNewIdentity);
  const bob = await openParty(`${prefix}-bob`, bobName, noNewIdentity);
  check(alice.store.getIdentityKeyPair().publicKey.toHex() === identities.alice, 'alice identity');
  check(bob.store.getIdentityKeyPair().publicKey.toHex() === identities.bob, 'bob identity');
  check(await bob.manager.hasSession(alice.address), 'bob still has the session');
  await deliver(bob, alice, pending[1] as WireMessage, 'p2');
  await deliver(bob, alice, pending[0] as WireMessage, 'p1');
  for (let i = 0; i < 3; i++) {
    await deliver(
      alice,
      bob,
      await send(bob, alice, `after reload b${String(i)}`),
      `after reload b${String(i)}`,
    );
    await deliver(
      bob,
      alice,
      await send(alice, bob, `after reload a${String(i)}`),
      `after reload a${String(i)}`,
    );
  }
  const inbox = await inboxTexts(`${prefix}-bob`);
  check(inbox.length === 11, `bob's inbox holds every message once: ${inbox.join()}`);
  await expectCode(
    'a message from before the reload is a duplicate now',
    bob.manager.decrypt(alice.address, decodeMessage(pending[0] as WireMessage)),
    'ERR_DUPLICATE_MESSAGE',
  );
}

// -- two tabs, one party -------------------------------------------------------------------------

interface Tab {
  readonly db: string;
  readonly store: BackendProtocolStore;
  readonly manager: LockedSessionManager | SessionManager;
  readonly alice: ProtocolAddress;
  readonly label: string;
  /** Compare-and-swap refusals seen by this tab's backend (retried by SessionManager). */
  conflicts: number;
  /** `ERR_CONCURRENT_MODIFICATION` that reached the app (its retries ran out); retried here. */
  surfaced: number;
}

let tab: Tab | undefined;

function currentTab(): Tab {
  check(tab !== undefined, 'tabOpen first');
  return tab;
}

/** Open bob's store in this tab; `lock`: cross-tab Web Locks, or version checks only. */
async function tabOpen(
  db: string,
  bobName: string,
  aliceName: string,
  label: string,
  lock: boolean,
): Promise<string> {
  const store = await openIndexedDbProtocolStore(db, {
    applicationStores: ['inbox'],
    applicationVersion: 1,
    createIdentity,
  });
  const backend = store.backend as IndexedDbBackend;
  const write = backend.write.bind(backend);
  const manager = new SessionManager({ store, localAddress: new ProtocolAddress(bobName, 1) });
  const t: Tab = {
    db,
    store,
    manager: lock ? new LockedSessionManager(manager, { scope: db }) : manager,
    alice: new ProtocolAddress(aliceName, 1),
    label,
    conflicts: 0,
    surfaced: 0,
  };
  // Count compare-and-swap refusals (evidence that the tabs really raced).
  (backend as { write: (batch: RecordBatch) => Promise<void> }).write = async (batch) => {
    try {
      await write(batch);
    } catch (e) {
      if (isSignalError(e, 'ERR_CONCURRENT_MODIFICATION')) t.conflicts++;
      throw e;
    }
  };
  tab = t;
  return store.getIdentityKeyPair().publicKey.toHex();
}

async function tabPublish(id: number): Promise<WireBundle> {
  return publish(currentTab().store, id);
}

/** Retry an operation the app sees fail with `ERR_CONCURRENT_MODIFICATION` (nothing written). */
async function persist<T>(t: Tab, op: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (!isSignalError(e, 'ERR_CONCURRENT_MODIFICATION') || attempt >= 50) throw e;
      t.surfaced++;
      await sleep(Math.random() * 5);
    }
  }
}

/** Decrypt every message, in a random order, all at once. Outcomes in the input order. */
async function tabDeliver(messages: WireMessage[]): Promise<Outcome[]> {
  const t = currentTab();
  const outcomes: Outcome[] = new Array<Outcome>(messages.length);
  await Promise.all(
    shuffle(messages.map((m, i) => [m, i] as const)).map(async ([m, i]) => {
      try {
        const p = await persist(t, () =>
          t.manager.decrypt(t.alice, decodeMessage(m), { withPlaintext: fileInInbox(t.label) }),
        );
        outcomes[i] = { text: text(p) };
      } catch (e) {
        outcomes[i] = { code: isSignalError(e) ? e.code : describe(e) };
      }
    }),
  );
  return outcomes;
}

/** Encrypt `texts` to alice, all at once. */
async function tabEncrypt(texts: string[]): Promise<WireMessage[]> {
  const t = currentTab();
  return Promise.all(
    texts.map(async (s) =>
      encodeMessage(await persist(t, () => t.manager.encrypt(t.alice, utf8(s)))),
    ),
  );
}

async function tabInbox(): Promise<{ text: string; tab: string }[]> {
  return (await readAll(currentTab().db, 'inbox')) as { text: string; tab: string }[];
}

function tabStats(): { conflicts: number; surfaced: number; crossTab: boolean } {
  const t = currentTab();
  return {
    conflicts: t.conflicts,
    surfaced: t.surfaced,
    crossTab: t.manager instanceof LockedSessionManager && t.manager.crossTab,
  };
}

// -- the API the Node side calls -----------------------------------------------------------------

const api = {
  checks: {
    roundTrip,
    compareAndSwap,
    applicationWriteAborts,
    engineFailureMidCommit,
    applicationWriteLands,
    applicationWriteMisuse,
    schemaUpgrade,
    deletedDatabase,
    webLockSerializes,
  },
  conversationStart,
  conversationContinue,
  tabOpen,
  tabPublish,
  tabDeliver,
  tabEncrypt,
  tabInbox,
  tabStats,
  deleteDatabase,
};

/** What `globalThis.chiffreIdb` offers. */
export type PageApi = typeof api;

/** Expose {@link api} as `globalThis.chiffreIdb` (called by the bundle's entry). */
export function install(): void {
  (globalThis as unknown as { chiffreIdb: PageApi }).chiffreIdb = api;
}
