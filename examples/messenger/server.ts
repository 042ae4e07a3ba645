/**
 * The messenger's server: a key directory and a store-and-forward relay over HTTP on 127.0.0.1,
 * persisting to SQLite ({@link ServerDatabase}). It also serves the browser client, chiffre's ESM
 * build (`dist/`, at `/chiffre/*`) and the `@noble/*` modules that build imports.
 *
 * The server is untrusted by design: it handles public keys and ciphertext only. It checks what
 * it can check without secrets (key shapes, the two bundle signatures, sizes, who is sending) and
 * answers every bad request with a 4xx and `{ error: { code, message } }`, then carries on.
 *
 * | method and path                       | auth          | what                                  |
 * | ------------------------------------- | ------------- | ------------------------------------- |
 * | `PUT /v1/keys/:name/:device`          | if registered | register (gets a token), publish keys |
 * | `GET /v1/keys/:name/:device`          | any device    | a bundle; uses up a one-time prekey   |
 * | `GET /v1/keys/:name/:device/count`    | that device   | one-time prekeys left                 |
 * | `GET /v1/keys/:name/:device/identity` | any device    | the identity key alone                |
 * | `POST /v1/messages/:name/:device`     | sender        | queue a message for a device          |
 * | `GET /v1/messages?after&wait`         | recipient     | long-poll the mailbox                 |
 * | `DELETE /v1/messages/:id`             | recipient     | acknowledge (delete) a message        |
 *
 * Run it alone: `node --import tsx examples/messenger/server.ts [--port 8080] [--db server.db]`.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KemPublicKey, PublicKey } from '../../src/index.js';
import {
  type Envelope,
  fromBase64,
  MAX_BODY_BYTES,
  MAX_DEVICE_ID,
  MAX_MAILBOX,
  MAX_MESSAGE_BYTES,
  MAX_POLL_BATCH,
  MAX_POLL_WAIT_SECONDS,
  MAX_PREKEYS_PER_UPLOAD,
  MAX_STORED_PREKEYS,
  NAME_PATTERN,
  toBase64,
  type UploadResponse,
  type WireBundle,
} from './protocol.js';
import { type DeviceKeys, type DeviceRef, hashToken, ServerDatabase } from './server-db.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** SQLite file of the key directory and mailboxes. */
  readonly dbPath: string;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** Request body limit in bytes (default {@link MAX_BODY_BYTES}). */
  readonly maxBodyBytes?: number;
  /** chiffre's ESM build to serve at `/chiffre/*` (default: the repository's `dist/`). */
  readonly distDir?: string;
  /** Log lines (default: none). */
  readonly log?: (line: string) => void;
}

/** A running server. */
export interface RunningServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly dbPath: string;
  /** What the server holds for a device: queued messages and one-time prekeys left. */
  inspect(name: string, deviceId: number): { queued: number; oneTimePreKeys: number };
  /** Stop accepting, end pending long-polls, close the database. */
  close(): Promise<void>;
}

/** An answer with a status and a JSON error body. */
class HttpError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const bad = (message: string): HttpError => new HttpError(400, 'bad_request', message);

// ------------------------------------------------------------------------------------------------
// Validation of what clients send (everything from the network is `unknown` until checked)
// ------------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

function object(value: unknown, field: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw bad(`${field} must be an object`);
  }
  return value as Json;
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(`${field} must be an integer from ${min} to ${max}`);
  }
  return value;
}

function base64(value: unknown, field: string): Uint8Array {
  try {
    return fromBase64(value, field);
  } catch (e) {
    throw bad((e as Error).message);
  }
}

/** A 33-byte Curve25519 public key (type byte 0x05), checked by chiffre itself. */
function curveKey(value: unknown, field: string): PublicKey {
  try {
    return PublicKey.deserialize(base64(value, field));
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, 'invalid_bundle', `${field} is not a valid Curve25519 public key`);
  }
}

function kemKey(value: unknown, field: string): KemPublicKey {
  try {
    return KemPublicKey.deserialize(base64(value, field));
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, 'invalid_bundle', `${field} is not a valid Kyber-1024 public key`);
  }
}

function signature(value: unknown, field: string): Uint8Array {
  const sig = base64(value, field);
  if (sig.length !== 64) throw new HttpError(400, 'invalid_bundle', `${field} must be 64 bytes`);
  return sig;
}

const PREKEY_ID_MAX = 0xff_ffff;

/** The signed prekey or last-resort Kyber prekey of an upload, signature verified. */
function signedKey(
  value: unknown,
  field: string,
  identity: PublicKey,
  kind: 'curve' | 'kem',
): { id: number; publicKey: Uint8Array; signature: Uint8Array } {
  const o = object(value, field);
  const id = integer(o.id, `${field}.id`, 1, PREKEY_ID_MAX);
  const key =
    kind === 'curve'
      ? curveKey(o.publicKey, `${field}.publicKey`)
      : kemKey(o.publicKey, `${field}.publicKey`);
  const sig = signature(o.signature, `${field}.signature`);
  // XEdDSA over the serialized key, type byte included: what the initiator will check too.
  if (!identity.verifySignature(key.serialize(), sig)) {
    throw new HttpError(400, 'invalid_bundle', `${field}.signature does not verify`);
  }
  return { id, publicKey: key.serialize(), signature: sig };
}

/** `name.deviceId` */
function name(ref: DeviceRef): string {
  return `${ref.name}.${String(ref.deviceId)}`;
}

function deviceRef(account: string | undefined, device: string | undefined): DeviceRef {
  if (account === undefined || !NAME_PATTERN.test(account)) {
    throw bad('name must be 1 to 64 letters, digits, "-" or "_"');
  }
  const deviceId = Number(device);
  if (!/^\d{1,3}$/.test(device ?? '') || deviceId < 1 || deviceId > MAX_DEVICE_ID) {
    throw bad(`device id must be an integer from 1 to ${MAX_DEVICE_ID}`);
  }
  return { name: account, deviceId };
}

// ------------------------------------------------------------------------------------------------
// HTTP plumbing
// ------------------------------------------------------------------------------------------------

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendError(res: ServerResponse, e: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, e.status, { error: { code: e.code, message: e.message } });
}

/**
 * Read a JSON body of at most `limit` bytes. An oversized body is refused with 413 before it is
 * buffered: by its declared length when there is one, else as soon as the count passes the limit.
 * The rest is drained (not kept) so that the client reads the answer; a client that keeps sending
 * far beyond the limit is disconnected.
 */
function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) {
    req.resume();
    return Promise.reject(
      new HttpError(415, 'unsupported_media_type', 'the body must be application/json'),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const refuse = (): void => {
      refused = true;
      chunks.length = 0;
      reject(new HttpError(413, 'payload_too_large', `the request body exceeds ${limit} bytes`));
    };
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(declared) && declared > limit) refuse();
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (refused) {
        if (size > 16 * limit) req.destroy();
        return;
      }
      if (size > limit) refuse();
      else chunks.push(chunk);
    });
    req.on('end', () => {
      if (refused) return;
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      } catch {
        reject(new HttpError(400, 'malformed_json', 'the body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

function bearer(req: IncomingMessage): string | null {
  const m = /^Bearer ([A-Za-z0-9_-]{16,128})$/.exec(req.headers.authorization ?? '');
  return m?.[1] ?? null;
}

// ------------------------------------------------------------------------------------------------
// Static files: the page, its scripts (TypeScript, type-stripped on the fly), dist/, @noble/*
// ------------------------------------------------------------------------------------------------

/** The page's modules: URL path under `/app/` → source file under `examples/messenger/`. */
const PAGE_MODULES: Readonly<Record<string, string>> = {
  'protocol.js': 'protocol.ts',
  'client.js': 'client.ts',
  'web/app.js': 'web/app.ts',
  'web/idb-storage.js': 'web/idb-storage.ts',
};

const NOBLE_PACKAGES = ['hashes', 'ciphers'] as const;

/** The import map the page needs for the ESM build's bare `@noble/*` imports. */
export const IMPORT_MAP = JSON.stringify({
  imports: Object.fromEntries(
    NOBLE_PACKAGES.map((p) => [`@noble/${p}/`, `/vendor/@noble/${p}/`] as const),
  ),
});

class StaticFiles {
  readonly #dist: string;
  readonly #noble = new Map<string, string>();
  readonly #modules = new Map<string, string>();
  #html: string | undefined;
  readonly #csp: string;

  constructor(distDir: string) {
    this.#dist = distDir;
    const require = createRequire(import.meta.url);
    for (const p of NOBLE_PACKAGES) {
      // Each package's "." export is its root index.js.
      this.#noble.set(p, path.dirname(require.resolve(`@noble/${p}`)));
    }
    const mapHash = createHash('sha256').update(IMPORT_MAP).digest('base64');
    // The page runs only our modules and the inline import map; it talks only to this origin.
    this.#csp =
      `default-src 'none'; script-src 'self' 'sha256-${mapHash}'; connect-src 'self'; ` +
      `style-src 'self' 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'`;
  }

  /** Serve `url` if it is a static path; `false` when it is not one of ours. */
  async serve(pathname: string, res: ServerResponse): Promise<boolean> {
    if (pathname === '/' || pathname === '/index.html') {
      this.#html ??= (await readFile(path.join(here, 'web/index.html'), 'utf8')).replace(
        '<!--IMPORT_MAP-->',
        `<script type="importmap">${IMPORT_MAP}</script>`,
      );
      this.#send(res, 'text/html; charset=utf-8', this.#html, {
        'content-security-policy': this.#csp,
      });
      return true;
    }
    if (pathname === '/favicon.ico') {
      res.writeHead(204).end();
      return true;
    }
    if (pathname.startsWith('/app/')) {
      const source = PAGE_MODULES[pathname.slice('/app/'.length)];
      if (source === undefined) throw new HttpError(404, 'not_found', 'no such module');
      this.#send(res, 'text/javascript; charset=utf-8', await this.#module(source));
      return true;
    }
    if (pathname.startsWith('/chiffre/')) {
      const file = pathname.slice('/chiffre/'.length);
      if (!/^[\w.-]+\.js(\.map)?$/.test(file))
        throw new HttpError(404, 'not_found', 'no such file');
      if (!existsSync(path.join(this.#dist, 'index.js'))) {
        throw new HttpError(
          503,
          'build_missing',
          'chiffre’s ESM build is missing: run `npm run build` first',
        );
      }
      await this.#file(res, path.join(this.#dist, file));
      return true;
    }
    const noble = /^\/vendor\/@noble\/([a-z-]+)\/((?:[\w-]+\/)*[\w.-]+\.js)$/.exec(pathname);
    if (noble !== null) {
      const root = this.#noble.get(noble[1] as string);
      if (root === undefined || (noble[2] as string).includes('..')) {
        throw new HttpError(404, 'not_found', 'no such module');
      }
      await this.#file(res, path.join(root, noble[2] as string));
      return true;
    }
    return false;
  }

  /** A page module: the TypeScript source with its types stripped (esbuild, no bundling). */
  async #module(source: string): Promise<string> {
    const cached = this.#modules.get(source);
    if (cached !== undefined) return cached;
    const { transform } = await import('esbuild');
    const file = path.join(here, source);
    const result = await transform(await readFile(file, 'utf8'), {
      loader: 'ts',
      format: 'esm',
      target: 'es2022',
      sourcefile: source,
      sourcemap: 'inline',
    });
    // Page modules import chiffre only as types; a value import of src/ would not load here.
    if (/\bfrom\s*['"][^'"]*\/src\//.test(result.code)) {
      throw new Error(`${source} imports src/ at run time; import chiffre as types only`);
    }
    this.#modules.set(source, result.code);
    return result.code;
  }

  async #file(res: ServerResponse, file: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      throw new HttpError(404, 'not_found', 'no such file');
    }
    const type = file.endsWith('.map')
      ? 'application/json; charset=utf-8'
      : 'text/javascript; charset=utf-8';
    this.#send(res, type, body);
  }

  #send(
    res: ServerResponse,
    type: string,
    body: string | Buffer,
    extra: Record<string, string> = {},
  ): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      ...extra,
      'content-type': type,
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }
}

// ------------------------------------------------------------------------------------------------
// The API
// ------------------------------------------------------------------------------------------------

/** Long-poll waiters per device (`name.deviceId`). */
class Waiters {
  readonly #waiting = new Map<string, Set<() => void>>();

  /** Wait for a message for `ref`, `ms` at most, or until the client hangs up. */
  wait(ref: DeviceRef, ms: number, res: ServerResponse): Promise<void> {
    const key = `${ref.name}.${String(ref.deviceId)}`;
    return new Promise((resolve) => {
      const set = this.#waiting.get(key) ?? new Set();
      this.#waiting.set(key, set);
      const done = (): void => {
        clearTimeout(timer);
        res.off('close', done);
        set.delete(done);
        if (set.size === 0) this.#waiting.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      res.on('close', done);
      set.add(done);
    });
  }

  wake(ref: DeviceRef): void {
    for (const done of [...(this.#waiting.get(`${ref.name}.${String(ref.deviceId)}`) ?? [])]) {
      done();
    }
  }

  wakeAll(): void {
    for (const set of [...this.#waiting.values()]) for (const done of [...set]) done();
  }
}

class Api {
  readonly #db: ServerDatabase;
  readonly #waiters = new Waiters();
  readonly #limit: number;
  readonly #log: (line: string) => void;

  constructor(db: ServerDatabase, limit: number, log: (line: string) => void) {
    this.#db = db;
    this.#limit = limit;
    this.#log = log;
  }

  close(): void {
    this.#waiters.wakeAll();
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const parts = url.pathname.split('/').slice(1);
    if (parts[0] !== 'v1') return false;
    const method = req.method ?? 'GET';
    if (method === 'GET' && parts[1] === 'health' && parts.length === 2) {
      sendJson(res, 200, { ok: true });
    } else if (parts[1] === 'keys' && (parts.length === 4 || parts.length === 5)) {
      const ref = deviceRef(parts[2], parts[3]);
      if (parts.length === 5 && parts[4] === 'count' && method === 'GET') {
        const self = this.#authenticate(req);
        if (self.name !== ref.name || self.deviceId !== ref.deviceId) {
          throw new HttpError(403, 'forbidden', 'a device can only count its own prekeys');
        }
        sendJson(res, 200, { oneTimePreKeys: this.#db.countOneTimePreKeys(ref) });
      } else if (parts.length === 5 && parts[4] === 'identity' && method === 'GET') {
        this.#authenticate(req);
        const keys = this.#db.device(ref);
        if (keys === null) {
          throw new HttpError(404, 'unknown_device', `${name(ref)} is not registered`);
        }
        sendJson(res, 200, { identityKey: toBase64(keys.identityKey) });
      } else if (parts.length === 4 && method === 'PUT') {
        sendJson(res, 200, this.#upload(req, ref, await readJson(req, this.#limit)));
      } else if (parts.length === 4 && method === 'GET') {
        this.#authenticate(req);
        sendJson(res, 200, this.#bundle(ref));
      } else {
        throw new HttpError(405, 'method_not_allowed', `${method} is not allowed here`);
      }
    } else if (parts[1] === 'messages' && parts.length === 4 && method === 'POST') {
      const to = deviceRef(parts[2], parts[3]);
      const from = this.#authenticate(req);
      const body = await readJson(req, this.#limit);
      sendJson(res, 201, { id: this.#send(from, to, body) });
    } else if (parts[1] === 'messages' && parts.length === 2 && method === 'GET') {
      const self = this.#authenticate(req);
      sendJson(res, 200, { messages: await this.#poll(res, self, url) });
    } else if (parts[1] === 'messages' && parts.length === 3 && method === 'DELETE') {
      const self = this.#authenticate(req);
      const id = Number(parts[2]);
      if (!/^\d{1,15}$/.test(parts[2] ?? '')) throw bad('message id must be an integer');
      if (!this.#db.ack(self, id)) throw new HttpError(404, 'not_found', 'no such message');
      res.writeHead(204, SECURITY_HEADERS).end();
    } else {
      throw new HttpError(404, 'not_found', `no route for ${method} ${url.pathname}`);
    }
    return true;
  }

  #authenticate(req: IncomingMessage): DeviceRef {
    const token = bearer(req);
    const device = token === null ? null : this.#db.deviceForToken(token);
    if (device === null) {
      throw new HttpError(401, 'unauthorized', 'a valid device token is required');
    }
    return device;
  }

  /**
   * Register a device (unknown device: the answer carries its new token), publish keys (with that
   * device's token), or replace its identity after a reinstall (its token, and a complete new set
   * of keys signed by the new identity). Everything is checked before anything is written.
   */
  #upload(req: IncomingMessage, ref: DeviceRef, body: unknown): UploadResponse {
    const existing = this.#db.device(ref);
    if (existing !== null) {
      const self = this.#authenticate(req);
      if (self.name !== ref.name || self.deviceId !== ref.deviceId) {
        throw new HttpError(409, 'already_registered', `${name(ref)} is registered to another key`);
      }
    }
    const o = object(body, 'body');
    const identity = curveKey(o.identityKey, 'identityKey');
    if (!Array.isArray(o.oneTimePreKeys)) throw bad('oneTimePreKeys must be an array');
    const list: unknown[] = o.oneTimePreKeys;
    if (list.length > MAX_PREKEYS_PER_UPLOAD) {
      throw bad(`at most ${String(MAX_PREKEYS_PER_UPLOAD)} one-time prekeys per upload`);
    }
    const oneTime = list.map((k, i) => {
      const key = object(k, `oneTimePreKeys[${String(i)}]`);
      return {
        id: integer(key.id, `oneTimePreKeys[${String(i)}].id`, 1, PREKEY_ID_MAX),
        publicKey: curveKey(key.publicKey, `oneTimePreKeys[${String(i)}].publicKey`).serialize(),
      };
    });
    const signed =
      o.signedPreKey === undefined
        ? undefined
        : signedKey(o.signedPreKey, 'signedPreKey', identity, 'curve');
    const kyber =
      o.lastResortKyberPreKey === undefined
        ? undefined
        : signedKey(o.lastResortKyberPreKey, 'lastResortKyberPreKey', identity, 'kem');

    const newIdentity =
      existing === null || !identity.equals(PublicKey.deserialize(existing.identityKey));
    const stored = newIdentity ? 0 : this.#db.countOneTimePreKeys(ref);
    if (stored + oneTime.length > MAX_STORED_PREKEYS) {
      throw new HttpError(
        409,
        'too_many_prekeys',
        `a device keeps at most ${String(MAX_STORED_PREKEYS)} one-time prekeys`,
      );
    }
    let token: string | undefined;
    if (newIdentity) {
      if (signed === undefined || kyber === undefined) {
        throw new HttpError(
          400,
          'invalid_bundle',
          'a new identity needs a signed prekey and a last-resort Kyber prekey',
        );
      }
      const keys: DeviceKeys = {
        registrationId: integer(o.registrationId, 'registrationId', 1, 0x3fff),
        identityKey: identity.serialize(),
        signedPreKey: signed,
        kyberPreKey: kyber,
      };
      // A reinstall keeps the device's token (it proved it holds it above).
      if (existing === null) token = randomBytes(32).toString('base64url');
      const tokenHash = hashToken(token ?? (bearer(req) as string));
      this.#db.putDevice(ref, keys, tokenHash, Date.now());
      this.#log(`${existing === null ? 'registered' : 'new identity for'} ${name(ref)}`);
    } else {
      if (signed !== undefined) this.#db.setSignedPreKey(ref, signed);
      if (kyber !== undefined) this.#db.setKyberPreKey(ref, kyber);
    }
    this.#db.addOneTimePreKeys(ref, oneTime);
    return {
      registered: token !== undefined,
      ...(token === undefined ? {} : { token }),
      oneTimePreKeys: this.#db.countOneTimePreKeys(ref),
    };
  }

  /** A bundle; its one-time prekey (if any is left) is deleted as it is handed out. */
  #bundle(ref: DeviceRef): WireBundle {
    const keys = this.#db.device(ref);
    if (keys === null) {
      throw new HttpError(404, 'unknown_device', `${name(ref)} is not registered`);
    }
    const preKey = this.#db.takeOneTimePreKey(ref);
    return {
      name: ref.name,
      deviceId: ref.deviceId,
      registrationId: keys.registrationId,
      identityKey: toBase64(keys.identityKey),
      signedPreKey: {
        id: keys.signedPreKey.id,
        publicKey: toBase64(keys.signedPreKey.publicKey),
        signature: toBase64(keys.signedPreKey.signature),
      },
      kyberPreKey: {
        id: keys.kyberPreKey.id,
        publicKey: toBase64(keys.kyberPreKey.publicKey),
        signature: toBase64(keys.kyberPreKey.signature),
      },
      ...(preKey === null
        ? {}
        : { preKey: { id: preKey.id, publicKey: toBase64(preKey.publicKey) } }),
    };
  }

  #send(from: DeviceRef, to: DeviceRef, body: unknown): number {
    const o = object(body, 'body');
    if (o.type !== 'prekey' && o.type !== 'whisper')
      throw bad('type must be "prekey" or "whisper"');
    const ciphertext = base64(o.body, 'body');
    if (ciphertext.length === 0 || ciphertext.length > MAX_MESSAGE_BYTES) {
      throw new HttpError(413, 'payload_too_large', `a message is 1 to ${MAX_MESSAGE_BYTES} bytes`);
    }
    if (this.#db.device(to) === null) {
      throw new HttpError(404, 'unknown_device', `${name(to)} is not registered`);
    }
    if (this.#db.mailboxSize(to) >= MAX_MAILBOX) {
      throw new HttpError(429, 'mailbox_full', `${name(to)} has too many queued messages`);
    }
    const id = this.#db.enqueue(to, from, o.type, ciphertext, Date.now());
    this.#waiters.wake(to);
    return id;
  }

  async #poll(res: ServerResponse, self: DeviceRef, url: URL): Promise<Envelope[]> {
    const after = Number(url.searchParams.get('after') ?? '0');
    const wait = Number(url.searchParams.get('wait') ?? '0');
    if (!Number.isSafeInteger(after) || after < 0)
      throw bad('after must be a non-negative integer');
    if (!Number.isFinite(wait) || wait < 0 || wait > MAX_POLL_WAIT_SECONDS) {
      throw bad(`wait must be 0 to ${MAX_POLL_WAIT_SECONDS} seconds`);
    }
    let found = this.#db.messagesFor(self, after, MAX_POLL_BATCH);
    if (found.length === 0 && wait > 0) {
      await this.#waiters.wait(self, wait * 1000, res);
      found = this.#db.messagesFor(self, after, MAX_POLL_BATCH);
    }
    return found.map((m) => ({
      id: m.id,
      from: { name: m.senderName, deviceId: m.senderDevice },
      type: m.type,
      body: toBase64(m.body),
      receivedAt: m.receivedAt,
    }));
  }
}

// ------------------------------------------------------------------------------------------------
// Start and stop
// ------------------------------------------------------------------------------------------------

/**
 * Start the server on 127.0.0.1.
 *
 * @example
 * ```ts
 * const server = await startServer({ dbPath: 'server.db' });
 * console.log(server.url); // http://127.0.0.1:40123
 * await server.close();
 * ```
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const db = new ServerDatabase(options.dbPath);
  const log = options.log ?? (() => undefined);
  const api = new Api(db, options.maxBodyBytes ?? MAX_BODY_BYTES, log);
  const files = new StaticFiles(options.distDir ?? path.join(repoRoot, 'dist'));

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    void (async () => {
      try {
        if (await api.handle(req, res, url)) return;
        if (req.method === 'GET' && (await files.serve(url.pathname, res))) return;
        throw new HttpError(404, 'not_found', `no route for ${req.method ?? ''} ${url.pathname}`);
      } catch (e) {
        if (e instanceof HttpError) {
          if (e.status >= 500) log(`${String(e.status)} ${e.message}`);
          sendError(res, e);
        } else {
          // A bug, not the client's fault: say so without details, and keep serving.
          log(`500 ${req.method ?? ''} ${url.pathname}: ${String(e)}`);
          sendError(res, new HttpError(500, 'internal', 'internal server error'));
        }
      }
    })();
  });
  server.requestTimeout = 60_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    port,
    dbPath: options.dbPath,
    inspect(name, deviceId) {
      const ref = { name, deviceId };
      return { queued: db.mailboxSize(ref), oneTimePreKeys: db.countOneTimePreKeys(ref) };
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        api.close();
        server.close(() => {
          db.close();
          resolve();
        });
        server.closeIdleConnections();
        // Long-polls were answered above; anything still open is cut.
        setTimeout(() => {
          server.closeAllConnections();
        }, 200).unref();
      });
      return closing;
    },
  };
}

// ------------------------------------------------------------------------------------------------
// `node --import tsx examples/messenger/server.ts [--port N] [--db path]`
// ------------------------------------------------------------------------------------------------

async function main(argv: readonly string[]): Promise<void> {
  const arg = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const dbPath = arg('--db') ?? 'messenger-server.db';
  const server = await startServer({
    dbPath,
    port: Number(arg('--port') ?? 0),
    log: (line) => {
      console.log(`[server] ${line}`);
    },
  });
  console.log(`messenger server on ${server.url} (database ${dbPath}); Ctrl-C stops it`);
  console.log(`browser client: ${server.url}/  (needs \`npm run build\` once)`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (
  process.argv[1] !== undefined &&
  path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
