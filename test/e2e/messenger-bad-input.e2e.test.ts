/**
 * The example messenger under bad input and failures (server and CLI clients in-process; no
 * browser):
 *
 * - The server answers oversized payloads, malformed JSON and bundles, unknown devices and bad
 *   tokens with 4xx and a JSON error, and keeps serving.
 * - The key directory hands out each one-time prekey exactly once, then falls back to the
 *   last-resort Kyber prekey; PreKeyLifecycle replenishes below the low-water mark.
 * - A client given a tampered bundle or message reports a clear error and keeps its session; a
 *   replayed message is dropped; a lost session is recovered (SessionRecovery) and the lost
 *   message sent again; a reinstalled peer shows up as "identity changed" until trusted.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessengerClient } from '../../examples/messenger/client.js';
import { toBase64, type UploadRequest } from '../../examples/messenger/protocol.js';
import { type RunningServer, startServer } from '../../examples/messenger/server.js';
import {
  openSqliteClient,
  openSqliteStorage,
  type SqliteClientOptions,
} from '../../examples/messenger/sqlite-storage.js';
import { MessengerClient as Client } from '../../examples/messenger/client.js';
import * as fingerprintEntry from '../../src/fingerprint/index.js';
import * as chiffre from '../../src/index.js';
import * as prekeysEntry from '../../src/prekeys.js';
import * as recoveryEntry from '../../src/recovery.js';
import {
  IdentityKeyPair,
  isSignalError,
  KyberPreKeyRecord,
  PreKeyRecord,
  SignedPreKeyRecord,
} from '../../src/index.js';
import { EventLog, tempDir } from './messenger-helpers.js';

const dir = tempDir('messenger-bad-input');
let server: RunningServer;
const clients: MessengerClient[] = [];

beforeAll(async () => {
  server = await startServer({ dbPath: path.join(dir, 'server.db') });
});

afterAll(async () => {
  for (const c of clients) await c.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

let unique = 0;
/** A fresh account name per scenario (recovery is rate-limited per peer). */
const fresh = (name: string): string => `${name}${String(++unique)}`;

/** A registered client on its own SQLite file, with its events recorded. */
async function client(
  name: string,
  options: Partial<SqliteClientOptions> = {},
): Promise<{ client: MessengerClient; log: EventLog }> {
  const log = new EventLog();
  const c = await openSqliteClient({
    dbPath: path.join(dir, `${name}-${String(++unique)}.db`),
    serverUrl: server.url,
    name,
    onEvent: log.listener,
    pollSeconds: 2,
    ...options,
  });
  clients.push(c);
  return { client: c, log };
}

interface Answer {
  readonly status: number;
  readonly body: { error?: { code: string; message: string } } & Record<string, unknown>;
}

/** A raw request to the server. */
async function request(
  method: string,
  route: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${server.url}${route}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? {} : (JSON.parse(text) as Answer['body']),
  };
}

/** A valid registration upload, to be broken field by field. */
function validUpload(): UploadRequest & { registrationId: number } {
  const identity = IdentityKeyPair.generate();
  const now = Date.now();
  const signed = SignedPreKeyRecord.generate(identity, 1, now);
  const kyber = KyberPreKeyRecord.generate(identity, 1, now, { lastResort: true });
  return {
    registrationId: 1234,
    identityKey: toBase64(identity.publicKey.serialize()),
    signedPreKey: {
      id: 1,
      publicKey: toBase64(signed.keyPair.publicKey.serialize()),
      signature: toBase64(signed.signature),
    },
    lastResortKyberPreKey: {
      id: 1,
      publicKey: toBase64(kyber.keyPair.publicKey.serialize()),
      signature: toBase64(kyber.signature),
    },
    oneTimePreKeys: [1, 2].map((id) => ({
      id,
      publicKey: toBase64(PreKeyRecord.generate(id).keyPair.publicKey.serialize()),
    })),
  };
}

function urlOf(input: Parameters<typeof fetch>[0]): string {
  return typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
}

async function expectHealthy(): Promise<void> {
  expect(await request('GET', '/v1/health')).toEqual({ status: 200, body: { ok: true } });
}

describe('the server refuses bad input with 4xx and keeps running', () => {
  let token: string;

  beforeAll(async () => {
    const answer = await request('PUT', '/v1/keys/probe/1', validUpload());
    expect(answer.status).toBe(200);
    token = answer.body.token as string;
  });
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${token}` });

  it('oversized payloads: 413, by declared length and while streaming', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(1024 * 1024) });
    const declared = await request('PUT', '/v1/keys/big/1', big);
    expect(declared.status).toBe(413);
    expect(declared.body.error).toEqual({
      code: 'payload_too_large',
      message: 'the request body exceeds 262144 bytes',
    });
    // Chunked (no Content-Length): refused once the count passes the limit.
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await fetch(`${server.url}/v1/messages/probe/1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth() },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    // A ciphertext above 64 KiB inside an acceptable body.
    const message = await request(
      'POST',
      '/v1/messages/probe/1',
      { type: 'whisper', body: toBase64(new Uint8Array(65 * 1024)) },
      auth(),
    );
    expect(message.status).toBe(413);
    await expectHealthy();
  });

  it('malformed JSON and a wrong content type: 400 and 415', async () => {
    expect((await request('PUT', '/v1/keys/x/1', '{"identityKey":')).body.error?.code).toBe(
      'malformed_json',
    );
    const wrongType = await request('PUT', '/v1/keys/x/1', undefined, {});
    expect(wrongType.status).toBe(415);
    await expectHealthy();
  });

  it('malformed bundles: 400 with a message naming the field, nothing registered', async () => {
    const cases: [string, (u: ReturnType<typeof validUpload>) => unknown, string][] = [
      [
        'short identity key',
        (u) => ({ ...u, identityKey: toBase64(new Uint8Array(32)) }),
        'identityKey is not a valid Curve25519 public key',
      ],
      [
        'identity key not base64',
        (u) => ({ ...u, identityKey: '!!' }),
        'identityKey must be base64',
      ],
      [
        'signature by another key',
        (u) => ({ ...u, identityKey: validUpload().identityKey }),
        'signedPreKey.signature does not verify',
      ],
      [
        'Kyber key of the wrong type',
        (u) => ({
          ...u,
          lastResortKyberPreKey: {
            ...u.lastResortKyberPreKey!,
            publicKey: toBase64(new Uint8Array(1569)),
          },
        }),
        'lastResortKyberPreKey.publicKey is not a valid Kyber-1024 public key',
      ],
      [
        'short signature',
        (u) => ({
          ...u,
          signedPreKey: { ...u.signedPreKey!, signature: toBase64(new Uint8Array(63)) },
        }),
        'signedPreKey.signature must be 64 bytes',
      ],
      [
        'no last-resort Kyber prekey',
        (u) => ({ ...u, lastResortKyberPreKey: undefined }),
        'a new identity needs a signed prekey and a last-resort Kyber prekey',
      ],
      [
        'one-time prekeys not a list',
        (u) => ({ ...u, oneTimePreKeys: {} }),
        'oneTimePreKeys must be an array',
      ],
      [
        'prekey id out of range',
        (u) => ({ ...u, oneTimePreKeys: [{ ...u.oneTimePreKeys[0]!, id: 0x1000000 }] }),
        'oneTimePreKeys[0].id must be an integer from 1 to 16777215',
      ],
      [
        'registration id missing',
        (u) => ({ ...u, registrationId: undefined }),
        'registrationId must be an integer from 1 to 16383',
      ],
      ['not an object', () => [1, 2, 3], 'body must be an object'],
    ];
    for (const [what, mutate, message] of cases) {
      const answer = await request('PUT', '/v1/keys/mallory/1', mutate(validUpload()));
      expect(answer.status, what).toBe(400);
      expect(answer.body.error?.message, what).toBe(message);
    }
    // None of them registered mallory.
    expect((await request('GET', '/v1/keys/mallory/1', undefined, auth())).status).toBe(404);
    await expectHealthy();
  });

  it('unknown devices, bad tokens, bad paths: 401, 403, 404, 405, 409', async () => {
    const unknown = await request('GET', '/v1/keys/nobody/1', undefined, auth());
    expect(unknown).toEqual({
      status: 404,
      body: { error: { code: 'unknown_device', message: 'nobody.1 is not registered' } },
    });
    const toUnknown = await request(
      'POST',
      '/v1/messages/nobody/3',
      { type: 'whisper', body: toBase64(new Uint8Array(40)) },
      auth(),
    );
    expect(toUnknown.status).toBe(404);
    expect((await request('GET', '/v1/messages')).status).toBe(401);
    expect(
      (
        await request('GET', '/v1/messages', undefined, {
          authorization: `Bearer ${'A'.repeat(43)}`,
        })
      ).status,
    ).toBe(401);
    expect((await request('GET', '/v1/keys/nobody/1')).status).toBe(401);
    expect((await request('GET', '/v1/keys/someone/1/count', undefined, auth())).status).toBe(403);
    expect((await request('GET', '/v1/keys/bad name/1', undefined, auth())).status).toBe(400);
    expect((await request('GET', '/v1/keys/probe/0', undefined, auth())).status).toBe(400);
    expect((await request('DELETE', '/v1/messages/999999', undefined, auth())).status).toBe(404);
    expect((await request('POST', '/v1/keys/probe/1', {}, auth())).status).toBe(405);
    expect((await request('GET', '/v1/nothing-here')).status).toBe(404);
    expect((await request('GET', '/chiffre/../package.json')).status).toBe(404);
    // Someone else's device cannot be overwritten.
    expect((await request('PUT', '/v1/keys/probe/1', validUpload())).status).toBe(401);
    const other = await request('PUT', '/v1/keys/probe2/1', validUpload());
    expect(
      (
        await request('PUT', '/v1/keys/probe/1', validUpload(), {
          authorization: `Bearer ${other.body.token as string}`,
        })
      ).status,
    ).toBe(409);
    await expectHealthy();
  });
});

describe('the key directory', () => {
  it('hands out each one-time prekey once, then the last-resort Kyber prekey alone', async () => {
    const carol = fresh('carol');
    const policy = { oneTimeBatch: 3, oneTimeLowWater: 2 };
    const { client: owner, log: ownerLog } = await client(carol, { policy });
    expect(server.inspect(carol, 1).oneTimePreKeys).toBe(3);
    // Four devices start sessions: each bundle takes a different one-time prekey, until none is
    // left; the fourth bundle has none (PQXDH then runs on the signed and last-resort keys).
    const left: number[] = [];
    for (let i = 0; i < 4; i++) {
      const { client: sender } = await client(fresh('eve'));
      await sender.send(carol, `session ${String(i)} from a new device, hello carol`);
      left.push(server.inspect(carol, 1).oneTimePreKeys);
    }
    expect(left).toEqual([2, 1, 0, 0]);
    // The owner decrypts all four and tops its keys up, being below the low-water mark.
    owner.start();
    for (let i = 0; i < 4; i++) {
      await ownerLog.waitFor('message', (e) => e.text.startsWith(`session ${String(i)} `));
    }
    await ownerLog.waitFor(
      'keys-uploaded',
      (e) => e.oneTimePreKeys === 3 && e.rotated.length === 0,
    );
    expect(server.inspect(carol, 1).oneTimePreKeys).toBeGreaterThanOrEqual(3);
    expect(ownerLog.of('new-session')).toHaveLength(4);
    expect(ownerLog.of('decrypt-error')).toEqual([]);
  });
});

describe('clients keep their sessions under bad input', () => {
  it('a tampered bundle: a clear error, nothing stored, an existing session kept', async () => {
    const bobName = fresh('bob');
    const { client: bob, log: bobLog } = await client(bobName);
    let tamper = true;
    const tampering: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const url = urlOf(input);
      if (!tamper || init?.method !== 'GET' || !url.endsWith(`/v1/keys/${bobName}/1`)) {
        return response;
      }
      const bundle = (await response.json()) as { signedPreKey: { signature: string } };
      const sig = Buffer.from(bundle.signedPreKey.signature, 'base64');
      sig[10] = (sig[10] as number) ^ 1;
      bundle.signedPreKey.signature = sig.toString('base64');
      return new Response(JSON.stringify(bundle), { status: 200 });
    };
    const { client: alice, log: aliceLog } = await client(fresh('alice'), { fetch: tampering });

    const refused = await alice.send(bobName, 'never sent').catch((e: unknown) => e);
    expect(isSignalError(refused, 'ERR_INVALID_SIGNATURE')).toBe(true);
    expect(aliceLog.of('error')).toEqual([
      {
        type: 'error',
        code: 'ERR_INVALID_SIGNATURE',
        message: `bundle of ${bobName}.1 refused: signed prekey signature is invalid (nothing was stored)`,
      },
    ]);
    expect(await alice.hasSession(bobName)).toBe(false);
    expect(await alice.safetyNumber(bobName)).toBeNull();

    tamper = false;
    bob.start();
    await alice.send(bobName, 'first, from an honest bundle');
    await bobLog.waitFor('message', (e) => e.text === 'first, from an honest bundle');
    const number = await alice.safetyNumber(bobName);

    // A tampered bundle while a session exists: refused, and the session is untouched.
    tamper = true;
    await expect(alice.startSession(bobName)).rejects.toMatchObject({
      code: 'ERR_INVALID_SIGNATURE',
    });
    expect(await alice.hasSession(bobName)).toBe(true);
    await alice.send(bobName, 'second, on the same session');
    await bobLog.waitFor('message', (e) => e.text === 'second, on the same session');
    expect(aliceLog.of('new-session')).toHaveLength(1);
    expect(bobLog.of('new-session')).toHaveLength(1);
    expect(await alice.safetyNumber(bobName)).toBe(number);
  });

  it('a tampered message: a clear error, a resend, the session kept; a replay is dropped', async () => {
    const aliceName = fresh('alice');
    let tamperNext = false;
    let replayNext = false;
    let last: unknown;
    const relay: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!urlOf(input).includes('/v1/messages?')) return response;
      const answer = (await response.json()) as { messages: { id: number; body: string }[] };
      const [first] = answer.messages;
      if (first !== undefined && tamperNext) {
        tamperNext = false;
        const body = Buffer.from(first.body, 'base64');
        body[body.length - 1] = (body[body.length - 1] as number) ^ 0x80; // the MAC
        first.body = body.toString('base64');
      } else if (first !== undefined) {
        last = first;
      }
      if (replayNext && last !== undefined && answer.messages.length === 0) {
        replayNext = false;
        // The same envelope (same id) again, as a relay bug or an attacker would send it.
        answer.messages.push(last as { id: number; body: string });
      }
      return new Response(JSON.stringify(answer), { status: 200 });
    };
    const { client: bob, log: bobLog } = await client(fresh('bob'), { fetch: relay });
    const { client: alice, log: aliceLog } = await client(aliceName);
    bob.start();
    alice.start();
    await alice.send(bob.address.name, 'hello, to set up the session');
    await bobLog.waitFor('message');
    await bob.send(aliceName, 'session confirmed');
    await aliceLog.waitFor('message');

    tamperNext = true;
    await alice.send(bob.address.name, 'this one is tampered with on the way');
    const error = await bobLog.waitFor('decrypt-error');
    expect(error).toMatchObject({
      peer: `${aliceName}.1`,
      code: 'ERR_INVALID_MESSAGE',
      message: 'decryption failed',
      suggestedAction: 'request-resend',
      outcome: 'resend-requested',
    });
    // Alice sent it again; it arrives intact on the same session.
    await aliceLog.waitFor('resent');
    await bobLog.waitFor('message', (e) => e.text === 'this one is tampered with on the way');
    await alice.send(bob.address.name, 'and the session goes on');
    await bobLog.waitFor('message', (e) => e.text === 'and the session goes on');
    expect(bobLog.of('new-session')).toHaveLength(1);

    // The relay delivers an old envelope again: dropped as a duplicate, nothing else happens.
    replayNext = true;
    const duplicate = await bobLog.waitFor(
      'decrypt-error',
      (e) => e.code === 'ERR_DUPLICATE_MESSAGE',
    );
    expect(duplicate).toMatchObject({
      suggestedAction: 'drop-duplicate',
      outcome: 'dropped-duplicate',
    });
    await alice.send(bob.address.name, 'still fine after the replay');
    await bobLog.waitFor('message', (e) => e.text === 'still fine after the replay');
    expect(bobLog.of('message').map((m) => m.text)).toEqual([
      'hello, to set up the session',
      'this one is tampered with on the way',
      'and the session goes on',
      'still fine after the replay',
    ]);
  });

  it('a lost session: SessionRecovery resets it and the lost message is sent again', async () => {
    const aliceName = fresh('alice');
    const bobName = fresh('bob');
    const storage = await openSqliteStorage(path.join(dir, `${bobName}.db`));
    const bob = await Client.open({
      lib: { ...chiffre, ...prekeysEntry, ...recoveryEntry, ...fingerprintEntry },
      storage,
      serverUrl: server.url,
      name: bobName,
      pollSeconds: 2,
    });
    clients.push(bob);
    const bobLog = new EventLog(bob);
    await bob.register();
    const { client: alice, log: aliceLog } = await client(aliceName);
    bob.start();
    alice.start();
    await alice.send(bobName, 'before the loss');
    await bobLog.waitFor('message');
    await bob.send(aliceName, 'got it');
    await aliceLog.waitFor('message');

    // Bob loses his session with alice (say, restored an old backup).
    await storage.store.removeSession(new chiffre.ProtocolAddress(aliceName, 1));
    await alice.send(bobName, 'sent into the lost session');
    const error = await bobLog.waitFor('decrypt-error');
    expect(error).toMatchObject({
      code: 'ERR_SESSION_NOT_FOUND',
      suggestedAction: 'refetch-bundle',
      outcome: 'session-reset',
    });
    await aliceLog.waitFor('session-reset', (e) => e.by === 'peer');
    await bobLog.waitFor('message', (e) => e.text === 'sent into the lost session');
    await alice.send(bobName, 'and onwards');
    await bobLog.waitFor('message', (e) => e.text === 'and onwards');
    expect(await alice.safetyNumber(bobName)).toBe(await bob.safetyNumber(aliceName));
  });

  it('a reinstalled peer: "identity changed" holds its messages until trusted', async () => {
    const aliceName = fresh('alice');
    const bobName = fresh('bob');
    const { client: alice, log: aliceLog } = await client(aliceName);
    const bobStorage = await openSqliteStorage(path.join(dir, `${bobName}-old.db`));
    const oldBob = await Client.open({
      lib: { ...chiffre, ...prekeysEntry, ...recoveryEntry, ...fingerprintEntry },
      storage: bobStorage,
      serverUrl: server.url,
      name: bobName,
    });
    await oldBob.register();
    const token = (await bobStorage.getSetting('token')) as string;
    alice.start();
    await oldBob.send(aliceName, 'hi from my old phone');
    await aliceLog.waitFor('message');
    const before = await alice.safetyNumber(bobName);
    await oldBob.close();

    // Bob reinstalls: a fresh key store takes over his device with its token (new identity).
    const { client: bob, log: bobLog } = await client(bobName, { token });
    bob.start();
    await alice.send(bobName, 'are you there?');
    // Bob cannot decrypt (no session): he starts a new one and tells alice, who sees a new key.
    await bobLog.waitFor('decrypt-error', (e) => e.code === 'ERR_SESSION_NOT_FOUND');
    await aliceLog.waitFor('identity-changed', (e) => e.peer === `${bobName}.1`);
    expect(await alice.safetyNumber(bobName)).toBe(before); // nothing accepted yet

    const after = await alice.trust(bobName);
    expect(after).not.toBe(before);
    // The held notice is processed now: alice resends what bob missed.
    await aliceLog.waitFor('session-reset', (e) => e.by === 'peer');
    await bobLog.waitFor('message', (e) => e.text === 'are you there?');
    expect(await bob.safetyNumber(aliceName)).toBe(after);
  });
});
