/**
 * The server's SQLite database: the key directory (devices, their public keys, one-time prekeys)
 * and the store-and-forward mailboxes. Synchronous (better-sqlite3), so every method is atomic
 * with respect to the others; the few multi-statement changes run in one transaction.
 *
 * What it stores is public by construction: identity and prekey public keys, signatures, message
 * ciphertexts, and the SHA-256 of each device's access token. There is no column a private key or
 * a plaintext could go into.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';

/** A registered device's published keys (public). */
export interface DeviceKeys {
  readonly registrationId: number;
  readonly identityKey: Uint8Array;
  readonly signedPreKey: { id: number; publicKey: Uint8Array; signature: Uint8Array };
  readonly kyberPreKey: { id: number; publicKey: Uint8Array; signature: Uint8Array };
}

/** A device, as the mailbox and bundle queries name it. */
export interface DeviceRef {
  readonly name: string;
  readonly deviceId: number;
}

/** A queued message. */
export interface StoredMessage {
  readonly id: number;
  readonly senderName: string;
  readonly senderDevice: number;
  readonly type: 'prekey' | 'whisper';
  readonly body: Uint8Array;
  readonly receivedAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS devices (
  name TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  registration_id INTEGER NOT NULL,
  identity_key BLOB NOT NULL,
  token_hash BLOB NOT NULL UNIQUE,
  signed_prekey_id INTEGER NOT NULL,
  signed_prekey BLOB NOT NULL,
  signed_prekey_signature BLOB NOT NULL,
  kyber_prekey_id INTEGER NOT NULL,
  kyber_prekey BLOB NOT NULL,
  kyber_prekey_signature BLOB NOT NULL,
  registered_at INTEGER NOT NULL,
  PRIMARY KEY (name, device_id)
);
CREATE TABLE IF NOT EXISTS one_time_prekeys (
  name TEXT NOT NULL,
  device_id INTEGER NOT NULL,
  key_id INTEGER NOT NULL,
  public_key BLOB NOT NULL,
  PRIMARY KEY (name, device_id, key_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  recipient_name TEXT NOT NULL,
  recipient_device INTEGER NOT NULL,
  sender_name TEXT NOT NULL,
  sender_device INTEGER NOT NULL,
  type TEXT NOT NULL CHECK (type IN ('prekey', 'whisper')),
  body BLOB NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_recipient ON messages (recipient_name, recipient_device, id);
`;

/** SHA-256 of an access token: the server keeps only this. */
export function hashToken(token: string): Uint8Array {
  return createHash('sha256').update(token, 'utf8').digest();
}

function bytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new Error('server database: expected a blob');
  return new Uint8Array(value);
}

interface DeviceRow {
  registration_id: number;
  identity_key: Uint8Array;
  signed_prekey_id: number;
  signed_prekey: Uint8Array;
  signed_prekey_signature: Uint8Array;
  kyber_prekey_id: number;
  kyber_prekey: Uint8Array;
  kyber_prekey_signature: Uint8Array;
}

interface MessageRow {
  id: number;
  sender_name: string;
  sender_device: number;
  type: 'prekey' | 'whisper';
  body: Uint8Array;
  received_at: number;
}

/** The key directory and the mailboxes on one SQLite file. */
export class ServerDatabase {
  readonly #db: Database.Database;

  /** Open (creating) the database at `path`: WAL, and synchronous FULL (accepted is kept). */
  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.exec(SCHEMA);
  }

  /** The device a token belongs to, or `null`. */
  deviceForToken(token: string): DeviceRef | null {
    const row = this.#db
      .prepare('SELECT name, device_id FROM devices WHERE token_hash = ?')
      .get(hashToken(token)) as { name: string; device_id: number } | undefined;
    return row === undefined ? null : { name: row.name, deviceId: row.device_id };
  }

  /** A device's current keys, or `null` when it is not registered. */
  device(ref: DeviceRef): DeviceKeys | null {
    const row = this.#db
      .prepare('SELECT * FROM devices WHERE name = ? AND device_id = ?')
      .get(ref.name, ref.deviceId) as DeviceRow | undefined;
    if (row === undefined) return null;
    return {
      registrationId: row.registration_id,
      identityKey: bytes(row.identity_key),
      signedPreKey: {
        id: row.signed_prekey_id,
        publicKey: bytes(row.signed_prekey),
        signature: bytes(row.signed_prekey_signature),
      },
      kyberPreKey: {
        id: row.kyber_prekey_id,
        publicKey: bytes(row.kyber_prekey),
        signature: bytes(row.kyber_prekey_signature),
      },
    };
  }

  /**
   * Register a device, or replace its identity (a reinstall authenticated by its token): the
   * keys are replaced and its old one-time prekeys deleted, in one transaction.
   */
  putDevice(ref: DeviceRef, keys: DeviceKeys, tokenHash: Uint8Array, now: number): void {
    this.#db.transaction(() => {
      this.#db
        .prepare(
          `INSERT INTO devices (name, device_id, registration_id, identity_key, token_hash,
             signed_prekey_id, signed_prekey, signed_prekey_signature,
             kyber_prekey_id, kyber_prekey, kyber_prekey_signature, registered_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (name, device_id) DO UPDATE SET
             registration_id = excluded.registration_id, identity_key = excluded.identity_key,
             token_hash = excluded.token_hash,
             signed_prekey_id = excluded.signed_prekey_id, signed_prekey = excluded.signed_prekey,
             signed_prekey_signature = excluded.signed_prekey_signature,
             kyber_prekey_id = excluded.kyber_prekey_id, kyber_prekey = excluded.kyber_prekey,
             kyber_prekey_signature = excluded.kyber_prekey_signature,
             registered_at = excluded.registered_at`,
        )
        .run(
          ref.name,
          ref.deviceId,
          keys.registrationId,
          keys.identityKey,
          tokenHash,
          keys.signedPreKey.id,
          keys.signedPreKey.publicKey,
          keys.signedPreKey.signature,
          keys.kyberPreKey.id,
          keys.kyberPreKey.publicKey,
          keys.kyberPreKey.signature,
          now,
        );
      this.#db
        .prepare('DELETE FROM one_time_prekeys WHERE name = ? AND device_id = ?')
        .run(ref.name, ref.deviceId);
    })();
  }

  /** Replace the current signed prekey. */
  setSignedPreKey(ref: DeviceRef, key: DeviceKeys['signedPreKey']): void {
    this.#db
      .prepare(
        `UPDATE devices SET signed_prekey_id = ?, signed_prekey = ?, signed_prekey_signature = ?
         WHERE name = ? AND device_id = ?`,
      )
      .run(key.id, key.publicKey, key.signature, ref.name, ref.deviceId);
  }

  /** Replace the current last-resort Kyber prekey. */
  setKyberPreKey(ref: DeviceRef, key: DeviceKeys['kyberPreKey']): void {
    this.#db
      .prepare(
        `UPDATE devices SET kyber_prekey_id = ?, kyber_prekey = ?, kyber_prekey_signature = ?
         WHERE name = ? AND device_id = ?`,
      )
      .run(key.id, key.publicKey, key.signature, ref.name, ref.deviceId);
  }

  /** Add one-time prekeys (an id uploaded again replaces the old key), all or none. */
  addOneTimePreKeys(ref: DeviceRef, keys: readonly { id: number; publicKey: Uint8Array }[]): void {
    const insert = this.#db.prepare(
      `INSERT INTO one_time_prekeys (name, device_id, key_id, public_key) VALUES (?, ?, ?, ?)
       ON CONFLICT (name, device_id, key_id) DO UPDATE SET public_key = excluded.public_key`,
    );
    this.#db.transaction(() => {
      for (const k of keys) insert.run(ref.name, ref.deviceId, k.id, k.publicKey);
    })();
  }

  /** How many one-time prekeys the device has left on the server. */
  countOneTimePreKeys(ref: DeviceRef): number {
    const row = this.#db
      .prepare('SELECT count(*) AS n FROM one_time_prekeys WHERE name = ? AND device_id = ?')
      .get(ref.name, ref.deviceId) as { n: number };
    return row.n;
  }

  /**
   * Take one one-time prekey (the lowest id) and delete it in the same statement, so no two
   * bundles ever carry the same one; `null` when none is left.
   */
  takeOneTimePreKey(ref: DeviceRef): { id: number; publicKey: Uint8Array } | null {
    const row = this.#db
      .prepare(
        `DELETE FROM one_time_prekeys
         WHERE name = @name AND device_id = @device AND key_id = (
           SELECT min(key_id) FROM one_time_prekeys WHERE name = @name AND device_id = @device)
         RETURNING key_id, public_key`,
      )
      .get({ name: ref.name, device: ref.deviceId }) as
      { key_id: number; public_key: Uint8Array } | undefined;
    return row === undefined ? null : { id: row.key_id, publicKey: bytes(row.public_key) };
  }

  /** Queue a message; returns its id. */
  enqueue(
    to: DeviceRef,
    from: DeviceRef,
    type: 'prekey' | 'whisper',
    body: Uint8Array,
    now: number,
  ): number {
    const info = this.#db
      .prepare(
        `INSERT INTO messages
           (recipient_name, recipient_device, sender_name, sender_device, type, body, received_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(to.name, to.deviceId, from.name, from.deviceId, type, body, now);
    return Number(info.lastInsertRowid);
  }

  /** Messages queued for a device. */
  mailboxSize(ref: DeviceRef): number {
    const row = this.#db
      .prepare(
        'SELECT count(*) AS n FROM messages WHERE recipient_name = ? AND recipient_device = ?',
      )
      .get(ref.name, ref.deviceId) as { n: number };
    return row.n;
  }

  /** Up to `limit` queued messages with ids above `after`, oldest first. */
  messagesFor(ref: DeviceRef, after: number, limit: number): StoredMessage[] {
    const rows = this.#db
      .prepare(
        `SELECT id, sender_name, sender_device, type, body, received_at FROM messages
         WHERE recipient_name = ? AND recipient_device = ? AND id > ? ORDER BY id LIMIT ?`,
      )
      .all(ref.name, ref.deviceId, after, limit) as MessageRow[];
    return rows.map((r) => ({
      id: r.id,
      senderName: r.sender_name,
      senderDevice: r.sender_device,
      type: r.type,
      body: bytes(r.body),
      receivedAt: r.received_at,
    }));
  }

  /** Delete an acknowledged message; `false` when the device has no message with that id. */
  ack(ref: DeviceRef, id: number): boolean {
    const info = this.#db
      .prepare('DELETE FROM messages WHERE id = ? AND recipient_name = ? AND recipient_device = ?')
      .run(id, ref.name, ref.deviceId);
    return info.changes > 0;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }
}
