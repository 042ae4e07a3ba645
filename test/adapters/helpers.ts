/**
 * Helpers of the SQLite adapter tests: temporary directories with real database files, parties
 * whose stores live in them, raw access to stored rows, and bundling of the child-process
 * fixtures (so that each of the hundreds of restarts of the crash test costs one plain `node`
 * start, not a TypeScript loader start).
 */
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSqliteBackend, type SqliteBackend } from '../../src/adapters/sqlite.js';
import {
  createPreKeyBundle,
  IdentityKeyPair,
  KyberPreKeyRecord,
  type PreKeyBundle,
  PreKeyRecord,
  ProtocolAddress,
  SessionManager,
  SignedPreKeyRecord,
} from '../../src/index.js';
import { BackendProtocolStore } from '../../src/storage/index.js';

/** Absolute path of the repository root. */
export const repoRoot: string = fileURLToPath(new URL('../..', import.meta.url));

/** A fresh temporary directory; `cleanup()` removes it. */
export function tempDir(label: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `chiffre-${label}-`));
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A chiffre party whose store is a SQLite file. */
export interface SqliteParty {
  readonly name: string;
  readonly address: ProtocolAddress;
  readonly file: string;
  readonly db: Database.Database;
  readonly backend: SqliteBackend;
  readonly store: BackendProtocolStore;
  readonly manager: SessionManager;
  /** Publish a fresh bundle (new signed, one-time Kyber and one-time EC prekeys). */
  bundle(): Promise<PreKeyBundle>;
  close(): void;
}

let nextRegistrationId = 1000;
let nextPreKeyId = 1;

/** Open (or create) the party `name` in `dir/<name>.db`, on a connection the test owns. */
export async function openSqliteParty(dir: string, name: string): Promise<SqliteParty> {
  const file = path.join(dir, `${name}.db`);
  const db = new Database(file);
  const backend = await openSqliteBackend(db);
  const store = await BackendProtocolStore.open(backend, {
    createIdentity: () => ({
      identity: IdentityKeyPair.generate(),
      registrationId: nextRegistrationId++,
    }),
  });
  const address = new ProtocolAddress(name, 1);
  const manager = new SessionManager({ store, localAddress: address });
  return {
    name,
    address,
    file,
    db,
    backend,
    store,
    manager,
    async bundle() {
      const id = nextPreKeyId++;
      const identity = store.getIdentityKeyPair();
      await store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, id, Date.now()));
      await store.storeKyberPreKey(KyberPreKeyRecord.generate(identity, id, Date.now()));
      await store.storePreKey(PreKeyRecord.generate(id));
      return createPreKeyBundle(store, {
        deviceId: 1,
        preKeyId: id,
        signedPreKeyId: id,
        kyberPreKeyId: id,
      });
    },
    close() {
      if (db.open) db.close();
    },
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** UTF-8 bytes of `s`. */
export const utf8 = (s: string): Uint8Array => encoder.encode(s);
/** `bytes` as UTF-8 text. */
export const text = (bytes: Uint8Array): string => decoder.decode(bytes);

/** `a` starts a session with `b`; one message each way, so both sides are acknowledged. */
export async function establishSqlite(a: SqliteParty, b: SqliteParty): Promise<void> {
  await a.manager.processPreKeyBundle(b.address, await b.bundle());
  const hello = await a.manager.encrypt(b.address, utf8('hello'));
  await b.manager.decrypt(a.address, hello);
  const back = await b.manager.encrypt(a.address, utf8('hello back'));
  await a.manager.decrypt(b.address, back);
}

/** Every row of `chiffre_records`, as `kind/id → version:hex` (for "nothing changed" checks). */
export function dumpRecords(db: Database.Database): Map<string, string> {
  const rows = db
    .prepare('SELECT kind, id, version, hex(bytes) AS hex FROM chiffre_records')
    .all() as { kind: string; id: string; version: number; hex: string }[];
  return new Map(rows.map((r) => [`${r.kind}/${r.id}`, `${String(r.version)}:${r.hex}`]));
}

/** `PRAGMA integrity_check` of the file at `file`, on a fresh read-only connection. */
export function integrityCheck(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('integrity_check', { simple: true }) as string;
  } finally {
    db.close();
  }
}

/**
 * Bundle the child-process fixtures (TypeScript importing `src/`) into `outDir` as ESM, with
 * better-sqlite3 left external and resolved through a `node_modules` link to the repository's.
 *
 * @returns the absolute path of each bundle, by entry name
 */
export async function bundleFixtures(
  outDir: string,
  entries: Record<string, string>,
): Promise<Record<string, string>> {
  mkdirSync(outDir, { recursive: true });
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(outDir, 'node_modules'), 'dir');
  await build({
    entryPoints: Object.fromEntries(
      Object.entries(entries).map(([name, file]) => [name, path.join(repoRoot, file)]),
    ),
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3'],
    logLevel: 'error',
  });
  return Object.fromEntries(
    Object.keys(entries).map((name) => [name, path.join(outDir, `${name}.mjs`)]),
  );
}
