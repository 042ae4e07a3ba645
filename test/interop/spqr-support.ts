/**
 * Helpers of the SPQR interop tests (libsignal-client 0.90 and 0.103): chiffre/libsignal pairs
 * that can run either role with any SPQR policy, field 5 extraction from any encrypted message,
 * error classification, a V0 "pre-SPQR" chiffre peer, and a seeded PRNG for schedules.
 */
import { createRequire } from 'node:module';
import { expect } from 'vitest';
import {
  type CiphertextMessage,
  isSignalError,
  ProtocolAddress,
  type SessionManagerOptions,
  type SignalErrorCode,
} from '../../src/index.js';
import { decodeSpqrMessage, PQ_RATCHET_V0, type SpqrMessage } from '../../src/spqr/index.js';
import { decodePreKeySignalMessage, decodeSignalMessage } from '../../src/wire/index.js';
import {
  type LibsignalParty,
  makeLibsignalParty,
  toLibsignalBundle,
} from '../support/libsignal.js';
import { makeParty, type Party } from '../support/parties.js';

export type Lib = any;

const require = createRequire(import.meta.url);

/** libsignal-client 0.90.0 (spqr 1.5.1, SPQR min version V0). */
export const lib090: Lib = require('libsignal-client-090');
/** libsignal-client 0.103.0 (spqr 1.6.0, SPQR V1 required). */
export const lib0103: Lib = require('libsignal-client-0103');

export type Impl = 'chiffre' | 'libsignal';
export type Role = 'alice' | 'bob';
export type Policy = NonNullable<SessionManagerOptions['spqrPolicy']>;

/** One side of a conversation, whatever implementation runs it. */
export interface Peer {
  readonly impl: Impl;
  encrypt(plaintext: Uint8Array): Promise<CiphertextMessage>;
  decrypt(message: CiphertextMessage): Promise<Uint8Array>;
}

/** A chiffre party and a libsignal party that know each other's addresses. */
export interface SpqrPair {
  readonly lib: Lib;
  readonly chiffre: Party;
  readonly libsignal: LibsignalParty;
  /** chiffre's view of the libsignal party. */
  readonly libAddress: ProtocolAddress;
  /** libsignal's view of the chiffre party. */
  readonly chiffreAddressLib: Lib;
  readonly c: Peer;
  readonly l: Peer;
  readonly alice: Peer;
  readonly bob: Peer;
  readonly initiator: Impl;
  /** chiffre's SPQR status for the libsignal peer. */
  status(): ReturnType<Party['manager']['getSpqrStatus']>;
}

/** A fresh pair with the session started by `initiator` (nothing sent yet). */
export async function establishSpqr(
  lib: Lib,
  initiator: Impl,
  options: { policy?: Policy; oneTime?: boolean } = {},
): Promise<SpqrPair> {
  const chiffre = makeParty(
    'chiffre',
    options.policy === undefined ? {} : { spqrPolicy: options.policy },
  );
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
  const oneTime = options.oneTime ?? true;
  if (initiator === 'chiffre') {
    await chiffre.manager.processPreKeyBundle(libAddress, libsignal.chiffreBundle({ oneTime }));
  } else {
    const bundle = toLibsignalBundle(lib, await chiffre.bundle({ oneTime }));
    await libsignal.processBundle(chiffreAddressLib, bundle);
  }
  return {
    lib,
    chiffre,
    libsignal,
    libAddress,
    chiffreAddressLib,
    c,
    l,
    alice: initiator === 'chiffre' ? c : l,
    bob: initiator === 'chiffre' ? l : c,
    initiator,
    status: () => chiffre.manager.getSpqrStatus(libAddress),
  };
}

/**
 * Turn chiffre's current session with the libsignal peer into a pre-SPQR (V0) one, as an
 * implementation without SPQR would hold it: no field 5 is ever sent and no key salted.
 */
export function makeChiffreV0(pair: SpqrPair): void {
  const record = pair.chiffre.store.loadSession(pair.libAddress);
  const state = record?.currentState;
  if (record === null || state === undefined) throw new Error('no chiffre session');
  pair.chiffre.store.storeSession(
    pair.libAddress,
    record.withCurrentState({ ...state, pqRatchet: PQ_RATCHET_V0 }),
  );
}

/** The raw field 5 of an encrypted message (`undefined` when absent). */
export function rawField5(message: CiphertextMessage): Uint8Array | undefined {
  const sm =
    message.type === 'prekey'
      ? decodePreKeySignalMessage(message.body).signalMessage
      : decodeSignalMessage(message.body);
  return sm.pqRatchet;
}

/** Field 5 of an encrypted message, parsed (`undefined` when absent: SPQR V0). */
export function field5(message: CiphertextMessage): SpqrMessage | undefined {
  const raw = rawField5(message);
  return raw === undefined ? undefined : decodeSpqrMessage(raw);
}

// -- errors ---------------------------------------------------------------------------------------

/** The error `p` rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return expect.fail('expected a rejection, but the operation succeeded');
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

/** How a delivery ended. */
export type Outcome = 'ok' | 'duplicate' | 'refused';

/**
 * Decrypt on `peer` and classify a failure in that implementation's own terms: chiffre must
 * throw a typed SignalError, libsignal a LibSignalErrorBase; anything else fails the test.
 */
export async function tryDecrypt(
  lib: Lib,
  peer: Peer,
  message: CiphertextMessage,
): Promise<{ outcome: Outcome; plaintext?: Uint8Array; error?: unknown }> {
  try {
    return { outcome: 'ok', plaintext: await peer.decrypt(message) };
  } catch (e) {
    if (peer.impl === 'chiffre') {
      if (!isSignalError(e)) expect.fail(`chiffre threw a non-SignalError: ${String(e)}`);
      return { outcome: e.code === 'ERR_DUPLICATE_MESSAGE' ? 'duplicate' : 'refused', error: e };
    }
    if (!(e instanceof lib.LibSignalErrorBase)) {
      expect.fail(`libsignal threw a non-libsignal error: ${String(e)}`);
    }
    return {
      outcome:
        (e as { code: number }).code === lib.ErrorCode.DuplicatedMessage ? 'duplicate' : 'refused',
      error: e,
    };
  }
}

/** Everything a side has stored, serialized, for before/after comparisons. */
export function snapshotOf(pair: SpqrPair, impl: Impl): string {
  if (impl === 'chiffre') return JSON.stringify([...pair.chiffre.store.snapshot()]);
  return JSON.stringify(
    [...pair.libsignal.sessions].map(([k, v]) => [k, Buffer.from(v).toString('hex')]),
  );
}

// -- seeded randomness ----------------------------------------------------------------------------

/** xorshift32: reproducible scheduling decisions (never keys). */
export class Prng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
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
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextU32() & 0xff;
    return out;
  }
  /** Fisher–Yates, in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [items[i], items[j]] = [items[j] as T, items[i] as T];
    }
    return items;
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Chunk-carrying payload types of the send_ek role (header, encapsulation key). */
export const EK_SIDE_TYPES: ReadonlySet<string> = new Set(['hdr', 'ek', 'ek-ct1-ack']);
/** Chunk-carrying payload types of the send_ct role (the two ciphertext halves). */
export const CT_SIDE_TYPES: ReadonlySet<string> = new Set(['ct1', 'ct2']);
