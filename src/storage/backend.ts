/**
 * The byte-level storage seam that durable adapters implement: records are opaque bytes keyed by
 * `(kind, id)`, each with a version, written only in atomic batches with compare-and-swap
 * expectations. {@link BackendProtocolStore} turns any backend into a full {@link ProtocolStore};
 * wrappers (such as encryption at rest) wrap a backend.
 *
 * Types only, plus the key names; no I/O here.
 *
 * @module
 */
import type { ApplicationWrite, MaybePromise } from './types.js';

/** What a stored record is. */
export type RecordKind =
  'local' | 'identity' | 'session' | 'prekey' | 'signed-prekey' | 'kyber-prekey' | 'kyber-use';

/**
 * A stored record and its version. Versions are positive integers that strictly increase with
 * every write of the record and are never reused, not even after the record was deleted and
 * created again (otherwise a writer holding a copy from before the delete would pass its
 * compare-and-swap).
 */
export interface StoredRecord {
  /** The record's bytes, as last written. */
  readonly bytes: Uint8Array;
  /** The record's current version. */
  readonly version: number;
}

/** One write of a batch. */
export interface RecordPut {
  /** What the record is. */
  readonly kind: RecordKind;
  /** The record's id within its kind. */
  readonly id: string;
  /** The bytes to store. */
  readonly bytes: Uint8Array;
  /**
   * Compare-and-swap: the version the record must have now (`null`: it must not exist).
   * `undefined`: no check.
   */
  readonly expectedVersion?: number | null | undefined;
}

/** One deletion of a batch. */
export interface RecordDelete {
  /** What the record is. */
  readonly kind: RecordKind;
  /** The record's id within its kind. */
  readonly id: string;
  /** Compare-and-swap as for {@link RecordPut}; `undefined`: no check (deleting nothing is fine). */
  readonly expectedVersion?: number | null | undefined;
}

/** An atomic batch. */
export interface RecordBatch {
  /** Records to create or replace. */
  readonly puts: readonly RecordPut[];
  /** Records to delete. */
  readonly deletes: readonly RecordDelete[];
  /** Run inside the same transaction, after the checks and before the transaction ends. */
  readonly applicationWrite?: ApplicationWrite | undefined;
}

/**
 * A durable key-value backend with versions and atomic batches.
 *
 * Contract:
 * - `get` returns `null` for a missing record.
 * - `write` applies every put and delete of the batch, or none: if any expectation fails it
 *   throws `ConcurrencyError` and writes nothing; if the application write throws, nothing is
 *   written and its error propagates; any other failure throws and writes nothing.
 * - `count` returns how many records of a kind exist.
 * - `ids` lists the ids of a kind (bounded by what the app stored).
 */
export interface RecordBackend {
  /**
   * Read one record.
   *
   * @param kind - what the record is
   * @param id - its id within the kind
   * @returns the bytes and version, or `null` when the record does not exist
   */
  get(kind: RecordKind, id: string): MaybePromise<StoredRecord | null>;
  /**
   * Apply a batch atomically, after checking every compare-and-swap expectation.
   *
   * @param batch - the puts, deletes and optional application write
   * @throws {ConcurrencyError} `ERR_CONCURRENT_MODIFICATION` when an expectation fails (nothing
   *   is written)
   */
  write(batch: RecordBatch): MaybePromise<void>;
  /**
   * Count the records of a kind.
   *
   * @param kind - what to count
   * @returns how many records of that kind exist
   */
  count(kind: RecordKind): MaybePromise<number>;
  /**
   * List the ids of a kind.
   *
   * @param kind - what to list
   * @returns the ids of every record of that kind, in no guaranteed order
   */
  ids(kind: RecordKind): MaybePromise<string[]>;
}
