/**
 * The CLI client's storage: one SQLite file per device holding chiffre's records
 * (`openSqliteProtocolStore`, table `chiffre_records`) and the application's own tables
 * (`app_settings`, `app_messages`) on the same connection, so that an incoming message is saved
 * in the very transaction that commits its ratchet step (`withSqliteTransaction`).
 *
 * @module
 */
import Database from 'better-sqlite3';
import { openSqliteProtocolStore, withSqliteTransaction } from '../../src/adapters/sqlite.js';
import * as fingerprint from '../../src/fingerprint/index.js';
import * as chiffre from '../../src/index.js';
import * as prekeys from '../../src/prekeys.js';
import * as recovery from '../../src/recovery.js';
import {
  type ClientEvent,
  type ClientOptions,
  type ClientStorage,
  MessengerClient,
  type StoredMessage,
} from './client.js';

const APP_SCHEMA = `
CREATE TABLE IF NOT EXISTS app_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS app_messages (
  peer TEXT NOT NULL,
  id TEXT NOT NULL,
  direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
  text TEXT NOT NULL,
  sent_at INTEGER NOT NULL,
  envelope_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (peer, id, direction)
);
`;

interface MessageRow {
  peer: string;
  id: string;
  direction: 'in' | 'out';
  text: string;
  sent_at: number;
  envelope_id: number;
}

function fromRow(r: MessageRow): StoredMessage {
  return {
    id: r.id,
    peer: r.peer,
    direction: r.direction,
    text: r.text,
    sentAt: r.sent_at,
    envelopeId: r.envelope_id,
  };
}

/** A registration id as Signal draws it: 1 to 16380. */
export function randomRegistrationId(): number {
  const [n] = crypto.getRandomValues(new Uint32Array(1));
  return 1 + ((n as number) % 16380);
}

/**
 * Open (creating) a device's SQLite file. The first open creates the identity key pair.
 *
 * @example
 * ```ts
 * const storage = await openSqliteStorage('alice.db');
 * ```
 */
export async function openSqliteStorage(path: string): Promise<ClientStorage> {
  const db = new Database(path);
  db.exec(APP_SCHEMA);
  // Shares the connection: chiffre's commits and our inserts can be one transaction.
  const store = await openSqliteProtocolStore(db, {
    createIdentity: () => ({
      identity: chiffre.IdentityKeyPair.generate(),
      registrationId: randomRegistrationId(),
    }),
  });
  const getSetting = db.prepare('SELECT value FROM app_settings WHERE key = ?');
  const setSetting = db.prepare(
    'INSERT INTO app_settings (key, value) VALUES (?, ?) ' +
      'ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  );
  const insert = (tx: { prepare: Database.Database['prepare'] }, m: StoredMessage): boolean =>
    tx
      .prepare(
        `INSERT INTO app_messages (peer, id, direction, text, sent_at, envelope_id, seq)
         VALUES (?, ?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM app_messages))
         ON CONFLICT (peer, id, direction) DO NOTHING`,
      )
      .run(m.peer, m.id, m.direction, m.text, m.sentAt, m.envelopeId).changes > 0;

  return {
    store,
    async getSetting(key) {
      const row = getSetting.get(key) as { value: string } | undefined;
      return row?.value ?? null;
    },
    async setSetting(key, value) {
      setSetting.run(key, value);
    },
    withPlaintext(write) {
      // `tx` is the connection, inside chiffre's BEGIN IMMEDIATE: synchronous writes only.
      return withSqliteTransaction((plaintext, tx) => {
        write(plaintext, (message) => insert(tx as unknown as Database.Database, message));
      });
    },
    async saveOutgoing(message) {
      if (!insert(db, message)) {
        db.prepare(
          `UPDATE app_messages SET envelope_id = ? WHERE peer = ? AND id = ? AND direction = 'out'`,
        ).run(message.envelopeId, message.peer, message.id);
      }
    },
    async findOutgoing(peer, envelopeId) {
      const row = db
        .prepare(
          `SELECT * FROM app_messages WHERE peer = ? AND envelope_id = ? AND direction = 'out'`,
        )
        .get(peer, envelopeId) as MessageRow | undefined;
      return row === undefined ? null : fromRow(row);
    },
    async history() {
      return (db.prepare('SELECT * FROM app_messages ORDER BY seq').all() as MessageRow[]).map(
        fromRow,
      );
    },
    close() {
      if (db.open) db.close();
    },
  };
}

/** Options of {@link openSqliteClient}: the client's, with a database path for its storage. */
export type SqliteClientOptions = Omit<ClientOptions, 'lib' | 'storage'> & {
  /** The device's SQLite file (created on first use). */
  readonly dbPath: string;
  /** Subscribed before anything happens, so no event is missed. */
  readonly onEvent?: (event: ClientEvent) => void;
};

/**
 * A {@link MessengerClient} on a SQLite file, registered (or with its keys refreshed) and ready.
 *
 * @example
 * ```ts
 * const alice = await openSqliteClient({ dbPath: 'alice.db', serverUrl, name: 'alice' });
 * alice.start();
 * await alice.send('bob', 'Hi Bob!');
 * ```
 */
export async function openSqliteClient(options: SqliteClientOptions): Promise<MessengerClient> {
  const { dbPath, onEvent, ...rest } = options;
  const storage = await openSqliteStorage(dbPath);
  try {
    const lib = { ...chiffre, ...prekeys, ...recovery, ...fingerprint };
    const client = await MessengerClient.open({ ...rest, lib, storage });
    if (onEvent !== undefined) client.on(onEvent);
    await client.register();
    return client;
  } catch (e) {
    await storage.close();
    throw e;
  }
}
