/**
 * The messenger's command line: one device, its keys and sessions in one SQLite file.
 *
 * ```sh
 * node --import tsx examples/messenger/cli.ts \
 *   --server http://127.0.0.1:8080 --db alice.db --name alice
 * ```
 *
 * Lines are messages to the current peer (`/to bob`); commands start with `/` (`/help`). With
 * `--json`, every event and answer is one JSON line on stdout, for scripts and tests; the commands
 * are the same. The client registers on first start and receives in the background.
 */
import { createInterface } from 'node:readline';
import type { ClientEvent, MessengerClient } from './client.js';
import { openSqliteClient } from './sqlite-storage.js';

const HELP = `commands:
  /to <peer>           send plain lines to <peer> (name or name.device)
  /msg <peer> <text>   send one message
  /safety <peer>       show the safety number (compare it with <peer> over another channel)
  /trust <peer>        accept <peer>'s new identity key after "identity changed"
  /reset <peer>        start a new session with <peer> and tell them
  /status <peer>       session and SPQR status
  /history             the conversation so far
  /whoami              this device's address
  /quit                stop (also Ctrl-D)`;

interface Args {
  server?: string;
  db?: string;
  name?: string;
  device: number;
  json: boolean;
  token?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { device: 1, json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag ?? ''} needs a value`);
      return v;
    };
    if (flag === '--server') args.server = value();
    else if (flag === '--db') args.db = value();
    else if (flag === '--name') args.name = value();
    else if (flag === '--device') args.device = Number(value());
    else if (flag === '--token') args.token = value();
    else if (flag === '--json') args.json = true;
    else throw new Error(`unknown argument ${flag ?? ''}`);
  }
  return args;
}

const time = (ms: number): string => new Date(ms).toTimeString().slice(0, 8);

/** One line for a human. */
function render(event: ClientEvent): string | null {
  switch (event.type) {
    case 'registered':
      return (
        `* registered as ${event.address} ` +
        `(${String(event.oneTimePreKeys)} one-time prekeys on the server)`
      );
    case 'keys-uploaded':
      return event.rotated.length === 0
        ? `* uploaded ${String(event.oneTimePreKeys)} one-time prekeys`
        : `* uploaded keys: ${event.rotated.join(', ')}, ` +
            `${String(event.oneTimePreKeys)} one-time prekeys`;
    case 'last-resort-used':
      return null;
    case 'new-session':
      return (
        `* new ${event.direction} session with ${event.peer}; ` +
        `safety number ${event.safetyNumber}`
      );
    case 'identity-changed':
      return (
        `! the identity key of ${event.peer} changed: ${event.detail}.\n` +
        `  "/trust ${event.peer}" shows the new safety number: compare it with them ` +
        'before you continue.'
      );
    case 'identity-trusted':
      return `* trusted the new identity of ${event.peer}; safety number ${event.safetyNumber}`;
    case 'message':
      return `[${time(event.sentAt)}] ${event.peer}: ${event.text}`;
    case 'sent':
      return `[${time(Date.now())}] → ${event.peer}: ${event.text}`;
    case 'resent':
      return `* sent message ${event.id} again for ${event.peer}`;
    case 'decrypt-error':
      return (
        `! could not decrypt message #${String(event.envelopeId)} from ${event.peer}: ` +
        `${event.code} ${event.message} (suggested: ${event.suggestedAction ?? 'none'}; ` +
        `done: ${event.outcome}). Nothing was stored; the session is unchanged.`
      );
    case 'session-reset':
      return event.by === 'us'
        ? `* started a new session with ${event.peer} and told them`
        : `* ${event.peer} started a new session`;
    case 'error':
      return `! ${event.code}: ${event.message}`;
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const out = (value: unknown, human: string | null): void => {
    if (args.json) process.stdout.write(`${JSON.stringify(value)}\n`);
    else if (human !== null) process.stdout.write(`${human}\n`);
  };
  if (args.server === undefined || args.db === undefined || args.name === undefined) {
    process.stderr.write(
      'usage: cli.ts --server <url> --db <file> --name <name> [--device <n>] [--json] ' +
        '[--token <token>]\n',
    );
    process.exit(2);
  }
  const client: MessengerClient = await openSqliteClient({
    dbPath: args.db,
    serverUrl: args.server,
    name: args.name,
    deviceId: args.device,
    ...(args.token === undefined ? {} : { token: args.token }),
    onEvent: (event) => {
      out({ event }, render(event));
    },
  });
  client.start();
  out(
    { ready: { address: client.address.toString(), server: args.server } },
    `${client.address.toString()} on ${args.server}. Type /help for commands.`,
  );

  let peer: string | undefined;
  const run = async (line: string): Promise<boolean> => {
    const [command = '', ...rest] = line.trim().split(/\s+/);
    const arg = rest[0] ?? '';
    const needPeer = (): string => {
      if (arg === '') throw new Error(`${command} needs a peer`);
      return arg;
    };
    switch (command) {
      case '':
        return true;
      case '/quit':
        return false;
      case '/help':
        out({ reply: { help: HELP } }, HELP);
        return true;
      case '/whoami':
        out({ reply: { address: client.address.toString() } }, client.address.toString());
        return true;
      case '/to':
        peer = needPeer();
        out({ reply: { to: peer } }, `(sending to ${peer})`);
        return true;
      case '/msg': {
        const text = line.trim().split(/\s+/).slice(2).join(' ');
        if (text === '') throw new Error('/msg needs a peer and a text');
        await client.send(needPeer(), text);
        return true;
      }
      case '/safety': {
        const number = await client.safetyNumber(needPeer());
        out(
          { reply: { peer: arg, safetyNumber: number } },
          number === null ? `no session with ${arg} yet` : `safety number with ${arg}: ${number}`,
        );
        return true;
      }
      case '/trust':
        await client.trust(needPeer());
        return true;
      case '/reset': {
        const outcome = await client.resetSession(needPeer());
        out({ reply: { peer: arg, outcome } }, `reset: ${outcome.action}`);
        return true;
      }
      case '/status': {
        const target = needPeer();
        const [session, spqr, number] = await Promise.all([
          client.hasSession(target),
          client.spqrStatus(target),
          client.safetyNumber(target),
        ]);
        out(
          { reply: { peer: target, session, spqr, safetyNumber: number } },
          `${target}: ${session ? 'session ready' : 'no session'}` +
            (spqr === null
              ? ''
              : `; SPQR v${String(spqr.version)}, epoch ${String(spqr.epoch)}, ` +
                `${String(spqr.completedEpochs)} completed epoch(s)`),
        );
        return true;
      }
      case '/history': {
        const history = await client.history();
        out(
          { reply: { history } },
          history
            .map(
              (m) => `[${time(m.sentAt)}] ${m.direction === 'in' ? '' : '→ '}${m.peer}: ${m.text}`,
            )
            .join('\n') || '(no messages)',
        );
        return true;
      }
      default:
        if (command.startsWith('/')) throw new Error(`unknown command ${command} (try /help)`);
        if (peer === undefined) throw new Error('choose a peer first: /to <name>');
        await client.send(peer, line.trim());
        return true;
    }
  };

  // Lines are handled one at a time, in order.
  const lines = createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    let more = true;
    try {
      more = await run(line);
    } catch (e) {
      const error = e as { code?: unknown; message?: unknown };
      const code = typeof error.code === 'string' ? error.code : 'error';
      const message = typeof error.message === 'string' ? error.message : String(e);
      out({ error: { code, message } }, `! ${code}: ${message}`);
    }
    if (!more) break;
  }
  await client.close();
  out({ closed: true }, 'bye');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
