/**
 * The browser client's storage: one IndexedDB database per device, holding chiffre's records
 * (`openIndexedDbProtocolStore`) and two application object stores in the same database:
 * `settings` (token, prekey bookkeeping) and `messages`. An incoming message is written with the
 * `IDBTransaction` chiffre hands to `withPlaintext`, so it lands with its ratchet step or not at
 * all.
 *
 * chiffre comes in as arguments (the page imports the ESM build at run time); only types are
 * imported here.
 *
 * @module
 */
import type * as Chiffre from '../../../src/index.js';
import type * as IndexedDbAdapter from '../../../src/adapters/indexeddb.js';
import type { ClientStorage, StoredMessage } from '../client.js';

/** What the storage needs from `chiffre/storage/indexeddb`. */
export type IndexedDbModule = Pick<typeof IndexedDbAdapter, 'openIndexedDbProtocolStore'>;

const SETTINGS = 'settings';
const MESSAGES = 'messages';

interface Row extends StoredMessage {
  /** Insertion order, for the history. */
  readonly seq: number;
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => {
      resolve(r.result);
    };
    r.onerror = () => {
      reject(r.error ?? new Error('IndexedDB request failed'));
    };
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => {
      resolve();
    };
    tx.onabort = tx.onerror = () => {
      reject(tx.error ?? new Error('IndexedDB transaction failed'));
    };
  });
}

const messageKey = (m: StoredMessage): string => `${m.peer}/${m.direction}/${m.id}`;

let lastSeq = 0;
/** Increasing within this page, and across reloads (time-based). */
function nextSeq(): number {
  lastSeq = Math.max(lastSeq + 1, Date.now() * 1000);
  return lastSeq;
}

/** A registration id as Signal draws it: 1 to 16380. */
function randomRegistrationId(): number {
  const [n] = crypto.getRandomValues(new Uint32Array(1));
  return 1 + ((n as number) % 16380);
}

/**
 * Open (creating) the IndexedDB database `name` for one device.
 *
 * @example
 * ```ts
 * const storage = await openIndexedDbStorage(idb, chiffre, 'messenger:bob.1');
 * ```
 */
export async function openIndexedDbStorage(
  idb: IndexedDbModule,
  lib: Pick<typeof Chiffre, 'IdentityKeyPair'>,
  name: string,
): Promise<ClientStorage> {
  const store = await idb.openIndexedDbProtocolStore(name, {
    applicationStores: [SETTINGS, MESSAGES],
    applicationVersion: 1,
    createIdentity: () => ({
      identity: lib.IdentityKeyPair.generate(),
      registrationId: randomRegistrationId(),
    }),
  });

  // A second connection (no version: never upgrades) for reads and for writes that need no
  // protocol transaction. It closes when another tab upgrades the database and reopens on use.
  let connection: IDBDatabase | null = null;
  const db = async (): Promise<IDBDatabase> => {
    if (connection !== null) return connection;
    const opened = await request(indexedDB.open(name));
    opened.onversionchange = opened.onclose = () => {
      opened.close();
      if (connection === opened) connection = null;
    };
    connection = opened;
    return opened;
  };
  const put = async (storeName: string, value: unknown, key: string): Promise<void> => {
    const tx = (await db()).transaction(storeName, 'readwrite');
    tx.objectStore(storeName).put(value, key);
    await done(tx);
  };

  return {
    store,
    async getSetting(key) {
      const tx = (await db()).transaction(SETTINGS, 'readonly');
      const value: unknown = await request(tx.objectStore(SETTINGS).get(key));
      return typeof value === 'string' ? value : null;
    },
    async setSetting(key, value) {
      await put(SETTINGS, value, key);
    },
    withPlaintext(write) {
      return (plaintext, transaction) => {
        // chiffre's batch transaction: a put is queued on it synchronously. IndexedDB cannot say
        // synchronously whether the key existed, so a message sent twice is reported twice
        // (and stored once: same key).
        const tx = transaction as IDBTransaction;
        write(plaintext, (message) => {
          tx.objectStore(MESSAGES).put({ ...message, seq: nextSeq() }, messageKey(message));
          return true;
        });
      };
    },
    async saveOutgoing(message) {
      await put(MESSAGES, { ...message, seq: nextSeq() }, messageKey(message));
    },
    async findOutgoing(peer, envelopeId) {
      const tx = (await db()).transaction(MESSAGES, 'readonly');
      const rows = (await request(tx.objectStore(MESSAGES).getAll())) as Row[];
      return (
        rows.find((r) => r.peer === peer && r.direction === 'out' && r.envelopeId === envelopeId) ??
        null
      );
    },
    async history() {
      const tx = (await db()).transaction(MESSAGES, 'readonly');
      const rows = (await request(tx.objectStore(MESSAGES).getAll())) as Row[];
      return rows.sort((a, b) => a.seq - b.seq).map(({ seq: _seq, ...message }) => message);
    },
    close() {
      connection?.close();
      connection = null;
      (store.backend as IndexedDbAdapter.IndexedDbBackend).close();
    },
  };
}
