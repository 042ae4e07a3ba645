/**
 * Helpers of the SPQR tests: chiffre↔chiffre pairs through SessionManager, access to the SPQR
 * state a party has stored, field 5 extraction and re-encoding, message forgery with hazmat (as
 * the sender, or with a valid MAC from the receiver's point of view), a pure-layer driver over
 * two PqRatchetStates, and a seeded random source.
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import {
  type CiphertextMessage,
  isSignalError,
  type ProtocolAddress,
  SessionRecord,
  type SignalErrorCode,
} from '../../src/index.js';
import {
  aes256CbcEncrypt,
  concatBytes,
  decodePreKeySignalMessage,
  decodeSignalMessage,
  deriveMessageKeys,
  encodeAddresses,
  encodePreKeySignalMessage,
  encodeSignalMessageBody,
  hmacSha256,
  type RandomSource,
  ratchetReceiveStep,
  ratchetSendStep,
  type SessionState,
  type SignalMessage,
} from '../../src/hazmat/index.js';
import {
  decodeSpqrMessage,
  encodePqRatchetState,
  type PqRatchetState,
  SpqrError,
  type SpqrFailure,
  type SpqrMessage,
  spqrRecv,
  spqrSend,
} from '../../src/spqr/index.js';
import { makeParty, type Party } from '../support/parties.js';

export type Policy = 'require-v1' | 'allow-v0';

/** A deterministic random source (SHA-256 in counter mode). For tests only. */
export function seededRandom(seed: number): RandomSource {
  let counter = 0;
  return (length: number): Uint8Array => {
    const out = new Uint8Array(length);
    for (let at = 0; at < length; at += 32) {
      const block = createHash('sha256').update(`${seed}:${counter++}`).digest();
      out.set(block.subarray(0, Math.min(32, length - at)), at);
    }
    return out;
  };
}

/** Two chiffre parties; `alice` processed `bob`'s bundle (nothing sent yet). */
export interface Duo {
  readonly alice: Party;
  readonly bob: Party;
  /** `party`'s address of the other one. */
  peerOf(party: Party): ProtocolAddress;
  send(from: Party, text: string): Promise<CiphertextMessage>;
  recv(to: Party, message: CiphertextMessage): Promise<string>;
  /** Send and deliver, checking the plaintext; returns the message. */
  exchange(from: Party, text: string): Promise<CiphertextMessage>;
}

export async function makeDuo(
  options: { alicePolicy?: Policy; bobPolicy?: Policy; seed?: number } = {},
): Promise<Duo> {
  const opts = (policy: Policy | undefined, salt: number): Parameters<typeof makeParty>[1] => ({
    ...(policy === undefined ? {} : { spqrPolicy: policy }),
    ...(options.seed === undefined ? {} : { random: seededRandom(options.seed * 2 + salt) }),
  });
  const alice = makeParty('alice', opts(options.alicePolicy, 0));
  const bob = makeParty('bob', opts(options.bobPolicy, 1));
  await alice.manager.processPreKeyBundle(bob.address, await bob.bundle());
  const peerOf = (p: Party): ProtocolAddress => (p === alice ? bob.address : alice.address);
  const duo: Duo = {
    alice,
    bob,
    peerOf,
    send: (from, text) => from.manager.encrypt(peerOf(from), new TextEncoder().encode(text)),
    recv: async (to, message) =>
      new TextDecoder().decode(await to.manager.decrypt(peerOf(to), message)),
    async exchange(from, text) {
      const m = await duo.send(from, text);
      expect(await duo.recv(from === alice ? bob : alice, m)).toBe(text);
      return m;
    },
  };
  return duo;
}

/** The stored record of `party` for `peer`, deserialized from the raw stored bytes. */
export function storedRecord(party: Party, peer: ProtocolAddress): SessionRecord {
  const hex = party.store.snapshot().get(`session:${peer.toString()}`);
  if (hex === undefined) throw new Error(`${party.name} has no session with ${peer.toString()}`);
  return SessionRecord.deserialize(Uint8Array.from(Buffer.from(hex, 'hex')));
}

export function currentState(party: Party, peer: ProtocolAddress): SessionState {
  const state = storedRecord(party, peer).currentState;
  if (state === undefined) throw new Error('no current state');
  return state;
}

/** The SPQR state `party` stored for its current session with `peer`. */
export function storedPq(party: Party, peer: ProtocolAddress): PqRatchetState {
  return currentState(party, peer).pqRatchet;
}

/** Replace the SPQR state of `party`'s current session (e.g. to simulate a pre-SPQR peer). */
export function setStoredPq(party: Party, peer: ProtocolAddress, pq: PqRatchetState): void {
  const record = storedRecord(party, peer);
  party.store.storeSession(
    peer,
    record.withCurrentState({ ...(record.currentState as SessionState), pqRatchet: pq }),
  );
}

export const stateHex = (pq: PqRatchetState): string =>
  Buffer.from(encodePqRatchetState(pq)).toString('hex');

export function snapshotJson(party: Party): string {
  return JSON.stringify([...party.store.snapshot()]);
}

// -- messages ---------------------------------------------------------------------------------

/** The SignalMessage inside any encrypted message. */
export function innerMessage(message: CiphertextMessage): SignalMessage {
  return message.type === 'prekey'
    ? decodePreKeySignalMessage(message.body).signalMessage
    : decodeSignalMessage(message.body);
}

export function rawField5(message: CiphertextMessage): Uint8Array | undefined {
  return innerMessage(message).pqRatchet;
}

export function field5(message: CiphertextMessage): SpqrMessage | undefined {
  const raw = rawField5(message);
  return raw === undefined ? undefined : decodeSpqrMessage(raw);
}

/** Put a new inner SignalMessage (body ‖ MAC) into `like`'s envelope. */
function rewrap(like: CiphertextMessage, inner: Uint8Array): CiphertextMessage {
  if (like.type === 'whisper') return { type: 'whisper', body: inner };
  return {
    type: 'prekey',
    body: encodePreKeySignalMessage({ ...decodePreKeySignalMessage(like.body), message: inner }),
  };
}

/**
 * `message` with field 5 replaced by `pq` (`undefined` removes it), everything else kept,
 * including the MAC, which therefore no longer matches: what an on-path attacker can do.
 */
export function withField5(
  message: CiphertextMessage,
  pq: Uint8Array | undefined,
): CiphertextMessage {
  const sm = innerMessage(message);
  const body = encodeSignalMessageBody({ ...sm, pqRatchet: pq });
  return rewrap(message, concatBytes(body, sm.mac));
}

function mac8(
  macKey: Uint8Array,
  sender: SessionState['localIdentityKey'],
  receiver: SessionState['localIdentityKey'],
  body: Uint8Array,
): Uint8Array {
  return hmacSha256(macKey, concatBytes(sender.serialize(), receiver.serialize(), body)).slice(
    0,
    8,
  );
}

/**
 * `message` (from `receiver`'s peer) with field 5 replaced by `pq` and the body re-encrypted
 * and re-MACed with the keys `receiver` will derive for it: the salt comes from running
 * `receiver`'s own SPQR state over `pq` (no salt when SPQR refuses it). Models a peer that
 * authenticates correctly but sends bad SPQR data; with it, only SPQR can refuse the message.
 */
export function forgeForReceiver(
  receiver: Party,
  from: ProtocolAddress,
  message: CiphertextMessage,
  pq: Uint8Array | undefined,
  plaintext: Uint8Array,
): CiphertextMessage {
  const state = currentState(receiver, from);
  const sm = innerMessage(message);
  const step = ratchetReceiveStep(state, sm.ratchetKey, sm.counter);
  let salt: Uint8Array | undefined;
  try {
    salt = spqrRecv(state.pqRatchet, pq ?? new Uint8Array(0)).key;
  } catch (e) {
    if (!(e instanceof SpqrError)) throw e;
  }
  const keys = deriveMessageKeys(step.seed, salt);
  const body = encodeSignalMessageBody({
    ...sm,
    ciphertext: aes256CbcEncrypt(keys.cipherKey, keys.iv, plaintext),
    pqRatchet: pq,
  });
  const mac = mac8(keys.macKey, state.remoteIdentityKey, state.localIdentityKey, body);
  return rewrap(message, concatBytes(body, mac));
}

/**
 * A message built as `sender` would build its next one, but with field 5 = `pq` and the message
 * keys salted with `salt` ('real': the salt `sender`'s SPQR state would really use next; 'none':
 * unsalted). The Double Ratchet step is committed to `sender`'s store (so the next genuine message
 * uses the next counter), and so is the SPQR step when its key was used ('real').
 */
export function forgeAsSender(
  sender: Party,
  to: ProtocolAddress,
  pq: Uint8Array | undefined,
  salt: 'real' | 'none',
  plaintext: Uint8Array,
): CiphertextMessage {
  const record = storedRecord(sender, to);
  const state = record.currentState as SessionState;
  const step = ratchetSendStep(state);
  const real = spqrSend(state.pqRatchet, seededRandom(1));
  const keys = deriveMessageKeys(step.seed, salt === 'real' ? real.key : undefined);
  const pending = state.pendingPreKey;
  const body = encodeSignalMessageBody({
    messageVersion: state.version,
    ratchetKey: step.ratchetKey,
    counter: step.counter,
    previousCounter: step.previousCounter,
    ciphertext: aes256CbcEncrypt(keys.cipherKey, keys.iv, plaintext),
    pqRatchet: pq,
    addresses: pending === undefined ? undefined : encodeAddresses(sender.address, to),
  });
  const inner = concatBytes(
    body,
    mac8(keys.macKey, state.localIdentityKey, state.remoteIdentityKey, body),
  );
  sender.store.storeSession(
    to,
    record.withCurrentState({
      ...step.state,
      pqRatchet: salt === 'real' ? real.state : state.pqRatchet,
    }),
  );
  if (pending === undefined) return { type: 'whisper', body: inner };
  return {
    type: 'prekey',
    body: encodePreKeySignalMessage({
      messageVersion: state.version,
      registrationId: state.localRegistrationId,
      preKeyId: pending.preKeyId,
      signedPreKeyId: pending.signedPreKeyId,
      kyberPreKeyId: pending.kyberPreKeyId,
      kyberCiphertext: pending.kyberCiphertext,
      baseKey: pending.baseKey,
      identityKey: state.localIdentityKey,
      message: inner,
    }),
  };
}

// -- errors -----------------------------------------------------------------------------------

export async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  return expect.fail('expected a rejection, but the operation succeeded');
}

export async function expectCode(p: Promise<unknown>, code: SignalErrorCode): Promise<void> {
  const e = await rejection(p);
  if (!isSignalError(e, code)) {
    expect.fail(`expected ${code}, got ${String((e as { code?: unknown }).code)}: ${String(e)}`);
  }
}

/** `fn` throws an SpqrError with `reason`. */
export function expectSpqrError(fn: () => unknown, reason: SpqrFailure, label?: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, label ?? `expected SpqrError(${reason})`).toBeInstanceOf(SpqrError);
  expect((caught as SpqrError).reason, label).toBe(reason);
}

/** `spqrRecv` refuses `message` with `reason` and leaves `state` exactly as it was. */
export function expectRecvRefused(
  state: PqRatchetState,
  message: Uint8Array,
  reason: SpqrFailure,
  label?: string,
): void {
  const before = stateHex(state);
  expectSpqrError(() => spqrRecv(state, message), reason, label);
  expect(stateHex(state), `${label ?? reason}: input state unchanged`).toBe(before);
}

// -- the pure layer ---------------------------------------------------------------------------

/** Two SPQR states talking directly (no Double Ratchet), with every message recorded. */
export class PureDuo {
  a: PqRatchetState;
  b: PqRatchetState;
  readonly #random: RandomSource;
  constructor(a: PqRatchetState, b: PqRatchetState, seed = 7) {
    this.a = a;
    this.b = b;
    this.#random = seededRandom(seed);
  }
  /** One message from `from` (its state advances); returns field 5 and the salt. */
  send(from: 'a' | 'b'): { bytes: Uint8Array; message: SpqrMessage; key: Uint8Array | undefined } {
    const r = spqrSend(this[from], this.#random);
    this[from] = r.state;
    return { bytes: r.message, message: decodeSpqrMessage(r.message), key: r.key };
  }
  sendN(from: 'a' | 'b', n: number): Uint8Array[] {
    return Array.from({ length: n }, () => this.send(from).bytes);
  }
  /** Deliver to `to`; returns the salt. */
  recv(to: 'a' | 'b', bytes: Uint8Array): Uint8Array | undefined {
    const r = spqrRecv(this[to], bytes);
    this[to] = r.state;
    return r.key;
  }
  /** Ping-pong until `until()` holds (at most `max` rounds); returns the rounds used. */
  pingPongUntil(until: () => boolean, max = 400): number {
    for (let i = 0; i < max; i++) {
      if (until()) return i;
      this.recv('b', this.send('a').bytes);
      if (until()) return i;
      this.recv('a', this.send('b').bytes);
    }
    throw new Error('condition not reached');
  }
  kind(side: 'a' | 'b'): string {
    return this[side].scka?.kind ?? 'v0';
  }
}

/** Re-encode an SPQR message with changes (fresh `index` to pass the chain's replay check). */
export function mutateSpqr(
  bytes: Uint8Array,
  change: (m: SpqrMessage) => SpqrMessage,
): SpqrMessage {
  return change(decodeSpqrMessage(bytes));
}

/** A copy of a chunk-carrying message with `mask` XORed into chunk byte `at`. */
export function flipChunk(m: SpqrMessage, at: number, mask = 0x01): SpqrMessage {
  const p = m.payload;
  if (!('chunk' in p)) throw new Error('no chunk');
  const data = p.chunk.data.slice();
  data[at] = (data[at] as number) ^ mask;
  return { ...m, payload: { ...p, chunk: { index: p.chunk.index, data } } };
}
