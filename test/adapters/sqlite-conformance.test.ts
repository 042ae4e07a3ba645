/**
 * The storage conformance kit (`chiffre/testing`) against the SQLite adapter, on real database
 * files: a new file per target, `reopen()` as a second connection to the same file (another
 * process, or the app after a restart), and `injectFailure()` as a failure of the SQLite engine
 * itself in the middle of the next write transaction (a TEMP trigger that aborts the third row
 * statement), not a JavaScript stand-in.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openSqliteProtocolStore } from '../../src/adapters/sqlite.js';
import { IdentityKeyPair } from '../../src/index.js';
import { type ConformanceTarget, storeConformanceCases } from '../../src/testing/index.js';
import { tempDir } from './helpers.js';

let dir: string;
let cleanup: () => void;
beforeAll(() => {
  ({ dir, cleanup } = tempDir('sqlite-conformance'));
});
afterAll(() => {
  cleanup();
});

const createIdentity = (): { identity: IdentityKeyPair; registrationId: number } => ({
  identity: IdentityKeyPair.generate(),
  registrationId: 4242,
});

let files = 0;

async function sqliteTarget(): Promise<ConformanceTarget> {
  const file = path.join(dir, `target-${String(files++)}.db`);
  const connections: Database.Database[] = [];
  const connect = (): Database.Database => {
    const db = new Database(file);
    connections.push(db);
    return db;
  };
  const db = connect();
  // Armed, the engine aborts the third row statement of the next write (an upsert counts as an
  // insert plus an update): earlier statements of the transaction have run by then.
  let armed = false;
  let statements = 0;
  db.function('chiffre_test_fail', () => {
    if (!armed) return 0;
    if (++statements < 3) return 0;
    armed = false;
    return 1;
  });
  const store = await openSqliteProtocolStore(db, { createIdentity });
  for (const op of ['INSERT', 'UPDATE', 'DELETE']) {
    db.exec(`CREATE TEMP TRIGGER fail_${op.toLowerCase()} BEFORE ${op} ON main.chiffre_records
             WHEN chiffre_test_fail() BEGIN SELECT RAISE(ABORT, 'injected engine failure'); END`);
  }
  return {
    store,
    reopen: () => openSqliteProtocolStore(connect(), { createIdentity }),
    injectFailure: () => {
      armed = true;
      statements = 0;
    },
    close: () => {
      for (const c of connections) if (c.open) c.close();
    },
  };
}

describe('storage conformance: SQLite (better-sqlite3, files on disk)', () => {
  for (const c of storeConformanceCases(sqliteTarget)) it(c.name, c.run);
});
