/**
 * The IndexedDB adapter (`chiffre/storage/indexeddb`) in a real browser: Debian's Chromium,
 * driven by playwright-core, runs `indexeddb.page.ts` bundled by esbuild from the real `src/`
 * and served from a local HTTP server on 127.0.0.1 (a secure context, so Web Locks exist).
 *
 * - The adapter's own checks: round trips, `null` for missing records, versions,
 *   compare-and-swap (a refused batch writes nothing), atomic batches with an injected failure,
 *   the application's write landing with the batch, schema upgrades.
 * - A two-party conversation on IndexedDB stores, then a page reload and the conversation
 *   continuing on the re-opened stores.
 * - Two tabs of one origin (bob, sharing one database) racing on one session while alice, in
 *   Node, sends to both: every message decrypts exactly once, bob's replies never reuse a
 *   message key, and the session keeps working. Once with Web Locks, once with version checks
 *   only.
 * - The storage conformance kit (`chiffre/testing`) against the adapter.
 *
 * Chromium is installed with apt on first use (test/support/chromium.ts).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IdentityKeyPair,
  InMemoryProtocolStore,
  ProtocolAddress,
  SessionManager,
} from '../../src/index.js';
import { storeConformanceCases } from '../../src/testing/index.js';
import { launchChromium } from '../support/chromium.js';
import type { PageApi } from './indexeddb.page.js';
import {
  decodeBundle,
  decodeMessage,
  encodeMessage,
  type Outcome,
  type WireMessage,
} from './indexeddb-wire.js';

const here = path.dirname(fileURLToPath(import.meta.url));

type Method = Exclude<keyof PageApi, 'checks'>;
type CheckName = keyof PageApi['checks'];

/** Bundle the page code (the adapter checks and the conformance kit). */
async function bundlePage(): Promise<string> {
  const result = await build({
    stdin: {
      // An explicit call: the package's `"sideEffects": false` lets esbuild drop bare imports.
      contents: [
        "import { install } from './indexeddb.page.ts';",
        "import { installConformance } from './indexeddb-conformance.page.ts';",
        'install();',
        'installConformance();',
      ].join('\n'),
      resolveDir: here,
      sourcefile: 'entry.ts',
      loader: 'ts',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (out === undefined) throw new Error('esbuild produced no output');
  return out.text;
}

/** Serve the page and its bundle on 127.0.0.1 (random free port). */
async function serve(script: string): Promise<{ server: Server; url: string }> {
  const html =
    '<!doctype html><meta charset="utf-8"><title>chiffre IndexedDB</title>' +
    '<script type="module" src="/page.js"></script>';
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${String(port)}/` };
}

let browser: Browser | undefined;
let context: BrowserContext;
let server: Server | undefined;
let url: string;
/** Uncaught exceptions in any page (asserted empty at the end). */
const pageErrors: string[] = [];
/** Console errors (reported when a page fails to load). */
const consoleErrors: string[] = [];

async function waitForApi(page: Page): Promise<void> {
  try {
    await page.waitForFunction(() => 'chiffreIdb' in globalThis, undefined, { timeout: 30_000 });
  } catch (e) {
    throw new Error(`the page did not load: ${JSON.stringify([...pageErrors, ...consoleErrors])}`, {
      cause: e,
    });
  }
}

async function openPage(): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  await page.goto(url);
  await waitForApi(page);
  return page;
}

/** Call `globalThis.chiffreIdb[method](...args)` in `page`. */
function call<M extends Method>(
  page: Page,
  method: M,
  ...args: Parameters<PageApi[M]>
): Promise<Awaited<ReturnType<PageApi[M]>>> {
  return page.evaluate(
    ({ method, args }) =>
      (
        globalThis as unknown as { chiffreIdb: Record<string, (...a: unknown[]) => unknown> }
      ).chiffreIdb[method]?.(...args),
    { method, args },
  ) as Promise<Awaited<ReturnType<PageApi[M]>>>;
}

function runCheck(page: Page, name: CheckName): Promise<void> {
  return page.evaluate(
    (name) =>
      (
        globalThis as unknown as { chiffreIdb: { checks: Record<string, () => Promise<void>> } }
      ).chiffreIdb.checks[name]?.(),
    name,
  );
}

beforeAll(async () => {
  // Bundle and serve while Chromium installs (first run only) and starts.
  const [script, launched] = await Promise.all([bundlePage(), launchChromium()]);
  browser = launched;
  const served = await serve(script);
  server = served.server;
  url = served.url;
  context = await browser.newContext();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => {
    if (server === undefined) resolve();
    else
      server.close(() => {
        resolve();
      });
  });
  expect(pageErrors).toEqual([]);
});

describe('IndexedDB backend in Chromium', () => {
  let page: Page;
  beforeAll(async () => {
    page = await openPage();
  });
  afterAll(async () => {
    await page.close();
  });

  const checks: [CheckName, string][] = [
    ['roundTrip', 'round trips, null for missing records, ids and counts, versions'],
    ['compareAndSwap', 'compare-and-swap: a stale expectation refuses the whole batch'],
    ['applicationWriteAborts', 'a throwing application write: nothing written, its error kept'],
    ['engineFailureMidCommit', 'a request failing mid-commit: nothing written, ERR_STORAGE'],
    ['applicationWriteLands', "the application's write lands with the batch"],
    ['applicationWriteMisuse', 'an application write awaiting a timer: refused, not half-written'],
    ['schemaUpgrade', 'schema: forward upgrades, application stores, newer versions refused'],
    ['deletedDatabase', 'a database deleted by another tab is not silently recreated'],
    ['webLockSerializes', 'withWebLock serializes on navigator.locks, runs unlocked without'],
  ];
  for (const [name, title] of checks) {
    it(title, async () => {
      await runCheck(page, name);
    });
  }
});

describe('a conversation on IndexedDB stores', () => {
  const prefix = `conv-${Date.now().toString(36)}`;
  const aliceName = '9d0652a3-dcc3-4d11-975f-00000000a11c';
  const bobName = '9d0652a3-dcc3-4d11-975f-000000000b0b';
  let page: Page;
  let started: Awaited<ReturnType<PageApi['conversationStart']>> | undefined;

  beforeAll(async () => {
    page = await openPage();
  });
  afterAll(async () => {
    await page.close();
  });

  it('two parties: bundle, first message, replies, out of order, duplicate, failed app write', async () => {
    started = await call(page, 'conversationStart', prefix, aliceName, bobName);
    expect(started.pending).toHaveLength(2);
  });

  it('survives a page reload: re-opened stores continue the conversation', async () => {
    expect(started).toBeDefined();
    const { alice, bob, pending } = started!;
    await page.reload();
    await waitForApi(page);
    await call(page, 'conversationContinue', prefix, aliceName, bobName, { alice, bob }, pending);
  });
});

describe('two tabs of one origin racing on one session', () => {
  const aliceAddress = new ProtocolAddress('9d0652a3-dcc3-4d11-975f-0000000a11ce', 1);
  const bobAddress = new ProtocolAddress('9d0652a3-dcc3-4d11-975f-000000000b0b', 1);

  /** Alice in Node (in-memory store), bob in two tabs on one IndexedDB database. */
  async function race(lock: boolean): Promise<void> {
    const db = `race-${lock ? 'locks' : 'cas'}-${Date.now().toString(36)}`;
    const tabs = [await openPage(), await openPage()] as const;
    const [A, B] = tabs;
    try {
      const alice = new SessionManager({
        store: new InMemoryProtocolStore(IdentityKeyPair.generate(), 4242),
        localAddress: aliceAddress,
      });
      // Both tabs open the new database at once: one identity wins, both use it.
      const identities = await Promise.all([
        call(A, 'tabOpen', db, bobAddress.name, aliceAddress.name, 'A', lock),
        call(B, 'tabOpen', db, bobAddress.name, aliceAddress.name, 'B', lock),
      ]);
      expect(identities[0]).toBe(identities[1]);
      await alice.processPreKeyBundle(bobAddress, decodeBundle(await call(A, 'tabPublish', 1)));

      const sent: string[] = [];
      let firstType: WireMessage['type'] | undefined;
      let lastType: WireMessage['type'] | undefined;
      /** Alice sends `n` messages to both tabs at once; each tab also sends `replies`. */
      const round = async (label: string, n: number, replies: number): Promise<void> => {
        const texts = Array.from({ length: n }, (_, i) => `${label} alice ${String(i)}`);
        const messages: WireMessage[] = [];
        for (const t of texts) {
          messages.push(
            encodeMessage(await alice.encrypt(bobAddress, new TextEncoder().encode(t))),
          );
        }
        firstType ??= messages[0]?.type;
        lastType = messages[0]?.type;
        const replyTexts = (tab: string): string[] =>
          Array.from({ length: replies }, (_, i) => `${label} bob ${tab} ${String(i)}`);
        const [atA, atB, fromA, fromB] = await Promise.all([
          call(A, 'tabDeliver', messages),
          call(B, 'tabDeliver', messages),
          call(A, 'tabEncrypt', replyTexts('A')),
          call(B, 'tabEncrypt', replyTexts('B')),
        ]);
        texts.forEach((t, i) => {
          const outcomes = [atA[i], atB[i]] as Outcome[];
          const decrypted = outcomes.filter((o) => 'text' in o);
          // Exactly once across the tabs; the other tab saw a duplicate (nothing else).
          expect(decrypted, `${t}: ${JSON.stringify(outcomes)}`).toEqual([{ text: t }]);
          expect(outcomes.filter((o) => 'code' in o)).toEqual([{ code: 'ERR_DUPLICATE_MESSAGE' }]);
        });
        sent.push(...texts);
        // Alice reads every reply, in a shuffled order: no counter was used twice.
        const replyPairs = [
          ...fromA.map((m, i) => [m, replyTexts('A')[i]] as const),
          ...fromB.map((m, i) => [m, replyTexts('B')[i]] as const),
        ].sort(() => Math.random() - 0.5);
        for (const [m, t] of replyPairs) {
          expect(new TextDecoder().decode(await alice.decrypt(bobAddress, decodeMessage(m)))).toBe(
            t,
          );
        }
      };
      await round('r1', 8, 0); // prekey messages; the tabs race to create the session
      await round('r2', 10, 3); // still prekey messages; bob replies from both tabs meanwhile
      await round('r3', 10, 3); // alice got replies: whisper messages on a new ratchet
      expect(firstType).toBe('prekey');
      expect(lastType).toBe('whisper');

      // Afterwards each tab alone still decrypts and replies.
      for (const [tab, label] of [
        [A, 'A'],
        [B, 'B'],
      ] as const) {
        const t = `health ${label}`;
        const m = encodeMessage(await alice.encrypt(bobAddress, new TextEncoder().encode(t)));
        expect(await call(tab, 'tabDeliver', [m])).toEqual([{ text: t }]);
        sent.push(t);
        const [reply] = await call(tab, 'tabEncrypt', [`reply ${label}`]);
        expect(
          new TextDecoder().decode(await alice.decrypt(bobAddress, decodeMessage(reply!))),
        ).toBe(`reply ${label}`);
      }

      // The application store got every message exactly once, written with its ratchet step.
      const inbox = await call(A, 'tabInbox');
      expect(inbox.map((e) => e.text).sort()).toEqual([...sent].sort());
      const byTab = { A: inbox.filter((e) => e.tab === 'A').length, B: 0 };
      byTab.B = inbox.length - byTab.A;

      const stats = await Promise.all([call(A, 'tabStats'), call(B, 'tabStats')]);
      for (const s of stats) expect(s.crossTab).toBe(lock);
      if (lock) {
        // The lock makes the tabs take turns: no commit ever found a stale version.
        expect(stats.map((s) => s.conflicts)).toEqual([0, 0]);
      }
      console.log(
        `two tabs (${lock ? 'Web Locks' : 'version checks only'}): decrypted A ${String(byTab.A)} / ` +
          `B ${String(byTab.B)}; compare-and-swap refusals ${JSON.stringify(stats.map((s) => s.conflicts))}; ` +
          `ERR_CONCURRENT_MODIFICATION surfaced and retried ${JSON.stringify(stats.map((s) => s.surfaced))}`,
      );
    } finally {
      await Promise.all(tabs.map((p) => p.close()));
    }
  }

  it('with Web Locks: every message decrypts exactly once, the session stays healthy', async () => {
    await race(true);
  });

  it('with version checks only (no navigator.locks): the same guarantees', async () => {
    await race(false);
  });
});

describe('storage conformance kit (chiffre/testing) on IndexedDB in Chromium', () => {
  let page: Page;
  beforeAll(async () => {
    page = await openPage();
  });
  afterAll(async () => {
    await page.close();
  });

  // The names only: the page builds the cases itself, on IndexedDB targets.
  const names = storeConformanceCases(() => {
    throw new Error('not run in Node');
  }).map((c) => c.name);
  for (const name of names) {
    it(name, async () => {
      await page.evaluate(
        (name) =>
          (
            globalThis as unknown as {
              chiffreIdbConformance: { run: (name: string) => Promise<void> };
            }
          ).chiffreIdbConformance.run(name),
        name,
      );
    });
  }
});
