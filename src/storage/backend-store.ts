/**
 * {@link BackendProtocolStore}: a complete {@link ProtocolStore} over any {@link RecordBackend}.
 * Durable adapters (SQLite, IndexedDB) and wrappers (encryption at rest) only provide bytes,
 * versions and atomic batches; this class provides the protocol semantics: trust on first use,
 * prekey bookkeeping, last-resort Kyber reuse detection, and change sets applied as one batch with
 * compare-and-swap on session records.
 *
 * @module
 */
import { InvalidMessageError, InvalidRecordError } from '../errors.js';
import {
  IdentityKeyPair,
  type KyberPreKeyId,
  type PreKeyId,
  type ProtocolAddress,
  PublicKey,
  type SignedPreKeyId,
} from '../keys/index.js';
import { toHex } from '../primitives/index.js';
import {
  KyberPreKeyRecord,
  PreKeyRecord,
  SessionRecord,
  SignedPreKeyRecord,
} from '../state/index.js';
import type { RecordBackend, RecordDelete, RecordPut } from './backend.js';
import type { ChangeSet, Direction, KyberPreKeyUse, ProtocolStore } from './types.js';

const IDENTITY_ID = 'identity-key-pair';
const REGISTRATION_ID = 'registration-id';

function u32Bytes(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** Decode a stored record, naming its kind and id (never its bytes) when it is corrupt. */
function decodeStored<T>(kind: string, id: string, decode: () => T): T {
  try {
    return decode();
  } catch (cause) {
    throw new InvalidRecordError(`${kind} ${id}: corrupt or unreadable`, { cause });
  }
}

function kyberUseId(use: KyberPreKeyUse): string {
  return `${String(use.kyberPreKeyId)}:${String(use.signedPreKeyId)}:${use.baseKey.toHex()}`;
}

/** How to create this device's identity the first time a backend is opened. */
export interface BackendStoreOptions {
  /** Called once, when the backend holds no identity yet. */
  readonly createIdentity: () => {
    /** This device's new identity key pair. */
    identity: IdentityKeyPair;
    /** This device's registration id, stored as a u32. */
    registrationId: number;
  };
}

/**
 * A {@link ProtocolStore} over a {@link RecordBackend}. Create one with
 * {@link BackendProtocolStore.open}; the SQLite and IndexedDB adapters open one for you.
 *
 * @example
 * ```ts
 * import { IdentityKeyPair } from 'chiffre';
 * import { BackendProtocolStore, MemoryBackend } from 'chiffre/storage';
 *
 * const store = await BackendProtocolStore.open(new MemoryBackend(), {
 *   createIdentity: () => ({ identity: IdentityKeyPair.generate(), registrationId: 1234 }),
 * });
 * await store.countPreKeys(); // 0
 * ```
 */
export class BackendProtocolStore implements ProtocolStore {
  readonly #backend: RecordBackend;
  readonly #identity: IdentityKeyPair;
  readonly #registrationId: number;

  private constructor(backend: RecordBackend, identity: IdentityKeyPair, registrationId: number) {
    this.#backend = backend;
    this.#identity = identity;
    this.#registrationId = registrationId;
  }

  /**
   * Open a store: load this device's identity from the backend, or create and persist it.
   *
   * @param backend - where the records live
   * @param options - `createIdentity`, called only when the backend holds no identity yet
   * @returns the store, ready for a {@link SessionManager}
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` when the stored identity is corrupt
   * @throws {ConcurrencyError} `ERR_CONCURRENT_MODIFICATION` when another opener created the
   *   identity first (or only half of it is stored)
   * @example
   * ```ts
   * import { IdentityKeyPair, ProtocolAddress, SessionManager } from 'chiffre';
   * import { BackendProtocolStore, MemoryBackend } from 'chiffre/storage';
   *
   * const backend = new MemoryBackend(); // or a SQLite, IndexedDB or encrypted backend
   * const store = await BackendProtocolStore.open(backend, {
   *   createIdentity: () => ({ identity: IdentityKeyPair.generate(), registrationId: 1234 }),
   * });
   * // Opening the same backend again loads the stored identity; createIdentity is not called.
   * const again = await BackendProtocolStore.open(backend, {
   *   createIdentity: () => {
   *     throw new Error('unreachable');
   *   },
   * });
   * again.getIdentityKeyPair().publicKey.equals(store.getIdentityKeyPair().publicKey); // true
   * const sessions = new SessionManager({ store, localAddress: new ProtocolAddress('alice', 1) });
   * ```
   */
  static async open(
    backend: RecordBackend,
    options: BackendStoreOptions,
  ): Promise<BackendProtocolStore> {
    let stored = await backend.get('local', IDENTITY_ID);
    let reg = await backend.get('local', REGISTRATION_ID);
    if ((stored === null) !== (reg === null)) {
      // The two reads are separate: another connection's (atomic) creation may have landed
      // between them. Read again before calling the database damaged.
      stored = await backend.get('local', IDENTITY_ID);
      reg = await backend.get('local', REGISTRATION_ID);
    }
    if (stored !== null && reg !== null) {
      let identity: IdentityKeyPair;
      try {
        identity = IdentityKeyPair.deserialize(stored.bytes);
      } catch (cause) {
        throw new InvalidRecordError('local identity: corrupt', { cause });
      }
      if (reg.bytes.length !== 4) throw new InvalidRecordError('local registration id: corrupt');
      const registrationId = new DataView(reg.bytes.buffer, reg.bytes.byteOffset, 4).getUint32(0);
      return new BackendProtocolStore(backend, identity, registrationId);
    }
    if (stored !== null || reg !== null) {
      // Both are written in one batch: only one of them means a damaged database, not a race.
      throw new InvalidRecordError(
        'local identity: incomplete (identity or registration id missing)',
      );
    }
    const created = options.createIdentity();
    const regId = created.registrationId;
    if (!Number.isInteger(regId) || regId < 0 || regId > 0xffff_ffff) {
      throw new RangeError('registrationId must be an integer between 0 and 2^32-1');
    }
    await backend.write({
      puts: [
        {
          kind: 'local',
          id: IDENTITY_ID,
          bytes: created.identity.serialize(),
          expectedVersion: null,
        },
        {
          kind: 'local',
          id: REGISTRATION_ID,
          bytes: u32Bytes(created.registrationId),
          expectedVersion: null,
        },
      ],
      deletes: [],
    });
    return new BackendProtocolStore(backend, created.identity, created.registrationId);
  }

  /** The backend (for adapters' own helpers). */
  get backend(): RecordBackend {
    return this.#backend;
  }

  // -- identities ------------------------------------------------------------------------------

  getIdentityKeyPair(): IdentityKeyPair {
    return this.#identity;
  }

  getLocalRegistrationId(): number {
    return this.#registrationId;
  }

  async getIdentity(address: ProtocolAddress): Promise<PublicKey | null> {
    const r = await this.#backend.get('identity', address.toString());
    if (r === null) return null;
    try {
      return PublicKey.deserialize(r.bytes);
    } catch (cause) {
      throw new InvalidRecordError(`identity ${address.toString()}: corrupt`, { cause });
    }
  }

  /** Trust on first use: trusted when nothing is stored or the stored key is the same. */
  async isTrustedIdentity(
    address: ProtocolAddress,
    identityKey: PublicKey,
    _direction: Direction,
  ): Promise<boolean> {
    const stored = await this.getIdentity(address);
    return stored === null || stored.equals(identityKey);
  }

  /** Store (or replace) a peer's identity; returns whether a different one was replaced. */
  async saveIdentity(address: ProtocolAddress, identityKey: PublicKey): Promise<boolean> {
    const stored = await this.getIdentity(address);
    await this.#backend.write({
      puts: [{ kind: 'identity', id: address.toString(), bytes: identityKey.serialize() }],
      deletes: [],
    });
    return stored !== null && !stored.equals(identityKey);
  }

  // -- prekeys ---------------------------------------------------------------------------------

  /**
   * Load a one-time prekey.
   *
   * @param id - the prekey id
   * @returns the record, or `null` when it is unknown or already used
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` when the stored record is corrupt
   */
  async loadPreKey(id: PreKeyId): Promise<PreKeyRecord | null> {
    const r = await this.#backend.get('prekey', String(id));
    return r === null
      ? null
      : decodeStored('prekey', String(id), () => PreKeyRecord.deserialize(r.bytes));
  }

  /**
   * Store (or replace) a one-time prekey under its id.
   *
   * @param record - the prekey
   */
  async storePreKey(record: PreKeyRecord): Promise<void> {
    await this.#put('prekey', String(record.id), record.serialize());
  }

  /**
   * Delete a one-time prekey; an unknown id is ignored.
   *
   * @param id - the prekey id
   */
  async removePreKey(id: PreKeyId): Promise<void> {
    await this.#backend.write({ puts: [], deletes: [{ kind: 'prekey', id: String(id) }] });
  }

  /** How many one-time prekeys are stored (for replenishing). */
  async countPreKeys(): Promise<number> {
    return this.#backend.count('prekey');
  }

  /**
   * Load a signed prekey.
   *
   * @param id - the signed prekey id
   * @returns the record, or `null` when it is unknown
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` when the stored record is corrupt
   */
  async loadSignedPreKey(id: SignedPreKeyId): Promise<SignedPreKeyRecord | null> {
    const r = await this.#backend.get('signed-prekey', String(id));
    return r === null
      ? null
      : decodeStored('signed-prekey', String(id), () => SignedPreKeyRecord.deserialize(r.bytes));
  }

  /**
   * Store (or replace) a signed prekey under its id.
   *
   * @param record - the signed prekey
   */
  async storeSignedPreKey(record: SignedPreKeyRecord): Promise<void> {
    await this.#put('signed-prekey', String(record.id), record.serialize());
  }

  /**
   * Delete a signed prekey; an unknown id is ignored.
   *
   * @param id - the signed prekey id
   */
  async removeSignedPreKey(id: SignedPreKeyId): Promise<void> {
    await this.#backend.write({ puts: [], deletes: [{ kind: 'signed-prekey', id: String(id) }] });
  }

  /**
   * Load a Kyber prekey.
   *
   * @param id - the Kyber prekey id
   * @returns the record, or `null` when it is unknown or a one-time key already used
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` when the stored record is corrupt
   */
  async loadKyberPreKey(id: KyberPreKeyId): Promise<KyberPreKeyRecord | null> {
    const r = await this.#backend.get('kyber-prekey', String(id));
    return r === null
      ? null
      : decodeStored('kyber-prekey', String(id), () => KyberPreKeyRecord.deserialize(r.bytes));
  }

  /**
   * Store (or replace) a Kyber prekey under its id.
   *
   * @param record - the Kyber prekey (one-time or last-resort)
   */
  async storeKyberPreKey(record: KyberPreKeyRecord): Promise<void> {
    await this.#put('kyber-prekey', String(record.id), record.serialize());
  }

  /**
   * Delete a Kyber prekey; an unknown id is ignored. The recorded uses of a last-resort key are
   * kept.
   *
   * @param id - the Kyber prekey id
   */
  async removeKyberPreKey(id: KyberPreKeyId): Promise<void> {
    // Its last-resort bookkeeping can never match again: drop it in the same batch.
    const prefix = `${String(id)}:`;
    const uses = (await this.#backend.ids('kyber-use')).filter((u) => u.startsWith(prefix));
    await this.#backend.write({
      puts: [],
      deletes: [
        { kind: 'kyber-prekey', id: String(id) },
        ...uses.map((u) => ({ kind: 'kyber-use' as const, id: u })),
      ],
    });
  }

  // -- sessions --------------------------------------------------------------------------------

  /**
   * Load the session record of a peer device, tagged with the backend's version of it (for
   * compare-and-swap at commit).
   *
   * @param address - the peer device
   * @returns the record, or `null` when there is none
   * @throws {InvalidRecordError} `ERR_INVALID_RECORD` when the stored record is corrupt
   */
  async loadSession(address: ProtocolAddress): Promise<SessionRecord | null> {
    const id = address.toString();
    const r = await this.#backend.get('session', id);
    return r === null
      ? null
      : decodeStored('session', id, () => SessionRecord.deserialize(r.bytes, r.version));
  }

  /** Store a record outside any protocol operation (e.g. an import). No version check. */
  async storeSession(address: ProtocolAddress, record: SessionRecord): Promise<void> {
    await this.#put('session', address.toString(), record.serialize());
  }

  /** Delete the session with `address`. */
  async removeSession(address: ProtocolAddress): Promise<void> {
    await this.#backend.write({ puts: [], deletes: [{ kind: 'session', id: address.toString() }] });
  }

  // -- commit ----------------------------------------------------------------------------------

  /**
   * Apply a change set as one backend batch: sessions with compare-and-swap, identities,
   * consumed prekeys, Kyber bookkeeping, and the application write, all or nothing.
   *
   * @throws {ConcurrencyError} `ERR_CONCURRENT_MODIFICATION` (from the backend)
   * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` for a repeated last-resort Kyber use
   */
  async commit(changes: ChangeSet): Promise<void> {
    const puts: RecordPut[] = [];
    const deletes: RecordDelete[] = [];
    for (const s of changes.sessions) {
      puts.push({
        kind: 'session',
        id: s.address.toString(),
        bytes: s.record.serialize(),
        expectedVersion: s.expectedVersion,
      });
    }
    for (const i of changes.identities) {
      puts.push({ kind: 'identity', id: i.address.toString(), bytes: i.identityKey.serialize() });
    }
    for (const id of changes.removedPreKeys) deletes.push({ kind: 'prekey', id: String(id) });
    for (const use of changes.kyberPreKeysUsed) {
      const record = await this.loadKyberPreKey(use.kyberPreKeyId);
      if (record === null) continue;
      if (!record.lastResort) {
        deletes.push({ kind: 'kyber-prekey', id: String(use.kyberPreKeyId) });
        continue;
      }
      const id = kyberUseId(use);
      if ((await this.#backend.get('kyber-use', id)) !== null) {
        throw new InvalidMessageError(
          'last-resort Kyber prekey reused with the same base key',
          'prekey',
        );
      }
      // `expectedVersion: null` turns a concurrent first use into a ConcurrencyError (retried).
      puts.push({ kind: 'kyber-use', id, bytes: new Uint8Array(0), expectedVersion: null });
    }
    await this.#backend.write({ puts, deletes, applicationWrite: changes.applicationWrite });
  }

  async #put(kind: RecordPut['kind'], id: string, bytes: Uint8Array): Promise<void> {
    await this.#backend.write({ puts: [{ kind, id, bytes }], deletes: [] });
  }

  /**
   * The JSON rendering: the class tag and this device's public identity key only.
   *
   * @returns the class tag and the identity key's hex
   */
  toJSON(): {
    /** Always `'BackendProtocolStore'`. */
    type: 'BackendProtocolStore';
    /** Lower-case hex of this device's serialized identity key. */
    identity: string;
  } {
    return { type: 'BackendProtocolStore', identity: this.#identity.publicKey.toHex() };
  }

  /**
   * A short rendering with the public identity key only.
   *
   * @returns `BackendProtocolStore(<identity hex>)`
   */
  toString(): string {
    return `BackendProtocolStore(${toHex(this.#identity.publicKey.serialize())})`;
  }
}
