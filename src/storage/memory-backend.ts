/**
 * An in-memory {@link RecordBackend}: the reference implementation of the backend contract
 * (versions, compare-and-swap, atomic batches), used by tests and as a model for adapters.
 *
 * @module
 */
import { ConcurrencyError } from '../errors.js';
import type { RecordBackend, RecordBatch, RecordKind, StoredRecord } from './backend.js';

/** A {@link RecordBackend} in a `Map`. */
export class MemoryBackend implements RecordBackend {
  readonly #records = new Map<string, StoredRecord>();
  /**
   * Versions come from one counter for the whole backend, so a record deleted and created again
   * never gets a version it had before (no ABA for a writer holding an old copy).
   */
  #clock = 0;

  /**
   * Read one record (a copy of its bytes).
   *
   * @param kind - what the record is
   * @param id - its id within the kind
   * @returns the bytes and version, or `null` when the record does not exist
   */
  get(kind: RecordKind, id: string): StoredRecord | null {
    const r = this.#records.get(`${kind}/${id}`);
    return r === undefined ? null : { bytes: r.bytes.slice(), version: r.version };
  }

  /**
   * Apply a batch atomically. Expectations are checked before the application write and again
   * after it (it may have awaited); the application write gets `undefined` as its transaction.
   *
   * @param batch - the puts, deletes and optional application write
   * @throws {ConcurrencyError} `ERR_CONCURRENT_MODIFICATION` when an expectation fails (nothing
   *   is written)
   */
  async write(batch: RecordBatch): Promise<void> {
    this.#check(batch);
    if (batch.applicationWrite !== undefined) {
      await batch.applicationWrite(undefined);
      this.#check(batch);
    }
    for (const d of batch.deletes) this.#records.delete(`${d.kind}/${d.id}`);
    for (const p of batch.puts) {
      const key = `${p.kind}/${p.id}`;
      this.#records.set(key, { bytes: p.bytes.slice(), version: ++this.#clock });
    }
  }

  /**
   * Count the records of a kind.
   *
   * @param kind - what to count
   * @returns how many records of that kind exist
   */
  count(kind: RecordKind): number {
    return this.ids(kind).length;
  }

  /**
   * List the ids of a kind, in insertion order.
   *
   * @param kind - what to list
   * @returns the ids of every record of that kind
   */
  ids(kind: RecordKind): string[] {
    const prefix = `${kind}/`;
    return [...this.#records.keys()]
      .filter((k) => k.startsWith(prefix))
      .map((k) => k.slice(prefix.length));
  }

  #check(batch: RecordBatch): void {
    for (const w of [...batch.puts, ...batch.deletes]) {
      if (w.expectedVersion === undefined) continue;
      const current = this.#records.get(`${w.kind}/${w.id}`)?.version ?? null;
      if (current !== w.expectedVersion) throw new ConcurrencyError(`${w.kind} ${w.id}`);
    }
  }
}
