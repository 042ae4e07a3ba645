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

  get(kind: RecordKind, id: string): StoredRecord | null {
    const r = this.#records.get(`${kind}/${id}`);
    return r === undefined ? null : { bytes: r.bytes.slice(), version: r.version };
  }

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

  count(kind: RecordKind): number {
    return this.ids(kind).length;
  }

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
