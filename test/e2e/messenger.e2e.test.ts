/**
 * The example messenger end to end (`examples/messenger/`): the server, the CLI client as a child
 * process (SQLite), and the browser client in Debian's Chromium (IndexedDB, chiffre's ESM build
 * from `dist/`, driven through its page with playwright-core).
 *
 * - Both register; messages arrive decrypted both ways, first CLI → browser (PQXDH from the
 *   browser's bundle), then back and forth.
 * - Both sides show the same safety number.
 * - The browser reloads: its keys and session come back from IndexedDB and the talk goes on.
 * - The server's SQLite database holds only ciphertext: no plaintext and no private key of either
 *   device, in any cell or in the raw database and WAL files.
 *
 * `dist/` is built first when it is missing or older than `src/`; Chromium is installed with apt on
 * first use (test/support/chromium.ts).
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type * as IndexedDbAdapter from '../../src/adapters/indexeddb.js';
import type { IndexedDbBackend } from '../../src/adapters/indexeddb.js';
import type * as Chiffre from '../../src/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditDatabase, devicePrivateKeys, type Needle } from '../../examples/messenger/audit.js';
import type { ClientEvent } from '../../examples/messenger/client.js';
import { type RunningServer, startServer } from '../../examples/messenger/server.js';
import { launchChromium } from '../support/chromium.js';
import { hexToBytes } from '../support/hex.js';
import { type CliLine, CliProcess, ensureBuild, tempDir } from './messenger-helpers.js';

const dir = tempDir('messenger-e2e');
const serverDb = path.join(dir, 'server.db');
const aliceDb = path.join(dir, 'alice.db');

let server: RunningServer;
let browser: Browser | undefined;
let page: Page;
let alice: CliProcess;
const pageErrors: string[] = [];
/** Every plaintext of the conversation (the audit's needles). */
const plaintexts: string[] = [];

/** chiffre's ESM build as loaded in the page. */
interface PageModules {
  readonly lib: typeof Chiffre;
  readonly idb: typeof IndexedDbAdapter;
}

/** The page's log lines of one kind (`in`, `out`, `event`, `error`). */
function logLines(kind: string): Promise<string[]> {
  return page.$$eval(`#log li.${kind}`, (items) => items.map((li) => li.textContent ?? ''));
}

async function waitForLog(kind: string, text: string): Promise<void> {
  await page.waitForFunction(
    ({ kind, text }) =>
      Array.from(document.querySelectorAll(`#log li.${kind}`)).some((li) =>
        (li.textContent ?? '').includes(text),
      ),
    { kind, text },
    { timeout: 30_000 },
  );
}

async function waitForRegistered(): Promise<void> {
  await page.waitForFunction(
    () => document.getElementById('status')?.textContent?.startsWith('registered as') === true,
    undefined,
    { timeout: 60_000 },
  );
}

/** The browser sends `text` to `peer` through the form. */
async function browserSends(peer: string, text: string): Promise<void> {
  plaintexts.push(text);
  await page.fill('#peer', peer);
  await page.fill('#text', text);
  await page.click('#send');
  await waitForLog('out', text);
}

const isMessage =
  (text: string) =>
  (line: CliLine): line is { event: Extract<ClientEvent, { type: 'message' }> } =>
    'event' in line && line.event.type === 'message' && line.event.text === text;

beforeAll(async () => {
  // The build (when needed) and Chromium (installed on first use) in parallel.
  const [, launched] = await Promise.all([ensureBuild(), launchChromium()]);
  browser = launched;
  server = await startServer({ dbPath: serverDb });
  page = await browser.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  alice = new CliProcess(['--server', server.url, '--db', aliceDb, '--name', 'alice']);
  await alice.waitFor('the CLI to be ready', (l): l is CliLine => 'ready' in l, 60_000);
}, 600_000);

afterAll(async () => {
  await alice.quit();
  await browser?.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  expect(pageErrors).toEqual([]);
});

describe('the example messenger: server, CLI client and browser client', () => {
  it('the browser client loads the ESM build and registers with IndexedDB storage', async () => {
    await page.goto(server.url);
    await page.waitForSelector('#register-form:not([hidden])');
    await page.fill('#name', 'bob');
    await page.click('#register');
    await waitForRegistered();
    expect(await page.textContent('#me')).toBe('bob.1');
    expect(server.inspect('bob', 1).oneTimePreKeys).toBe(100);
    expect(alice.events('registered')).toEqual([
      { type: 'registered', address: 'alice.1', oneTimePreKeys: 100 },
    ]);
  });

  it('CLI → browser: a session from the browser’s bundle, the message arrives decrypted', async () => {
    const text = 'Hello browser, this is the CLI speaking (PQXDH + SPQR).';
    plaintexts.push(text);
    alice.send(`/msg bob ${text}`);
    await alice.waitFor(
      'the sent event',
      (l): l is CliLine => 'event' in l && l.event.type === 'sent',
    );
    await waitForLog('in', text);
    expect(await logLines('in')).toEqual([`alice.1: ${text}`]);
    expect(await logLines('event')).toEqual(['new incoming session with alice.1']);
    expect(alice.events('new-session')).toMatchObject([{ peer: 'bob.1', direction: 'outgoing' }]);
    // The bundle consumed exactly one of bob's one-time prekeys.
    expect(server.inspect('bob', 1).oneTimePreKeys).toBe(99);
  });

  it('browser → CLI and back, several times', async () => {
    for (let i = 1; i <= 3; i++) {
      const fromBrowser = `Browser reply number ${String(i)}, typed into the page.`;
      await browserSends('alice', fromBrowser);
      await alice.waitFor(`message ${String(i)} at the CLI`, isMessage(fromBrowser));
      const fromCli = `CLI answer number ${String(i)}, from a SQLite-backed client.`;
      plaintexts.push(fromCli);
      alice.send(`/msg bob ${fromCli}`);
      await waitForLog('in', fromCli);
    }
    expect(alice.events('message').map((e) => e.peer)).toEqual(['bob.1', 'bob.1', 'bob.1']);
    expect(alice.events('decrypt-error')).toEqual([]);
    expect(await logLines('error')).toEqual([]);
  });

  it('both sides show the same safety number', async () => {
    alice.send('/safety bob');
    const line = await alice.waitFor(
      'the safety number',
      (l): l is { reply: { safetyNumber: string } } =>
        'reply' in l && typeof l.reply.safetyNumber === 'string',
    );
    await page.fill('#peer', 'alice');
    await page.click('#safety');
    await page.waitForFunction(() =>
      /^\d{5}( \d{5}){11}$/.test(document.getElementById('safety-number')?.textContent ?? ''),
    );
    expect(await page.textContent('#safety-number')).toBe(line.reply.safetyNumber);
  });

  it('after a reload the browser restores its session from IndexedDB and the talk goes on', async () => {
    await page.reload();
    await waitForRegistered();
    // The history came back from IndexedDB too.
    expect((await logLines('in')).length).toBe(4);
    const text = 'Still here after a reload: keys and session came from IndexedDB.';
    await browserSends('alice', text);
    await alice.waitFor('the message after the reload', isMessage(text));
    const reply = 'Welcome back, page. Same session, no new bundle needed.';
    plaintexts.push(reply);
    alice.send(`/msg bob ${reply}`);
    await waitForLog('in', reply);
    // No second session: the reload reused the stored one.
    expect(alice.events('new-session')).toHaveLength(1);
    expect(server.inspect('bob', 1).oneTimePreKeys).toBe(99);
  });

  it('the server’s SQLite database holds only ciphertext', async () => {
    // The page's own modules are private; load the ESM build in the page for this test. A string,
    // because vitest rewrites dynamic imports in this file's source.
    await page.evaluate(`Promise.all([import('/chiffre/index.js'), import('/chiffre/storage-indexeddb.js')])
      .then(([lib, idb]) => { globalThis.chiffreModules = { lib, idb }; })`);
    // Bob's private keys, read in the page from its IndexedDB through the ESM build.
    const bobKeys = await page.evaluate(async () => {
      const { lib, idb } = (globalThis as unknown as { chiffreModules: PageModules })
        .chiffreModules;
      const store = await idb.openIndexedDbProtocolStore('messenger:bob.1', {
        applicationStores: ['settings', 'messages'],
        applicationVersion: 1,
        createIdentity: () => {
          throw new Error('bob has no identity');
        },
      });
      const hex = (b: Uint8Array): string =>
        Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      const keys: { label: string; hex: string }[] = [
        { label: 'bob identity', hex: hex(store.getIdentityKeyPair().privateKey.serialize()) },
      ];
      for (const id of await store.backend.ids('prekey')) {
        const r = await store.loadPreKey(lib.preKeyId(Number(id)));
        if (r !== null) {
          keys.push({ label: `bob one-time ${id}`, hex: hex(r.keyPair.privateKey.serialize()) });
        }
      }
      for (const id of await store.backend.ids('signed-prekey')) {
        const r = await store.loadSignedPreKey(lib.signedPreKeyId(Number(id)));
        if (r !== null) {
          keys.push({ label: `bob signed ${id}`, hex: hex(r.keyPair.privateKey.serialize()) });
        }
      }
      for (const id of await store.backend.ids('kyber-prekey')) {
        const r = await store.loadKyberPreKey(lib.kyberPreKeyId(Number(id)));
        if (r !== null) {
          const secret = r.keyPair.secretKey.serialize();
          keys.push({ label: `bob Kyber ${id}`, hex: hex(secret) });
          keys.push({ label: `bob Kyber ${id} slice`, hex: hex(secret.slice(1000, 1032)) });
        }
      }
      (store.backend as IndexedDbBackend).close();
      return keys;
    });
    expect(bobKeys.length).toBeGreaterThan(100); // identity, signed, Kyber, ~99 one-time

    const needles: Needle[] = [
      ...plaintexts.map((t, i) => ({
        label: `plaintext ${String(i)}`,
        bytes: new TextEncoder().encode(t),
      })),
      ...(await devicePrivateKeys(aliceDb, 'alice')),
      ...bobKeys.map((k) => ({ label: k.label, bytes: hexToBytes(k.hex) })),
    ];
    expect(plaintexts.length).toBe(9);
    const report = auditDatabase(serverDb, needles);
    expect(report.findings).toEqual([]);
    expect(report.tables).toBeGreaterThanOrEqual(3);

    // The auditor does find what is there: the devices' public identity keys.
    const publicKey = await page.evaluate(async () => {
      const { idb } = (globalThis as unknown as { chiffreModules: PageModules }).chiffreModules;
      const store = await idb.openIndexedDbProtocolStore('messenger:bob.1', {
        applicationStores: ['settings', 'messages'],
        applicationVersion: 1,
        createIdentity: () => {
          throw new Error('bob has no identity');
        },
      });
      const key = Array.from(store.getIdentityKeyPair().publicKey.serialize());
      (store.backend as IndexedDbBackend).close();
      return key;
    });
    const control = auditDatabase(serverDb, [
      { label: 'bob identity public key', bytes: Uint8Array.from(publicKey) },
    ]);
    expect(control.findings.length).toBeGreaterThan(0);
  });
});
