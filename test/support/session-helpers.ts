/**
 * Helpers of the session, wire and state tests: parties over an instrumented in-memory store,
 * typed-error assertions, store snapshots ("a failed operation wrote nothing"), deterministic
 * randomness, the recorded libsignal vectors, and secret-rendering checks.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { expect } from 'vitest';
import {
  type AnySignalError,
  type CiphertextMessage,
  createPreKeyBundle,
  IdentityKeyPair,
  InMemoryProtocolStore,
  isSignalError,
  KyberPreKeyRecord,
  type PreKeyBundle,
  PreKeyRecord,
  ProtocolAddress,
  type RandomSource,
  type SessionRecord,
  SessionManager,
  type SessionManagerOptions,
  type SignalErrorCode,
  SignedPreKeyRecord,
} from '../../src/index.js';
import type { ChangeSet } from '../../src/storage/index.js';
import { bytesToBase64, bytesToBase64Url, bytesToHex } from './hex.js';
import { freshServiceId, text, utf8 } from './parties.js';

export { text, utf8 };

/** Absolute path of the repository root. */
export const repoRoot: string = fileURLToPath(new URL('../..', import.meta.url));

/** Fixed fast-check seed of the session-core tests (reproducible runs). */
export const FC_SEED = 0x5e55_1011;

/** fast-check parameters with the fixed seed. */
export function fcRuns(numRuns: number): { seed: number; numRuns: number } {
  return { seed: FC_SEED, numRuns };
}

// ------------------------------------------------------------------------------------------
// Randomness
// ------------------------------------------------------------------------------------------

/** A deterministic byte stream: SHA-512(label ‖ counter) blocks. Tests only. */
export function seededRandom(label: string): RandomSource {
  let counter = 0;
  return (length: number): Uint8Array => {
    const out = new Uint8Array(length);
    let off = 0;
    while (off < length) {
      const block = createHash('sha512')
        .update(`${label}:${String(counter++)}`)
        .digest();
      const n = Math.min(block.length, length - off);
      out.set(block.subarray(0, n), off);
      off += n;
    }
    return out;
  };
}

/** A source that serves `chunks` in order (copies), and fails on a length mismatch or when empty. */
export function fixedRandom(...chunks: readonly Uint8Array[]): RandomSource {
  let i = 0;
  return (length: number): Uint8Array => {
    const chunk = chunks[i++];
    if (chunk === undefined) throw new Error('fixedRandom: no more chunks');
    if (chunk.length !== length) {
      throw new Error(
        `fixedRandom: asked for ${String(length)} bytes, have ${String(chunk.length)}`,
      );
    }
    return chunk.slice();
  };
}

// ------------------------------------------------------------------------------------------
// Parties over an instrumented store
// ------------------------------------------------------------------------------------------

/** An {@link InMemoryProtocolStore} whose commit and session loads can be made to fail. */
export class TestStore extends InMemoryProtocolStore {
  /** When set, every commit fails with `error` (thrown, or as a rejected promise). */
  commitFailure: { readonly error: Error; readonly async: boolean } | undefined;
  /** When set, every `loadSession` throws it (any value: adapters may throw non-errors). */
  loadSessionFailure: unknown;
  /** Number of commits that reached the in-memory maps (successful or refused by the store). */
  commits = 0;

  // The store contract allows a value or a promise (MaybePromise).
  override commit(changes: ChangeSet): void | Promise<void> {
    const failure = this.commitFailure;
    if (failure !== undefined) {
      if (failure.async) return Promise.reject(failure.error);
      throw failure.error;
    }
    this.commits++;
    return super.commit(changes);
  }

  override loadSession(address: ProtocolAddress): SessionRecord | null {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- adapters may throw anything
    if (this.loadSessionFailure !== undefined) throw this.loadSessionFailure;
    return super.loadSession(address);
  }
}

/** A chiffre participant of a test. */
export interface TestParty {
  readonly name: string;
  readonly address: ProtocolAddress;
  readonly store: TestStore;
  readonly manager: SessionManager;
  readonly identity: IdentityKeyPair;
  readonly registrationId: number;
  /**
   * Publish a fresh bundle: new signed prekey, new Kyber prekey (one-time unless `lastResort`),
   * and a new one-time prekey unless `oneTime` is false. Ids are fresh on every call.
   */
  bundle(options?: { oneTime?: boolean; lastResort?: boolean }): Promise<PreKeyBundle>;
}

let nextRegistrationId = 100;

/** A party on a {@link TestStore}. Same name as another party = the same account re-registered. */
export function makeTestParty(
  name: string,
  options: {
    identity?: IdentityKeyPair;
    serviceId?: string;
    deviceId?: number;
    now?: () => number;
    random?: RandomSource;
    registrationId?: number;
    spqrPolicy?: SessionManagerOptions['spqrPolicy'];
  } = {},
): TestParty {
  const identity = options.identity ?? IdentityKeyPair.generate(options.random);
  const registrationId = options.registrationId ?? nextRegistrationId++;
  const store = new TestStore(identity, registrationId);
  const address = new ProtocolAddress(options.serviceId ?? freshServiceId(), options.deviceId ?? 1);
  const manager = new SessionManager({
    store,
    localAddress: address,
    ...(options.random === undefined ? {} : { random: options.random }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.spqrPolicy === undefined ? {} : { spqrPolicy: options.spqrPolicy }),
  });
  let nextId = 1;
  return {
    name,
    address,
    store,
    manager,
    identity,
    registrationId,
    async bundle({ oneTime = true, lastResort = false } = {}) {
      const id = nextId++;
      const now = options.now === undefined ? Date.now() : options.now();
      store.storeSignedPreKey(SignedPreKeyRecord.generate(identity, id, now, options.random));
      store.storeKyberPreKey(
        KyberPreKeyRecord.generate(identity, id, now, {
          lastResort,
          ...(options.random === undefined ? {} : { random: options.random }),
        }),
      );
      if (oneTime) store.storePreKey(PreKeyRecord.generate(id, options.random));
      return createPreKeyBundle(store, {
        deviceId: address.deviceId,
        ...(oneTime ? { preKeyId: id } : {}),
        signedPreKeyId: id,
        kyberPreKeyId: id,
      });
    },
  };
}

/** Encrypt `plaintext` from `from` to `to` (not delivered). */
export async function encryptText(
  from: TestParty,
  to: TestParty,
  plaintext: string,
): Promise<CiphertextMessage> {
  return from.manager.encrypt(to.address, utf8(plaintext));
}

/** Decrypt at `to` a message from `from`, as text. */
export async function decryptText(
  to: TestParty,
  from: TestParty,
  message: CiphertextMessage,
): Promise<string> {
  return text(await to.manager.decrypt(from.address, message));
}

/** Encrypt and deliver one message, checking the plaintext. Returns the message. */
export async function send(
  from: TestParty,
  to: TestParty,
  plaintext: string,
): Promise<CiphertextMessage> {
  const message = await encryptText(from, to, plaintext);
  expect(await decryptText(to, from, message)).toBe(plaintext);
  return message;
}

/** `a` starts a session from a fresh bundle of `b`; one message each way, so both are acknowledged. */
export async function establish(
  a: TestParty,
  b: TestParty,
  bundleOptions?: { oneTime?: boolean; lastResort?: boolean },
): Promise<void> {
  await a.manager.processPreKeyBundle(b.address, await b.bundle(bundleOptions));
  const first = await send(a, b, `${a.name} says hello`);
  expect(first.type).toBe('prekey');
  await send(b, a, `${b.name} says hello back`);
}

let roundTrips = 0;
/** One message each way on the existing sessions: "the session keeps working". */
export async function expectWorking(a: TestParty, b: TestParty): Promise<void> {
  const n = roundTrips++;
  await send(a, b, `${a.name} → ${b.name} check ${String(n)}`);
  await send(b, a, `${b.name} → ${a.name} check ${String(n)}`);
}

/** The stored record of `owner` for `peer` (deserialized from the store's bytes). */
export async function recordOf(owner: TestParty, peer: TestParty): Promise<SessionRecord> {
  const record = await Promise.resolve(owner.store.loadSession(peer.address));
  if (record === null) throw new Error(`${owner.name} has no record for ${peer.name}`);
  return record;
}

// ------------------------------------------------------------------------------------------
// Error assertions
// ------------------------------------------------------------------------------------------

function describeError(e: unknown): string {
  if (isSignalError(e)) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

/** Await `op` (or call it) and require a chiffre error with `code` (and `message`, when given). */
export async function expectSignalError<C extends SignalErrorCode>(
  op: Promise<unknown> | (() => unknown),
  code: C,
  message?: string | RegExp,
): Promise<Extract<AnySignalError, { code: C }>> {
  try {
    await Promise.resolve(typeof op === 'function' ? op() : op);
  } catch (e) {
    if (!isSignalError(e, code)) {
      expect.fail(`expected ${code}, got ${describeError(e)}`);
    }
    if (message !== undefined) {
      if (typeof message === 'string') expect(e.message).toBe(message);
      else expect(e.message).toMatch(message);
    }
    return e;
  }
  return expect.fail(`expected ${code}, but the operation succeeded`);
}

/** Synchronous {@link expectSignalError}. */
export function expectSignalErrorSync<C extends SignalErrorCode>(
  fn: () => unknown,
  code: C,
  message?: string | RegExp,
): Extract<AnySignalError, { code: C }> {
  try {
    fn();
  } catch (e) {
    if (!isSignalError(e, code)) {
      expect.fail(`expected ${code}, got ${describeError(e)}`);
    }
    if (message !== undefined) {
      if (typeof message === 'string') expect(e.message).toBe(message);
      else expect(e.message).toMatch(message);
    }
    return e;
  }
  return expect.fail(`expected ${code}, but the call succeeded`);
}

/** Run `fn`; it must either return or throw a chiffre error (never anything else). */
export function onlySignalErrors(fn: () => unknown): 'ok' | SignalErrorCode {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (!isSignalError(e))
      expect.fail(`expected success or a SignalError, got ${describeError(e)}`);
    return e.code;
  }
}

/**
 * Byte equality with a readable failure. (vitest's `toEqual` walks typed arrays element by element,
 * which is slow for records of several kilobytes inside properties.)
 */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  const same =
    actual.length === expected.length &&
    Buffer.compare(
      Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength),
      Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
    ) === 0;
  if (!same) expect(bytesToHex(actual)).toBe(bytesToHex(expected));
}

// ------------------------------------------------------------------------------------------
// Store snapshots
// ------------------------------------------------------------------------------------------

/** Every stored byte string of `store`, as a plain object (readable diffs). */
export function snapshotOf(store: InMemoryProtocolStore): Record<string, string> {
  return Object.fromEntries(store.snapshot());
}

/**
 * Require `op` to fail with `code` (and `message`) while leaving every store in `stores`
 * byte-for-byte unchanged.
 */
export async function expectCleanFailure<C extends SignalErrorCode>(
  stores: readonly InMemoryProtocolStore[],
  op: () => Promise<unknown>,
  code: C,
  message?: string | RegExp,
): Promise<Extract<AnySignalError, { code: C }>> {
  const before = stores.map(snapshotOf);
  const e = await expectSignalError(op, code, message);
  stores.forEach((s, i) => {
    expect(snapshotOf(s)).toEqual(before[i]);
  });
  return e;
}

// ------------------------------------------------------------------------------------------
// Recorded libsignal sessions (shared/protocol/vectors, libsignal-wire.md Appendix A)
// ------------------------------------------------------------------------------------------

/** One recorded session vector. */
export interface SessionVector {
  readonly bob: {
    readonly identityPriv: string;
    readonly identityPub33: string;
    readonly registrationId: number;
    readonly signedPreKeyId: number;
    readonly signedPreKeyPriv: string;
    readonly signedPreKeyPub33: string;
    readonly signedPreKeySig: string;
    readonly oneTimePreKeyId: number;
    readonly oneTimePreKeyPriv: string;
    readonly kyberPreKeyId: number;
    readonly kyberKeygenSeed64_nobleMlKem1024: string;
    readonly kyberPub1569_sha256: string;
    readonly kyberSigOverPub1569: string;
    readonly spkSigRandom64: string;
    readonly kyberSigRandom64: string;
  };
  readonly aliceAddress: string;
  readonly bobAddress: string;
  readonly preKeySignalMessage: string;
  readonly plaintext: string;
  readonly derived: {
    readonly aliceIdentityPub33: string;
    readonly aliceBaseKey33: string;
    readonly kyberCiphertext1569_sha256: string;
    readonly dh1_IKa_SPKb: string;
    readonly dh2_EKa_IKb: string;
    readonly dh3_EKa_SPKb: string;
    readonly dh4_EKa_OPKb: string;
    readonly kyberSharedSecret: string;
    readonly hkdfOut96_rk_ck_pqrAuth: string;
    readonly aliceRatchetKey33: string;
    readonly firstChain_rootKey: string;
    readonly firstChain_chainKey: string;
    readonly msg0_seed: string;
    readonly msg0_cipherKey: string;
    readonly msg0_macKey: string;
    readonly msg0_iv: string;
    readonly innerMac8: string;
    readonly spqr: {
      readonly msg: {
        version: number;
        epoch: number;
        index: number;
        type: number;
        chunkIndex: number;
      };
      readonly salt?: string;
    };
    readonly addresses: string | null;
  };
}

/** Load `vector_090.json` or `vector_103.json` from `../shared/protocol/vectors/`. */
export function loadSessionVector(file: 'vector_090.json' | 'vector_103.json'): SessionVector {
  const p = path.resolve(repoRoot, '..', 'shared', 'protocol', 'vectors', file);
  return JSON.parse(readFileSync(p, 'utf8')) as SessionVector;
}

/** SHA-256 of a UTF-8 label (Appendix A key derivation). */
export function sha256Label(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label, 'utf8').digest());
}

/** SHA-512 of a UTF-8 label (Appendix A seeds and signature randomness). */
export function sha512Label(label: string): Uint8Array {
  return new Uint8Array(createHash('sha512').update(label, 'utf8').digest());
}

// ------------------------------------------------------------------------------------------
// Secrets out of renderings
// ------------------------------------------------------------------------------------------

/** `JSON.stringify`, `String()` and a deep `util.inspect` of `value`. */
export function renderings(value: unknown): string[] {
  return [
    JSON.stringify(value) ?? '',
    String(value),
    inspect(value, { depth: 20, showHidden: true, getters: true, maxArrayLength: Infinity }),
  ];
}

/** The textual forms under which a secret could leak. */
export function secretForms(secret: Uint8Array): string[] {
  const prefix = secret.subarray(0, Math.min(16, secret.length));
  return [
    bytesToHex(secret),
    bytesToHex(secret).toUpperCase(),
    bytesToHex(prefix),
    bytesToBase64(secret),
    bytesToBase64Url(secret),
    bytesToBase64(secret.subarray(0, Math.min(15, secret.length))),
    Array.from(secret.subarray(0, 8)).join(', '),
    Array.from(secret.subarray(0, 8)).join(','),
  ];
}

/** Require that none of `secrets` appears in any rendering of `value`. */
export function expectNoSecrets(value: unknown, secrets: readonly Uint8Array[]): void {
  const rendered = renderings(value);
  for (const secret of secrets) {
    for (const form of secretForms(secret)) {
      for (const r of rendered) {
        if (r.includes(form))
          expect.fail(`a secret (${String(secret.length)} bytes) leaks into "${r.slice(0, 120)}"`);
      }
    }
  }
}
