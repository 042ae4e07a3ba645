/**
 * `chiffre/storage/sqlite`: a durable {@link RecordBackend} on one SQLite file through
 * [better-sqlite3](https://github.com/WiseLibs/better-sqlite3) (major version 12, an optional peer
 * dependency), and {@link openSqliteProtocolStore}, which turns it into a complete
 * {@link ProtocolStore}.
 *
 * What this module owns:
 * - the connection settings: WAL journal, `busy_timeout`, `synchronous = FULL` on connections it
 *   opens;
 * - its schema (tables `chiffre_records` and `chiffre_meta`), versioned in `chiffre_meta` rather
 *   than `PRAGMA user_version`, which belongs to the application when it shares the database;
 *   forward migrations run in one `BEGIN IMMEDIATE` transaction; a database written by a newer
 *   chiffre is refused;
 * - `write(batch)`: one `BEGIN IMMEDIATE` transaction per batch (so two processes on one file
 *   serialize), compare-and-swap on record versions, then the application's own write, all or
 *   nothing.
 *
 * What it does not own: record formats and protocol semantics (trust on first use, prekey and
 * Kyber bookkeeping) live in {@link BackendProtocolStore}; retries after a lost compare-and-swap
 * live in `SessionManager`. Driver errors (`SQLITE_BUSY`, `SQLITE_FULL`, a closed connection) are
 * not caught here: they propagate, and `SessionManager` reports them as `ERR_STORAGE`.
 *
 * The driver is never imported statically, so neither `chiffre` nor a bundle that does not open a
 * SQLite store pulls it in. Pass an open `Database` (recommended when the application uses the
 * same file), a path (the module is then loaded with a dynamic `import('better-sqlite3')`), or a
 * path and `{ driver }` when a bundler cannot resolve that import.
 *
 * @module
 */
import { ConcurrencyError, InvalidRecordError, isSignalError, StorageError } from '../errors.js';
import type {
  RecordBackend,
  RecordBatch,
  RecordDelete,
  RecordKind,
  RecordPut,
  StoredRecord,
} from '../storage/backend.js';
import { BackendProtocolStore, type BackendStoreOptions } from '../storage/backend-store.js';

// ------------------------------------------------------------------------------------------------
// The driver, structurally
// ------------------------------------------------------------------------------------------------

/**
 * The part of a better-sqlite3 prepared statement this module (and an application write) uses.
 * A better-sqlite3 `Statement` satisfies it.
 */
export interface SqliteStatement {
  /** Execute the statement with `params` bound; returns the driver's run info. */
  run(...params: unknown[]): unknown;
  /** Execute and return the first row, or `undefined` when there is none. */
  get(...params: unknown[]): unknown;
  /** Execute and return every row. */
  all(...params: unknown[]): unknown[];
}

/** A better-sqlite3 transaction function (see `Database#transaction`). */
export interface SqliteTransaction<A extends unknown[], R> {
  (...args: A): R;
  /** Run in `BEGIN IMMEDIATE` (a `SAVEPOINT` when a transaction is already open). */
  immediate(...args: A): R;
}

/**
 * The part of a better-sqlite3 `Database` this module uses; a better-sqlite3 (v12) `Database`
 * satisfies it. Declared here, rather than imported from `@types/better-sqlite3`, so that the
 * package's type declarations depend neither on the driver's types nor on Node's.
 *
 * This is also the type of the transaction handle an application write receives: cast it to the
 * driver's own `Database` type when more of its API is needed.
 */
export interface SqliteDatabase {
  /** Whether the connection is open. */
  readonly open: boolean;
  /** Whether a transaction is open on the connection. */
  readonly inTransaction: boolean;
  /** Whether the database is in memory (no journal mode to set). */
  readonly memory: boolean;
  /** Whether the connection was opened read-only. */
  readonly readonly: boolean;
  /** Compile one SQL statement. */
  prepare(source: string): SqliteStatement;
  /** Run SQL text that may hold several statements, without results. */
  exec(source: string): unknown;
  /** Run a `PRAGMA` (`source` without the `PRAGMA` keyword). */
  pragma(source: string, options?: { simple?: boolean }): unknown;
  /** Wrap `fn` so that each call runs in a transaction (see {@link SqliteTransaction}). */
  transaction<A extends unknown[], R>(fn: (...args: A) => R): SqliteTransaction<A, R>;
  /** Close the connection. */
  close(): unknown;
}

/** The better-sqlite3 module's default export: `new Database(path, options)`. */
export type SqliteDriver = new (
  filename: string,
  options?: { readonly?: boolean; fileMustExist?: boolean; timeout?: number },
) => SqliteDatabase;

/** Where the store lives: a file path, or an open better-sqlite3 `Database` to share. */
export type SqliteSource = string | SqliteDatabase;

/** Options of {@link openSqliteBackend}. */
export interface SqliteBackendOptions {
  /**
   * How long a write waits for another connection's write transaction (`PRAGMA busy_timeout`),
   * in milliseconds. Default 5000 for a path. For a shared `Database` the connection's setting is
   * kept unless this is given.
   */
  readonly busyTimeoutMs?: number;
  /**
   * The better-sqlite3 module (its default export), used to open a path. Default: loaded with a
   * dynamic `import('better-sqlite3')`. Pass it when a bundler cannot resolve that import.
   */
  readonly driver?: SqliteDriver;
}

/** Options of {@link openSqliteProtocolStore}. */
export type SqliteProtocolStoreOptions = SqliteBackendOptions & BackendStoreOptions;

// ------------------------------------------------------------------------------------------------
// Schema
// ------------------------------------------------------------------------------------------------

/**
 * Forward migrations; migration `i` takes the schema from version `i` to `i + 1`. Never edit a
 * released entry: append a new one (a database in the field may be at any earlier version).
 */
const MIGRATIONS: readonly ((db: SqliteDatabase) => void)[] = [
  // 1: records, and the meta table: `schema_version`, and `deleted_version`, the highest version
  // any deleted record had (a re-created record starts above it; see SqliteBackend).
  (db) => {
    db.exec(
      `CREATE TABLE chiffre_meta (
         key TEXT NOT NULL PRIMARY KEY,
         value INTEGER NOT NULL
       ) WITHOUT ROWID;
       CREATE TABLE chiffre_records (
         kind TEXT NOT NULL,
         id TEXT NOT NULL,
         version INTEGER NOT NULL,
         bytes BLOB NOT NULL,
         PRIMARY KEY (kind, id)
       ) WITHOUT ROWID;
       INSERT INTO chiffre_meta (key, value) VALUES ('deleted_version', 0);`,
    );
  },
];

/** The schema version this code writes: the number of {@link MIGRATIONS}. */
export const SQLITE_SCHEMA_VERSION: number = MIGRATIONS.length;

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/** Connections {@link openSqliteBackend} opened from a path, which `close()` closes. @internal */
const OWNED = new WeakSet<SqliteDatabase>();

/** The stored schema version, 0 for a database chiffre never opened. @internal */
function readSchemaVersion(db: SqliteDatabase): number {
  const table = db
    .prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'chiffre_meta'`)
    .get();
  if (table === undefined) return 0;
  const row = db.prepare(`SELECT value FROM chiffre_meta WHERE key = 'schema_version'`).get() as
    { value: unknown } | undefined;
  const version = row?.value;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new InvalidRecordError('sqlite schema version: corrupt');
  }
  return version;
}

/** Refuse a database written by a newer chiffre: its records may not be readable. @internal */
function refuseNewer(found: number): void {
  if (found > SQLITE_SCHEMA_VERSION) {
    throw new InvalidRecordError(
      `sqlite schema version ${found} is newer than this chiffre supports (${SQLITE_SCHEMA_VERSION})`,
    );
  }
}

/** Bring the schema to {@link SQLITE_SCHEMA_VERSION}, in one immediate transaction. @internal */
function migrate(db: SqliteDatabase): void {
  // Read first without a write lock, so a read-only connection to a current database opens.
  const found = readSchemaVersion(db);
  refuseNewer(found);
  if (found === SQLITE_SCHEMA_VERSION) return;
  db.transaction(() => {
    // Again under the write lock: another process may have migrated meanwhile.
    const current = readSchemaVersion(db);
    refuseNewer(current);
    for (let v = current; v < SQLITE_SCHEMA_VERSION; v++) {
      (MIGRATIONS[v] as (d: SqliteDatabase) => void)(db);
    }
    db.prepare(
      `INSERT INTO chiffre_meta (key, value) VALUES ('schema_version', ?) ` +
        'ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(SQLITE_SCHEMA_VERSION);
  }).immediate();
}

// ------------------------------------------------------------------------------------------------
// The backend
// ------------------------------------------------------------------------------------------------

/** A row as read back; every field is checked, since the file may have been damaged. @internal */
interface Row {
  readonly version: unknown;
  readonly bytes: unknown;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function checkKey(kind: unknown, id: unknown): void {
  if (typeof kind !== 'string') throw new TypeError('record kind must be a string');
  if (typeof id !== 'string') throw new TypeError('record id must be a string');
}

/**
 * A {@link RecordBackend} on one SQLite database (table `chiffre_records`). Obtain one with
 * {@link openSqliteBackend}.
 *
 * `write` runs one `BEGIN IMMEDIATE` transaction (a `SAVEPOINT` when the application already
 * opened a transaction on the connection): it checks every `expectedVersion` first and throws
 * `ConcurrencyError` on a mismatch, then applies the deletes and the puts, then calls
 * `batch.applicationWrite(database)`.
 *
 * Versions: a put stores `previous + 1`; a new record starts at 1, or above the highest version
 * any deleted record had, so versions of one `(kind, id)` never repeat, even across a delete.
 *
 * The application write must be synchronous: a SQLite transaction cannot stay open across an
 * `await`, so a returned promise rolls everything back with a `TypeError` (and any statement the
 * function runs after its first `await` would run outside the transaction).
 */
export class SqliteBackend implements RecordBackend {
  readonly #db: SqliteDatabase;
  readonly #get: SqliteStatement;
  readonly #version: SqliteStatement;
  readonly #put: SqliteStatement;
  readonly #delete: SqliteStatement;
  readonly #deleted: SqliteStatement;
  readonly #count: SqliteStatement;
  readonly #ids: SqliteStatement;
  readonly #write: SqliteTransaction<[RecordBatch], void>;

  /** @internal Use {@link openSqliteBackend} or {@link SqliteBackend.fromDatabase}. */
  private constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#get = db.prepare('SELECT version, bytes FROM chiffre_records WHERE kind = ? AND id = ?');
    this.#version = db.prepare('SELECT version FROM chiffre_records WHERE kind = ? AND id = ?');
    // A new record starts above every version a deleted record had, so a writer holding a copy
    // loaded before a delete can never match a re-created record (no ABA). A damaged version
    // (not a positive integer) is replaced the same way, so storing a record repairs it.
    this.#put = db.prepare(
      `INSERT INTO chiffre_records (kind, id, version, bytes)
         VALUES (?, ?, (SELECT value FROM chiffre_meta WHERE key = 'deleted_version') + 1, ?)
       ON CONFLICT (kind, id) DO UPDATE SET
         version = CASE WHEN typeof(version) = 'integer' AND version >= 1 THEN version + 1
                   ELSE excluded.version END,
         bytes = excluded.bytes`,
    );
    this.#delete = db.prepare('DELETE FROM chiffre_records WHERE kind = ? AND id = ?');
    this.#deleted = db.prepare(
      `UPDATE chiffre_meta SET value = max(value, ?) WHERE key = 'deleted_version'`,
    );
    this.#count = db.prepare('SELECT count(*) AS n FROM chiffre_records WHERE kind = ?');
    this.#ids = db.prepare('SELECT id FROM chiffre_records WHERE kind = ? ORDER BY id');
    this.#write = db.transaction((batch: RecordBatch) => {
      this.#apply(batch);
    });
  }

  /**
   * The synchronous form of {@link openSqliteBackend} for an open `Database`: switch it to WAL,
   * apply `busyTimeoutMs` if given, migrate the schema, and wrap it. Driver errors are not
   * wrapped.
   *
   * @param db - an open better-sqlite3 `Database`; the caller keeps owning it
   * @param options - `busyTimeoutMs`
   * @returns the backend
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` for a newer or damaged schema
   * @throws {TypeError} when `db` is not an open `Database`
   * @example
   * ```ts
   * const backend = SqliteBackend.fromDatabase(new Database('app.db'));
   * ```
   */
  static fromDatabase(
    db: SqliteDatabase,
    options: { readonly busyTimeoutMs?: number | undefined } = {},
  ): SqliteBackend {
    if (
      typeof db !== 'object' ||
      db === null ||
      typeof db.prepare !== 'function' ||
      typeof db.transaction !== 'function'
    ) {
      throw new TypeError('expected a better-sqlite3 Database');
    }
    if (!db.open) throw new TypeError('the database is closed');
    if (options.busyTimeoutMs !== undefined) {
      db.pragma(`busy_timeout = ${String(busyTimeout(options.busyTimeoutMs))}`);
    }
    // WAL: readers never block the writer and a crash leaves the file consistent. A read-only
    // connection cannot change the journal mode, and an in-memory database has none.
    if (!db.memory && !db.readonly) db.pragma('journal_mode = WAL');
    migrate(db);
    return new SqliteBackend(db);
  }

  /**
   * The connection: the handle an application write receives, and the one to use for the
   * application's own tables.
   */
  get database(): SqliteDatabase {
    return this.#db;
  }

  /**
   * Read one record (a copy of its bytes).
   *
   * @param kind - what the record is
   * @param id - its id within the kind
   * @returns the bytes and version, or `null` when the record does not exist
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` when the row's version or bytes are damaged
   * @throws {TypeError} when `kind` or `id` is not a string
   */
  get(kind: RecordKind, id: string): StoredRecord | null {
    checkKey(kind, id);
    const row = this.#get.get(kind, id) as Row | undefined;
    if (row === undefined) return null;
    const version = checkVersion(kind, id, row.version);
    // The driver returns a Buffer for a BLOB; hand out a plain Uint8Array copy.
    if (!(row.bytes instanceof Uint8Array)) {
      throw new InvalidRecordError(`sqlite ${kind} ${id}: bytes are not a blob`);
    }
    return { bytes: new Uint8Array(row.bytes), version };
  }

  /**
   * Apply a batch in one `BEGIN IMMEDIATE` transaction (a `SAVEPOINT` inside an open one); the
   * application write receives the connection as its transaction handle.
   *
   * @param batch - the puts, deletes and optional synchronous application write
   * @throws {ConcurrencyError} `ERR_CONCURRENT_MODIFICATION` when an expectation fails (nothing
   *   is written)
   * @throws {TypeError} for a malformed batch, or when the application write returns a promise
   *   (nothing is written)
   */
  write(batch: RecordBatch): void {
    if (typeof batch !== 'object' || batch === null) throw new TypeError('batch must be an object');
    this.#write.immediate(batch);
  }

  /**
   * Count the records of a kind.
   *
   * @param kind - what to count
   * @returns how many records of that kind exist
   */
  count(kind: RecordKind): number {
    checkKey(kind, '');
    const row = this.#count.get(kind) as { n: number };
    return row.n;
  }

  /**
   * List the ids of a kind, sorted by SQLite's binary collation.
   *
   * @param kind - what to list
   * @returns the ids of every record of that kind
   */
  ids(kind: RecordKind): string[] {
    checkKey(kind, '');
    return (this.#ids.all(kind) as { id: unknown }[]).map((r) => String(r.id));
  }

  /**
   * Close the connection if {@link openSqliteBackend} opened it from a path; a shared `Database`
   * stays open (its owner closes it).
   */
  close(): void {
    if (OWNED.has(this.#db) && this.#db.open) this.#db.close();
  }

  /** Runs inside the transaction: any throw rolls the whole batch back. */
  #apply(batch: RecordBatch): void {
    const writes: readonly (RecordPut | RecordDelete)[] = [...batch.puts, ...batch.deletes];
    for (const w of writes) {
      checkKey(w.kind, w.id);
      if (w.expectedVersion === undefined) continue;
      const row = this.#version.get(w.kind, w.id) as { version: unknown } | undefined;
      const current = row === undefined ? null : checkVersion(w.kind, w.id, row.version);
      if (current !== w.expectedVersion) throw new ConcurrencyError(`${w.kind} ${w.id}`);
    }
    for (const d of batch.deletes) {
      const row = this.#version.get(d.kind, d.id) as { version: unknown } | undefined;
      if (row === undefined) continue;
      const v = row.version;
      if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) this.#deleted.run(v);
      this.#delete.run(d.kind, d.id);
    }
    for (const p of batch.puts) {
      if (!(p.bytes instanceof Uint8Array))
        throw new TypeError('record bytes must be a Uint8Array');
      this.#put.run(p.kind, p.id, p.bytes);
    }
    if (batch.applicationWrite !== undefined) {
      const result: unknown = batch.applicationWrite(this.#db);
      if (isPromiseLike(result)) {
        // Its rejection (if any) is superseded by the TypeError; do not leave it unhandled.
        result.then(undefined, () => undefined);
        throw new TypeError(
          'the application write returned a promise: SQLite transactions cannot span an await, ' +
            'so it must be synchronous',
        );
      }
    }
  }

  /**
   * The JSON rendering: the class tag and the schema version, never records.
   *
   * @returns the class tag and {@link SQLITE_SCHEMA_VERSION}
   */
  toJSON(): {
    /** Always `'SqliteBackend'`. */
    type: 'SqliteBackend';
    /** The schema version this code writes. */
    schemaVersion: number;
  } {
    return { type: 'SqliteBackend', schemaVersion: SQLITE_SCHEMA_VERSION };
  }

  /**
   * A short rendering.
   *
   * @returns `SqliteBackend(schema <version>)`
   */
  toString(): string {
    return `SqliteBackend(schema ${String(SQLITE_SCHEMA_VERSION)})`;
  }
}

function checkVersion(kind: string, id: string, version: unknown): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    throw new InvalidRecordError(`sqlite ${kind} ${id}: bad version`);
  }
  return version;
}

function busyTimeout(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 0x7fffffff) {
    throw new RangeError('busyTimeoutMs must be an integer from 0 to 2^31 - 1');
  }
  return ms;
}

async function loadDriver(): Promise<SqliteDriver> {
  // A computed specifier: bundlers and the type checker leave the optional dependency alone.
  const specifier = 'better-sqlite3';
  let mod: { default?: unknown };
  try {
    mod = (await import(specifier)) as { default?: unknown };
  } catch (cause) {
    throw new StorageError('open: better-sqlite3 could not be loaded (is it installed?)', {
      cause,
    });
  }
  const driver = typeof mod.default === 'function' ? mod.default : mod;
  if (typeof driver !== 'function') throw new TypeError('better-sqlite3 did not export Database');
  return driver as SqliteDriver;
}

/**
 * Open a SQLite backend: one file, WAL mode, `busy_timeout`, schema migrated to
 * {@link SQLITE_SCHEMA_VERSION}.
 *
 * @param source - a file path (opened with better-sqlite3; {@link SqliteBackend.close} closes it)
 *   or an open better-sqlite3 `Database` to share with the application (the application keeps
 *   owning it). Sharing is what lets application writes join chiffre's transactions.
 * @param options - busy timeout, and the driver module for bundlers
 * @returns the backend
 * @throws {InvalidRecordError} `ERR_INVALID_RECORD` when the database was written by a newer
 *   chiffre (its schema version is named) or its schema table is damaged
 * @throws {StorageError} `ERR_STORAGE` when the driver cannot be loaded or the file cannot be
 *   opened or migrated (the driver's error is the `cause`)
 * @throws {TypeError} when `source` is neither a path nor an open `Database`
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * import { BackendProtocolStore } from 'chiffre/storage';
 * import { openSqliteBackend } from 'chiffre/storage/sqlite';
 *
 * const db = new Database('app.db');
 * const backend = await openSqliteBackend(db);
 * const store = await BackendProtocolStore.open(backend, { createIdentity });
 * ```
 */
export async function openSqliteBackend(
  source: SqliteSource,
  options: SqliteBackendOptions = {},
): Promise<SqliteBackend> {
  if (typeof source !== 'string') {
    return wrapOpen(() => SqliteBackend.fromDatabase(source, options));
  }
  const Driver = options.driver ?? (await loadDriver());
  const ms = busyTimeout(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
  const db = wrapOpen(() => new Driver(source, { timeout: ms }));
  try {
    // FULL: a committed ratchet step survives power loss too. Were it rolled back after its
    // message left, the next message would reuse that message key.
    wrapOpen(() => db.pragma('synchronous = FULL'));
    OWNED.add(db);
    return wrapOpen(() => SqliteBackend.fromDatabase(db, { busyTimeoutMs: ms }));
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Driver errors while opening become `ERR_STORAGE`; ours and `TypeError`s pass. @internal */
function wrapOpen<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isSignalError(e) || e instanceof TypeError || e instanceof RangeError) throw e;
    throw new StorageError('open', { cause: e });
  }
}

/**
 * Open a complete {@link ProtocolStore} on SQLite: {@link openSqliteBackend} plus
 * {@link BackendProtocolStore.open} (which creates this device's identity on first use).
 *
 * To store something together with a decrypted message's ratchet state, share the `Database` and
 * write through the transaction handle (see {@link withSqliteTransaction}).
 *
 * @param source - a file path, or an open better-sqlite3 `Database` to share
 * @param options - `createIdentity`, busy timeout, driver
 * @returns the store ({@link sqliteBackendOf} gives its backend, to close a store opened from a
 *   path)
 * @throws {InvalidRecordError} `ERR_INVALID_RECORD` for a newer schema or a corrupt identity
 * @throws {StorageError} `ERR_STORAGE` when the database cannot be opened
 * @example
 * ```ts
 * import Database from 'better-sqlite3';
 * import { IdentityKeyPair, ProtocolAddress, SessionManager } from 'chiffre';
 * import { openSqliteProtocolStore, withSqliteTransaction } from 'chiffre/storage/sqlite';
 *
 * const db = new Database('app.db');
 * db.exec('CREATE TABLE IF NOT EXISTS inbox (sender TEXT, body BLOB)');
 * const store = await openSqliteProtocolStore(db, {
 *   createIdentity: () => ({ identity: IdentityKeyPair.generate(), registrationId: 1234 }),
 * });
 * const localAddress = new ProtocolAddress('alice', 1);
 * const manager = new SessionManager({ store, localAddress });
 * // ...when `message` arrives from `sender`:
 * await manager.decrypt(sender, message, {
 *   // Runs inside the commit's transaction: the message and the ratchet state land together.
 *   withPlaintext: withSqliteTransaction((plaintext, tx) => {
 *     tx.prepare('INSERT INTO inbox (sender, body) VALUES (?, ?)').run(sender.name, plaintext);
 *   }),
 * });
 * ```
 */
export async function openSqliteProtocolStore(
  source: SqliteSource,
  options: SqliteProtocolStoreOptions,
): Promise<BackendProtocolStore> {
  const backend = await openSqliteBackend(source, options);
  try {
    try {
      return await BackendProtocolStore.open(backend, options);
    } catch (e) {
      // Another process created the identity between our read and our write: load theirs.
      if (!isSignalError(e, 'ERR_CONCURRENT_MODIFICATION')) throw e;
      return await BackendProtocolStore.open(backend, options);
    }
  } catch (e) {
    backend.close();
    if (isSignalError(e) || e instanceof TypeError) throw e;
    throw new StorageError('open', { cause: e });
  }
}

/**
 * The {@link SqliteBackend} under a store from {@link openSqliteProtocolStore}: its `database`
 * for the application's own statements, and `close()` for a store opened from a path.
 *
 * @param store - a store returned by {@link openSqliteProtocolStore}
 * @returns its backend
 * @throws {TypeError} when the store is not over a SQLite backend
 * @example
 * ```ts
 * const store = await openSqliteProtocolStore('keys.db', { createIdentity });
 * // ...
 * sqliteBackendOf(store).close();
 * ```
 */
export function sqliteBackendOf(store: BackendProtocolStore): SqliteBackend {
  const backend = store.backend;
  if (!(backend instanceof SqliteBackend)) throw new TypeError('not a SQLite store');
  return backend;
}

/**
 * Adapt a synchronous application write to `SessionManager.decrypt`'s `withPlaintext` option, with
 * the transaction handle typed as the SQLite connection. The function runs inside chiffre's
 * commit transaction, after the ratchet state was written: if it throws, neither its writes nor
 * the ratchet step are kept (the message still decrypts on a retry), and decrypt rejects with the
 * thrown error.
 *
 * @param write - `(plaintext, db) => void`; must not be `async` (SQLite transactions cannot span
 *   an `await`)
 * @returns a `withPlaintext` callback
 * @throws {TypeError} (from the returned callback) when the store is not a SQLite store, or
 *   `write` returned a promise
 * @example
 * ```ts
 * const plaintext = await manager.decrypt(sender, message, {
 *   withPlaintext: withSqliteTransaction((pt, db) => {
 *     db.prepare('INSERT INTO inbox (sender, body) VALUES (?, ?)').run(sender.name, pt);
 *   }),
 * });
 * ```
 */
export function withSqliteTransaction(
  write: (plaintext: Uint8Array, db: SqliteDatabase) => void,
): (plaintext: Uint8Array, transaction: unknown) => void {
  return (plaintext, transaction) => {
    if (!isOpenTransaction(transaction)) {
      throw new TypeError('withSqliteTransaction: not inside a chiffre SQLite transaction');
    }
    // Typed `void` for callers; checked at run time for an `async` function passed anyway.
    // eslint-disable-next-line @typescript-eslint/no-confusing-void-expression
    const result: unknown = write(plaintext, transaction);
    if (isPromiseLike(result)) {
      result.then(undefined, () => undefined);
      throw new TypeError('withSqliteTransaction: the write must be synchronous');
    }
  };
}

function isOpenTransaction(value: unknown): value is SqliteDatabase {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as SqliteDatabase).prepare === 'function' &&
    (value as SqliteDatabase).inTransaction
  );
}
