/**
 * Shared helpers of the libsignal interop suite: loading libsignal-client 0.90, uniform "peer"
 * wrappers over a chiffre party and a libsignal party, session set-up in either role, error
 * assertions, byte tampering and a seeded PRNG.
 */
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import {
  type CiphertextMessage,
  isSignalError,
  ProtocolAddress,
  type SignalErrorCode,
} from '../../src/index.js';
import {
  makeLibsignalParty,
  type LibsignalParty,
  toLibsignalBundle,
} from '../support/libsignal.js';
import { makeParty, type Party } from '../support/parties.js';

export type Lib = any;

/** libsignal-client 0.90.0 (native). */
export const lib: Lib = createRequire(import.meta.url)('libsignal-client-090');

/** Which implementation a peer runs. */
export type Impl = 'chiffre' | 'libsignal';

/** One side of a conversation, whatever implementation runs it. */
export interface Peer {
  readonly impl: Impl;
  encrypt(plaintext: Uint8Array): Promise<CiphertextMessage>;
  decrypt(message: CiphertextMessage): Promise<Uint8Array>;
}

/** A chiffre party and a libsignal party that know each other's addresses. */
export interface Pair {
  readonly chiffre: Party;
  readonly libsignal: LibsignalParty;
  /** chiffre's view of the libsignal party. */
  readonly libAddress: ProtocolAddress;
  /** libsignal's view of the chiffre party. */
  readonly chiffreAddressLib: Lib;
  /** The chiffre side as a {@link Peer}. */
  readonly c: Peer;
  /** The libsignal side as a {@link Peer}. */
  readonly l: Peer;
}

/** A fresh chiffre party and a fresh libsignal party. */
export function makePair(options: { now?: () => number } = {}): Pair {
  const chiffre = makeParty('chiffre', options.now ? { now: options.now } : {});
  const libsignal = makeLibsignalParty(lib, 'libsignal');
  const libAddress = new ProtocolAddress(libsignal.addressName, 1);
  const chiffreAddressLib = lib.ProtocolAddress.new(chiffre.address.name, 1);
  const c: Peer = {
    impl: 'chiffre',
    encrypt: (pt) => chiffre.manager.encrypt(libAddress, pt),
    decrypt: (m) => chiffre.manager.decrypt(libAddress, m),
  };
  const l: Peer = {
    impl: 'libsignal',
    encrypt: (pt) => libsignal.encrypt(chiffreAddressLib, pt),
    decrypt: (m) => libsignal.decrypt(chiffreAddressLib, m),
  };
  return { chiffre, libsignal, libAddress, chiffreAddressLib, c, l };
}

/** The initiator processes a fresh bundle of the other side (nothing is sent yet). */
export async function startSession(
  pair: Pair,
  initiator: Impl,
  options: { oneTime?: boolean } = {},
): Promise<void> {
  const oneTime = options.oneTime ?? true;
  if (initiator === 'chiffre') {
    await pair.chiffre.manager.processPreKeyBundle(
      pair.libAddress,
      pair.libsignal.chiffreBundle({ oneTime }),
    );
  } else {
    const bundle = toLibsignalBundle(lib, await pair.chiffre.bundle({ oneTime }));
    await pair.libsignal.processBundle(pair.chiffreAddressLib, bundle);
  }
}

/** The pair with the session started by `initiator`, as `{ alice, bob }` peers. */
export async function establish(
  initiator: Impl,
  options: { oneTime?: boolean; now?: () => number } = {},
): Promise<Pair & { alice: Peer; bob: Peer }> {
  const pair = makePair(options.now ? { now: options.now } : {});
  await startSession(
    pair,
    initiator,
    options.oneTime === undefined ? {} : { oneTime: options.oneTime },
  );
  return initiator === 'chiffre'
    ? { ...pair, alice: pair.c, bob: pair.l }
    : { ...pair, alice: pair.l, bob: pair.c };
}

// -- model-test participants ---------------------------------------------------------------------

/** A participant of a model test, whatever implementation runs it. */
export interface Side {
  encrypt(pt: Uint8Array): Promise<CiphertextMessage>;
  decrypt(m: CiphertextMessage): Promise<Uint8Array>;
  /** Fetch a fresh bundle of the other side and start a new session with it. */
  start(): Promise<void>;
}

/** Sides A and B; A starts the first session. */
export function makeSides(a: Impl, b: Impl): [Side, Side] {
  if (a === 'libsignal' && b === 'libsignal') {
    const A = makeLibsignalParty(lib, 'A');
    const B = makeLibsignalParty(lib, 'B');
    return [
      {
        encrypt: (pt) => A.encrypt(B.address, pt),
        decrypt: (m) => A.decrypt(B.address, m),
        start: () => A.processBundle(B.address, B.bundle()),
      },
      {
        encrypt: (pt) => B.encrypt(A.address, pt),
        decrypt: (m) => B.decrypt(A.address, m),
        start: () => B.processBundle(A.address, A.bundle()),
      },
    ];
  }
  const pair = makePair();
  const c: Side = { ...pair.c, start: () => startSession(pair, 'chiffre') };
  const l: Side = { ...pair.l, start: () => startSession(pair, 'libsignal') };
  return a === 'chiffre' ? [c, l] : [l, c];
}

/** Outcome class of a failed operation, in implementation-neutral terms. */
export function failure(e: unknown): string {
  if (isSignalError(e)) return e.code === 'ERR_DUPLICATE_MESSAGE' ? 'duplicate' : 'refused';
  if (e instanceof lib.LibSignalErrorBase) {
    return (e as { code: number }).code === lib.ErrorCode.DuplicatedMessage
      ? 'duplicate'
      : 'refused';
  }
  // The libsignal test store throws plain errors for consumed prekeys (as libsignal's own does).
  if (e instanceof Error && /^no (prekey|signed prekey|kyber prekey) /.test(e.message)) {
    return 'refused';
  }
  throw e;
}

/** Outcome of one delivery, checked against the plaintext when it decrypts. */
export async function probe(
  to: Side,
  messages: readonly CiphertextMessage[],
  i: number,
  codes?: string[],
): Promise<string> {
  try {
    const pt = dec(await to.decrypt(messages[i] as CiphertextMessage));
    return pt === `m${String(i)}` ? 'ok' : `WRONG ${pt}`;
  } catch (e) {
    if (codes !== undefined && isSignalError(e)) codes.push(e.code);
    return failure(e);
  }
}

/** A session started by side 0 with one round trip done, so both sides send whisper messages. */
export async function acknowledged(a: Impl, b: Impl): Promise<[Side, Side]> {
  const sides = makeSides(a, b);
  await sides[0].start();
  await sides[1].decrypt(await sides[0].encrypt(enc('hello')));
  await sides[0].decrypt(await sides[1].encrypt(enc('hi')));
  return sides;
}

/** Encrypt `m0`, `m1`, … on `from`. */
export async function sendMany(from: Side, n: number): Promise<CiphertextMessage[]> {
  const out: CiphertextMessage[] = [];
  for (let i = 0; i < n; i++) out.push(await from.encrypt(enc(`m${String(i)}`)));
  return out;
}

// -- errors -------------------------------------------------------------------------------------

/** The error `p` rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  expect.fail('expected a rejection, but the operation succeeded');
}

/** Assert `p` rejects with a chiffre error of `code`. */
export async function expectChiffreError(
  p: Promise<unknown>,
  code: SignalErrorCode,
): Promise<void> {
  const e = await rejection(p);
  if (!isSignalError(e, code)) {
    expect.fail(`expected ${code}, got ${String((e as { code?: unknown }).code)}: ${String(e)}`);
  }
}

/** Assert `p` rejects with a libsignal error (optionally of one `ErrorCode`). */
export async function expectLibError(p: Promise<unknown>, code?: number): Promise<void> {
  const e = await rejection(p);
  expect(e).toBeInstanceOf(lib.LibSignalErrorBase);
  if (code !== undefined) expect((e as { code: number }).code).toBe(code);
}

/** Assert a decrypt on `peer` is refused as a duplicate, in that implementation's terms. */
export async function expectDuplicate(peer: Peer, message: CiphertextMessage): Promise<void> {
  if (peer.impl === 'chiffre') {
    await expectChiffreError(peer.decrypt(message), 'ERR_DUPLICATE_MESSAGE');
  } else {
    await expectLibError(peer.decrypt(message), lib.ErrorCode.DuplicatedMessage);
  }
}

/** Assert a decrypt on `peer` is refused (any error of that implementation). */
export async function expectRefused(peer: Peer, message: CiphertextMessage): Promise<void> {
  const e = await rejection(peer.decrypt(message));
  if (peer.impl === 'chiffre') {
    if (!isSignalError(e)) expect.fail(`expected a SignalError, got ${String(e)}`);
    expect(e.code).not.toBe('ERR_DUPLICATE_MESSAGE');
  } else {
    expect(e).toBeInstanceOf(lib.LibSignalErrorBase);
  }
}

/** Everything the peer has stored, serialized, for before/after comparisons. */
export function storeSnapshot(pair: Pair, impl: Impl): string {
  if (impl === 'chiffre') return JSON.stringify([...pair.chiffre.store.snapshot()]);
  return JSON.stringify(
    [...pair.libsignal.sessions].map(([k, v]) => [k, Buffer.from(v).toString('hex')]),
  );
}

// -- bytes --------------------------------------------------------------------------------------

/** Position of `needle` inside `haystack`, or -1. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** A copy of `bytes` with `mask` XORed into byte `index`. */
export function flipByte(bytes: Uint8Array, index: number, mask = 0x01): Uint8Array {
  const out = bytes.slice();
  out[index] = (out[index] as number) ^ mask;
  return out;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

// -- seeded randomness ----------------------------------------------------------------------------

/** xorshift32: a tiny reproducible PRNG for scheduling decisions (never for keys). */
export class Xorshift {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    let x = this.#s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.#s = x;
    return x;
  }
  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextU32() / 0x1_0000_0000;
  }
  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** `n` pseudo-random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextU32() & 0xff;
    return out;
  }
  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}

export const DAY_MS = 24 * 60 * 60 * 1000;
