/**
 * `npm run demo`: the example messenger end to end, in one command and with nothing to configure.
 *
 * Starts the server (key directory + relay, SQLite, 127.0.0.1 on a free port) and two CLI clients
 * (each on its own SQLite file in a temporary directory), has them talk, takes Bob offline while
 * Alice keeps writing, brings him back from his SQLite file, and checks the result: every message
 * arrived, both sides show the same safety number, SPQR runs, and the server's database holds no
 * plaintext and no private key. Exits 0 on success, 1 otherwise.
 *
 * `--keep` leaves the server running afterwards (for the browser client) and keeps the files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { auditDatabase, devicePrivateKeys, type Needle } from './audit.js';
import type { ClientEvent, MessengerClient } from './client.js';
import { startServer } from './server.js';
import { openSqliteClient } from './sqlite-storage.js';

const keep = process.argv.includes('--keep');
const dir = mkdtempSync(path.join(tmpdir(), 'chiffre-messenger-'));
const paths = {
  server: path.join(dir, 'server.db'),
  alice: path.join(dir, 'alice.db'),
  bob: path.join(dir, 'bob.db'),
};

const say = (line = ''): void => {
  console.log(line);
};
const heading = (n: number, title: string): void => {
  say(`\n[${String(n)}] ${title}`);
};

/** Print the safety-relevant events of a client as they happen. */
function narrate(who: string): (event: ClientEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'registered':
        say(`    ${who}: registered as ${event.address}`);
        break;
      case 'keys-uploaded': {
        const rotated = event.rotated.length === 0 ? '' : `, new ${event.rotated.join(' + ')}`;
        say(`    ${who}: uploaded ${String(event.oneTimePreKeys)} one-time prekeys${rotated}`);
        break;
      }
      case 'new-session':
        say(
          `    ${who}: * new ${event.direction} session with ${event.peer} ` +
            `(safety number ${event.safetyNumber.slice(0, 17)}…)`,
        );
        break;
      case 'identity-changed':
        say(`    ${who}: ! identity of ${event.peer} changed: ${event.detail}`);
        break;
      case 'last-resort-used':
        // PreKeyLifecycle publishes only a last-resort Kyber prekey, so every new session uses it.
        say(
          `    ${who}: the new session used Kyber prekey ` +
            `${String(event.kyberPreKeyId)} (last resort)`,
        );
        break;
      case 'decrypt-error':
        say(`    ${who}: ! ${event.peer}: ${event.code} ${event.message} → ${event.outcome}`);
        break;
      case 'session-reset':
        say(`    ${who}: session with ${event.peer} reset by ${event.by}`);
        break;
      case 'error':
        say(`    ${who}: ! ${event.code}: ${event.message}`);
        break;
      default:
        break;
    }
  };
}

/** Resolve when `client` has received `count` more messages; `cancel` stops waiting. */
function received(
  client: MessengerClient,
  count: number,
  timeoutMs = 20_000,
): Promise<void> & { cancel(): void } {
  let cancel = (): void => undefined;
  const promise = new Promise<void>((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => {
      off();
      reject(
        new Error(
          `timed out waiting for ${String(count)} message(s) at ${client.address.toString()}`,
        ),
      );
    }, timeoutMs);
    const off = client.on((event) => {
      if (event.type === 'message' && ++seen === count) {
        cancel();
        resolve();
      }
    });
    cancel = () => {
      clearTimeout(timer);
      off();
    };
  });
  return Object.assign(promise, { cancel });
}

/** Send and wait for delivery, printing the line. */
async function say1(from: MessengerClient, to: MessengerClient, text: string): Promise<void> {
  const arrived = received(to, 1);
  let envelopeId: number;
  try {
    envelopeId = (await from.send(to.address.name, text)).envelopeId;
  } catch (e) {
    arrived.cancel();
    throw e;
  }
  await arrived;
  say(
    `    ${from.address.name.padEnd(5)} → ${to.address.name.padEnd(5)} ${JSON.stringify(text)}  ` +
      `(envelope #${String(envelopeId)})`,
  );
}

async function main(): Promise<boolean> {
  say('chiffre messenger demo: key directory + relay server and two CLI clients, on SQLite');

  heading(1, 'The server: key directory and store-and-forward relay (127.0.0.1 only)');
  const server = await startServer({
    dbPath: paths.server,
    log: (line) => {
      if (/^5\d\d /.test(line)) say(`    [server] ${line}`);
    },
  });
  say(`    listening on ${server.url}, database ${paths.server}`);

  heading(2, 'Two devices register: identity key, signed prekey, Kyber prekey, one-time prekeys');
  const serverUrl = server.url;
  const alice = await openSqliteClient({
    dbPath: paths.alice,
    serverUrl,
    name: 'alice',
    onEvent: narrate('alice'),
  });
  let bob = await openSqliteClient({
    dbPath: paths.bob,
    serverUrl,
    name: 'bob',
    onEvent: narrate('bob'),
  });
  alice.start();
  bob.start();
  const bobKeysBefore = server.inspect('bob', 1).oneTimePreKeys;
  say(`    the server holds ${String(bobKeysBefore)} of bob's one-time prekeys`);

  heading(3, 'Alice starts a session from Bob’s bundle (PQXDH) and they talk');
  const alicesLines = [
    'Hi Bob! This is Alice, end-to-end encrypted.',
    'Post-quantum too: PQXDH at the start, SPQR all along.',
  ];
  const bobsLines = [
    'Hi Alice, loud and clear. Our server only sees ciphertext.',
    'Nice. I am going offline for a moment, keep writing.',
  ];
  await say1(alice, bob, alicesLines[0] as string);
  say(
    `    the bundle consumed one one-time prekey: ${String(bobKeysBefore)} → ` +
      `${String(server.inspect('bob', 1).oneTimePreKeys)} left on the server`,
  );
  await say1(bob, alice, bobsLines[0] as string);
  await say1(alice, bob, alicesLines[1] as string);
  await say1(bob, alice, bobsLines[1] as string);

  heading(4, 'Bob goes offline; Alice’s messages queue on the server');
  await bob.close();
  say('    bob: client closed (keys and sessions stay in bob.db)');
  const offline = [
    'Message 1 while you are away: the relay keeps it for you.',
    'Message 2: it stores ciphertext in your mailbox until you ack.',
    'Message 3: then it deletes it. See you soon!',
  ];
  for (const text of offline) {
    const sent = await alice.send('bob', text);
    say(
      `    alice → bob   ${JSON.stringify(text)}  (envelope #${String(sent.envelopeId)}, queued)`,
    );
  }
  alicesLines.push(...offline);
  say(`    server: ${String(server.inspect('bob', 1).queued)} messages queued for bob.1`);

  heading(5, 'Bob comes back: restarted from his SQLite file, he receives the queue');
  bob = await openSqliteClient({
    dbPath: paths.bob,
    serverUrl,
    name: 'bob',
    onEvent: narrate('bob'),
  });
  // Nothing is received before start(): subscribe first.
  const queued = received(bob, offline.length);
  bob.start();
  await queued;
  say(
    `    bob: received ${String(offline.length)} queued messages; ` +
      `server queue now ${String(server.inspect('bob', 1).queued)}`,
  );
  const reply = 'Back! Got all three, in order.';
  bobsLines.push(reply);
  await say1(bob, alice, reply);

  heading(6, 'Transcript (each side’s own SQLite history)');
  const [aliceHistory, bobHistory] = await Promise.all([alice.history(), bob.history()]);
  for (const m of aliceHistory) {
    const arrow = m.direction === 'out' ? `alice → ${m.peer}` : `${m.peer} → alice`;
    say(`    ${new Date(m.sentAt).toISOString().slice(11, 19)}  ${arrow.padEnd(16)} ${m.text}`);
  }

  heading(7, 'Verdicts');
  let ok = true;
  const verdict = (pass: boolean, line: string): void => {
    ok &&= pass;
    say(`    ${pass ? 'PASS' : 'FAIL'}  ${line}`);
  };
  const aliceNumber = await alice.safetyNumber('bob');
  const bobNumber = await bob.safetyNumber('alice');
  say(`    alice sees safety number ${aliceNumber ?? '(none)'}`);
  say(`    bob   sees safety number ${bobNumber ?? '(none)'}`);
  verdict(aliceNumber !== null && aliceNumber === bobNumber, 'safety numbers match');

  const texts = (h: typeof aliceHistory, direction: 'in' | 'out'): string[] =>
    h.filter((m) => m.direction === direction).map((m) => m.text);
  verdict(
    JSON.stringify(texts(bobHistory, 'in')) === JSON.stringify(alicesLines),
    `bob received all ${String(alicesLines.length)} of alice's messages, in order ` +
      '(3 after a restart)',
  );
  verdict(
    JSON.stringify(texts(aliceHistory, 'in')) === JSON.stringify(bobsLines),
    `alice received all ${String(bobsLines.length)} of bob's messages, in order`,
  );
  verdict(
    server.inspect('bob', 1).queued === 0 && server.inspect('alice', 1).queued === 0,
    'every message was acknowledged and deleted from the server',
  );

  const [aliceSpqr, bobSpqr] = await Promise.all([
    alice.spqrStatus('bob'),
    bob.spqrStatus('alice'),
  ]);
  const spqr = (s: typeof aliceSpqr): string =>
    s === null
      ? 'no session'
      : `SPQR v${String(s.version)}, epoch ${String(s.epoch)}, ${String(s.completedEpochs)} completed ` +
        `epoch(s)${s.negotiating ? ', negotiating' : ''}`;
  say(`    alice ↔ bob: ${spqr(aliceSpqr)}`);
  say(`    bob ↔ alice: ${spqr(bobSpqr)}`);
  verdict(
    aliceSpqr?.version === 1 &&
      bobSpqr?.version === 1 &&
      !aliceSpqr.negotiating &&
      !bobSpqr.negotiating,
    'both sessions run the SPQR post-quantum ratchet (V1, negotiated); its ML-KEM epochs ' +
      'complete as the conversation goes on',
  );

  await alice.stop();
  await bob.stop();
  const needles: Needle[] = [
    ...[...alicesLines, ...bobsLines].map((text, i) => ({
      label: `plaintext ${String(i + 1)}`,
      bytes: new TextEncoder().encode(text),
    })),
    ...(await devicePrivateKeys(paths.alice, 'alice')),
    ...(await devicePrivateKeys(paths.bob, 'bob')),
  ];
  const audit = auditDatabase(paths.server, needles);
  verdict(
    audit.findings.length === 0,
    `the server's database holds only ciphertext: ${String(needles.length)} secrets ` +
      `(${String(alicesLines.length + bobsLines.length)} plaintexts, every private key) searched ` +
      `in ${String(audit.cells)} cells and ${String(audit.fileBytes)} raw bytes, ` +
      `${String(audit.findings.length)} found`,
  );
  for (const f of audit.findings) say(`          found ${f.label} in ${f.where}`);

  await alice.close();
  await bob.close();
  if (keep) {
    say(`\nServer still running at ${server.url} (browser client: open it; needs npm run build).`);
    say(`Files in ${dir}. Ctrl-C to stop.`);
    process.on('SIGINT', () => {
      void server.close().then(() => process.exit(ok ? 0 : 1));
    });
    return ok;
  }
  await server.close();
  return ok;
}

main()
  .then((ok) => {
    if (!keep) rmSync(dir, { recursive: true, force: true });
    if (ok) {
      console.log(
        '\nSUCCESS: messenger demo passed — all messages delivered (including across an offline ' +
          'restart), safety numbers match, the server saw only ciphertext.',
      );
    } else {
      console.log('\nFAILED: see the FAIL lines above.');
      process.exitCode = 1;
    }
  })
  .catch((e: unknown) => {
    console.error('\nFAILED:', e);
    if (!keep) rmSync(dir, { recursive: true, force: true });
    // The server and clients may still be open: do not wait for them.
    process.exit(1);
  });
