/**
 * Encryption at rest for any {@link RecordBackend}: {@link encryptedBackend} seals every record's
 * bytes with an application-supplied 32-byte key before they reach the inner backend, so a stolen
 * database file reveals no key material (identity key, prekeys, ratchet and chain keys).
 *
 * Format of a stored record: `nonce (24) ‖ XChaCha20-Poly1305 ciphertext ‖ tag (16)`, with the
 * associated data `"chiffre record v1" ‖ 0x00 ‖ kind ‖ 0x00 ‖ UTF-8(id)`. Binding kind and id
 * means a record copied or moved to another id or kind (e.g. Bob's session placed under Mallory's
 * address) fails to open instead of being used.
 *
 * Guarantees:
 * - `get` of a record that does not open (wrong key, altered or truncated bytes, moved record)
 *   throws {@link InvalidRecordError} (`ERR_INVALID_RECORD`) whose reason names the kind and id,
 *   never a secret: `session alice.1: cannot be opened (wrong key or corrupt)`.
 * - A wrong key never overwrites data. Before a batch is handed to the inner backend, every
 *   existing record it would replace or delete is opened with this key; if one does not open, the
 *   batch is refused with that error and nothing is written. (A put that expects the record not
 *   to exist, `expectedVersion: null`, needs no check: the inner backend refuses it if it does.)
 *   {@link BackendProtocolStore.open} reads the local identity first, so a store opened with a
 *   wrong key fails there, before any write.
 * - Versions, compare-and-swap expectations, atomic batches and the application write pass
 *   through unchanged: the wrapper adds no transaction of its own.
 *
 * Not covered (visible to whoever holds the file): record kinds and ids (peer addresses, prekey
 * ids), versions, record sizes, and how many records of each kind exist. The application owns the
 * key: where it lives (OS keychain, a passphrase KDF), rotation, and wiping it.
 *
 * Cost: each batch reads and opens the records it replaces or deletes (one `get` per put or
 * delete) before writing. The reads happen just before, not inside, the inner backend's
 * transaction: they establish that the key matches the data, while the inner compare-and-swap
 * still decides which concurrent writer wins.
 *
 * @module
 */
import { InvalidRecordError } from '../errors.js';
import { installInspect, REDACTED } from '../keys/index.js';
import { AEAD_KEY_LENGTH, aeadOpen, aeadSeal, assertBytes } from '../primitives/index.js';
import type {
  RecordBackend,
  RecordBatch,
  RecordDelete,
  RecordKind,
  RecordPut,
  StoredRecord,
} from './backend.js';

/** Domain label opening every record's associated data. @internal */
const RECORD_AD_LABEL = 'chiffre record v1';

/**
 * UTF-8 of `s`; a lone surrogate is encoded as its own 3-byte sequence (WTF-8), which keeps the
 * mapping injective for every JavaScript string. Avoids `TextEncoder` so `src/` keeps its single
 * ambient global.
 *
 * @internal
 */
function utf8(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000) {
      out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    } else {
      out.push(
        0xf0 | (cp >> 18),
        0x80 | ((cp >> 12) & 0x3f),
        0x80 | ((cp >> 6) & 0x3f),
        0x80 | (cp & 0x3f),
      );
    }
  }
  return out;
}

/** The associated data of record `(kind, id)`. @internal */
function associatedData(kind: RecordKind, id: string): Uint8Array {
  return Uint8Array.from([...utf8(RECORD_AD_LABEL), 0, ...utf8(kind), 0, ...utf8(id)]);
}

/** @internal */
class EncryptedBackend implements RecordBackend {
  readonly #inner: RecordBackend;
  readonly #key: Uint8Array;

  constructor(inner: RecordBackend, key: Uint8Array) {
    this.#inner = inner;
    this.#key = key;
  }

  async get(kind: RecordKind, id: string): Promise<StoredRecord | null> {
    const stored = await this.#inner.get(kind, id);
    if (stored === null) return null;
    return { bytes: this.#open(kind, id, stored.bytes), version: stored.version };
  }

  async write(batch: RecordBatch): Promise<void> {
    // A wrong key must never replace or delete data it cannot read: open every record the batch
    // touches first. Nothing is written if one fails.
    const touched: readonly (RecordPut | RecordDelete)[] = [...batch.puts, ...batch.deletes];
    for (const w of touched) {
      if (w.expectedVersion === null) continue;
      const existing = await this.#inner.get(w.kind, w.id);
      if (existing !== null) this.#open(w.kind, w.id, existing.bytes);
    }
    const puts: RecordPut[] = batch.puts.map((p) => ({
      ...p,
      bytes: aeadSeal(this.#key, p.bytes, associatedData(p.kind, p.id)),
    }));
    await this.#inner.write({ ...batch, puts });
  }

  count(kind: RecordKind): Promise<number> | number {
    return this.#inner.count(kind);
  }

  ids(kind: RecordKind): Promise<string[]> | string[] {
    return this.#inner.ids(kind);
  }

  #open(kind: RecordKind, id: string, sealed: Uint8Array): Uint8Array {
    const bytes = aeadOpen(this.#key, sealed, associatedData(kind, id));
    if (bytes === null) {
      throw new InvalidRecordError(`${kind} ${id}: cannot be opened (wrong key or corrupt)`);
    }
    return bytes;
  }

  toJSON(): { type: 'EncryptedBackend'; key: string } {
    return { type: 'EncryptedBackend', key: REDACTED };
  }

  toString(): string {
    return `EncryptedBackend(${REDACTED})`;
  }
}

installInspect(EncryptedBackend);

/**
 * Wrap `inner` so that every record is sealed with `key` (XChaCha20-Poly1305, record kind and id
 * bound as associated data). Use the result wherever a backend is expected, e.g.
 * {@link BackendProtocolStore.open}.
 *
 * The key is copied; the caller may wipe its own buffer afterwards. Renderings of the wrapper
 * (`JSON`, `String`, `inspect`) never show it.
 *
 * @param inner - the backend that stores the sealed bytes
 * @param key - 32 bytes from a CSPRNG or a KDF; the same key must be used for every open
 * @returns a backend with the same versions and batch semantics as `inner`
 * @throws {TypeError} when `key` is not a `Uint8Array` or `inner` is not a backend
 * @throws {RangeError} when `key` is not 32 bytes
 * @example
 * ```ts
 * import { IdentityKeyPair } from 'chiffre';
 * import { BackendProtocolStore, MemoryBackend, encryptedBackend } from 'chiffre/storage';
 *
 * declare const keyFromKeychain: Uint8Array; // 32 bytes the application keeps in a keychain
 * const backend = encryptedBackend(new MemoryBackend(), keyFromKeychain);
 * const store = await BackendProtocolStore.open(backend, {
 *   createIdentity: () => ({ identity: IdentityKeyPair.generate(), registrationId: 1234 }),
 * });
 * // With another key, open throws InvalidRecordError (ERR_INVALID_RECORD) and writes nothing.
 * ```
 */
export function encryptedBackend(inner: RecordBackend, key: Uint8Array): RecordBackend {
  assertBytes(key, 'key', AEAD_KEY_LENGTH);
  if (typeof inner !== 'object' || inner === null || typeof inner.write !== 'function') {
    throw new TypeError('inner must be a RecordBackend');
  }
  return new EncryptedBackend(inner, key.slice());
}
