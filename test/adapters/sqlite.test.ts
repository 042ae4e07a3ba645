/**
 * The SQLite adapter (`chiffre/storage/sqlite`) on real database files: the backend contract
 * (round trips, null for missing, versions, compare-and-swap, atomic batches, the application
 * write), the schema and its migrations, damaged rows, and failing drivers (closed, read-only,
 * busy, full disk) seen through SessionManager as typed errors with nothing lost.
 */
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  openSqliteBackend,
  openSqliteProtocolStore,
  SQLITE_SCHEMA_VERSION,
  SqliteBackend,
  sqliteBackendOf,
  withSqliteTransaction,
} from '../../src/adapters/sqlite.js';
import {
  type CiphertextMessage,
  ConcurrencyError,
  IdentityKeyPair,
  isSignalError,
  SessionManager,
  type SignalErrorCode,
} from '../../src/index.js';
import type { RecordBatch } from '../../src/storage/index.js';
import {
  dumpRecords,
  establishSqlite,
  openSqliteParty,
  repoRoot,
  type SqliteParty,
  tempDir,
  text,
  utf8,
} from './helpers.js';

let dir: string;
let cleanup: () => void;
const open: { close(): unknown; open?: boolean }[] = [];

beforeEach(() => {
  ({ dir, cleanup } = tempDir('sqlite'));
});
afterEach(() => {
  for (const c of open.splice(0)) if (c.open !== false) c.close();
  cleanup();
});

function database(name = 'test.db', options?: Database.Options): Database.Database {
  const db = new Database(path.join(dir, name), options);
  open.push(db);
  return db;
}

async function backendOn(db: Database.Database): Promise<SqliteBackend> {
  return openSqliteBackend(db);
}

async function party(name: string): Promise<SqliteParty> {
  const p = await openSqliteParty(dir, name);
  open.push({
    close: () => {
      p.close();
    },
  });
  return p;
}

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

async function caught(op: () => unknown): Promise<unknown> {
  try {
    await op();
  } catch (e) {
    return e;
  }
  return expect.fail('expected the operation to fail');
}

async function expectCode(op: () => unknown, code: SignalErrorCode): Promise<Error> {
  const e = await caught(op);
  if (!isSignalError(e, code)) {
    expect.fail(
      `expected ${code}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
  }
  return e;
}

describe('SqliteBackend: the RecordBackend contract', () => {
  it('round-trips bytes as plain Uint8Array copies; null for a missing record', async () => {
    const b = await backendOn(database());
    expect(b.get('session', 'alice.1')).toBeNull();
    b.write({ puts: [{ kind: 'session', id: 'alice.1', bytes: bytes(1, 2, 3) }], deletes: [] });
    const r = b.get('session', 'alice.1');
    expect(r).toEqual({ bytes: bytes(1, 2, 3), version: 1 });
    expect(Object.getPrototypeOf(r?.bytes)).toBe(Uint8Array.prototype);
    r?.bytes.fill(0);
    expect(b.get('session', 'alice.1')?.bytes).toEqual(bytes(1, 2, 3));
    expect(b.get('identity', 'alice.1')).toBeNull();
    // Empty records are records.
    b.write({ puts: [{ kind: 'kyber-use', id: 'x', bytes: new Uint8Array(0) }], deletes: [] });
    expect(b.get('kyber-use', 'x')).toEqual({ bytes: new Uint8Array(0), version: 1 });
  });

  it('versions: 1 on the first write, +1 on every write; count and ids per kind', async () => {
    const b = await backendOn(database());
    for (let i = 1; i <= 3; i++) {
      b.write({ puts: [{ kind: 'prekey', id: '7', bytes: bytes(i) }], deletes: [] });
      expect(b.get('prekey', '7')).toEqual({ bytes: bytes(i), version: i });
    }
    b.write({
      puts: [
        { kind: 'prekey', id: '8', bytes: bytes(8) },
        { kind: 'signed-prekey', id: '7', bytes: bytes(9) },
      ],
      deletes: [],
    });
    expect(b.count('prekey')).toBe(2);
    expect(b.ids('prekey').sort()).toEqual(['7', '8']);
    expect(b.count('kyber-prekey')).toBe(0);
    expect(b.ids('kyber-prekey')).toEqual([]);
    b.write({
      puts: [],
      deletes: [
        { kind: 'prekey', id: '7' },
        { kind: 'prekey', id: '99' },
      ],
    });
    expect(b.get('prekey', '7')).toBeNull();
    expect(b.ids('prekey')).toEqual(['8']);
  });

  it('compare-and-swap: any stale expectation refuses the whole batch with ConcurrencyError', async () => {
    const db = database();
    const b = await backendOn(db);
    b.write({
      puts: [{ kind: 'session', id: 's', bytes: bytes(1), expectedVersion: null }],
      deletes: [],
    });
    b.write({
      puts: [{ kind: 'session', id: 's', bytes: bytes(2), expectedVersion: 1 }],
      deletes: [],
    });
    const before = dumpRecords(db);
    const stale: RecordBatch[] = [
      { puts: [{ kind: 'session', id: 's', bytes: bytes(3), expectedVersion: 1 }], deletes: [] },
      { puts: [{ kind: 'session', id: 's', bytes: bytes(3), expectedVersion: null }], deletes: [] },
      { puts: [{ kind: 'session', id: 'new', bytes: bytes(3), expectedVersion: 1 }], deletes: [] },
      {
        // The failing check comes last: the first put must not have been applied either.
        puts: [
          { kind: 'identity', id: 'i', bytes: bytes(4) },
          { kind: 'session', id: 's', bytes: bytes(3), expectedVersion: 5 },
        ],
        deletes: [{ kind: 'prekey', id: '1' }],
      },
      {
        puts: [{ kind: 'identity', id: 'i', bytes: bytes(4) }],
        deletes: [{ kind: 'session', id: 's', expectedVersion: 1 }],
      },
    ];
    for (const batch of stale) {
      const e = await caught(() => {
        b.write(batch);
      });
      expect(e).toBeInstanceOf(ConcurrencyError);
      expect(e).toMatchObject({ code: 'ERR_CONCURRENT_MODIFICATION' });
      expect(dumpRecords(db)).toEqual(before);
    }
    expect(
      (
        (await caught(() => {
          b.write(stale[0] as RecordBatch);
        })) as Error
      ).message,
    ).toBe('session s was modified concurrently');
    // The right expectations pass, deletes included.
    b.write({ puts: [], deletes: [{ kind: 'session', id: 's', expectedVersion: 2 }] });
    expect(b.get('session', 's')).toBeNull();
    b.write({
      puts: [{ kind: 'session', id: 's', bytes: bytes(5), expectedVersion: null }],
      deletes: [],
    });
    // Re-created above the deleted version 2: a copy loaded before the delete cannot match.
    expect(b.get('session', 's')?.version).toBe(3);
  });

  it('versions never repeat across a delete (no ABA), and storing over a damaged version repairs it', async () => {
    const db = database();
    const b = await backendOn(db);
    const put = (id: string, v?: number | null): void => {
      b.write({
        puts: [{ kind: 'session', id, bytes: bytes(1), expectedVersion: v }],
        deletes: [],
      });
    };
    put('a');
    put('a');
    put('b');
    const stale = b.get('session', 'a')?.version; // 2
    b.write({ puts: [], deletes: [{ kind: 'session', id: 'a' }] });
    put('a'); // 3
    put('c'); // 3: above every deleted version
    expect([
      b.get('session', 'a')?.version,
      b.get('session', 'b')?.version,
      b.get('session', 'c')?.version,
    ]).toEqual([3, 1, 3]);
    put('a'); // 4
    b.write({ puts: [], deletes: [{ kind: 'session', id: 'a' }] });
    put('a'); // 5
    await expectCode(() => {
      put('a', stale);
    }, 'ERR_CONCURRENT_MODIFICATION');
    put('a', 5);
    expect(b.get('session', 'a')?.version).toBe(6);
    // The versions survive a reopen.
    const again = await backendOn(database());
    b.write({ puts: [], deletes: [{ kind: 'session', id: 'a' }] });
    again.write({ puts: [{ kind: 'session', id: 'a', bytes: bytes(2) }], deletes: [] });
    expect(again.get('session', 'a')?.version).toBe(7);
  });

  it('compare-and-swap across two connections to one file', async () => {
    const b1 = await backendOn(database());
    const b2 = await backendOn(database());
    b1.write({ puts: [{ kind: 'session', id: 's', bytes: bytes(1) }], deletes: [] });
    const seen = b2.get('session', 's');
    expect(seen?.version).toBe(1);
    b1.write({
      puts: [{ kind: 'session', id: 's', bytes: bytes(2), expectedVersion: 1 }],
      deletes: [],
    });
    await expectCode(() => {
      b2.write({
        puts: [{ kind: 'session', id: 's', bytes: bytes(3), expectedVersion: 1 }],
        deletes: [],
      });
    }, 'ERR_CONCURRENT_MODIFICATION');
    expect(b2.get('session', 's')).toEqual({ bytes: bytes(2), version: 2 });
  });

  it('a driver failure in the middle of a batch (a trigger aborting the third put) writes nothing', async () => {
    const db = database();
    const b = await backendOn(db);
    b.write({ puts: [{ kind: 'session', id: 'a', bytes: bytes(1) }], deletes: [] });
    db.exec(`CREATE TRIGGER poison BEFORE INSERT ON chiffre_records WHEN NEW.id = 'poison'
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    const before = dumpRecords(db);
    let appWriteRan = false;
    const e = await caught(() => {
      b.write({
        puts: [
          { kind: 'session', id: 'a', bytes: bytes(2), expectedVersion: 1 },
          { kind: 'identity', id: 'b', bytes: bytes(3) },
          { kind: 'prekey', id: 'poison', bytes: bytes(4) },
          { kind: 'prekey', id: 'after', bytes: bytes(5) },
        ],
        deletes: [{ kind: 'session', id: 'a-other' }],
        applicationWrite: () => {
          appWriteRan = true;
        },
      });
    });
    expect(e).toMatchObject({ code: 'SQLITE_CONSTRAINT_TRIGGER', message: 'injected failure' });
    expect(appWriteRan).toBe(false);
    expect(dumpRecords(db)).toEqual(before);
    expect(db.inTransaction).toBe(false);
    // The connection is still usable.
    b.write({ puts: [{ kind: 'prekey', id: 'fine', bytes: bytes(6) }], deletes: [] });
    expect(b.get('prekey', 'fine')?.version).toBe(1);
  });

  describe('the application write', () => {
    async function withApp(): Promise<{ db: Database.Database; b: SqliteBackend }> {
      const db = database();
      db.exec('CREATE TABLE inbox (body BLOB)');
      return { db, b: await backendOn(db) };
    }
    const inbox = (db: Database.Database): number =>
      (db.prepare('SELECT count(*) AS n FROM inbox').get() as { n: number }).n;

    it('runs inside the transaction, with the connection, after the checks and the writes', async () => {
      const { db, b } = await withApp();
      let seen: unknown;
      b.write({
        puts: [{ kind: 'session', id: 's', bytes: bytes(1), expectedVersion: null }],
        deletes: [],
        applicationWrite: (tx) => {
          seen = tx;
          expect(db.inTransaction).toBe(true);
          // The batch is already visible inside the transaction.
          expect(db.prepare('SELECT version FROM chiffre_records WHERE id = ?').get('s')).toEqual({
            version: 1,
          });
          db.prepare('INSERT INTO inbox VALUES (?)').run(bytes(9));
        },
      });
      expect(seen).toBe(db);
      expect(inbox(db)).toBe(1);
      expect(b.get('session', 's')?.version).toBe(1);
    });

    it('is not run when a check fails; when it throws, nothing of the batch is kept', async () => {
      const { db, b } = await withApp();
      let ran = false;
      await expectCode(() => {
        b.write({
          puts: [{ kind: 'session', id: 's', bytes: bytes(1), expectedVersion: 3 }],
          deletes: [],
          applicationWrite: () => {
            ran = true;
          },
        });
      }, 'ERR_CONCURRENT_MODIFICATION');
      expect(ran).toBe(false);
      const boom = new Error('app failed');
      const e = await caught(() => {
        b.write({
          puts: [{ kind: 'session', id: 's', bytes: bytes(1) }],
          deletes: [],
          applicationWrite: (tx) => {
            (tx as Database.Database).prepare('INSERT INTO inbox VALUES (?)').run(bytes(1));
            throw boom;
          },
        });
      });
      expect(e).toBe(boom);
      expect(inbox(db)).toBe(0);
      expect(dumpRecords(db).size).toBe(0);
    });

    it('returning a promise rolls everything back with a TypeError (no transaction spans an await)', async () => {
      const { db, b } = await withApp();
      const e = await caught(() => {
        b.write({
          puts: [{ kind: 'session', id: 's', bytes: bytes(1) }],
          deletes: [],
          applicationWrite: async (tx) => {
            (tx as Database.Database).prepare('INSERT INTO inbox VALUES (?)').run(bytes(1));
            await Promise.resolve();
          },
        });
      });
      expect(e).toBeInstanceOf(TypeError);
      expect((e as Error).message).toMatch(/cannot span an await/);
      expect(inbox(db)).toBe(0);
      expect(dumpRecords(db).size).toBe(0);
    });
  });

  it('joins a transaction the application already opened (as a savepoint)', async () => {
    const db = database();
    const b = await backendOn(db);
    db.exec('BEGIN IMMEDIATE');
    b.write({ puts: [{ kind: 'session', id: 's', bytes: bytes(1) }], deletes: [] });
    db.exec('ROLLBACK');
    expect(b.get('session', 's')).toBeNull();
  });

  it('rejects wrong argument types with TypeError', async () => {
    const b = await backendOn(database());
    expect(() => b.get(1 as never, 'x')).toThrow(TypeError);
    expect(() => {
      b.write({ puts: [{ kind: 'session', id: 's', bytes: 'x' as never }], deletes: [] });
    }).toThrow(TypeError);
    expect(() => {
      b.write(null as never);
    }).toThrow(TypeError);
    expect(b.get('session', 's')).toBeNull();
  });
});

describe('connection and schema', () => {
  it('a new file: WAL, busy_timeout, synchronous FULL, schema at the current version', async () => {
    const file = path.join(dir, 'new.db');
    const b = await openSqliteBackend(file, { busyTimeoutMs: 1234 });
    const db = b.database as unknown as Database.Database;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(SQLITE_SCHEMA_VERSION).toBe(1);
    expect(db.prepare('SELECT key, value FROM chiffre_meta ORDER BY key').all()).toEqual([
      { key: 'deleted_version', value: 0 },
      { key: 'schema_version', value: 1 },
    ]);
    const columns = db.prepare('PRAGMA table_info(chiffre_records)').all() as {
      name: string;
      type: string;
      pk: number;
    }[];
    expect(columns.map((c) => [c.name, c.type, c.pk])).toEqual([
      ['kind', 'TEXT', 1],
      ['id', 'TEXT', 2],
      ['version', 'INTEGER', 0],
      ['bytes', 'BLOB', 0],
    ]);
    b.write({ puts: [{ kind: 'session', id: 's', bytes: bytes(1) }], deletes: [] });
    b.close();
    expect(db.open).toBe(false);
    // Reopened: same data, no migration re-run.
    const again = await openSqliteBackend(file);
    expect(again.get('session', 's')).toEqual({ bytes: bytes(1), version: 1 });
    again.close();
  });

  it('a shared Database stays open and keeps its PRAGMA user_version and tables', async () => {
    const db = database('app.db');
    db.exec('CREATE TABLE messages (body TEXT)');
    db.pragma('user_version = 42');
    const b = await openSqliteBackend(db);
    b.close();
    expect(db.open).toBe(true);
    expect(db.pragma('user_version', { simple: true })).toBe(42);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(
      db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`).pluck().all(),
    ).toEqual(['chiffre_meta', 'chiffre_records', 'messages']);
    // The synchronous form does the same.
    expect(SqliteBackend.fromDatabase(db).get('session', 'x')).toBeNull();
  });

  it('migrates an empty file in one transaction; two connections opening at once both succeed', async () => {
    const a = database('race.db');
    const b = database('race.db');
    const [ba, bb] = await Promise.all([openSqliteBackend(a), openSqliteBackend(b)]);
    ba.write({ puts: [{ kind: 'session', id: 's', bytes: bytes(1) }], deletes: [] });
    expect(bb.get('session', 's')?.version).toBe(1);
    expect(a.prepare('SELECT count(*) AS n FROM chiffre_meta').get()).toEqual({ n: 2 });
  });

  it('refuses a database of a newer schema version with ERR_INVALID_RECORD, leaving it untouched', async () => {
    const file = path.join(dir, 'future.db');
    (await openSqliteBackend(file)).close();
    const raw = database('future.db');
    raw
      .prepare(`UPDATE chiffre_meta SET value = ? WHERE key = 'schema_version'`)
      .run(SQLITE_SCHEMA_VERSION + 6);
    const e = await expectCode(() => openSqliteBackend(file), 'ERR_INVALID_RECORD');
    expect(e.message).toBe(
      `invalid record: sqlite schema version ${String(SQLITE_SCHEMA_VERSION + 6)} is newer than this chiffre supports (${String(SQLITE_SCHEMA_VERSION)})`,
    );
    await expectCode(
      () =>
        openSqliteProtocolStore(raw, {
          createIdentity: () => ({ identity: IdentityKeyPair.generate(), registrationId: 1 }),
        }),
      'ERR_INVALID_RECORD',
    );
    expect(
      raw.prepare(`SELECT value FROM chiffre_meta WHERE key = 'schema_version'`).pluck().get(),
    ).toBe(SQLITE_SCHEMA_VERSION + 6);
    expect(raw.prepare('SELECT count(*) FROM chiffre_records').pluck().get()).toBe(0);
    // A damaged schema row is refused the same way.
    raw.prepare(`UPDATE chiffre_meta SET value = 'x' WHERE key = 'schema_version'`).run();
    const damaged = await expectCode(() => openSqliteBackend(file), 'ERR_INVALID_RECORD');
    expect(damaged.message).toBe('invalid record: sqlite schema version: corrupt');
  });

  it('a file that is not a database → ERR_STORAGE on open, with the driver error as cause', async () => {
    const file = path.join(dir, 'junk.db');
    writeFileSync(file, 'this is not a database, just some text that is long enough'.repeat(50));
    const e = await expectCode(() => openSqliteBackend(file), 'ERR_STORAGE');
    expect(e.message).toBe('storage operation failed: open');
    expect(e.cause).toMatchObject({ code: 'SQLITE_NOTADB' });
  });

  it('accepts the driver module as an option, and rejects a non-database source', async () => {
    const b = await openSqliteBackend(path.join(dir, 'driver.db'), { driver: Database });
    b.close();
    await expect(openSqliteBackend({} as never)).rejects.toThrow(TypeError);
    const closed = database('closed.db');
    closed.close();
    await expect(openSqliteBackend(closed)).rejects.toThrow(TypeError);
    await expect(
      openSqliteBackend('x.db', { busyTimeoutMs: -1, driver: Database }),
    ).rejects.toThrow(RangeError);
  });
});

describe('openSqliteProtocolStore', () => {
  const createIdentity = (): { identity: IdentityKeyPair; registrationId: number } => ({
    identity: IdentityKeyPair.generate(),
    registrationId: 77,
  });

  it('creates the identity once and loads it on reopen (path and shared Database)', async () => {
    const file = path.join(dir, 'store.db');
    const first = await openSqliteProtocolStore(file, { createIdentity });
    const key = first.getIdentityKeyPair().publicKey;
    sqliteBackendOf(first).close();
    expect(() => sqliteBackendOf({ backend: {} } as never)).toThrow(TypeError);
    let called = false;
    const second = await openSqliteProtocolStore(database('store.db'), {
      createIdentity: () => {
        called = true;
        return createIdentity();
      },
    });
    expect(called).toBe(false);
    expect(second.getIdentityKeyPair().publicKey.equals(key)).toBe(true);
    expect(second.getLocalRegistrationId()).toBe(77);
  });

  it('two openers racing on a fresh file agree on one identity', async () => {
    const db1 = database('race.db');
    const db2 = database('race.db');
    const other = SqliteBackend.fromDatabase(db2);
    const winner = IdentityKeyPair.generate();
    const store = await openSqliteProtocolStore(db1, {
      createIdentity: () => {
        // The other process writes its identity between our read and our write.
        other.write({
          puts: [
            {
              kind: 'local',
              id: 'identity-key-pair',
              bytes: winner.serialize(),
              expectedVersion: null,
            },
            {
              kind: 'local',
              id: 'registration-id',
              bytes: bytes(0, 0, 0, 5),
              expectedVersion: null,
            },
          ],
          deletes: [],
        });
        return createIdentity();
      },
    });
    expect(store.getIdentityKeyPair().publicKey.equals(winner.publicKey)).toBe(true);
    expect(store.getLocalRegistrationId()).toBe(5);
  });
});

describe('through SessionManager', () => {
  let alice: SqliteParty;
  let bob: SqliteParty;
  beforeEach(async () => {
    alice = await party('alice');
    bob = await party('bob');
    await establishSqlite(alice, bob);
  });

  it('a conversation survives closing and reopening both files', async () => {
    const m = await alice.manager.encrypt(bob.address, utf8('before restart'));
    alice.close();
    bob.close();
    const alice2 = await party('alice');
    const bob2 = await party('bob');
    expect(text(await bob2.manager.decrypt(alice2.address, m))).toBe('before restart');
    const r = await bob2.manager.encrypt(alice2.address, utf8('after restart'));
    expect(text(await alice2.manager.decrypt(bob2.address, r))).toBe('after restart');
  });

  it('withPlaintext: the message lands with the ratchet step, or neither does', async () => {
    bob.db.exec('CREATE TABLE inbox (sender TEXT, body BLOB)');
    const save = withSqliteTransaction((pt, tx) => {
      tx.prepare('INSERT INTO inbox (sender, body) VALUES (?, ?)').run(
        alice.address.toString(),
        pt,
      );
    });
    const m1 = await alice.manager.encrypt(bob.address, utf8('kept'));
    expect(text(await bob.manager.decrypt(alice.address, m1, { withPlaintext: save }))).toBe(
      'kept',
    );
    expect(bob.db.prepare('SELECT sender, body FROM inbox').all()).toEqual([
      { sender: alice.address.toString(), body: Buffer.from('kept') },
    ]);

    const m2 = await alice.manager.encrypt(bob.address, utf8('retry'));
    const before = dumpRecords(bob.db);
    const boom = new Error('inbox full');
    const e = await caught(() =>
      bob.manager.decrypt(alice.address, m2, {
        withPlaintext: withSqliteTransaction((pt, tx) => {
          tx.prepare('INSERT INTO inbox (sender, body) VALUES (?, ?)').run('x', pt);
          throw boom;
        }),
      }),
    );
    // decrypt rejects with the application's own error.
    expect(e).toBe(boom);
    expect(dumpRecords(bob.db)).toEqual(before);
    expect(bob.db.prepare('SELECT count(*) FROM inbox').pluck().get()).toBe(1);
    // Not a duplicate: the ratchet step was not kept, so the message decrypts on retry.
    expect(text(await bob.manager.decrypt(alice.address, m2, { withPlaintext: save }))).toBe(
      'retry',
    );
    expect(bob.db.prepare('SELECT count(*) FROM inbox').pluck().get()).toBe(2);

    // An async write is refused before anything is kept.
    const m3 = await alice.manager.encrypt(bob.address, utf8('async'));
    const e3 = await caught(() =>
      bob.manager.decrypt(alice.address, m3, {
        withPlaintext: async () => {
          await Promise.resolve();
        },
      }),
    );
    expect(e3).toMatchObject({ code: 'ERR_STORAGE', cause: expect.any(TypeError) });
    expect(text(await bob.manager.decrypt(alice.address, m3))).toBe('async');
  });

  it('withSqliteTransaction refuses a store without a SQLite transaction', () => {
    const cb = withSqliteTransaction(() => undefined);
    expect(() => {
      cb(utf8('x'), undefined);
    }).toThrow(TypeError);
  });

  describe('damaged rows → ERR_INVALID_RECORD, nothing overwritten', () => {
    const session = (p: SqliteParty, peer: SqliteParty): Buffer =>
      p.db
        .prepare(`SELECT bytes FROM chiffre_records WHERE kind = 'session' AND id = ?`)
        .pluck()
        .get(peer.address.toString()) as Buffer;

    it.each([
      ['garbage bytes', (b: Buffer) => Buffer.from(b.map((x, i) => (x * 31 + i * 7) & 0xff))],
      ['a truncated row', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2))],
      ['an empty row', () => Buffer.alloc(0)],
      [
        'a future record format',
        (b: Buffer) => Buffer.concat([Buffer.from([0x7f]), b.subarray(1)]),
      ],
    ])('%s', async (_what, damage) => {
      const m = await alice.manager.encrypt(bob.address, utf8('to a damaged store'));
      const damaged = damage(session(bob, alice));
      bob.db
        .prepare(`UPDATE chiffre_records SET bytes = ? WHERE kind = 'session' AND id = ?`)
        .run(damaged, alice.address.toString());
      const before = dumpRecords(bob.db);
      const e = await expectCode(() => bob.manager.decrypt(alice.address, m), 'ERR_INVALID_RECORD');
      expect(e.message).toMatch(/^invalid record: session/);
      await expectCode(() => bob.manager.encrypt(alice.address, utf8('x')), 'ERR_INVALID_RECORD');
      expect(dumpRecords(bob.db)).toEqual(before);
      expect(session(bob, alice).equals(damaged)).toBe(true);
    });

    it.each([
      ['bytes stored as text', `SET bytes = 'not a blob'`, 'bytes are not a blob'],
      ['a NULL version', 'SET version = NULL', 'bad version'],
      ['a zero version', 'SET version = 0', 'bad version'],
      ['a text version', `SET version = 'one'`, 'bad version'],
    ])('%s: the error names the kind and id', async (_what, set, reason) => {
      const good = await bob.store.loadSession(alice.address);
      // A damaged table (NOT NULL dropped by hand, say): rebuild it without constraints.
      bob.db.exec(`
        CREATE TABLE loose AS SELECT * FROM chiffre_records;
        DROP TABLE chiffre_records;
        CREATE TABLE chiffre_records (kind TEXT, id TEXT, version INTEGER, bytes BLOB, PRIMARY KEY (kind, id));
        INSERT INTO chiffre_records SELECT * FROM loose;
        DROP TABLE loose;`);
      const bob2 = await party('bob');
      bob2.db
        .prepare(`UPDATE chiffre_records ${set} WHERE kind = 'session' AND id = ?`)
        .run(alice.address.toString());
      const before = dumpRecords(bob2.db);
      const m = await alice.manager.encrypt(bob.address, utf8('x'));
      const e = await expectCode(
        () => bob2.manager.decrypt(alice.address, m),
        'ERR_INVALID_RECORD',
      );
      expect(e.message).toBe(
        `invalid record: sqlite session ${alice.address.toString()}: ${reason}`,
      );
      expect(dumpRecords(bob2.db)).toEqual(before);
      // Storing a good record over the damaged row repairs it.
      await bob2.store.storeSession(alice.address, good!);
      expect(text(await bob2.manager.decrypt(alice.address, m))).toBe('x');
    });
  });

  describe('failing drivers → ERR_STORAGE with the driver error as cause, nothing lost', () => {
    it('a closed connection', async () => {
      const m = await alice.manager.encrypt(bob.address, utf8('after close'));
      bob.db.close();
      const e = await expectCode(() => bob.manager.decrypt(alice.address, m), 'ERR_STORAGE');
      expect(e).toMatchObject({ operation: 'loadSession', cause: expect.any(TypeError) });
      const bob2 = await party('bob');
      expect(text(await bob2.manager.decrypt(alice.address, m))).toBe('after close');
    });

    it('a read-only connection: the commit fails, the message decrypts later', async () => {
      const m = await alice.manager.encrypt(bob.address, utf8('read-only'));
      bob.close();
      const ro = database('bob.db', { readonly: true });
      const store = await openSqliteProtocolStore(ro, {
        createIdentity: () => expect.fail('the identity exists'),
      });
      const manager = new SessionManager({ store, localAddress: bob.address });
      const e = await expectCode(() => manager.decrypt(alice.address, m), 'ERR_STORAGE');
      expect(e).toMatchObject({ operation: 'commit', cause: { code: 'SQLITE_READONLY' } });
      ro.close();
      const bob2 = await party('bob');
      expect(text(await bob2.manager.decrypt(alice.address, m))).toBe('read-only');
    });

    it('another process holds the write lock (SQLITE_BUSY after busy_timeout)', async () => {
      const m = await alice.manager.encrypt(bob.address, utf8('busy'));
      bob.db.pragma('busy_timeout = 50');
      const other = database('bob.db');
      other.exec('BEGIN IMMEDIATE');
      const before = dumpRecords(other);
      const e = await expectCode(() => bob.manager.decrypt(alice.address, m), 'ERR_STORAGE');
      expect(e).toMatchObject({ operation: 'commit', cause: { code: 'SQLITE_BUSY' } });
      other.exec('COMMIT');
      expect(dumpRecords(bob.db)).toEqual(before);
      expect(text(await bob.manager.decrypt(alice.address, m))).toBe('busy');
    });

    it('a full disk (PRAGMA max_page_count): the commit fails, the session is intact', async () => {
      bob.db.exec('CREATE TABLE filler (b BLOB)');
      const pageSize = bob.db.pragma('page_size', { simple: true }) as number;
      const pages = bob.db.pragma('page_count', { simple: true }) as number;
      bob.db.pragma(`max_page_count = ${String(pages + 2)}`);
      // Fill the file up to the limit with the application's own data.
      const fill = bob.db.prepare('INSERT INTO filler VALUES (?)');
      let full: unknown;
      try {
        for (;;) fill.run(Buffer.alloc(pageSize / 4));
      } catch (e) {
        full = e;
      }
      expect(full).toMatchObject({ code: 'SQLITE_FULL' });
      const msgs: CiphertextMessage[] = [];
      for (let i = 0; i < 100; i++) {
        msgs.push(await alice.manager.encrypt(bob.address, utf8(`m${String(i)}`)));
      }
      const before = dumpRecords(bob.db);
      // The last message first: 99 skipped message keys make the record grow by pages.
      const e = await expectCode(
        () => bob.manager.decrypt(alice.address, msgs[99]!),
        'ERR_STORAGE',
      );
      expect(e).toMatchObject({ operation: 'commit', cause: { code: 'SQLITE_FULL' } });
      expect(dumpRecords(bob.db)).toEqual(before);
      expect(bob.db.inTransaction).toBe(false);
      // Space freed: everything decrypts, nothing was lost.
      bob.db.exec('DELETE FROM filler');
      bob.db.pragma('max_page_count = 1000000');
      expect(text(await bob.manager.decrypt(alice.address, msgs[99]!))).toBe('m99');
      for (let i = 0; i < 99; i++) {
        expect(text(await bob.manager.decrypt(alice.address, msgs[i]!))).toBe(`m${String(i)}`);
      }
    });

    it('a store on another connection changed the session: the operation retries on fresh data', async () => {
      const bobB = await party('bob'); // a second handle on bob.db, as another process
      const m1 = await alice.manager.encrypt(bob.address, utf8('one'));
      const m2 = await alice.manager.encrypt(bob.address, utf8('two'));
      // Both handles decrypt concurrently; CAS plus retry keeps them consistent.
      const [p1, p2] = await Promise.all([
        bob.manager.decrypt(alice.address, m1),
        bobB.manager.decrypt(alice.address, m2),
      ]);
      expect([text(p1), text(p2)]).toEqual(['one', 'two']);
      await expectCode(() => bob.manager.decrypt(alice.address, m2), 'ERR_DUPLICATE_MESSAGE');
      await expectCode(() => bobB.manager.decrypt(alice.address, m1), 'ERR_DUPLICATE_MESSAGE');
    });
  });
});

describe('packaging', () => {
  it('the main entry does not reach the adapter or better-sqlite3; the adapter imports it only dynamically', async () => {
    const inputsOf = async (entry: string): Promise<string[]> => {
      const r = await build({
        entryPoints: [path.join(repoRoot, entry)],
        bundle: true,
        write: false,
        metafile: true,
        platform: 'node',
        format: 'esm',
        logLevel: 'silent',
      });
      return Object.keys(r.metafile.inputs);
    };
    const main = await inputsOf('src/index.ts');
    expect(main.filter((f) => f.includes('adapters/') || f.includes('better-sqlite3'))).toEqual([]);
    // Bundling the adapter with nothing external succeeds without resolving the driver.
    const adapter = await inputsOf('src/adapters/sqlite.ts');
    expect(adapter.filter((f) => f.includes('better-sqlite3'))).toEqual([]);
    expect(adapter.some((f) => f.endsWith('src/adapters/sqlite.ts'))).toBe(true);
  });
});
