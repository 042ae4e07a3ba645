/**
 * IndexedDB storage for browsers (subpath `chiffre/storage/indexeddb`): a {@link RecordBackend}
 * on one IndexedDB database, a {@link BackendProtocolStore} over it, and a cross-tab lock
 * (Web Locks API) so that two tabs of one app never advance the same session at the same time.
 *
 * What this module owns:
 * - The database schema: an object store `records` keyed by `[kind, id]` holding
 *   `{ version, bytes }`, and `tombstones` so that versions never repeat after a delete; versioned
 *   through the IndexedDB database version with forward migrations; plus the application's own
 *   object stores (created on request).
 * - Atomic batches: one `readwrite` transaction per batch, with every compare-and-swap
 *   expectation checked inside it, so a stale writer (another tab) gets `ConcurrencyError` and
 *   nothing is written. The application's write (e.g. saving the decrypted message) runs in the
 *   same transaction.
 * - {@link withWebLock} and {@link LockedSessionManager}: per-address serialization across tabs.
 *
 * What it does not own: protocol semantics (trust on first use, prekey bookkeeping) live in
 * {@link BackendProtocolStore}; retries after a `ConcurrencyError` live in `SessionManager`.
 *
 * Runs unchanged in any browser with IndexedDB (and in workers). No dependencies; the few DOM
 * types it needs are declared locally, so the package's types do not pull in the DOM lib.
 *
 * @module
 */
import { ConcurrencyError, InvalidRecordError, isSignalError, StorageError } from '../errors.js';
import type { ProtocolAddress } from '../keys/index.js';
import type {
  CiphertextMessage,
  DecryptOptions,
  EncryptOptions,
  PreKeyBundle,
} from '../session/index.js';
import type { SessionManager } from '../session/index.js';
import type { SpqrStatus } from '../spqr/index.js';
import {
  BackendProtocolStore,
  type BackendStoreOptions,
  type RecordBackend,
  type RecordBatch,
  type RecordKind,
  type StoredRecord,
} from '../storage/index.js';

// -- the slice of the DOM this module uses ------------------------------------------------------

/** @internal */
interface IdbRequest<T = unknown> {
  readonly result: T;
  /** A `DOMException` (an `Error`) once the request failed. */
  readonly error: Error | null;
  onsuccess: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** @internal */
interface IdbOpenRequest extends IdbRequest<IdbDatabase> {
  readonly transaction: IdbTransaction | null;
  onupgradeneeded: ((event: { readonly oldVersion: number }) => void) | null;
  onblocked: ((event: unknown) => void) | null;
}

/** @internal */
interface IdbObjectStore {
  get(key: unknown): IdbRequest;
  put(value: unknown, key: unknown): IdbRequest;
  delete(key: unknown): IdbRequest;
  count(query: unknown): IdbRequest<number>;
  getAllKeys(query: unknown): IdbRequest<unknown[]>;
}

/** @internal */
interface IdbTransaction {
  readonly error: Error | null;
  objectStore(name: string): IdbObjectStore;
  abort(): void;
  oncomplete: ((event: unknown) => void) | null;
  onabort: ((event: unknown) => void) | null;
}

/** @internal */
interface IdbDatabase {
  readonly version: number;
  readonly objectStoreNames: { contains(name: string): boolean };
  createObjectStore(name: string): unknown;
  transaction(
    stores: string[],
    mode: 'readonly' | 'readwrite',
    options?: { durability: IndexedDbDurability },
  ): IdbTransaction;
  close(): void;
  onversionchange: ((event: { readonly newVersion: number | null }) => void) | null;
  onclose: ((event: unknown) => void) | null;
}

/** @internal */
interface IdbFactory {
  open(name: string, version?: number): IdbOpenRequest;
}

/** @internal */
interface IdbKeyRangeStatic {
  bound(lower: unknown, upper: unknown): unknown;
}

/**
 * The Web Locks API's `LockManager` (`navigator.locks`), as far as this module uses it: the lock
 * named `name` is held until the promise `callback` returns settles.
 */
export interface LockManagerLike {
  /**
   * Wait for the exclusive lock `name`, run `callback` while holding it, and release it when the
   * callback's promise settles.
   *
   * @param name - the lock name, shared by every tab and worker of the origin
   * @param callback - the work to run under the lock
   * @returns what `callback` resolves to
   */
  request<T>(name: string, callback: (lock: unknown) => Promise<T>): Promise<T>;
}

// -- schema ---------------------------------------------------------------------------------------

/** The object store of chiffre's records. */
const RECORDS = 'records';

/**
 * The last version of each deleted record, keyed like {@link RECORDS}. A record created again
 * continues from it, so a version is never reused: a writer holding a copy loaded before a
 * delete and a re-create still fails its compare-and-swap (no ABA). One small entry per deleted
 * key, removed when the key is written again.
 */
const TOMBSTONES = 'tombstones';

/** chiffre's own object stores. */
const OWN_STORES: readonly string[] = [RECORDS, TOMBSTONES];

/** Application versions are `0 <= v < APPLICATION_VERSION_SPAN`. */
const APPLICATION_VERSION_SPAN = 0x1_0000;

/**
 * Forward migrations, `MIGRATIONS[v]` upgrades schema `v` to `v + 1`. They run inside the
 * `versionchange` transaction, so an upgrade lands completely or not at all. Append, never edit:
 * a database created by an older release runs every step from its version on.
 */
const MIGRATIONS: readonly ((db: IdbDatabase) => void)[] = [
  // 0 → 1: records (keys `[kind, id]` arrays, values `{ version, bytes }`) and tombstones
  // (same keys, values the deleted record's last version).
  (db) => {
    db.createObjectStore(RECORDS);
    db.createObjectStore(TOMBSTONES);
  },
];

/**
 * The schema version of chiffre's part of the database (the number of migrations). The
 * IndexedDB database version is `INDEXEDDB_SCHEMA_VERSION * 65536 + applicationVersion`, so both
 * parts only grow and an upgrade knows which migrations of each side to run.
 */
export const INDEXEDDB_SCHEMA_VERSION: number = MIGRATIONS.length;

/** How long an IndexedDB commit waits for the disk; see {@link IndexedDbBackendOptions}. */
export type IndexedDbDurability = 'strict' | 'relaxed' | 'default';

/** Options of {@link openIndexedDbBackend}. */
export interface IndexedDbBackendOptions {
  /**
   * Names of the application's own object stores, which batch transactions include so that an
   * `applicationWrite` can write to them. Stores that do not exist after `upgrade` are created
   * (out-of-line keys, no indexes).
   */
  readonly applicationStores?: readonly string[];
  /**
   * The application's schema version, `0` to `65535` (default `0`). Raise it whenever
   * `applicationStores` or `upgrade` change, so that existing databases are upgraded.
   */
  readonly applicationVersion?: number;
  /**
   * Called inside the `versionchange` transaction whenever the database is created or upgraded,
   * with the application version it had (`0` for a new database). `database` is the
   * `IDBDatabase` and `transaction` the `IDBTransaction` (cast them under the DOM lib). Throwing
   * aborts the upgrade; the open then fails and the database stays as it was.
   */
  readonly upgrade?: (
    database: unknown,
    transaction: unknown,
    oldApplicationVersion: number,
  ) => void;
  /**
   * Durability of batch transactions. Default `'strict'`: a batch resolves only once the browser
   * has flushed it to disk. `'relaxed'` is faster but a power loss may lose the last batches —
   * including a sending chain step whose message already left, after which the next encrypt
   * would reuse its message key. Keep `'strict'` unless you know why.
   */
  readonly durability?: IndexedDbDurability;
}

/** A {@link RecordBackend} on an IndexedDB database. */
export interface IndexedDbBackend extends RecordBackend {
  /** The IndexedDB database name. */
  readonly name: string;
  /**
   * Read one record in a `readonly` transaction.
   *
   * @param kind - what the record is
   * @param id - its id within the kind
   * @returns the bytes and version, or `null` when the record does not exist
   * @throws {StorageError} `ERR_STORAGE` when IndexedDB fails
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` for a malformed stored value
   */
  get(kind: RecordKind, id: string): Promise<StoredRecord | null>;
  /** One `readwrite` transaction; see {@link openIndexedDbBackend} for `applicationWrite`. */
  write(batch: RecordBatch): Promise<void>;
  /**
   * Count the records of a kind.
   *
   * @param kind - what to count
   * @returns how many records of that kind exist
   * @throws {StorageError} `ERR_STORAGE` when IndexedDB fails
   */
  count(kind: RecordKind): Promise<number>;
  /**
   * List the ids of a kind, in IndexedDB key order.
   *
   * @param kind - what to list
   * @returns the ids of every record of that kind
   * @throws {StorageError} `ERR_STORAGE` when IndexedDB fails
   */
  ids(kind: RecordKind): Promise<string[]>;
  /**
   * Close the connection. Later calls reopen it; close it for good by dropping the backend
   * after `close()`.
   */
  close(): void;
}

// -- helpers ----------------------------------------------------------------------------------------

function indexedDbGlobals(): { factory: IdbFactory; keyRange: IdbKeyRangeStatic } {
  const g = globalThis as { indexedDB?: IdbFactory; IDBKeyRange?: IdbKeyRangeStatic };
  if (g.indexedDB === undefined || g.IDBKeyRange === undefined) {
    throw new StorageError('indexeddb.open', {
      cause: new Error('IndexedDB is not available in this environment'),
    });
  }
  return { factory: g.indexedDB, keyRange: g.IDBKeyRange };
}

function errorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'name' in error
    ? String(error.name)
    : undefined;
}

function recordKey(kind: RecordKind, id: string): [RecordKind, string] {
  return [kind, id];
}

/** A key of a `Map` for `(kind, id)`; `/` cannot occur in a kind. */
function mapKey(kind: RecordKind, id: string): string {
  return `${kind}/${id}`;
}

/** Every key `[kind, id]` with a string id: arrays sort after strings (IndexedDB 3.0 §2.3). */
function kindRange(keyRange: IdbKeyRangeStatic, kind: RecordKind): unknown {
  return keyRange.bound([kind], [kind, []]);
}

function request<T>(req: IdbRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => {
      resolve(req.result);
    };
    req.onerror = () => {
      reject(req.error ?? new Error('IndexedDB request failed'));
    };
  });
}

function isStoredValue(value: unknown): value is StoredRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { version?: unknown; bytes?: unknown };
  return (
    v.bytes instanceof Uint8Array &&
    typeof v.version === 'number' &&
    Number.isSafeInteger(v.version) &&
    v.version >= 1
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

// -- opening and upgrading ---------------------------------------------------------------------------

interface OpenPlan {
  readonly name: string;
  readonly applicationStores: readonly string[];
  readonly applicationVersion: number;
  readonly upgrade:
    ((database: unknown, transaction: unknown, oldApplicationVersion: number) => void) | undefined;
}

/** Open (creating or upgrading) the database; the connection closes itself on `versionchange`. */
async function openDatabase(factory: IdbFactory, plan: OpenPlan): Promise<IdbDatabase> {
  const target = INDEXEDDB_SCHEMA_VERSION * APPLICATION_VERSION_SPAN + plan.applicationVersion;
  let upgradeFailure: { error: unknown } | undefined;
  let db: IdbDatabase;
  try {
    db = await new Promise<IdbDatabase>((resolve, reject) => {
      const req = factory.open(plan.name, target);
      req.onupgradeneeded = (event) => {
        const database = req.result;
        const transaction = req.transaction as IdbTransaction;
        const oldSchema = Math.floor(event.oldVersion / APPLICATION_VERSION_SPAN);
        const oldApplication = event.oldVersion % APPLICATION_VERSION_SPAN;
        try {
          for (let v = oldSchema; v < INDEXEDDB_SCHEMA_VERSION; v++) {
            (MIGRATIONS[v] as (d: IdbDatabase) => void)(database);
          }
          plan.upgrade?.(database, transaction, oldApplication);
          for (const store of plan.applicationStores) {
            if (!database.objectStoreNames.contains(store)) database.createObjectStore(store);
          }
        } catch (error) {
          upgradeFailure = { error };
          transaction.abort();
        }
      };
      // A `blocked` event (another tab holds an older connection) needs no handling: that
      // connection closes on `versionchange` (see the backend), then this open proceeds.
      req.onsuccess = () => {
        resolve(req.result);
      };
      req.onerror = () => {
        reject(req.error ?? new Error('IndexedDB open failed'));
      };
    });
  } catch (error) {
    if (upgradeFailure !== undefined) throw upgradeFailure.error;
    if (errorName(error) === 'VersionError') {
      // The database was upgraded by newer code (ours or the application's).
      throw new InvalidRecordError(
        `IndexedDB database ${plan.name} has a newer version than this code (schema ` +
          `${String(INDEXEDDB_SCHEMA_VERSION)}, application version ${String(plan.applicationVersion)})`,
        { cause: error },
      );
    }
    throw new StorageError('indexeddb.open', { cause: error });
  }
  for (const store of [...OWN_STORES, ...plan.applicationStores]) {
    if (!db.objectStoreNames.contains(store)) {
      db.close();
      throw new StorageError('indexeddb.open', {
        cause: new Error(`object store ${store} is missing: raise applicationVersion to create it`),
      });
    }
  }
  return db;
}

// -- the backend ---------------------------------------------------------------------------------------

class IndexedDbRecordBackend implements IndexedDbBackend {
  readonly name: string;
  readonly #plan: OpenPlan;
  readonly #factory: IdbFactory;
  readonly #keyRange: IdbKeyRangeStatic;
  readonly #durability: IndexedDbDurability;
  #db: Promise<IdbDatabase> | undefined;
  /** Set when another connection deleted the database: never recreate it behind the app. */
  #deleted = false;

  constructor(plan: OpenPlan, durability: IndexedDbDurability) {
    const { factory, keyRange } = indexedDbGlobals();
    this.name = plan.name;
    this.#plan = plan;
    this.#factory = factory;
    this.#keyRange = keyRange;
    this.#durability = durability;
  }

  /** The open connection, reopened after a `versionchange` (another tab upgrading) or a close. */
  database(): Promise<IdbDatabase> {
    if (this.#deleted) {
      return Promise.reject(
        new StorageError('indexeddb.open', {
          cause: new Error(`IndexedDB database ${this.name} was deleted`),
        }),
      );
    }
    if (this.#db === undefined) {
      const opening = openDatabase(this.#factory, this.#plan).then((db) => {
        const forget = (): void => {
          if (this.#db === opening) this.#db = undefined;
        };
        // Let a newer version (another tab) upgrade: close now, reopen on next use. Running
        // transactions finish first; `close()` only stops new ones. A deletion (`newVersion`
        // null, e.g. a logout in another tab) closes for good: reopening would silently create
        // an empty database without this device's identity.
        db.onversionchange = (event) => {
          if (event.newVersion === null) this.#deleted = true;
          forget();
          db.close();
        };
        // The browser closed it (storage cleared, disk error).
        db.onclose = forget;
        return db;
      });
      this.#db = opening;
      opening.catch(() => {
        if (this.#db === opening) this.#db = undefined;
      });
    }
    return this.#db;
  }

  /**
   * A transaction on the open connection. A connection closed between our last use and now
   * (another tab upgrading, the browser closing it) is reopened once.
   */
  async #transaction(
    operation: string,
    stores: string[],
    mode: 'readonly' | 'readwrite',
  ): Promise<IdbTransaction> {
    const options = mode === 'readwrite' ? { durability: this.#durability } : undefined;
    for (let attempt = 1; ; attempt++) {
      const db = await this.database();
      try {
        return options === undefined
          ? db.transaction(stores, mode)
          : db.transaction(stores, mode, options);
      } catch (cause) {
        if (attempt === 1 && errorName(cause) === 'InvalidStateError') {
          if (this.#db !== undefined && (await this.#db) === db) this.#db = undefined;
          continue;
        }
        throw new StorageError(operation, { cause });
      }
    }
  }

  close(): void {
    const db = this.#db;
    this.#db = undefined;
    void db?.then(
      (d) => {
        d.close();
      },
      () => undefined,
    );
  }

  async get(kind: RecordKind, id: string): Promise<StoredRecord | null> {
    const tx = await this.#transaction('indexeddb.get', [RECORDS], 'readonly');
    let value: unknown;
    try {
      value = await request(tx.objectStore(RECORDS).get(recordKey(kind, id)));
    } catch (cause) {
      throw new StorageError('indexeddb.get', { cause });
    }
    if (value === undefined) return null;
    if (!isStoredValue(value))
      throw new InvalidRecordError(`${kind} ${id}: malformed IndexedDB value`);
    return { bytes: value.bytes, version: value.version };
  }

  async count(kind: RecordKind): Promise<number> {
    const tx = await this.#transaction('indexeddb.count', [RECORDS], 'readonly');
    try {
      return await request(tx.objectStore(RECORDS).count(kindRange(this.#keyRange, kind)));
    } catch (cause) {
      throw new StorageError('indexeddb.count', { cause });
    }
  }

  async ids(kind: RecordKind): Promise<string[]> {
    const tx = await this.#transaction('indexeddb.ids', [RECORDS], 'readonly');
    let keys: unknown[];
    try {
      keys = await request(tx.objectStore(RECORDS).getAllKeys(kindRange(this.#keyRange, kind)));
    } catch (cause) {
      throw new StorageError('indexeddb.ids', { cause });
    }
    return keys.map((k) => String((k as unknown[])[1]));
  }

  /**
   * One `readwrite` transaction: read the current version of every touched record, check the
   * expectations, run the application write, then put and delete. Every step runs in a request
   * callback of the same transaction (nothing else is awaited), because IndexedDB commits a
   * transaction as soon as it has no pending request at the end of a task.
   */
  async write(batch: RecordBatch): Promise<void> {
    const app = batch.applicationWrite;
    const scope = [...OWN_STORES, ...(app === undefined ? [] : this.#plan.applicationStores)];
    const tx = await this.#transaction('indexeddb.write', scope, 'readwrite');
    const records = tx.objectStore(RECORDS);
    const tombstones = tx.objectStore(TOMBSTONES);

    return new Promise<void>((resolve, reject) => {
      // Why the transaction is being aborted (the first reason wins).
      let failure: { error: unknown } | undefined;
      // Whether our puts and deletes were issued (a transaction can complete without them when
      // an application write awaited something else and the transaction closed meanwhile).
      let written = false;

      const fail = (error: unknown): void => {
        failure ??= { error };
        try {
          tx.abort();
        } catch {
          // Already committing or finished: `oncomplete`/`onabort` settles the promise.
        }
      };

      tx.oncomplete = () => {
        if (failure === undefined && written) {
          resolve();
          return;
        }
        // The first failure is whatever the application threw, passed on unchanged.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(
          failure?.error ??
            new StorageError('indexeddb.write', {
              cause: new Error(
                'the transaction closed before the batch was written: applicationWrite must ' +
                  'not await anything but requests of its transaction',
              ),
            }),
        );
      };
      tx.onabort = () => {
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(failure?.error ?? new StorageError('indexeddb.write', { cause: tx.error }));
      };

      // Every record the batch touches: its current version (`null`: absent) and the version of
      // its tombstone (`0`: none), read inside the transaction.
      const current = new Map<string, { version: number | null; tombstone: number }>();
      const touched = new Map<string, [RecordKind, string]>();
      for (const w of [...batch.deletes, ...batch.puts]) {
        touched.set(mapKey(w.kind, w.id), [w.kind, w.id]);
      }

      const applyWrites = (): void => {
        if (failure !== undefined) return;
        try {
          // Deletes first, then puts, as the reference backend does. Versions continue across a
          // delete (see TOMBSTONES).
          const state = new Map([...current].map(([k, v]) => [k, { ...v }]));
          for (const d of batch.deletes) {
            const s = state.get(mapKey(d.kind, d.id));
            if (s === undefined || s.version === null) continue;
            records.delete(recordKey(d.kind, d.id));
            tombstones.put(s.version, recordKey(d.kind, d.id));
            s.tombstone = s.version;
            s.version = null;
          }
          for (const p of batch.puts) {
            const s = state.get(mapKey(p.kind, p.id));
            if (s === undefined) throw new Error('internal: untracked record');
            const key = recordKey(p.kind, p.id);
            if (s.version === null && s.tombstone > 0) tombstones.delete(key);
            s.version = (s.version ?? s.tombstone) + 1;
            // `slice()`: structured clone stores a view's whole underlying buffer, which may hold
            // unrelated (secret) bytes.
            records.put({ version: s.version, bytes: p.bytes.slice() }, key);
          }
          written = true;
        } catch (error) {
          fail(
            errorName(error) === 'TransactionInactiveError'
              ? new StorageError('indexeddb.write', {
                  cause: new Error(
                    'applicationWrite awaited something other than requests of its ' +
                      'transaction, which then committed without the batch',
                  ),
                })
              : new StorageError('indexeddb.write', { cause: error }),
          );
        }
      };

      const afterReads = (): void => {
        // Compare-and-swap: the transaction holds the records store, so no other writer can
        // slip in between this check and the puts below.
        for (const w of [...batch.puts, ...batch.deletes]) {
          if (w.expectedVersion === undefined) continue;
          if ((current.get(mapKey(w.kind, w.id))?.version ?? null) !== w.expectedVersion) {
            fail(new ConcurrencyError(`${w.kind} ${w.id}`));
            return;
          }
        }
        if (app === undefined) {
          applyWrites();
          return;
        }
        let result: unknown;
        try {
          result = app(tx);
        } catch (error) {
          fail(error);
          return;
        }
        if (isThenable(result)) result.then(applyWrites, fail);
        else applyWrites();
      };

      let pending = 2 * touched.size;
      if (pending === 0) {
        afterReads();
        return;
      }
      const done = (): void => {
        if (--pending === 0) afterReads();
      };
      try {
        for (const [key, [kind, id]] of touched) {
          const entry = { version: null as number | null, tombstone: 0 };
          current.set(key, entry);
          const record = records.get(recordKey(kind, id));
          record.onsuccess = () => {
            const value = record.result;
            // A malformed value counts as version 0: no expectation matches it, a put replaces it.
            entry.version = value === undefined ? null : isStoredValue(value) ? value.version : 0;
            done();
          };
          const tombstone = tombstones.get(recordKey(kind, id));
          tombstone.onsuccess = () => {
            const value = tombstone.result;
            entry.tombstone = typeof value === 'number' && Number.isSafeInteger(value) ? value : 0;
            done();
          };
        }
      } catch (error) {
        fail(new StorageError('indexeddb.write', { cause: error }));
      }
    });
  }
}

/**
 * Open (creating or upgrading) an IndexedDB database as a {@link RecordBackend}.
 *
 * Each `write` is one `readwrite` transaction. Its `applicationWrite` receives that
 * `IDBTransaction` and may write to the object stores named in `applicationStores`; it must be
 * synchronous with respect to the transaction: issue requests (and await only those requests'
 * results, e.g. through promise wrappers), never `fetch`, timers or other non-IndexedDB promises,
 * because IndexedDB commits a transaction as soon as a task ends with no request pending. A
 * write that breaks this rule fails with `ERR_STORAGE` and chiffre's records are not written
 * (the application's requests issued before the offending `await` may have been committed).
 * The application write runs after the compare-and-swap checks and before chiffre's puts; if it
 * throws (or rejects), or any request of the transaction fails, nothing is written.
 *
 * @param name - the IndexedDB database name (one per account and device)
 * @param options - application stores, application schema version and upgrade, durability
 * @returns the backend; its connection opens lazily and reopens after another tab upgrades
 * @throws {StorageError} `ERR_STORAGE` when IndexedDB is unavailable or the open fails
 * @throws {InvalidRecordError} `ERR_INVALID_RECORD` when the database is of a newer version
 * @example
 * ```ts
 * const backend = await openIndexedDbBackend('chat-alice', { applicationStores: ['messages'] });
 * const store = await BackendProtocolStore.open(backend, { createIdentity });
 * ```
 */
export async function openIndexedDbBackend(
  name: string,
  options: IndexedDbBackendOptions = {},
): Promise<IndexedDbBackend> {
  if (typeof name !== 'string' || name.length === 0) {
    throw new TypeError('name must be a non-empty string');
  }
  const applicationVersion = options.applicationVersion ?? 0;
  if (
    !Number.isInteger(applicationVersion) ||
    applicationVersion < 0 ||
    applicationVersion >= APPLICATION_VERSION_SPAN
  ) {
    throw new RangeError('applicationVersion must be an integer from 0 to 65535');
  }
  const applicationStores = [...(options.applicationStores ?? [])];
  const clash = applicationStores.find((store) => OWN_STORES.includes(store));
  if (clash !== undefined) {
    throw new TypeError(`"${clash}" is one of chiffre's object stores; choose another name`);
  }
  const backend = new IndexedDbRecordBackend(
    { name, applicationStores, applicationVersion, upgrade: options.upgrade },
    options.durability ?? 'strict',
  );
  await backend.database();
  return backend;
}

/** Options of {@link openIndexedDbProtocolStore}. */
export type IndexedDbProtocolStoreOptions = IndexedDbBackendOptions & BackendStoreOptions;

/**
 * Open a complete {@link BackendProtocolStore} on an IndexedDB database: load this device's
 * identity, or create it with `createIdentity` the first time. Safe when several tabs open the
 * same new database at once: one identity wins, the others load it.
 *
 * @param name - the IndexedDB database name
 * @param options - as {@link openIndexedDbBackend}, plus `createIdentity`
 * @returns the store (its `backend` is the {@link IndexedDbBackend})
 * @throws {StorageError} `ERR_STORAGE` when IndexedDB is unavailable or fails
 * @throws {InvalidRecordError} `ERR_INVALID_RECORD` for a corrupt identity or a newer database
 * @example
 * ```ts
 * import { IdentityKeyPair, ProtocolAddress, SessionManager } from 'chiffre';
 * import { LockedSessionManager, openIndexedDbProtocolStore } from 'chiffre/storage/indexeddb';
 *
 * const store = await openIndexedDbProtocolStore('chat-alice', {
 *   createIdentity: () => ({ identity: IdentityKeyPair.generate(), registrationId: 1234 }),
 * });
 * const localAddress = new ProtocolAddress('alice', 1);
 * const manager = new LockedSessionManager(
 *   new SessionManager({ store, localAddress }),
 *   { scope: 'chat-alice' },
 * );
 * ```
 */
export async function openIndexedDbProtocolStore(
  name: string,
  options: IndexedDbProtocolStoreOptions,
): Promise<BackendProtocolStore> {
  const backend = await openIndexedDbBackend(name, options);
  try {
    return await BackendProtocolStore.open(backend, options);
  } catch (e) {
    // Two tabs created an identity at once; the other one's was stored first: load it.
    if (isSignalError(e, 'ERR_CONCURRENT_MODIFICATION')) {
      return BackendProtocolStore.open(backend, options);
    }
    throw e;
  }
}

// -- cross-tab locking ---------------------------------------------------------------------------------

/**
 * The Web Locks API's lock manager, where it exists.
 *
 * @returns `navigator.locks` (browsers and workers, secure contexts only), else `undefined`
 * @example
 * ```ts
 * const crossTabLocks = webLocks() !== undefined; // false: tabs rely on version checks alone
 * ```
 */
export function webLocks(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks ?? undefined;
}

/**
 * Run `fn` while holding the Web Lock `name`, shared by every tab and worker of the origin; runs
 * it directly when no lock manager exists (`locks` `null`, or no `navigator.locks`).
 *
 * @param name - the lock name
 * @param fn - the work; the lock is held until its promise settles
 * @param locks - the lock manager; `navigator.locks` by default, `null` for none
 * @returns what `fn` returns
 * @example
 * ```ts
 * await withWebLock('chiffre:chat-alice:bob.1', () => manager.encrypt(bob, bytes));
 * ```
 */
export function withWebLock<T>(
  name: string,
  fn: () => Promise<T>,
  locks: LockManagerLike | null | undefined = webLocks(),
): Promise<T> {
  if (locks === null || locks === undefined) return fn();
  return locks.request(name, () => fn());
}

/** Options of {@link LockedSessionManager}. */
export interface LockedSessionManagerOptions {
  /**
   * What the tabs share, normally the IndexedDB database name: lock names are
   * `chiffre:<scope>:<address>`, so different accounts never wait for each other.
   */
  readonly scope: string;
  /** The lock manager; `navigator.locks` by default, `null` to use none. */
  readonly locks?: LockManagerLike | null;
}

/**
 * A {@link SessionManager} whose operations on one peer address are serialized across every tab
 * and worker of the origin with the Web Locks API, not only within the instance.
 *
 * Without it, two tabs on one IndexedDB database still cannot corrupt a session: each commit
 * checks the record's version, a stale tab gets `ERR_CONCURRENT_MODIFICATION` and
 * `SessionManager` retries on fresh state, a few times. Under heavy contention those retries can
 * run out and surface the error; the lock makes the tabs take turns instead. Where
 * `navigator.locks` is missing, operations run unlocked and rely on the version check alone.
 *
 * @example
 * ```ts
 * const manager = new LockedSessionManager(
 *   new SessionManager({ store, localAddress }),
 *   { scope: 'chat-alice' },
 * );
 * const plaintext = await manager.decrypt(bob, message, {
 *   withPlaintext: (text, tx) => {
 *     (tx as IDBTransaction).objectStore('messages').put(text, messageId);
 *   },
 * });
 * ```
 */
export class LockedSessionManager {
  readonly #manager: SessionManager;
  readonly #scope: string;
  readonly #locks: LockManagerLike | null;

  /**
   * @param manager - the manager to wrap (its store should be shared by the tabs, e.g. IndexedDB)
   * @param options - the lock scope and manager
   */
  constructor(manager: SessionManager, options: LockedSessionManagerOptions) {
    this.#manager = manager;
    this.#scope = options.scope;
    this.#locks = options.locks === undefined ? (webLocks() ?? null) : options.locks;
  }

  /** The wrapped manager (its calls are not cross-tab locked). */
  get manager(): SessionManager {
    return this.#manager;
  }

  /** This device's address. */
  get localAddress(): ProtocolAddress {
    return this.#manager.localAddress;
  }

  /** Whether a cross-tab lock is in use (`false`: version checks only). */
  get crossTab(): boolean {
    return this.#locks !== null;
  }

  /** {@link SessionManager.processPreKeyBundle} under the address's cross-tab lock. */
  processPreKeyBundle(address: ProtocolAddress, bundle: PreKeyBundle): Promise<void> {
    return this.#locked(address, () => this.#manager.processPreKeyBundle(address, bundle));
  }

  /** {@link SessionManager.encrypt} under the address's cross-tab lock. */
  encrypt(
    address: ProtocolAddress,
    plaintext: Uint8Array,
    options?: EncryptOptions,
  ): Promise<CiphertextMessage> {
    return this.#locked(address, () => this.#manager.encrypt(address, plaintext, options));
  }

  /** {@link SessionManager.decrypt} under the address's cross-tab lock. */
  decrypt(
    address: ProtocolAddress,
    message: CiphertextMessage,
    options?: DecryptOptions,
  ): Promise<Uint8Array> {
    return this.#locked(address, () => this.#manager.decrypt(address, message, options));
  }

  /** {@link SessionManager.decryptPreKeyMessage} under the address's cross-tab lock. */
  decryptPreKeyMessage(
    address: ProtocolAddress,
    bytes: Uint8Array,
    options?: DecryptOptions,
  ): Promise<Uint8Array> {
    return this.#locked(address, () => this.#manager.decryptPreKeyMessage(address, bytes, options));
  }

  /** {@link SessionManager.decryptWhisperMessage} under the address's cross-tab lock. */
  decryptWhisperMessage(
    address: ProtocolAddress,
    bytes: Uint8Array,
    options?: DecryptOptions,
  ): Promise<Uint8Array> {
    return this.#locked(address, () =>
      this.#manager.decryptWhisperMessage(address, bytes, options),
    );
  }

  /** {@link SessionManager.archiveSession} under the address's cross-tab lock. */
  archiveSession(address: ProtocolAddress): Promise<void> {
    return this.#locked(address, () => this.#manager.archiveSession(address));
  }

  /** {@link SessionManager.hasSession} (a read; not locked). */
  hasSession(address: ProtocolAddress): Promise<boolean> {
    return this.#manager.hasSession(address);
  }

  /** {@link SessionManager.getSpqrStatus} (a read; not locked). */
  getSpqrStatus(address: ProtocolAddress): Promise<SpqrStatus | null> {
    return this.#manager.getSpqrStatus(address);
  }

  #locked<T>(address: ProtocolAddress, fn: () => Promise<T>): Promise<T> {
    return withWebLock(`chiffre:${this.#scope}:${address.toString()}`, fn, this.#locks);
  }
}
