/**
 * The browser client's page: registration, sending, receiving and safety numbers, on the same
 * {@link MessengerClient} as the CLI, with IndexedDB storage. chiffre is loaded at run time from
 * its ESM build (`/chiffre/index.js`, `prekeys.js`, `recovery.js`, `fingerprint.js` and
 * `storage-indexeddb.js`), which the server serves from `dist/` with an import map for `@noble/*`.
 *
 * Everything a peer sends is rendered with `textContent`, never as HTML.
 *
 * @module
 */
import type * as IndexedDbAdapter from '../../../src/adapters/indexeddb.js';
import type * as FingerprintModule from '../../../src/fingerprint/index.js';
import type * as Chiffre from '../../../src/index.js';
import type * as PreKeysModule from '../../../src/prekeys.js';
import type * as RecoveryModule from '../../../src/recovery.js';
import {
  type ChiffreModule,
  type ClientEvent,
  MessengerClient,
  type StoredMessage,
} from '../client.js';
import { parseAddress } from '../protocol.js';
import { openIndexedDbStorage } from './idb-storage.js';

/** Module URLs in variables: the type checker must not try to resolve them. */
const CHIFFRE_URL = '/chiffre/index.js';
const INDEXEDDB_URL = '/chiffre/storage-indexeddb.js';
const PREKEYS_URL = '/chiffre/prekeys.js';
const RECOVERY_URL = '/chiffre/recovery.js';
const FINGERPRINT_URL = '/chiffre/fingerprint.js';
const LAST_ACCOUNT = 'messenger:last-account';

function element<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} is missing`);
  return el as T;
}

const ui = {
  status: element<HTMLParagraphElement>('status'),
  registerForm: element<HTMLFormElement>('register-form'),
  name: element<HTMLInputElement>('name'),
  device: element<HTMLInputElement>('device'),
  chat: element<HTMLElement>('chat'),
  me: element<HTMLElement>('me'),
  sendForm: element<HTMLFormElement>('send-form'),
  peer: element<HTMLInputElement>('peer'),
  text: element<HTMLInputElement>('text'),
  safety: element<HTMLButtonElement>('safety'),
  trust: element<HTMLButtonElement>('trust'),
  safetyNumber: element<HTMLSpanElement>('safety-number'),
  log: element<HTMLOListElement>('log'),
};

function status(text: string, error = false): void {
  ui.status.textContent = text;
  ui.status.classList.toggle('error', error);
}

function describe(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? `${err.code}: ` : '';
  return `${code}${typeof err.message === 'string' ? err.message : String(e)}`;
}

function logLine(kind: 'in' | 'out' | 'event' | 'error', text: string, type: string): void {
  const li = document.createElement('li');
  li.className = kind;
  li.dataset.type = type;
  li.textContent = text;
  ui.log.append(li);
}

function showMessage(m: StoredMessage): void {
  logLine(m.direction, `${m.peer}: ${m.text}`, m.direction === 'in' ? 'message' : 'sent');
}

function showEvent(event: ClientEvent): void {
  switch (event.type) {
    case 'message':
    case 'sent':
      showMessage({ ...event, direction: event.type === 'message' ? 'in' : 'out', sentAt: 0 });
      return;
    case 'new-session':
      logLine('event', `new ${event.direction} session with ${event.peer}`, event.type);
      return;
    case 'identity-changed':
      logLine('error', `the identity key of ${event.peer} changed: ${event.detail}`, event.type);
      return;
    case 'identity-trusted':
      logLine('event', `trusted ${event.peer}; safety number ${event.safetyNumber}`, event.type);
      return;
    case 'decrypt-error':
      logLine(
        'error',
        `could not decrypt a message from ${event.peer}: ${event.code} ${event.message} ` +
          `(${event.outcome}); the session is unchanged`,
        event.type,
      );
      return;
    case 'session-reset':
      logLine('event', `new session with ${event.peer} (reset by ${event.by})`, event.type);
      return;
    case 'error':
      logLine('error', `${event.code}: ${event.message}`, event.type);
      return;
    default:
      return;
  }
}

async function main(): Promise<void> {
  let lib: ChiffreModule & typeof Chiffre;
  let idb: typeof IndexedDbAdapter;
  try {
    const [main, prekeys, recovery, fingerprint, adapter] = (await Promise.all([
      import(CHIFFRE_URL),
      import(PREKEYS_URL),
      import(RECOVERY_URL),
      import(FINGERPRINT_URL),
      import(INDEXEDDB_URL),
    ])) as [
      typeof Chiffre,
      typeof PreKeysModule,
      typeof RecoveryModule,
      typeof FingerprintModule,
      typeof IndexedDbAdapter,
    ];
    lib = { ...main, ...prekeys, ...recovery, ...fingerprint };
    idb = adapter;
  } catch (e) {
    status(`could not load chiffre's ESM build (run \`npm run build\`): ${describe(e)}`, true);
    return;
  }
  let client: MessengerClient | undefined;

  const open = async (name: string, deviceId: number): Promise<void> => {
    status(`opening ${name}.${String(deviceId)}…`);
    const storage = await openIndexedDbStorage(idb, lib, `messenger:${name}.${String(deviceId)}`);
    const opened = await MessengerClient.open({
      lib,
      storage,
      serverUrl: location.origin,
      name,
      deviceId,
    });
    opened.on(showEvent);
    status(`registering ${opened.address.toString()} (generating keys)…`);
    await opened.register();
    client = opened;
    localStorage.setItem(LAST_ACCOUNT, JSON.stringify({ name, deviceId }));
    ui.me.textContent = opened.address.toString();
    ui.registerForm.hidden = true;
    ui.chat.hidden = false;
    for (const m of await opened.history()) showMessage(m);
    opened.start();
    status(`registered as ${opened.address.toString()}`);
  };

  ui.registerForm.addEventListener('submit', (e) => {
    e.preventDefault();
    open(ui.name.value.trim(), Number(ui.device.value) || 1).catch((error: unknown) => {
      status(`registration failed: ${describe(error)}`, true);
    });
  });

  ui.sendForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = ui.text.value;
    const peer = ui.peer.value.trim();
    if (client === undefined || text === '') return;
    ui.text.value = '';
    client.send(peer, text).catch((error: unknown) => {
      logLine('error', `could not send to ${peer}: ${describe(error)}`, 'send-error');
    });
  });

  ui.safety.addEventListener('click', () => {
    const peer = ui.peer.value.trim();
    client
      ?.safetyNumber(peer)
      .then((n) => {
        ui.safetyNumber.textContent = n ?? `no session with ${peer} yet`;
      })
      .catch((error: unknown) => {
        ui.safetyNumber.textContent = describe(error);
      });
  });

  ui.trust.addEventListener('click', () => {
    const peer = ui.peer.value.trim();
    client
      ?.trust(peer)
      .then((n) => {
        ui.safetyNumber.textContent = n;
      })
      .catch((error: unknown) => {
        ui.safetyNumber.textContent = describe(error);
      });
  });

  // A reload reopens the last account from IndexedDB (its keys and sessions are there).
  const last = localStorage.getItem(LAST_ACCOUNT);
  if (last !== null) {
    try {
      const { name, deviceId } = JSON.parse(last) as { name: string; deviceId: number };
      parseAddress(`${name}.${String(deviceId)}`);
      await open(name, deviceId);
      return;
    } catch (e) {
      status(`could not reopen the last account: ${describe(e)}`, true);
    }
  } else {
    status('not registered');
  }
  ui.registerForm.hidden = false;
}

void main();
