/**
 * The front door: a small class over a {@link ProtocolStore} that establishes sessions from
 * bundles and encrypts and decrypts messages. It loads what an operation needs, runs the pure
 * protocol functions on copies, checks identity trust, and hands every write to the store in one
 * {@link ChangeSet}: nothing is written unless the whole operation succeeded, and plaintext is
 * returned only after the commit did.
 *
 * Operations on one peer address are serialized by a per-instance lock; different addresses run
 * concurrently.
 *
 * @module
 */
import { CIPHERTEXT_MESSAGE_CURRENT_VERSION } from '../constants.js';
import {
  InvalidMessageError,
  InvalidRecordError,
  isSignalError,
  MissingPreKeyError,
  SessionNotFoundError,
  StorageError,
  UntrustedIdentityError,
} from '../errors.js';
import {
  KeyPair,
  type KyberPreKeyId,
  kyberPreKeyId,
  type PreKeyId,
  preKeyId,
  type PrivateKey,
  type ProtocolAddress,
  type PublicKey,
  signedPreKeyId,
} from '../keys/index.js';
import { type RandomSource, secureRandom, webCryptoX25519Available } from '../primitives/index.js';
import { agreeAsResponder } from '../agreement/index.js';
import { initializeResponderState, type SessionState } from '../ratchet/index.js';
import { initialPqRatchetState, type SpqrStatus, spqrStatus } from '../spqr/index.js';
import { archivedStateAt, SessionRecord } from '../state/index.js';
import type {
  ApplicationWrite,
  ChangeSet,
  Direction,
  KyberPreKeyUse,
  ProtocolStore,
} from '../storage/index.js';
import {
  decodePreKeySignalMessage,
  decodeSignalMessage,
  type PreKeySignalMessage,
} from '../wire/index.js';
import {
  initiateSessionFromBundle,
  type PreKeyBundle,
  type SpqrPolicy,
  spqrMinVersion,
  verifyPreKeyBundle,
  verifyPreKeyBundleAsync,
} from './bundle.js';
import {
  type CipherContext,
  type CiphertextMessage,
  decryptWithRecord,
  decryptWithState,
  encryptWithRecord,
  SPQR_FAILURE,
} from './cipher.js';
import { KeyedLock } from './lock.js';

/** Options of {@link SessionManager}. */
export interface SessionManagerOptions {
  /** Where keys, identities and sessions live. */
  readonly store: ProtocolStore;
  /** This device's own address (binds SignalMessage field 6 as libsignal 0.91+ does). */
  readonly localAddress: ProtocolAddress;
  /** Randomness; the platform CSPRNG unless a test injects a seeded source. */
  readonly random?: RandomSource;
  /** Clock in milliseconds since the epoch; `Date.now` by default. */
  readonly now?: () => number;
  /**
   * SPQR policy of new sessions: `'require-v1'` (default, like current libsignal) or `'allow-v0'`
   * (accept a peer that never speaks SPQR, like libsignal 0.90).
   */
  readonly spqrPolicy?: SpqrPolicy;
  /**
   * `'auto'` (default): use the platform's native X25519 (WebCrypto) where it exists, detected
   * once, with identical results; `'noble'`: pure JavaScript only (e.g. to compare, or where a
   * platform's WebCrypto is not trusted). A custom `random` source always means pure noble.
   */
  readonly crypto?: 'auto' | 'noble';
}

/** Attempts of one operation when commits keep finding concurrent modifications. */
const MAX_COMMIT_ATTEMPTS = 5;

/** Options of {@link SessionManager.encrypt}. */
export interface EncryptOptions {
  /**
   * Called with the encrypted message inside the store's commit transaction, so the application
   * can put it in a durable outbox together with the ratchet step: after a crash either both
   * exist or neither (and nothing was sent). If it throws, nothing is committed and encrypt
   * rejects with its error. Same transaction rules as {@link DecryptOptions.withPlaintext}.
   */
  readonly withCiphertext?: (
    message: CiphertextMessage,
    transaction: unknown,
  ) => void | Promise<void>;
}

/** Options of the decrypt methods. */
export interface DecryptOptions {
  /**
   * Called with the plaintext inside the store's commit transaction, so the application's own
   * writes (e.g. saving the message) land together with the ratchet state or not at all. If it
   * throws, nothing is committed and decrypt rejects with its error. The transaction handle is
   * adapter-specific (see each adapter); stores without transactions pass `undefined`. Must be
   * synchronous for the SQLite adapter.
   */
  readonly withPlaintext?: (plaintext: Uint8Array, transaction: unknown) => void | Promise<void>;
}

/** Run a store call: adapter exceptions become {@link StorageError}, our own errors pass. */
async function callStore<T>(operation: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isSignalError(e)) throw e;
    throw new StorageError(operation, { cause: e });
  }
}

function versionOf(record: SessionRecord | null): number | null | undefined {
  return record === null ? null : record.version;
}

/**
 * The state of `record` that a PreKey message continues (same message version and base key):
 * the current state, or an archived one with its index. Archived states are decoded one at a
 * time; one that cannot be read cannot match and is skipped, so a damaged archived state does
 * not block the current session or a new one.
 */
function findStateByBaseKey(
  record: SessionRecord,
  message: PreKeySignalMessage,
): { state: SessionState; archivedIndex?: number } | undefined {
  const matches = (s: SessionState): boolean =>
    s.version === message.messageVersion && s.aliceBaseKey.equals(message.baseKey);
  const current = record.currentState;
  if (current !== undefined && matches(current)) return { state: current };
  for (let i = 0; i < record.previousStateCount; i++) {
    const state = archivedStateAt(record, i);
    if (!(state instanceof InvalidRecordError) && matches(state)) {
      return { state, archivedIndex: i };
    }
  }
  return undefined;
}

/** Carries the application's own error through the store, so decrypt rejects with it. */
class ApplicationWriteFailure extends Error {
  readonly error: unknown;
  constructor(error: unknown) {
    super('application write failed');
    this.error = error;
  }
}

/** Run the application's callback as the commit's application write, keeping its own error. */
function applicationWrite<T>(
  fn: ((value: T, transaction: unknown) => void | Promise<void>) | undefined,
  value: T,
): ApplicationWrite | undefined {
  if (fn === undefined) return undefined;
  return (transaction) => {
    let result: void | Promise<void>;
    try {
      result = fn(value, transaction);
    } catch (e) {
      throw new ApplicationWriteFailure(e);
    }
    return result instanceof Promise
      ? result.catch((e: unknown) => {
          throw new ApplicationWriteFailure(e);
        })
      : result;
  };
}

const EMPTY_CHANGES: ChangeSet = {
  sessions: [],
  identities: [],
  removedPreKeys: [],
  kyberPreKeysUsed: [],
};

/**
 * Sessions with peers, over a store: the main entry point. Each method loads what it needs from
 * the {@link ProtocolStore}, checks identity trust, and commits every write as one
 * {@link ChangeSet}; a failed operation writes nothing. Operations on one address are serialized
 * within this instance; an operation whose commit meets a concurrent modification is retried a
 * few times on fresh data.
 *
 * @example
 * ```ts
 * import {
 *   IdentityKeyPair,
 *   InMemoryProtocolStore,
 *   KyberPreKeyRecord,
 *   ProtocolAddress,
 *   SessionManager,
 *   SignedPreKeyRecord,
 *   createPreKeyBundle,
 * } from 'chiffre';
 *
 * const aliceAddress = new ProtocolAddress('alice', 1);
 * const bobAddress = new ProtocolAddress('bob', 1);
 * const bobIdentity = IdentityKeyPair.generate();
 * const bobStore = new InMemoryProtocolStore(bobIdentity, 2222);
 * bobStore.storeSignedPreKey(SignedPreKeyRecord.generate(bobIdentity, 1, Date.now()));
 * bobStore.storeKyberPreKey(
 *   KyberPreKeyRecord.generate(bobIdentity, 1, Date.now(), { lastResort: true }),
 * );
 * const bobBundle = await createPreKeyBundle(bobStore, {
 *   deviceId: 1,
 *   signedPreKeyId: 1,
 *   kyberPreKeyId: 1,
 * });
 *
 * const aliceStore = new InMemoryProtocolStore(IdentityKeyPair.generate(), 1111);
 * const alice = new SessionManager({ store: aliceStore, localAddress: aliceAddress });
 * const bob = new SessionManager({ store: bobStore, localAddress: bobAddress });
 *
 * await alice.processPreKeyBundle(bobAddress, bobBundle);
 * const message = await alice.encrypt(bobAddress, new TextEncoder().encode('hi'));
 * const plaintext = await bob.decrypt(aliceAddress, message);
 * new TextDecoder().decode(plaintext); // 'hi'
 * ```
 */
export class SessionManager {
  readonly #store: ProtocolStore;
  readonly #localAddress: ProtocolAddress;
  readonly #random: RandomSource;
  readonly #now: () => number;
  readonly #spqrPolicy: SpqrPolicy;
  readonly #native: boolean;
  readonly #lock = new KeyedLock();

  /**
   * @param options - the store and this device's address; optionally randomness, clock, SPQR
   *   policy and crypto backend
   */
  constructor(options: SessionManagerOptions) {
    this.#store = options.store;
    this.#localAddress = options.localAddress;
    this.#random = options.random ?? secureRandom;
    this.#now = options.now ?? Date.now;
    this.#spqrPolicy = options.spqrPolicy ?? 'require-v1';
    this.#native = (options.crypto ?? 'auto') === 'auto' && options.random === undefined;
  }

  /** This device's address. */
  get localAddress(): ProtocolAddress {
    return this.#localAddress;
  }

  /**
   * Start a session with `address` from its published bundle. Checks the identity's trust
   * (sending), both signatures and the keys, runs PQXDH, and makes the new session current (an
   * existing one is archived). Nothing is stored if any check fails. The bundle's identity key is
   * stored for `address` with the session.
   *
   * @param address - the peer device the bundle belongs to
   * @param bundle - the peer's bundle, as fetched from the server
   * @returns when the new session is committed
   * @throws {UntrustedIdentityError} `ERR_UNTRUSTED_IDENTITY` when the store does not trust the
   *   bundle's identity key
   * @throws {InvalidSignatureError} `ERR_INVALID_SIGNATURE` for a bad signed-prekey or Kyber
   *   prekey signature
   * @throws {InvalidKeyError} `ERR_INVALID_KEY` for a low-order key
   * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` for an inconsistent bundle (a one-time
   *   prekey without its id, or the reverse)
   * @throws {StorageError} `ERR_STORAGE` when the store fails
   * @throws {ConcurrencyError} `ERR_CONCURRENT_MODIFICATION` when the commit keeps meeting
   *   concurrent writers
   * @example
   * ```ts
   * const bundle = await fetchBundle(bobAddress); // your server
   * await alice.processPreKeyBundle(bobAddress, bundle);
   * await alice.hasSession(bobAddress); // true
   * ```
   */
  processPreKeyBundle(address: ProtocolAddress, bundle: PreKeyBundle): Promise<void> {
    return this.#run(address, async () => {
      await this.#requireTrusted(address, bundle.identityKey, 'sending');
      if (this.#native) await verifyPreKeyBundleAsync(bundle);
      else verifyPreKeyBundle(bundle);
      const identity = await this.#call('getIdentityKeyPair', () =>
        this.#store.getIdentityKeyPair(),
      );
      const registrationId = await this.#call('getLocalRegistrationId', () =>
        this.#store.getLocalRegistrationId(),
      );
      const state = initiateSessionFromBundle(
        bundle,
        { identity, registrationId },
        this.#nowSeconds(),
        this.#random,
        this.#spqrPolicy,
        await this.#prepareInitiator(identity.privateKey, bundle),
      );
      const loaded = await this.#loadSession(address);
      const record = loaded ?? SessionRecord.empty();
      await this.#commit({
        ...EMPTY_CHANGES,
        sessions: [
          { address, record: record.promoteState(state), expectedVersion: versionOf(loaded) },
        ],
        identities: [{ address, identityKey: bundle.identityKey }],
      });
    });
  }

  /**
   * Encrypt `plaintext` for `address`. While the session is unacknowledged the result is a
   * `prekey` message; afterwards a `whisper` message.
   *
   * @param address - the peer device
   * @param plaintext - the bytes to encrypt
   * @param options - `withCiphertext`, to store the message in the commit's transaction
   * @returns the message; send its `type` and `body` to the peer
   * @throws {TypeError} when `plaintext` is not a `Uint8Array`
   * @throws {SessionNotFoundError} `ERR_SESSION_NOT_FOUND` without a usable session (none, or
   *   unacknowledged for more than 30 days)
   * @throws {UntrustedIdentityError} `ERR_UNTRUSTED_IDENTITY` when the store no longer trusts the
   *   session's identity key
   * @throws {StorageError} `ERR_STORAGE` when the store fails
   * @throws {ConcurrencyError} `ERR_CONCURRENT_MODIFICATION` when the commit keeps meeting
   *   concurrent writers
   * @example
   * ```ts
   * const message = await alice.encrypt(bobAddress, new TextEncoder().encode('hi Bob'));
   * await send(bobAddress, message.type, message.body); // your transport
   * ```
   */
  async encrypt(
    address: ProtocolAddress,
    plaintext: Uint8Array,
    options?: EncryptOptions,
  ): Promise<CiphertextMessage> {
    if (!(plaintext instanceof Uint8Array)) throw new TypeError('plaintext must be a Uint8Array');
    return this.#run(address, async () => {
      const record = await this.#loadSession(address);
      if (record === null) throw new SessionNotFoundError(address.toString(), 'encrypt');
      const result = encryptWithRecord(record, plaintext, this.#context(address));
      const remoteIdentity = (record.currentState as SessionState).remoteIdentityKey;
      await this.#requireTrusted(address, remoteIdentity, 'sending');
      await this.#commit({
        ...EMPTY_CHANGES,
        sessions: [{ address, record: result.record, expectedVersion: versionOf(record) }],
        identities: [{ address, identityKey: remoteIdentity }],
        applicationWrite: applicationWrite(options?.withCiphertext, result.message),
      });
      return result.message;
    });
  }

  /**
   * Decrypt a message from `address`, dispatching on its type: a `prekey` message may create a
   * new session (consuming the one-time prekeys it names), a `whisper` message needs an existing
   * one. The plaintext is returned only after the new state is committed.
   *
   * @param address - the sending peer device
   * @param message - the received `type` and `body`
   * @param options - `withPlaintext`, to store the plaintext in the commit's transaction
   * @returns the plaintext
   * @throws {TypeError} when `message.type` is neither `'prekey'` nor `'whisper'`
   * @throws {InvalidMessageError} `ERR_INVALID_MESSAGE` for malformed or unauthenticated input
   * @throws {DuplicateMessageError} `ERR_DUPLICATE_MESSAGE`
   * @throws {MessageGapTooLargeError} `ERR_MESSAGE_GAP_TOO_LARGE`
   * @throws {UnsupportedVersionError} `ERR_UNSUPPORTED_VERSION`
   * @throws {SessionNotFoundError} `ERR_SESSION_NOT_FOUND`
   * @throws {UntrustedIdentityError} `ERR_UNTRUSTED_IDENTITY`
   * @throws {MissingPreKeyError} `ERR_MISSING_PREKEY`
   * @throws {StorageError} `ERR_STORAGE`
   * @throws {ConcurrencyError} `ERR_CONCURRENT_MODIFICATION` when the commit keeps meeting
   *   concurrent writers
   * @example
   * ```ts
   * import { isSignalError } from 'chiffre';
   *
   * try {
   *   const plaintext = await bob.decrypt(aliceAddress, { type, body }); // as received
   *   showMessage(new TextDecoder().decode(plaintext)); // your UI
   * } catch (e) {
   *   if (!isSignalError(e, 'ERR_DUPLICATE_MESSAGE')) throw e; // a duplicate is dropped
   * }
   * ```
   */
  async decrypt(
    address: ProtocolAddress,
    message: CiphertextMessage,
    options?: DecryptOptions,
  ): Promise<Uint8Array> {
    switch (message.type) {
      case 'prekey':
        return this.decryptPreKeyMessage(address, message.body, options);
      case 'whisper':
        return this.decryptWhisperMessage(address, message.body, options);
      default:
        throw new TypeError('message.type must be "prekey" or "whisper"');
    }
  }

  /** Decrypt a serialized PreKeySignalMessage (envelope type 3). Same errors as {@link decrypt}. */
  decryptPreKeyMessage(
    address: ProtocolAddress,
    bytes: Uint8Array,
    options?: DecryptOptions,
  ): Promise<Uint8Array> {
    return this.#run(address, async () => {
      const message = decodePreKeySignalMessage(bytes);
      const loaded = await this.#loadSession(address);
      const expectedVersion = versionOf(loaded);
      const record = loaded ?? SessionRecord.empty();
      await this.#requireTrusted(address, message.identityKey, 'receiving');
      const ctx = this.#context(address);

      // A retransmission (or a later message) of a session we already have: same base key.
      const existing = findStateByBaseKey(record, message);
      let changes: ChangeSet;
      let plaintext: Uint8Array;
      if (existing !== undefined) {
        const { state, archivedIndex } = existing;
        const r = this.#decryptPreKeyInner(state, message, {
          ...ctx,
          nextRatchetKeyPair: await this.#prepareRatchetStep(
            state,
            message.signalMessage.ratchetKey,
          ),
        });
        const next =
          archivedIndex === undefined
            ? record.withCurrentState(r.state)
            : record.promoteArchivedState(archivedIndex, r.state);
        plaintext = r.plaintext;
        changes = { ...EMPTY_CHANGES, sessions: [{ address, record: next, expectedVersion }] };
      } else {
        const created = await this.#createResponderState(message);
        const r = this.#decryptPreKeyInner(created.state, message, {
          ...ctx,
          nextRatchetKeyPair: await this.#prepareRatchetStep(
            created.state,
            message.signalMessage.ratchetKey,
          ),
        });
        plaintext = r.plaintext;
        changes = {
          sessions: [{ address, record: record.promoteState(r.state), expectedVersion }],
          identities: [],
          removedPreKeys: created.preKeyId === undefined ? [] : [created.preKeyId],
          kyberPreKeysUsed: [created.kyberUse],
        };
      }
      await this.#commit({
        ...changes,
        identities: [{ address, identityKey: message.identityKey }],
        applicationWrite: applicationWrite(options?.withPlaintext, plaintext),
      });
      return plaintext;
    });
  }

  /** Decrypt a serialized SignalMessage (envelope type 2). Same errors as {@link decrypt}. */
  decryptWhisperMessage(
    address: ProtocolAddress,
    bytes: Uint8Array,
    options?: DecryptOptions,
  ): Promise<Uint8Array> {
    return this.#run(address, async () => {
      const message = decodeSignalMessage(bytes);
      const record = await this.#loadSession(address);
      if (record === null) throw new SessionNotFoundError(address.toString(), 'decrypt');
      const ctx = {
        ...this.#context(address),
        nextRatchetKeyPair: await this.#prepareRatchetStep(record.currentState, message.ratchetKey),
      };
      const result = decryptWithRecord(record, message, ctx);
      await this.#requireTrusted(address, result.state.remoteIdentityKey, 'receiving');
      await this.#commit({
        ...EMPTY_CHANGES,
        sessions: [{ address, record: result.record, expectedVersion: versionOf(record) }],
        identities: [{ address, identityKey: result.state.remoteIdentityKey }],
        applicationWrite: applicationWrite(options?.withPlaintext, result.plaintext),
      });
      return result.plaintext;
    });
  }

  /** Whether a session with `address` can encrypt now. */
  async hasSession(address: ProtocolAddress): Promise<boolean> {
    const record = await this.#loadSession(address);
    return record !== null && record.hasUsableCurrentState(this.#nowSeconds());
  }

  /**
   * SPQR status of the current session with `address` (`null` without one): its version (1, or
   * 0 when the session runs without SPQR, e.g. after a fallback to a peer that never spoke it),
   * whether negotiation is still open, and how many epochs (fresh ML-KEM secrets) completed.
   */
  async getSpqrStatus(address: ProtocolAddress): Promise<SpqrStatus | null> {
    const record = await this.#loadSession(address);
    const state = record?.currentState;
    return state === undefined ? null : spqrStatus(state.pqRatchet);
  }

  /**
   * Archive the current session with `address` (e.g. after a decryption failure), so that the
   * next outgoing message needs a fresh bundle. Archived states still decrypt late messages.
   */
  archiveSession(address: ProtocolAddress): Promise<void> {
    return this.#run(address, async () => {
      const record = await this.#loadSession(address);
      if (record?.currentState === undefined) return;
      await this.#commit({
        ...EMPTY_CHANGES,
        sessions: [
          { address, record: record.archiveCurrentState(), expectedVersion: versionOf(record) },
        ],
      });
    });
  }

  // -- internals ---------------------------------------------------------------------------------

  /**
   * Run one operation under the address's lock. When the commit finds that another writer
   * changed the record meanwhile (`ERR_CONCURRENT_MODIFICATION`), the whole operation runs again
   * on fresh data, up to {@link MAX_COMMIT_ATTEMPTS} times.
   */
  #run<T>(address: ProtocolAddress, operation: () => Promise<T>): Promise<T> {
    return this.#lock.run(address.toString(), async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await operation();
        } catch (e) {
          if (!isSignalError(e, 'ERR_CONCURRENT_MODIFICATION') || attempt >= MAX_COMMIT_ATTEMPTS) {
            throw e;
          }
        }
      }
    });
  }

  #nowSeconds(): number {
    return Math.floor(this.#now() / 1000);
  }

  #context(remoteAddress: ProtocolAddress): CipherContext {
    return {
      localAddress: this.#localAddress,
      remoteAddress,
      nowSeconds: this.#nowSeconds(),
      random: this.#random,
    };
  }

  /**
   * Native X25519 ahead of a receive step: when `theirRatchetKey` is new to `state`, the DH
   * ratchet needs two agreements and a fresh key pair; compute them on WebCrypto now, so the
   * synchronous protocol code only looks them up. Returns the fresh key pair (or `undefined` to
   * let the protocol code generate one with noble).
   */
  async #prepareRatchetStep(
    state: SessionState | undefined,
    theirRatchetKey: PublicKey,
  ): Promise<KeyPair | undefined> {
    // Cheap checks first: most messages continue a known chain and need no agreement at all.
    if (state === undefined || !this.#native) return undefined;
    if (state.receiverChains.some((c) => c.ratchetKey.equals(theirRatchetKey))) return undefined;
    if (theirRatchetKey.isLowOrder() || !(await webCryptoX25519Available())) return undefined;
    const fresh = await KeyPair.generateNative();
    await Promise.all([
      state.senderChain.ratchetKeyPair.privateKey.prefetchAgreement(theirRatchetKey),
      fresh.privateKey.prefetchAgreement(theirRatchetKey),
    ]);
    return fresh;
  }

  /** Native X25519 ahead of PQXDH as initiator: fresh base and ratchet keys, four agreements. */
  async #prepareInitiator(
    identityKey: PrivateKey,
    bundle: PreKeyBundle,
  ): Promise<{ baseKey?: KeyPair; ratchetKeyPair?: KeyPair }> {
    if (!this.#native || !(await webCryptoX25519Available())) return {};
    const [baseKey, ratchetKeyPair] = await Promise.all([
      KeyPair.generateNative(),
      KeyPair.generateNative(),
    ]);
    await Promise.all([
      identityKey.prefetchAgreement(bundle.signedPreKey),
      baseKey.privateKey.prefetchAgreement(bundle.identityKey),
      baseKey.privateKey.prefetchAgreement(bundle.signedPreKey),
      bundle.preKey === undefined ? undefined : baseKey.privateKey.prefetchAgreement(bundle.preKey),
      ratchetKeyPair.privateKey.prefetchAgreement(bundle.signedPreKey),
    ]);
    return { baseKey, ratchetKeyPair };
  }

  #decryptPreKeyInner(
    state: SessionState,
    message: PreKeySignalMessage,
    ctx: CipherContext,
  ): { state: SessionState; plaintext: Uint8Array } {
    try {
      return decryptWithState(state, message.signalMessage, ctx, 'prekey');
    } catch (e) {
      if (isSignalError(e, 'ERR_DUPLICATE_MESSAGE')) throw e;
      // An SPQR failure keeps its own message; everything else is one authentication failure.
      if (isSignalError(e, 'ERR_INVALID_MESSAGE') && e.message === SPQR_FAILURE) throw e;
      if (isSignalError(e)) {
        throw new InvalidMessageError('decryption failed', 'prekey', { cause: e });
      }
      throw e;
    }
  }

  async #createResponderState(message: PreKeySignalMessage): Promise<{
    state: SessionState;
    preKeyId: PreKeyId | undefined;
    kyberUse: KyberPreKeyUse;
  }> {
    if (message.messageVersion !== CIPHERTEXT_MESSAGE_CURRENT_VERSION) {
      throw new InvalidMessageError('X3DH (message version 3) is no longer supported', 'prekey');
    }
    const kyberId: KyberPreKeyId = kyberPreKeyId(message.kyberPreKeyId as number);
    const spkId = signedPreKeyId(message.signedPreKeyId);
    const signed = await this.#call('loadSignedPreKey', () => this.#store.loadSignedPreKey(spkId));
    if (signed === null) throw new MissingPreKeyError('signed', spkId);
    const kyber = await this.#call('loadKyberPreKey', () => this.#store.loadKyberPreKey(kyberId));
    if (kyber === null) throw new MissingPreKeyError('kyber', kyberId);
    const opkId = message.preKeyId === undefined ? undefined : preKeyId(message.preKeyId);
    let oneTime;
    if (opkId !== undefined) {
      oneTime = await this.#call('loadPreKey', () => this.#store.loadPreKey(opkId));
      if (oneTime === null) throw new MissingPreKeyError('one-time', opkId);
    }
    const identity = await this.#call('getIdentityKeyPair', () => this.#store.getIdentityKeyPair());
    const registrationId = await this.#call('getLocalRegistrationId', () =>
      this.#store.getLocalRegistrationId(),
    );
    if (this.#native && (await webCryptoX25519Available())) {
      const ek = message.baseKey;
      await Promise.all([
        signed.keyPair.privateKey.prefetchAgreement(message.identityKey),
        identity.privateKey.prefetchAgreement(ek),
        signed.keyPair.privateKey.prefetchAgreement(ek),
        oneTime?.keyPair.privateKey.prefetchAgreement(ek),
      ]);
    }
    let secrets;
    try {
      secrets = agreeAsResponder({
        ourIdentity: identity,
        ourSignedPreKey: signed.keyPair,
        ourOneTimePreKey: oneTime?.keyPair,
        ourKyberSecretKey: kyber.keyPair.secretKey,
        theirIdentityKey: message.identityKey,
        theirBaseKey: message.baseKey,
        kyberCiphertext: message.kyberCiphertext as Uint8Array,
      });
    } catch (e) {
      if (isSignalError(e, 'ERR_INVALID_MESSAGE')) {
        throw new InvalidMessageError(
          'invalid PreKeySignalMessage: bad Kyber ciphertext',
          'prekey',
          {
            cause: e,
          },
        );
      }
      throw e;
    }
    const state = initializeResponderState({
      version: message.messageVersion,
      localIdentityKey: identity.publicKey,
      remoteIdentityKey: message.identityKey,
      rootKey: secrets.rootKey,
      chainKey: secrets.chainKey,
      ourSignedPreKey: signed.keyPair,
      theirBaseKey: message.baseKey,
      localRegistrationId: registrationId,
      remoteRegistrationId: message.registrationId,
      pqRatchet: initialPqRatchetState({
        authKey: secrets.pqrAuthKey,
        direction: 'b2a',
        minVersion: spqrMinVersion(this.#spqrPolicy),
      }),
    });
    return {
      state,
      preKeyId: opkId,
      kyberUse: { kyberPreKeyId: kyberId, signedPreKeyId: spkId, baseKey: message.baseKey },
    };
  }

  async #requireTrusted(
    address: ProtocolAddress,
    key: PublicKey,
    direction: Direction,
  ): Promise<void> {
    const trusted = await this.#call('isTrustedIdentity', () =>
      this.#store.isTrustedIdentity(address, key, direction),
    );
    if (!trusted) throw new UntrustedIdentityError(address.toString());
  }

  async #loadSession(address: ProtocolAddress): Promise<SessionRecord | null> {
    return this.#call('loadSession', () => this.#store.loadSession(address));
  }

  async #commit(changes: ChangeSet): Promise<void> {
    try {
      await this.#store.commit(changes);
    } catch (e) {
      if (e instanceof ApplicationWriteFailure) throw e.error;
      if (isSignalError(e)) throw e;
      throw new StorageError('commit', { cause: e });
    }
  }

  /** Run a store call; adapter exceptions become {@link StorageError}, our own errors pass. */
  #call<T>(operation: string, fn: () => T | Promise<T>): Promise<T> {
    return callStore(operation, fn);
  }
}

/**
 * Build this device's {@link PreKeyBundle} from its store, for publishing. The keys named by
 * `ids` must already be stored; the one-time prekey is optional.
 *
 * @param store - this device's store
 * @param ids - this device's id and the ids of the prekeys to publish
 * @returns the bundle, with the public keys and signatures of the named prekeys
 * @throws {MissingPreKeyError} `ERR_MISSING_PREKEY` when a named key is not in the store
 * @throws {RangeError} for a prekey id outside u32
 * @throws {StorageError} `ERR_STORAGE` when the store fails
 * @example
 * ```ts
 * import {
 *   IdentityKeyPair,
 *   InMemoryProtocolStore,
 *   KyberPreKeyRecord,
 *   PreKeyRecord,
 *   SignedPreKeyRecord,
 *   createPreKeyBundle,
 * } from 'chiffre';
 *
 * const identity = IdentityKeyPair.generate();
 * const store = new InMemoryProtocolStore(identity, 2222);
 * store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, 1, Date.now()));
 * store.storeKyberPreKey(KyberPreKeyRecord.generate(identity, 1, Date.now(), { lastResort: true }));
 * store.storePreKey(PreKeyRecord.generate(7));
 * const bundle = await createPreKeyBundle(store, {
 *   deviceId: 1,
 *   preKeyId: 7,
 *   signedPreKeyId: 1,
 *   kyberPreKeyId: 1,
 * });
 * ```
 */
export async function createPreKeyBundle(
  store: ProtocolStore,
  ids: { deviceId: number; preKeyId?: number; signedPreKeyId: number; kyberPreKeyId: number },
): Promise<PreKeyBundle> {
  const call = callStore;
  const identity = await call('getIdentityKeyPair', () => store.getIdentityKeyPair());
  const registrationId = await call('getLocalRegistrationId', () => store.getLocalRegistrationId());
  const spkId = signedPreKeyId(ids.signedPreKeyId);
  const signed = await call('loadSignedPreKey', () => store.loadSignedPreKey(spkId));
  if (signed === null) throw new MissingPreKeyError('signed', spkId);
  const kid = kyberPreKeyId(ids.kyberPreKeyId);
  const kyber = await call('loadKyberPreKey', () => store.loadKyberPreKey(kid));
  if (kyber === null) throw new MissingPreKeyError('kyber', kid);
  let preKey: PublicKey | undefined;
  if (ids.preKeyId !== undefined) {
    const pid = preKeyId(ids.preKeyId);
    const record = await call('loadPreKey', () => store.loadPreKey(pid));
    if (record === null) throw new MissingPreKeyError('one-time', pid);
    preKey = record.keyPair.publicKey;
  }
  return {
    registrationId,
    deviceId: ids.deviceId,
    preKeyId: ids.preKeyId,
    preKey,
    signedPreKeyId: signed.id,
    signedPreKey: signed.keyPair.publicKey,
    signedPreKeySignature: signed.signature,
    kyberPreKeyId: kyber.id,
    kyberPreKey: kyber.keyPair.publicKey,
    kyberPreKeySignature: kyber.signature,
    identityKey: identity.publicKey,
  };
}
