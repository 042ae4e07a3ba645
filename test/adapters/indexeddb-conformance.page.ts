/**
 * The storage conformance kit (`chiffre/testing`) against the IndexedDB adapter, in the browser
 * page: {@link installConformance} exposes `globalThis.chiffreIdbConformance.run(name)`, which
 * runs one case on fresh IndexedDB databases (one per target, deleted afterwards).
 */
import { type IndexedDbBackend, openIndexedDbProtocolStore } from '../../src/adapters/indexeddb.js';
import { IdentityKeyPair } from '../../src/index.js';
import type { BackendProtocolStore, RecordBatch } from '../../src/storage/index.js';
import { type ConformanceTarget, storeConformanceCases } from '../../src/testing/index.js';

let databases = 0;

const createIdentity = (): { identity: IdentityKeyPair; registrationId: number } => ({
  identity: IdentityKeyPair.generate(),
  registrationId: 4242,
});

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => {
      resolve();
    };
    req.onerror = () => {
      reject(req.error ?? new Error('deleteDatabase failed'));
    };
  });
}

/**
 * A fresh database. `reopen` opens another connection and store on it (as another tab would);
 * `injectFailure` makes the next batch's transaction hit a failing request (a key collision in
 * chiffre's own store) after the checks and before the batch's puts complete, so IndexedDB
 * aborts it midway, as on a quota or disk error.
 */
async function target(): Promise<ConformanceTarget> {
  const name = `conformance-${Date.now().toString(36)}-${String(databases++)}`;
  const backends: IndexedDbBackend[] = [];
  let armed = false;
  const open = async (): Promise<BackendProtocolStore> => {
    const store = await openIndexedDbProtocolStore(name, { createIdentity });
    const backend = store.backend as IndexedDbBackend;
    const write = backend.write.bind(backend);
    (backend as { write: (batch: RecordBatch) => Promise<void> }).write = (batch) => {
      if (!armed) return write(batch);
      armed = false;
      return write({
        ...batch,
        applicationWrite: async (tx) => {
          await batch.applicationWrite?.(tx);
          (tx as IDBTransaction)
            .objectStore('records')
            .add({ version: 1, bytes: new Uint8Array(0) }, ['local', 'identity-key-pair']);
        },
      });
    };
    backends.push(backend);
    return store;
  };
  return {
    store: await open(),
    reopen: open,
    injectFailure: () => {
      armed = true;
    },
    close: async () => {
      for (const b of backends) b.close();
      await deleteDatabase(name);
    },
  };
}

async function run(name: string): Promise<void> {
  const found = storeConformanceCases(target).find((c) => c.name === name);
  if (found === undefined) throw new Error(`no conformance case named "${name}"`);
  await found.run();
}

/** Expose `globalThis.chiffreIdbConformance` (called by the bundle's entry). */
export function installConformance(): void {
  (globalThis as unknown as { chiffreIdbConformance: { run: typeof run } }).chiffreIdbConformance =
    { run };
}
