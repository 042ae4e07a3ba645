/**
 * Two processes share one SQLite store: both are "bob" (one bob.db), and both encrypt to and
 * decrypt from alice (a third process) on the same session at the same time. Compare-and-swap on
 * the session record plus SessionManager's retry keep them consistent: no message key is used
 * twice (alice decrypts every one of bob's messages exactly once), every message of alice is
 * decrypted by exactly one bob process (the other one's attempt ends as a recognized duplicate),
 * and all three files pass `PRAGMA integrity_check`.
 */
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  bundleFixtures,
  establishSqlite,
  integrityCheck,
  openSqliteParty,
  tempDir,
} from './helpers.js';

const TOTAL = 60; // alice → bob
const EACH = 30; // from each bob process → alice

let dir: string;
let cleanup: () => void;
let peer: string;

beforeAll(async () => {
  ({ dir, cleanup } = tempDir('multiprocess'));
  ({ peer } = (await bundleFixtures(path.join(dir, 'bin'), {
    peer: 'test/adapters/fixtures/shared-store-peer.ts',
  })) as { peer: string });
});
afterAll(() => {
  cleanup();
});

interface Stats {
  name: string;
  decrypted: number;
  deliveredByOther: number;
  sent: number;
  casConflicts: number;
  gaveUp: number;
}

function start(env: Record<string, string>): {
  ready: Promise<void>;
  done: Promise<Stats>;
} {
  const p = spawn(process.execPath, [peer], {
    env: { ...process.env, CHIFFRE_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  p.stdout.setEncoding('utf8').on('data', (c: string) => {
    stdout += c;
    if (stdout.includes('ready\n')) onReady();
  });
  p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<Stats>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0)
        reject(new Error(`${env.CHIFFRE_NAME ?? '?'} exited ${String(code)}:\n${stderr}`));
      else resolve(JSON.parse(stdout.split('\n')[1] ?? '') as Stats);
      onReady();
    });
  });
  return { ready, done };
}

it('two processes on one store: every message decrypts exactly once, no corruption', async () => {
  const started = Date.now();
  const alice = await openSqliteParty(dir, 'alice');
  const bob = await openSqliteParty(dir, 'bob');
  await establishSqlite(alice, bob);
  for (const p of [alice, bob]) {
    p.db.exec('CREATE TABLE inbox (label TEXT PRIMARY KEY, by TEXT NOT NULL)');
    p.close();
  }
  const net = new Database(path.join(dir, 'network.db'));
  net.pragma('journal_mode = WAL');
  net.exec(`CREATE TABLE wire (id INTEGER PRIMARY KEY AUTOINCREMENT, dir TEXT NOT NULL,
            label TEXT NOT NULL, type TEXT NOT NULL, body BLOB NOT NULL)`);
  net.close();

  const common = { CHIFFRE_TOTAL: String(TOTAL), CHIFFRE_EACH: String(EACH), CHIFFRE_BOBS: '2' };
  const procs = [
    start({ ...common, CHIFFRE_ROLE: 'alice', CHIFFRE_NAME: 'alice' }),
    start({ ...common, CHIFFRE_ROLE: 'bob', CHIFFRE_NAME: 'bob-1' }),
    start({ ...common, CHIFFRE_ROLE: 'bob', CHIFFRE_NAME: 'bob-2' }),
  ];
  await Promise.all(procs.map((p) => p.ready));
  writeFileSync(path.join(dir, 'start'), '');
  const [a, b1, b2] = (await Promise.all(procs.map((p) => p.done))) as [Stats, Stats, Stats];

  for (const f of ['alice.db', 'bob.db', 'network.db']) {
    expect(integrityCheck(path.join(dir, f)), f).toBe('ok');
  }
  const read = (file: string, sql: string): unknown[] => {
    const db = new Database(path.join(dir, file), { readonly: true });
    try {
      return db.prepare(sql).all();
    } finally {
      db.close();
    }
  };
  // alice → bob: each message decrypted by exactly one bob process; the other saw a duplicate.
  const bobInbox = read('bob.db', 'SELECT label, by FROM inbox ORDER BY label') as {
    label: string;
    by: string;
  }[];
  expect(bobInbox.map((r) => r.label).sort()).toEqual(
    Array.from({ length: TOTAL }, (_, i) => `alice#${String(i + 1)}`).sort(),
  );
  expect(b1.decrypted + b2.decrypted).toBe(TOTAL);
  expect(bobInbox.filter((r) => r.by === 'bob-1')).toHaveLength(b1.decrypted);
  expect(a.sent).toBe(TOTAL);
  // bob → alice: both processes sent on the same sending chain; alice decrypted all, once each.
  const aliceInbox = read('alice.db', 'SELECT label FROM inbox') as { label: string }[];
  const expected = ['bob-1', 'bob-2'].flatMap((n) =>
    Array.from({ length: EACH }, (_, i) => `${n}#${String(i + 1)}`),
  );
  expect(aliceInbox.map((r) => r.label).sort()).toEqual(expected.sort());
  expect(a.decrypted).toBe(2 * EACH);
  expect(a.deliveredByOther).toBe(0);
  expect(read('network.db', `SELECT id FROM wire WHERE dir = 'b2a'`)).toEqual([]);
  // The processes did race: commits lost compare-and-swap and were retried.
  expect(b1.casConflicts + b2.casConflicts).toBeGreaterThan(0);

  process.stdout.write(
    `multiprocess: ${String(TOTAL)} + ${String(2 * EACH)} messages in ` +
      `${((Date.now() - started) / 1000).toFixed(1)} s; ` +
      `${JSON.stringify([b1, b2].map(({ name, decrypted, deliveredByOther, sent, casConflicts, gaveUp }) => ({ name, decrypted, deliveredByOther, sent, casConflicts, gaveUp })))}\n`,
  );
}, 120_000);
