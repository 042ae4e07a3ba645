/**
 * The messenger client: everything a device does around the protocol, on any runtime. The CLI
 * (`sqlite-storage.ts`, SQLite) and the browser page (`web/idb-storage.ts`, IndexedDB) run this
 * same class; they differ only in the chiffre build they pass in and in their storage.
 *
 * - Registration and key health: {@link PreKeyLifecycle} generates, stores and uploads the
 *   identity, signed prekey, last-resort Kyber prekey and one-time prekeys, and replenishes them
 *   when the server runs low.
 * - Sending: a session from the peer's bundle when there is none (PQXDH), then `encrypt` and a
 *   POST to the relay.
 * - Receiving: long-poll the mailbox, `decrypt` with the message saved in the same storage
 *   transaction as the ratchet step, then acknowledge (so a crash never loses or doubles one).
 * - Recovery: decrypt errors go to {@link SessionRecovery}, which acts on the error's
 *   `suggestedAction` (drop a duplicate, ask for a resend, reset the session).
 * - Safety: events for new sessions and changed identities, and safety numbers
 *   ({@link Fingerprint}).
 *
 * chiffre is imported as types only; the runtime classes come in through {@link ChiffreModule}
 * (from `src/` in Node, from the ESM build in the page).
 *
 * @module
 */
import type * as FingerprintModule from '../../src/fingerprint/index.js';
import type * as Chiffre from '../../src/index.js';
import type {
  CiphertextMessage,
  PreKeyBundle,
  ProtocolAddress,
  SessionManager,
  SpqrStatus,
  SuggestedAction,
} from '../../src/index.js';
import type * as PreKeysModule from '../../src/prekeys.js';
import type { PreKeyLifecycle, PreKeyPolicy } from '../../src/prekeys.js';
import type * as RecoveryModule from '../../src/recovery.js';
import type { RecoveryOutcome, SessionRecovery } from '../../src/recovery.js';
import type { ManagedProtocolStore } from '../../src/storage/index.js';
import {
  type Content,
  decodeBundle,
  decodeContent,
  encodeContent,
  encodeUpload,
  type Envelope,
  type ErrorResponse,
  formatSafetyNumber,
  fromBase64,
  MAX_POLL_WAIT_SECONDS,
  parseAddress,
  toBase64,
  type UploadResponse,
  type WireBundle,
} from './protocol.js';

/**
 * The parts of chiffre the client uses, from four entries: `chiffre`, `chiffre/prekeys`,
 * `chiffre/recovery` and `chiffre/fingerprint` (`{ ...main, ...prekeys, ...recovery,
 * ...fingerprint }` of the module namespaces satisfies it).
 */
export type ChiffreModule = Pick<
  typeof Chiffre,
  'KemPublicKey' | 'ProtocolAddress' | 'PublicKey' | 'SessionManager' | 'isSignalError'
> &
  Pick<typeof PreKeysModule, 'PreKeyLifecycle'> &
  Pick<typeof RecoveryModule, 'SessionRecovery'> &
  Pick<typeof FingerprintModule, 'Fingerprint' | 'FINGERPRINT_ITERATIONS'>;

/** A message in the local history. */
export interface StoredMessage {
  /** The sender's id of the message (a UUID); with `peer` and `direction` it is unique. */
  readonly id: string;
  /** The other device, `name.deviceId`. */
  readonly peer: string;
  readonly direction: 'in' | 'out';
  readonly text: string;
  /** When it was written (sender's clock). */
  readonly sentAt: number;
  /** The server's envelope id (the latest one, for a message sent again). */
  readonly envelopeId: number;
}

/**
 * Where a client keeps its state. The protocol store and the application's own data live in one
 * database, so that an incoming message and its ratchet step are saved in one transaction.
 */
export interface ClientStorage {
  /** Keys, sessions and peers' identities. */
  readonly store: ManagedProtocolStore;
  /** Small settings: the device token, the prekey lifecycle's bookkeeping, the address. */
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string): Promise<void>;
  /**
   * A `withPlaintext` callback for `decrypt`: runs `write` inside the store's commit transaction
   * with a `save` function that stores a message in that same transaction (and reports whether it
   * was new).
   */
  withPlaintext(
    write: (plaintext: Uint8Array, save: (message: StoredMessage) => boolean) => void,
  ): (plaintext: Uint8Array, transaction: unknown) => void;
  /** Store (or update) an outgoing message. */
  saveOutgoing(message: StoredMessage): Promise<void>;
  /** An outgoing message to `peer` by the envelope id the server gave it. */
  findOutgoing(peer: string, envelopeId: number): Promise<StoredMessage | null>;
  /** Every stored message, oldest first. */
  history(): Promise<StoredMessage[]>;
  close(): void | Promise<void>;
}

/** What the client reports. Rendered by the CLI and the page; asserted by the tests. */
export type ClientEvent =
  | { readonly type: 'registered'; readonly address: string; readonly oneTimePreKeys: number }
  | {
      readonly type: 'keys-uploaded';
      readonly oneTimePreKeys: number;
      readonly rotated: readonly string[];
    }
  | { readonly type: 'last-resort-used'; readonly kyberPreKeyId: number }
  | {
      readonly type: 'new-session';
      readonly peer: string;
      /** `outgoing`: we started it from their bundle; `incoming`: from their first message. */
      readonly direction: 'outgoing' | 'incoming';
      readonly safetyNumber: string;
    }
  | { readonly type: 'identity-changed'; readonly peer: string; readonly detail: string }
  | { readonly type: 'identity-trusted'; readonly peer: string; readonly safetyNumber: string }
  | {
      readonly type: 'message';
      readonly peer: string;
      readonly id: string;
      readonly text: string;
      readonly sentAt: number;
      readonly envelopeId: number;
    }
  | {
      readonly type: 'sent';
      readonly peer: string;
      readonly id: string;
      readonly text: string;
      readonly envelopeId: number;
      readonly messageType: CiphertextMessage['type'];
    }
  | { readonly type: 'resent'; readonly peer: string; readonly id: string }
  | {
      readonly type: 'decrypt-error';
      readonly peer: string;
      readonly envelopeId: number;
      readonly code: string;
      readonly message: string;
      readonly suggestedAction: SuggestedAction | null;
      readonly outcome: RecoveryOutcome['action'] | 'failed';
    }
  | { readonly type: 'session-reset'; readonly peer: string; readonly by: 'us' | 'peer' }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

/** A refused or failed request to the server. */
export class ServerError extends Error {
  override readonly name = 'ServerError';
  /** HTTP status; 0 when the server could not be reached. */
  readonly status: number;
  /** The server's error code (`unknown_device`, `payload_too_large`, …) or `network`. */
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Options of {@link MessengerClient.open}. */
export interface ClientOptions {
  /** chiffre: `import * as chiffre from 'chiffre'` (or the ESM build in a page). */
  readonly lib: ChiffreModule;
  readonly storage: ClientStorage;
  /** The server, e.g. `http://127.0.0.1:8080`. */
  readonly serverUrl: string;
  /** This device's account name and device id (default 1). */
  readonly name: string;
  readonly deviceId?: number;
  /**
   * A device token to adopt (a reinstall: a fresh key store taking over a registered device,
   * which then publishes a new identity; its peers see "identity changed").
   */
  readonly token?: string;
  /** Prekey policy (PreKeyLifecycle's defaults otherwise). */
  readonly policy?: PreKeyPolicy;
  /** Minimum time between two session resets for one peer (SessionRecovery; default 1 hour). */
  readonly recoveryIntervalMs?: number;
  /** HTTP (default `globalThis.fetch`); tests inject one that tampers with answers. */
  readonly fetch?: typeof fetch;
  /** Long-poll duration of the background loop, seconds (default 25). */
  readonly pollSeconds?: number;
}

const encoder = new TextEncoder();

function describe(e: unknown): { code: string; message: string } {
  if (e instanceof ServerError) return { code: e.code, message: e.message };
  const err = e as { code?: unknown; message?: unknown } | null;
  return {
    code: typeof err?.code === 'string' ? err.code : 'ERR_UNEXPECTED',
    message: typeof err?.message === 'string' ? err.message : String(e),
  };
}

/** Runs `fn`s one after another (the receive path must not interleave with itself). */
class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(fn, fn);
    this.#tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * One device of the messenger.
 *
 * @example
 * ```ts
 * const lib = { ...chiffre, ...prekeys, ...recovery, ...fingerprint }; // the four entries
 * const alice = await MessengerClient.open({ lib, storage, serverUrl, name: 'alice' });
 * await alice.register();
 * await alice.send('bob', 'Hi Bob!');
 * alice.on((event) => console.log(event));
 * alice.start(); // receive in the background
 * ```
 */
export class MessengerClient {
  /** This device's address. */
  readonly address: ProtocolAddress;
  readonly #lib: ChiffreModule;
  readonly #storage: ClientStorage;
  readonly #server: string;
  readonly #fetch: typeof fetch;
  readonly #manager: SessionManager;
  readonly #lifecycle: PreKeyLifecycle;
  readonly #recovery: SessionRecovery;
  readonly #listeners = new Set<(event: ClientEvent) => void>();
  readonly #receive = new Serial();
  readonly #keys = new Serial();
  readonly #pollSeconds: number;
  /** Mailbox position: envelopes above it have not been looked at in this run. */
  #cursor = 0;
  /** Set by trust(): the next poll starts from 0, so held messages are tried again. */
  #rewind = false;
  #poll: AbortController | undefined;
  /** The envelope being recovered from, so a recovery notice can name it. */
  #failing: number | undefined;
  #loop: Promise<void> | undefined;
  #abort: AbortController | undefined;
  #closed = false;

  private constructor(options: ClientOptions, address: ProtocolAddress) {
    const { lib, storage } = options;
    this.address = address;
    this.#lib = lib;
    this.#storage = storage;
    this.#server = options.serverUrl.replace(/\/+$/, '');
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#pollSeconds = Math.min(options.pollSeconds ?? 25, MAX_POLL_WAIT_SECONDS);
    this.#lifecycle = new lib.PreKeyLifecycle({
      store: storage.store,
      upload: (keys) => this.#upload(keys),
      serverPreKeyCount: () => this.#serverPreKeyCount(),
      state: {
        load: () => storage.getSetting('prekey-lifecycle'),
        save: (json) => storage.setSetting('prekey-lifecycle', json),
      },
      ...(options.policy === undefined ? {} : { policy: options.policy }),
      onEvent: (event) => {
        if (event.type === 'uploaded') {
          this.#emit({
            type: 'keys-uploaded',
            oneTimePreKeys: event.oneTimePreKeys,
            rotated: event.rotated,
          });
        } else if (event.type === 'last-resort-used') {
          this.#emit({ type: 'last-resort-used', kyberPreKeyId: event.kyberPreKeyId });
        }
      },
    });
    // The manager commits through the lifecycle's observer, which reports last-resort key use.
    this.#manager = new lib.SessionManager({
      store: this.#lifecycle.observe(storage.store),
      localAddress: address,
    });
    this.#recovery = new lib.SessionRecovery({
      manager: this.#manager,
      fetchBundle: (peer) => this.#fetchBundle(peer),
      notifyPeer: (peer, reason) => this.#notifyPeer(peer, reason),
      ...(options.recoveryIntervalMs === undefined
        ? {}
        : { minIntervalMs: options.recoveryIntervalMs }),
    });
  }

  /**
   * Open a client on its storage. The storage remembers which device it belongs to: opening it
   * as another device fails.
   */
  static async open(options: ClientOptions): Promise<MessengerClient> {
    // The server accepts the same names and device ids (letters, digits, - and _; 1..127).
    const { name, deviceId } = parseAddress(`${options.name}.${String(options.deviceId ?? 1)}`);
    const address = new options.lib.ProtocolAddress(name, deviceId);
    const stored = await options.storage.getSetting('address');
    if (stored !== null && stored !== address.toString()) {
      throw new Error(`this storage belongs to ${stored}, not ${address.toString()}`);
    }
    if (stored === null) await options.storage.setSetting('address', address.toString());
    if (options.token !== undefined) await options.storage.setSetting('token', options.token);
    return new MessengerClient(options, address);
  }

  /** Subscribe to events; returns the unsubscribe function. */
  on(listener: (event: ClientEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Register this device (first call) and keep its published keys healthy: rotate what is due,
   * replenish one-time prekeys below the low-water mark. Call at start-up and now and then.
   */
  register(): Promise<void> {
    // One refresh at a time: the receive loop also calls it after new sessions.
    return this.#keys.run(() => this.#lifecycle.refresh());
  }

  /** Whether this device holds a token from the server (has registered). */
  async isRegistered(): Promise<boolean> {
    return (await this.#storage.getSetting('token')) !== null;
  }

  /**
   * Send `text` to `peer` (`name` or `name.deviceId`). Starts a session from the peer's bundle
   * when there is none.
   *
   * @throws the chiffre error when the bundle is refused (`ERR_INVALID_SIGNATURE`,
   *   `ERR_UNTRUSTED_IDENTITY`, …) or {@link ServerError} when the server refuses
   */
  async send(peer: string, text: string): Promise<StoredMessage> {
    const address = this.#peer(peer);
    if (!(await this.#manager.hasSession(address))) await this.startSession(peer);
    const content = {
      kind: 'text',
      id: crypto.randomUUID(),
      text,
      sentAt: Date.now(),
    } as const;
    const { envelopeId, type } = await this.#deliver(address, content);
    const message: StoredMessage = {
      id: content.id,
      peer: address.toString(),
      direction: 'out',
      text,
      sentAt: content.sentAt,
      envelopeId,
    };
    await this.#storage.saveOutgoing(message);
    this.#emit({
      type: 'sent',
      peer: message.peer,
      id: message.id,
      text,
      envelopeId,
      messageType: type,
    });
    return message;
  }

  /**
   * Fetch `peer`'s bundle and start a new session from it (PQXDH). A refused bundle (bad
   * signature, changed identity) changes nothing: an existing session stays as it was.
   */
  async startSession(peer: string): Promise<void> {
    const address = this.#peer(peer);
    const bundle = await this.#fetchBundle(address);
    try {
      await this.#manager.processPreKeyBundle(address, bundle);
    } catch (e) {
      if (this.#lib.isSignalError(e, 'ERR_UNTRUSTED_IDENTITY')) {
        this.#emit({
          type: 'identity-changed',
          peer: address.toString(),
          detail: 'the key directory holds a different identity key; verify it, then trust it',
        });
      } else {
        const { code, message } = describe(e);
        this.#emit({
          type: 'error',
          code,
          message: `bundle of ${address.toString()} refused: ${message} (nothing was stored)`,
        });
      }
      throw e;
    }
    this.#emit({
      type: 'new-session',
      peer: address.toString(),
      direction: 'outgoing',
      safetyNumber: (await this.safetyNumber(peer)) ?? '',
    });
  }

  /** Archive the session with `peer`, start a new one and tell them (rate-limited). */
  async resetSession(peer: string): Promise<RecoveryOutcome> {
    return this.#recovery.resetSession(this.#peer(peer));
  }

  /**
   * Look at the mailbox once: wait up to `waitSeconds` for messages, decrypt and acknowledge
   * what arrived. Returns how many envelopes were handled.
   */
  sync(waitSeconds = 0, signal?: AbortSignal): Promise<number> {
    return this.#receive.run(async () => {
      if (this.#rewind) {
        this.#cursor = 0;
        this.#rewind = false;
      }
      // This poll's own abort: trust() cuts a long-poll short to look at held messages again.
      const poll = new AbortController();
      const forward = (): void => {
        poll.abort();
      };
      signal?.addEventListener('abort', forward);
      this.#poll = poll;
      let messages: Envelope[];
      try {
        const query = `after=${String(this.#cursor)}&wait=${String(waitSeconds)}`;
        ({ messages } = await this.#api<{ messages: Envelope[] }>(
          'GET',
          `/v1/messages?${query}`,
          undefined,
          poll.signal,
        ));
      } catch (e) {
        if (poll.signal.aborted && signal?.aborted !== true) return 0;
        throw e;
      } finally {
        signal?.removeEventListener('abort', forward);
        this.#poll = undefined;
      }
      let prekeyMessages = 0;
      for (const envelope of messages) {
        if (envelope.type === 'prekey') prekeyMessages++;
        await this.#handle(envelope);
        this.#cursor = Math.max(this.#cursor, envelope.id);
      }
      // New sessions consumed one-time prekeys: top them up if the server runs low.
      if (prekeyMessages > 0) await this.register();
      return messages.length;
    });
  }

  /** Receive in the background (long-poll), until {@link stop} or {@link close}. */
  start(): void {
    if (this.#loop !== undefined || this.#closed) return;
    const abort = new AbortController();
    this.#abort = abort;
    this.#loop = (async () => {
      while (!abort.signal.aborted) {
        try {
          await this.sync(this.#pollSeconds, abort.signal);
        } catch (e) {
          if (abort.signal.aborted) break;
          this.#emit({ type: 'error', ...describe(e) });
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
  }

  /** Stop the background loop (an in-flight poll is aborted; a message being handled finishes). */
  async stop(): Promise<void> {
    this.#abort?.abort();
    await this.#loop;
    await this.#receive.run(async () => undefined);
    this.#loop = undefined;
    this.#abort = undefined;
  }

  /** Stop and close the storage. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.stop();
    await this.#storage.close();
  }

  /**
   * The safety number with `peer` (60 digits in groups of five), or `null` before any session.
   * Both sides compute the same number; compare it in person or over another channel.
   */
  async safetyNumber(peer: string): Promise<string | null> {
    const address = this.#peer(peer);
    const theirs = await this.#storage.store.getIdentity(address);
    if (theirs === null) return null;
    const ours = (await this.#storage.store.getIdentityKeyPair()).publicKey;
    const fingerprint = this.#lib.Fingerprint.create(
      this.#lib.FINGERPRINT_ITERATIONS,
      1,
      encoder.encode(this.address.name),
      ours,
      encoder.encode(address.name),
      theirs,
    );
    return formatSafetyNumber(fingerprint.displayable);
  }

  /**
   * Accept `peer`'s identity key as the key directory now has it (after an "identity changed"
   * event, once the new safety number was verified), and look at held messages again.
   *
   * @returns the new safety number
   */
  async trust(peer: string): Promise<string> {
    const address = this.#peer(peer);
    const { identityKey } = await this.#api<{ identityKey: string }>(
      'GET',
      `/v1/keys/${address.name}/${String(address.deviceId)}/identity`,
    );
    const key = this.#lib.PublicKey.deserialize(fromBase64(identityKey, 'identityKey'));
    await this.#storage.store.saveIdentity(address, key);
    // Messages held back for this identity: the next poll starts again at the mailbox's start.
    this.#rewind = true;
    this.#poll?.abort();
    const safetyNumber = (await this.safetyNumber(peer)) ?? '';
    this.#emit({ type: 'identity-trusted', peer: address.toString(), safetyNumber });
    return safetyNumber;
  }

  /** SPQR status of the session with `peer` (`null` without one). */
  spqrStatus(peer: string): Promise<SpqrStatus | null> {
    return this.#manager.getSpqrStatus(this.#peer(peer));
  }

  /** Whether a session with `peer` can encrypt now. */
  hasSession(peer: string): Promise<boolean> {
    return this.#manager.hasSession(this.#peer(peer));
  }

  /** The stored conversation, oldest first. */
  history(): Promise<StoredMessage[]> {
    return this.#storage.history();
  }

  // -- receiving ---------------------------------------------------------------------------------

  /** Decrypt one envelope, save it with the ratchet step, then acknowledge it. */
  async #handle(envelope: Envelope): Promise<void> {
    const from = new this.#lib.ProtocolAddress(envelope.from.name, envelope.from.deviceId);
    const peer = from.toString();
    let body: Uint8Array;
    try {
      body = fromBase64(envelope.body, 'body');
    } catch {
      this.#emit({
        type: 'decrypt-error',
        peer,
        envelopeId: envelope.id,
        code: 'ERR_MALFORMED_ENVELOPE',
        message: 'the envelope body is not base64',
        suggestedAction: null,
        outcome: 'none',
      });
      await this.#ack(envelope.id);
      return;
    }
    const before = await this.#sessionBaseKey(from);
    let content: Content | undefined;
    let fresh = false;
    try {
      await this.#manager.decrypt(
        from,
        { type: envelope.type, body },
        {
          // Runs inside the commit: the message is stored with the ratchet step, or neither is.
          withPlaintext: this.#storage.withPlaintext((plaintext, save) => {
            content = decodeContent(plaintext);
            if (content.kind === 'text') {
              fresh = save({
                id: content.id,
                peer,
                direction: 'in',
                text: content.text,
                sentAt: content.sentAt,
                envelopeId: envelope.id,
              });
            }
          }),
        },
      );
    } catch (e) {
      await this.#decryptFailed(from, envelope, e);
      return;
    }
    // Saved: now the server may forget it. A crash before this line means a redelivery, which
    // decrypt refuses as a duplicate (and we acknowledge then).
    await this.#ack(envelope.id);
    if (envelope.type === 'prekey' && (await this.#sessionBaseKey(from)) !== before) {
      this.#emit({
        type: 'new-session',
        peer,
        direction: 'incoming',
        safetyNumber: (await this.safetyNumber(peer)) ?? '',
      });
    }
    await this.#onContent(from, envelope, content, fresh);
  }

  async #onContent(
    from: ProtocolAddress,
    envelope: Envelope,
    content: Content | undefined,
    fresh: boolean,
  ): Promise<void> {
    const peer = from.toString();
    if (content === undefined) return;
    switch (content.kind) {
      case 'text':
        if (fresh) {
          this.#emit({
            type: 'message',
            peer,
            id: content.id,
            text: content.text,
            sentAt: content.sentAt,
            envelopeId: envelope.id,
          });
        }
        return;
      case 'session-reset':
        this.#emit({ type: 'session-reset', peer, by: 'peer' });
        if (content.envelopeId !== undefined) await this.#resend(from, content.envelopeId);
        return;
      case 'resend-request':
        await this.#resend(from, content.envelopeId);
        return;
    }
  }

  /**
   * A decrypt failed; nothing was stored. A changed identity holds the message back until the
   * user trusts the new key; everything else goes to SessionRecovery, then the envelope is
   * acknowledged (it can never decrypt).
   */
  async #decryptFailed(from: ProtocolAddress, envelope: Envelope, e: unknown): Promise<void> {
    const peer = from.toString();
    if (!this.#lib.isSignalError(e) || e.code === 'ERR_STORAGE') {
      // Our own failure, not the message's: keep it on the server for the next attempt.
      throw e;
    }
    if (e.code === 'ERR_UNTRUSTED_IDENTITY') {
      this.#emit({
        type: 'identity-changed',
        peer,
        detail: 'a message came with a new identity key; verify the safety number, then trust it',
      });
      return; // held: not acknowledged; trust() looks at it again
    }
    let outcome: RecoveryOutcome['action'] | 'failed';
    this.#failing = envelope.id;
    try {
      outcome = (await this.#recovery.handleDecryptError(from, e)).action;
    } catch (recoveryError) {
      outcome = 'failed';
      this.#emit({ type: 'error', ...describe(recoveryError) });
    } finally {
      this.#failing = undefined;
    }
    this.#emit({
      type: 'decrypt-error',
      peer,
      envelopeId: envelope.id,
      code: e.code,
      message: e.message,
      suggestedAction: e.suggestedAction ?? null,
      outcome,
    });
    await this.#ack(envelope.id);
  }

  /** SessionRecovery's way to tell the peer: an encrypted notice naming the failed envelope. */
  async #notifyPeer(
    peer: ProtocolAddress,
    reason: 'session-reset' | 'resend-request',
  ): Promise<void> {
    const envelopeId = this.#failing;
    if (reason === 'session-reset') {
      await this.#deliver(peer, {
        kind: 'session-reset',
        ...(envelopeId === undefined ? {} : { envelopeId }),
      });
      this.#emit({ type: 'session-reset', peer: peer.toString(), by: 'us' });
    } else if (envelopeId !== undefined) {
      await this.#deliver(peer, { kind: 'resend-request', envelopeId });
    }
  }

  /** Send a stored outgoing message again (the peer could not decrypt it). */
  async #resend(peer: ProtocolAddress, envelopeId: number): Promise<void> {
    const original = await this.#storage.findOutgoing(peer.toString(), envelopeId);
    if (original === null) return;
    const sent = await this.#deliver(peer, {
      kind: 'text',
      id: original.id,
      text: original.text,
      sentAt: original.sentAt,
    });
    await this.#storage.saveOutgoing({ ...original, envelopeId: sent.envelopeId });
    this.#emit({ type: 'resent', peer: peer.toString(), id: original.id });
  }

  async #ack(id: number): Promise<void> {
    try {
      await this.#api('DELETE', `/v1/messages/${String(id)}`);
    } catch (e) {
      if (!(e instanceof ServerError && e.status === 404)) throw e;
    }
  }

  async #sessionBaseKey(peer: ProtocolAddress): Promise<string | undefined> {
    const record = await this.#storage.store.loadSession(peer);
    return record?.currentState?.aliceBaseKey.toHex();
  }

  // -- sending and the key directory -------------------------------------------------------------

  async #deliver(
    peer: ProtocolAddress,
    content: Content,
  ): Promise<{ envelopeId: number; type: CiphertextMessage['type'] }> {
    const message = await this.#manager.encrypt(peer, encodeContent(content));
    const { id } = await this.#api<{ id: number }>(
      'POST',
      `/v1/messages/${peer.name}/${String(peer.deviceId)}`,
      { type: message.type, body: toBase64(message.body) },
    );
    return { envelopeId: id, type: message.type };
  }

  async #fetchBundle(peer: ProtocolAddress): Promise<PreKeyBundle> {
    const wire = await this.#api<WireBundle>(
      'GET',
      `/v1/keys/${peer.name}/${String(peer.deviceId)}`,
    );
    try {
      return decodeBundle(wire, this.#lib);
    } catch (e) {
      const { code, message } = describe(e);
      this.#emit({
        type: 'error',
        code,
        message: `bundle of ${peer.toString()} refused: ${message} (nothing was stored)`,
      });
      throw e;
    }
  }

  /** PreKeyLifecycle's upload: the first one registers the device and yields its token. */
  async #upload(keys: Parameters<typeof encodeUpload>[0]): Promise<void> {
    const registrationId = await this.#storage.store.getLocalRegistrationId();
    const path = `/v1/keys/${this.address.name}/${String(this.address.deviceId)}`;
    const answer = await this.#api<UploadResponse>('PUT', path, encodeUpload(keys, registrationId));
    if (answer.token !== undefined) {
      await this.#storage.setSetting('token', answer.token);
      this.#emit({
        type: 'registered',
        address: this.address.toString(),
        oneTimePreKeys: answer.oneTimePreKeys,
      });
    }
  }

  async #serverPreKeyCount(): Promise<number> {
    if ((await this.#storage.getSetting('token')) === null) return 0;
    const path = `/v1/keys/${this.address.name}/${String(this.address.deviceId)}/count`;
    return (await this.#api<{ oneTimePreKeys: number }>('GET', path)).oneTimePreKeys;
  }

  async #api<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const token = await this.#storage.getSetting('token');
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await this.#fetch(`${this.#server}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (e) {
      if (signal?.aborted === true) throw e;
      throw new ServerError(0, 'network', `cannot reach ${this.#server}: ${describe(e).message}`);
    }
    if (!response.ok) {
      const answer = (await response.json().catch(() => null)) as ErrorResponse | null;
      throw new ServerError(
        response.status,
        answer?.error.code ?? 'http_error',
        `${method} ${path}: ${String(response.status)} ` +
          (answer?.error.message ?? response.statusText),
      );
    }
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  #peer(text: string): ProtocolAddress {
    const { name, deviceId } = parseAddress(text);
    return new this.#lib.ProtocolAddress(name, deviceId);
  }

  #emit(event: ClientEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        // A listener's bug must not break the receive path.
      }
    }
  }
}
