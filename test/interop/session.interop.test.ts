/**
 * Session interop with libsignal-client 0.90 (libsignal-wire.md §5, §6): PQXDH + Double Ratchet
 * between a chiffre party and a libsignal party in both roles, with and without a one-time
 * prekey; out-of-order delivery, duplicates, tampering, repeated PreKey messages, simultaneous
 * initiation, archived-state promotion and the 30-day expiry of unacknowledged sessions.
 */
import { describe, expect, it } from 'vitest';
import { type CiphertextMessage, ProtocolAddress, PublicKey } from '../../src/index.js';
import {
  decodePreKeySignalMessage,
  decodeSignalMessage,
  encodePreKeySignalMessage,
} from '../../src/wire/index.js';
import { makeLibsignalParty, toLibsignalBundle } from '../support/libsignal.js';
import { makeParty } from '../support/parties.js';
import {
  DAY_MS,
  dec,
  enc,
  establish,
  expectChiffreError,
  expectDuplicate,
  expectLibError,
  expectRefused,
  flipByte,
  type Impl,
  indexOfBytes,
  lib,
  makePair,
  type Pair,
  type Peer,
  startSession,
  storeSnapshot,
} from './helpers.js';

/** Encrypt each text on `from`; return the messages in sending order. */
async function sendAll(from: Peer, texts: readonly string[]): Promise<CiphertextMessage[]> {
  const out: CiphertextMessage[] = [];
  for (const t of texts) out.push(await from.encrypt(enc(t)));
  return out;
}

/** Deliver `messages[order[i]]` to `to` and check each plaintext. */
async function deliver(
  to: Peer,
  messages: readonly CiphertextMessage[],
  texts: readonly string[],
  order: readonly number[] = messages.map((_, i) => i),
): Promise<void> {
  for (const i of order) {
    expect(dec(await to.decrypt(messages[i] as CiphertextMessage))).toBe(texts[i]);
  }
}

/** Send `n` messages and deliver them (optionally permuted); returns the messages. */
async function exchange(
  from: Peer,
  to: Peer,
  label: string,
  n: number,
  order?: readonly number[],
): Promise<CiphertextMessage[]> {
  const texts = Array.from({ length: n }, (_, i) => `${label} #${String(i)}`);
  const messages = await sendAll(from, texts);
  await deliver(to, messages, texts, order);
  return messages;
}

const types = (messages: readonly CiphertextMessage[]): string[] => messages.map((m) => m.type);

const other = (pair: Pair, impl: Impl): Impl => (impl === pair.c.impl ? 'libsignal' : 'chiffre');

/** The alice base key of chiffre's current session with the libsignal party. */
async function chiffreCurrentBaseKey(pair: Pair): Promise<PublicKey | undefined> {
  const record = pair.chiffre.store.loadSession(pair.libAddress);
  return record?.currentState?.aliceBaseKey;
}

/** Tampered variants of one message, each with a name. */
function tamperings(message: CiphertextMessage): [string, CiphertextMessage][] {
  const out: [string, CiphertextMessage][] = [];
  const whisperVariants = (body: Uint8Array): [string, Uint8Array][] => {
    const v: [string, Uint8Array][] = [];
    // Body: a byte in the middle of the AES ciphertext (found via the parsed field).
    const parsed = decodeInner(body);
    const at = indexOfBytes(body, parsed.ciphertext);
    expect(at).toBeGreaterThan(0);
    v.push(['ciphertext byte', flipByte(body, at + (parsed.ciphertext.length >> 1))]);
    v.push(['last ciphertext byte', flipByte(body, at + parsed.ciphertext.length - 1, 0x80)]);
    // The ratchet key (a different, valid-looking key: DH ratchet on a copy, MAC fails).
    const rk = indexOfBytes(body, parsed.ratchetKey);
    v.push(['ratchet key', flipByte(body, rk + 7, 0x20)]);
    v.push(['MAC first byte', flipByte(body, body.length - 8)]);
    v.push(['MAC last byte', flipByte(body, body.length - 1, 0x80)]);
    v.push(['truncated MAC', body.subarray(0, body.length - 1)]);
    v.push(['version 0x34', withByte(body, 0, 0x34)]);
    v.push(['version 0x54', withByte(body, 0, 0x54)]);
    v.push(['version 0x24', withByte(body, 0, 0x24)]);
    v.push(['version low nibble 0x45', withByte(body, 0, 0x45)]);
    return v;
  };
  if (message.type === 'whisper') {
    for (const [name, body] of whisperVariants(message.body)) {
      out.push([name, { type: 'whisper', body }]);
    }
    return out;
  }
  const outer = decodePreKeySignalMessage(message.body);
  for (const [name, inner] of whisperVariants(outer.message)) {
    out.push([
      `inner ${name}`,
      { type: 'prekey', body: encodePreKeySignalMessage({ ...outer, message: inner }) },
    ]);
  }
  // The outer version byte (not MAC'd, but its high nibble is checked). The low nibble is not
  // authenticated in PreKeySignalMessages at all, so it is not a tampering either side can see.
  out.push(['outer version 0x34', { type: 'prekey', body: withByte(message.body, 0, 0x34) }]);
  out.push(['outer version 0x54', { type: 'prekey', body: withByte(message.body, 0, 0x54) }]);
  out.push(['outer version 0x24', { type: 'prekey', body: withByte(message.body, 0, 0x24) }]);
  // The identity key (the MAC covers both identities).
  const idAt = indexOfBytes(message.body, outer.identityKey.serialize());
  out.push(['identity key', { type: 'prekey', body: flipByte(message.body, idAt + 9, 0x02) }]);
  return out;
}

function decodeInner(body: Uint8Array): { ciphertext: Uint8Array; ratchetKey: Uint8Array } {
  const m = decodeSignalMessage(body);
  return { ciphertext: m.ciphertext, ratchetKey: m.ratchetKey.serialize() };
}

function withByte(bytes: Uint8Array, index: number, value: number): Uint8Array {
  const out = bytes.slice();
  out[index] = value;
  return out;
}

const roles: { initiator: Impl; oneTime: boolean }[] = [
  { initiator: 'chiffre', oneTime: true },
  { initiator: 'chiffre', oneTime: false },
  { initiator: 'libsignal', oneTime: true },
  { initiator: 'libsignal', oneTime: false },
];

describe.each(roles)(
  '$initiator initiator, one-time prekey: $oneTime',
  ({ initiator, oneTime }) => {
    it('first message, replies both ways, several messages per turn; whisper after the first reply', async () => {
      const s = await establish(initiator, { oneTime });
      const first = await exchange(s.alice, s.bob, 'alice 1', 3);
      expect(types(first)).toEqual(['prekey', 'prekey', 'prekey']);
      const firstParsed = decodePreKeySignalMessage(first[0]!.body);
      expect(firstParsed.preKeyId === undefined).toBe(!oneTime);
      expect(firstParsed.kyberCiphertext?.length).toBe(1569);

      const reply = await exchange(s.bob, s.alice, 'bob 1', 4);
      expect(types(reply)).toEqual(['whisper', 'whisper', 'whisper', 'whisper']);
      // After the first reply the initiator stops wrapping.
      for (let round = 2; round <= 6; round++) {
        const a = await exchange(s.alice, s.bob, `alice ${String(round)}`, 1 + (round % 3));
        expect(new Set(types(a))).toEqual(new Set(['whisper']));
        const b = await exchange(s.bob, s.alice, `bob ${String(round)}`, 1 + ((round + 1) % 4));
        expect(new Set(types(b))).toEqual(new Set(['whisper']));
      }
      // Empty and large plaintexts, both ways.
      for (const [from, to] of [
        [s.alice, s.bob],
        [s.bob, s.alice],
      ] as const) {
        for (const pt of [
          new Uint8Array(0),
          new Uint8Array(15).fill(1),
          new Uint8Array(16).fill(2),
          new Uint8Array(64 * 1024).fill(3),
        ]) {
          const m = await from.encrypt(pt);
          expect(await to.decrypt(m)).toEqual(pt);
        }
      }
    });

    it('out-of-order delivery within a chain, and from an older chain after a ratchet step', async () => {
      const s = await establish(initiator, { oneTime });
      await exchange(s.alice, s.bob, 'a1', 5, [2, 0, 4, 1, 3]);
      await exchange(s.bob, s.alice, 'b1', 6, [5, 1, 0, 3, 2, 4]);
      await exchange(s.alice, s.bob, 'a2', 4, [3, 2, 1, 0]);
      // bob sends two; alice gets only the first, replies (new alice chain), then bob sends on a
      // new chain; the held-back message of bob's older chain still decrypts afterwards.
      const held = await sendAll(s.bob, ['b2 #0', 'b2 #1']);
      await deliver(s.alice, held, ['b2 #0', 'b2 #1'], [0]);
      await exchange(s.alice, s.bob, 'a3', 2);
      await exchange(s.bob, s.alice, 'b3', 3, [2, 0, 1]);
      await deliver(s.alice, held, ['b2 #0', 'b2 #1'], [1]);
      // Same the other way round.
      const heldA = await sendAll(s.alice, ['a4 #0', 'a4 #1', 'a4 #2']);
      await deliver(s.bob, heldA, ['a4 #0', 'a4 #1', 'a4 #2'], [1]);
      await exchange(s.bob, s.alice, 'b4', 1);
      await exchange(s.alice, s.bob, 'a5', 2, [1, 0]);
      await deliver(s.bob, heldA, ['a4 #0', 'a4 #1', 'a4 #2'], [2, 0]);
      await exchange(s.bob, s.alice, 'b5', 2);
    });

    it('duplicates are rejected on both sides and change nothing', async () => {
      const s = await establish(initiator, { oneTime });
      const bobImpl = other(s, initiator);
      // Duplicate PreKey messages (the first one and a later one).
      const a1 = await exchange(s.alice, s.bob, 'a1', 3, [0, 2]);
      let before = storeSnapshot(s, bobImpl);
      await expectDuplicate(s.bob, a1[0]!);
      await expectDuplicate(s.bob, a1[2]!);
      expect(storeSnapshot(s, bobImpl)).toBe(before);
      await deliver(s.bob, a1, ['a1 #0', 'a1 #1', 'a1 #2'], [1]);
      await expectDuplicate(s.bob, a1[1]!);
      // Whisper duplicates both ways, in order and out of order.
      const b1 = await exchange(s.bob, s.alice, 'b1', 4, [3, 0, 1]);
      before = storeSnapshot(s, initiator);
      for (const i of [3, 0, 1, 0]) await expectDuplicate(s.alice, b1[i]!);
      expect(storeSnapshot(s, initiator)).toBe(before);
      await deliver(s.alice, b1, ['b1 #0', 'b1 #1', 'b1 #2', 'b1 #3'], [2]);
      await expectDuplicate(s.alice, b1[2]!);
      const a2 = await exchange(s.alice, s.bob, 'a2', 3);
      expect(types(a2)).toEqual(['whisper', 'whisper', 'whisper']);
      for (const m of [...a2].reverse()) await expectDuplicate(s.bob, m);
      // A PreKey message replayed after the session moved on is still a duplicate.
      await expectDuplicate(s.bob, a1[0]!);
      // The conversation continues.
      await exchange(s.bob, s.alice, 'b2', 2);
      await exchange(s.alice, s.bob, 'a3', 2);
    });

    it('tampered messages are rejected by both sides, change nothing, and the conversation continues', async () => {
      const s = await establish(initiator, { oneTime });
      const bobImpl = other(s, initiator);
      const check = async (to: Peer, toImpl: Impl, m: CiphertextMessage, text: string) => {
        const before = storeSnapshot(s, toImpl);
        for (const [name, bad] of tamperings(m)) {
          try {
            await expectRefused(to, bad);
          } catch (e) {
            throw new Error(`${toImpl} accepted tampering "${name}" of a ${m.type} message`, {
              cause: e,
            });
          }
          expect(storeSnapshot(s, toImpl), `state changed after "${name}"`).toBe(before);
        }
        expect(dec(await to.decrypt(m))).toBe(text);
      };
      // The first PreKey message.
      const [p0] = await sendAll(s.alice, ['first']);
      expect(p0!.type).toBe('prekey');
      await check(s.bob, bobImpl, p0!, 'first');
      // A second PreKey message of the established session.
      const [p1] = await sendAll(s.alice, ['second']);
      expect(p1!.type).toBe('prekey');
      await check(s.bob, bobImpl, p1!, 'second');
      // Whisper from the responder (new chain: DH ratchet step on receipt).
      const [w0, w1] = await sendAll(s.bob, ['reply 0', 'reply 1']);
      await check(s.alice, initiator, w0!, 'reply 0');
      await check(s.alice, initiator, w1!, 'reply 1');
      // Whisper from the initiator.
      const [w2] = await sendAll(s.alice, ['after reply']);
      expect(w2!.type).toBe('whisper');
      await check(s.bob, bobImpl, w2!, 'after reply');
      await exchange(s.bob, s.alice, 'b', 3, [1, 2, 0]);
      await exchange(s.alice, s.bob, 'a', 3, [2, 0, 1]);
    });

    it('a second PreKey message of the same session (before any reply) decrypts, in either order', async () => {
      const s = await establish(initiator, { oneTime });
      const texts = ['p0', 'p1', 'p2', 'p3'];
      const ms = await sendAll(s.alice, texts);
      expect(types(ms)).toEqual(['prekey', 'prekey', 'prekey', 'prekey']);
      const parsed = ms.map((m) => decodePreKeySignalMessage(m.body));
      // One session: the same base key and Kyber ciphertext in each, inner counters 0..3.
      for (const p of parsed) {
        expect(p.baseKey.equals(parsed[0]!.baseKey)).toBe(true);
        expect(p.kyberCiphertext).toEqual(parsed[0]!.kyberCiphertext);
      }
      expect(parsed.map((p) => p.signalMessage.counter)).toEqual([0, 1, 2, 3]);
      await deliver(s.bob, ms, texts, [1, 0, 3]);
      const reply = await exchange(s.bob, s.alice, 'r', 1);
      expect(reply[0]!.type).toBe('whisper');
      // A PreKey message still in flight when the reply arrived decrypts as well.
      await deliver(s.bob, ms, texts, [2]);
      const after = await exchange(s.alice, s.bob, 'a', 2);
      expect(types(after)).toEqual(['whisper', 'whisper']);
    });
  },
);

describe('simultaneous initiation', () => {
  for (const oneTime of [true, false]) {
    it(`both sides initiate; crossing messages all decrypt and the sessions converge (one-time: ${String(oneTime)})`, async () => {
      const pair = makePair();
      await startSession(pair, 'chiffre', { oneTime });
      await startSession(pair, 'libsignal', { oneTime });
      const { c, l } = pair;
      // First messages cross: each side receives the other's PreKey message.
      const c1 = await sendAll(c, ['c1 #0', 'c1 #1']);
      const l1 = await sendAll(l, ['l1 #0', 'l1 #1']);
      expect(types(c1)).toEqual(['prekey', 'prekey']);
      expect(types(l1)).toEqual(['prekey', 'prekey']);
      await deliver(c, l1, ['l1 #0', 'l1 #1']);
      await deliver(l, c1, ['c1 #0', 'c1 #1']);
      // Both now send on the session the other started; these cross too.
      const c2 = await sendAll(c, ['c2 #0', 'c2 #1']);
      const l2 = await sendAll(l, ['l2 #0']);
      // Sent on the responder sessions, so no longer wrapped.
      expect([...types(c2), ...types(l2)]).toEqual(['whisper', 'whisper', 'whisper']);
      await deliver(l, c2, ['c2 #0', 'c2 #1'], [1, 0]);
      await deliver(c, l2, ['l2 #0']);
      // And once more crossing.
      const c3 = await sendAll(c, ['c3 #0']);
      const l3 = await sendAll(l, ['l3 #0', 'l3 #1']);
      await deliver(c, l3, ['l3 #0', 'l3 #1']);
      await deliver(l, c3, ['c3 #0']);
      // Then turns: the sides converge on one session and keep it.
      await exchange(c, l, 'c4', 2);
      await exchange(l, c, 'l4', 2);
      const keyAfterConvergence = await chiffreCurrentBaseKey(pair);
      for (let round = 5; round < 9; round++) {
        const cm = await exchange(c, l, `c${String(round)}`, 2, [1, 0]);
        const lm = await exchange(l, c, `l${String(round)}`, 2);
        expect(new Set([...types(cm), ...types(lm)])).toEqual(new Set(['whisper']));
        expect((await chiffreCurrentBaseKey(pair))?.equals(keyAfterConvergence!)).toBe(true);
      }
    });
  }

  it('one side receives before sending: the late PreKey message of the other session still decrypts', async () => {
    const pair = makePair();
    await startSession(pair, 'chiffre');
    await startSession(pair, 'libsignal');
    const { c, l } = pair;
    const c1 = await sendAll(c, ['c1']);
    const l1 = await sendAll(l, ['l1']);
    // libsignal answers chiffre's session before it sees nothing of its own, chiffre then gets
    // both the answer and libsignal's own (now stale) PreKey message.
    await deliver(l, c1, ['c1']);
    const l2 = await sendAll(l, ['l2']);
    expect(l2[0]!.type).toBe('whisper');
    await deliver(c, l2, ['l2']);
    await deliver(c, l1, ['l1']);
    await exchange(c, l, 'c2', 2);
    await exchange(l, c, 'l3', 2);
    await exchange(c, l, 'c3', 1);
  });
});

describe('archived session states', () => {
  const cases: { receiver: Impl; oldInitiator: Impl }[] = [
    { receiver: 'chiffre', oldInitiator: 'chiffre' },
    { receiver: 'chiffre', oldInitiator: 'libsignal' },
    { receiver: 'libsignal', oldInitiator: 'chiffre' },
    { receiver: 'libsignal', oldInitiator: 'libsignal' },
  ];

  describe.each(cases)(
    '$receiver receives, old session started by $oldInitiator',
    ({ receiver, oldInitiator }) => {
      const setup = async () => {
        const pair = makePair();
        await startSession(pair, oldInitiator);
        const init = oldInitiator === 'chiffre' ? pair.c : pair.l;
        const resp = oldInitiator === 'chiffre' ? pair.l : pair.c;
        await exchange(init, resp, 'hello', 2);
        await exchange(resp, init, 'hi', 2);
        await exchange(init, resp, 'ack', 1);
        const R = receiver === 'chiffre' ? pair.c : pair.l;
        const S = receiver === 'chiffre' ? pair.l : pair.c;
        const oldKey = await chiffreCurrentBaseKey(pair);
        return { pair, R, S, oldKey: oldKey! };
      };

      it('the receiver starts a new session; in-flight old messages decrypt on the archived state and promote it', async () => {
        const { pair, R, S, oldKey } = await setup();
        const texts = ['old #0', 'old #1', 'old #2'];
        const inFlight = await sendAll(S, texts);
        expect(types(inFlight)).toEqual(['whisper', 'whisper', 'whisper']);
        // R fetches a fresh bundle of S and starts a new (unacknowledged) session.
        await startSession(pair, receiver);
        const probe = await R.encrypt(enc('probe'));
        expect(probe.type).toBe('prekey');
        // The old messages arrive: decrypted by the archived state, which becomes current again.
        await deliver(R, inFlight, texts, [1, 0]);
        if (receiver === 'chiffre') {
          expect((await chiffreCurrentBaseKey(pair))?.equals(oldKey)).toBe(true);
        }
        const next = await R.encrypt(enc('on the old session'));
        expect(next.type).toBe('whisper');
        expect(dec(await S.decrypt(next))).toBe('on the old session');
        await deliver(R, inFlight, texts, [2]);
        // The probe of the abandoned new session still opens a session on S (PreKey message).
        expect(dec(await S.decrypt(probe))).toBe('probe');
        await exchange(S, R, 'more', 2);
        await exchange(R, S, 'more back', 2);
      });

      it('the sender starts a new session; its old messages still decrypt on the archived state and promote it', async () => {
        const { pair, R, S, oldKey } = await setup();
        const texts = ['old #0', 'old #1'];
        const inFlight = await sendAll(S, texts);
        await startSession(pair, other(pair, receiver));
        const fresh = await sendAll(S, ['new #0']);
        expect(fresh[0]!.type).toBe('prekey');
        // The new session arrives first and becomes current on R.
        await deliver(R, fresh, ['new #0']);
        if (receiver === 'chiffre') {
          expect((await chiffreCurrentBaseKey(pair))?.equals(oldKey)).toBe(false);
        }
        // Then the old messages: archived state, promoted.
        await deliver(R, inFlight, texts, [1]);
        if (receiver === 'chiffre') {
          expect((await chiffreCurrentBaseKey(pair))?.equals(oldKey)).toBe(true);
        }
        // R now answers on the old session; S finds it among its archived states.
        const answer = await exchange(R, S, 'answer', 2);
        expect(types(answer)).toEqual(['whisper', 'whisper']);
        if (receiver !== 'chiffre') {
          // S is chiffre: the old session is current again there.
          expect((await chiffreCurrentBaseKey(pair))?.equals(oldKey)).toBe(true);
        }
        const back = await exchange(S, R, 'back', 2);
        expect(types(back)).toEqual(['whisper', 'whisper']);
        await deliver(R, inFlight, texts, [0]);
        await exchange(R, S, 'end', 1);
      });
    },
  );
});

describe('30-day limit on unacknowledged sessions', () => {
  const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

  it('chiffre (injected clock): usable at +29 d and +30 d, ERR_SESSION_NOT_FOUND after', async () => {
    let now = T0;
    const pair = makePair({ now: () => now });
    await startSession(pair, 'chiffre');
    now = T0 + 29 * DAY_MS;
    expect(await pair.chiffre.manager.hasSession(pair.libAddress)).toBe(true);
    const m29 = await pair.c.encrypt(enc('day 29'));
    expect(m29.type).toBe('prekey');
    now = T0 + 30 * DAY_MS;
    const m30 = await pair.c.encrypt(enc('day 30'));
    now = T0 + 30 * DAY_MS + 1000;
    expect(await pair.chiffre.manager.hasSession(pair.libAddress)).toBe(false);
    now = T0 + 31 * DAY_MS;
    expect(await pair.chiffre.manager.hasSession(pair.libAddress)).toBe(false);
    await expectChiffreError(pair.c.encrypt(enc('day 31')), 'ERR_SESSION_NOT_FOUND');
    // libsignal still accepts what was sent in time, and its reply acknowledges the session.
    expect(dec(await pair.l.decrypt(m29))).toBe('day 29');
    expect(dec(await pair.l.decrypt(m30))).toBe('day 30');
    await exchange(pair.l, pair.c, 'reply', 1);
    now = T0 + 400 * DAY_MS;
    const late = await exchange(pair.c, pair.l, 'acknowledged', 1);
    expect(late[0]!.type).toBe('whisper');
  });

  it('chiffre: an expired session is replaced by a fresh bundle', async () => {
    let now = T0;
    const pair = makePair({ now: () => now });
    await startSession(pair, 'chiffre');
    now = T0 + 31 * DAY_MS;
    await expectChiffreError(pair.c.encrypt(enc('x')), 'ERR_SESSION_NOT_FOUND');
    await startSession(pair, 'chiffre');
    await exchange(pair.c, pair.l, 'fresh', 2);
    await exchange(pair.l, pair.c, 'reply', 2);
  });

  it('chiffre: an acknowledged session does not expire', async () => {
    let now = T0;
    const pair = makePair({ now: () => now });
    await startSession(pair, 'chiffre');
    await exchange(pair.c, pair.l, 'hi', 1);
    await exchange(pair.l, pair.c, 'hello', 1);
    now = T0 + 31 * DAY_MS;
    expect(await pair.chiffre.manager.hasSession(pair.libAddress)).toBe(true);
    await exchange(pair.c, pair.l, 'later', 1);
  });

  it('libsignal (now argument): usable at +29 d and +30 d, refused after; same boundary as chiffre', async () => {
    const pair = makePair();
    const at = (ms: number): Date => new Date(T0 + ms);
    const bundle = toLibsignalBundle(lib, await pair.chiffre.bundle());
    await lib.processPreKeyBundle(
      bundle,
      pair.chiffreAddressLib,
      pair.libsignal.stores.session,
      pair.libsignal.stores.identity,
      at(0),
    );
    const encryptAt = async (ms: number, text: string): Promise<CiphertextMessage> => {
      const m = await lib.signalEncrypt(
        Buffer.from(enc(text)),
        pair.chiffreAddressLib,
        pair.libsignal.stores.session,
        pair.libsignal.stores.identity,
        at(ms),
      );
      return {
        type: m.type() === lib.CiphertextMessageType.PreKey ? 'prekey' : 'whisper',
        body: new Uint8Array(m.serialize()),
      };
    };
    const record = async () => pair.libsignal.stores.session.getSession(pair.chiffreAddressLib);
    expect((await record()).hasCurrentState(at(29 * DAY_MS))).toBe(true);
    const m29 = await encryptAt(29 * DAY_MS, 'day 29');
    expect(m29.type).toBe('prekey');
    const m30 = await encryptAt(30 * DAY_MS, 'day 30');
    expect((await record()).hasCurrentState(at(30 * DAY_MS + 1000))).toBe(false);
    expect((await record()).hasCurrentState(at(31 * DAY_MS))).toBe(false);
    await expectLibError(encryptAt(30 * DAY_MS + 1000, 'too late'));
    await expectLibError(encryptAt(31 * DAY_MS, 'day 31'));
    // chiffre accepts what was sent in time; its reply acknowledges the session.
    expect(dec(await pair.c.decrypt(m29))).toBe('day 29');
    expect(dec(await pair.c.decrypt(m30))).toBe('day 30');
    await exchange(pair.c, pair.l, 'reply', 1);
    const late = await encryptAt(400 * DAY_MS, 'acknowledged');
    expect(late.type).toBe('whisper');
    expect(dec(await pair.c.decrypt(late))).toBe('acknowledged');
  });
});

describe('registration ids and identity changes', () => {
  it('registration ids travel in PreKey messages both ways', async () => {
    for (const initiator of ['chiffre', 'libsignal'] as const) {
      const pair = makePair();
      await startSession(pair, initiator);
      const from = initiator === 'chiffre' ? pair.c : pair.l;
      const to = initiator === 'chiffre' ? pair.l : pair.c;
      const m = await from.encrypt(enc('hi'));
      await to.decrypt(m);
      await from.decrypt(await to.encrypt(enc('hello')));
      const libRecord = await pair.libsignal.stores.session.getSession(pair.chiffreAddressLib);
      const chiffreState = pair.chiffre.store.loadSession(pair.libAddress)?.currentState;
      const libRegistrationId =
        (await pair.libsignal.stores.identity.getLocalRegistrationId()) as number;
      expect(libRecord.remoteRegistrationId()).toBe(pair.chiffre.store.getLocalRegistrationId());
      expect(libRecord.localRegistrationId()).toBe(libRegistrationId);
      expect(chiffreState?.remoteRegistrationId).toBe(libRegistrationId);
      expect(chiffreState?.localRegistrationId).toBe(pair.chiffre.store.getLocalRegistrationId());
      if (initiator === 'chiffre') {
        expect(decodePreKeySignalMessage(m.body).registrationId).toBe(
          pair.chiffre.store.getLocalRegistrationId(),
        );
      } else {
        expect(decodePreKeySignalMessage(m.body).registrationId).toBe(libRegistrationId);
      }
    }
  });

  it('chiffre refuses a changed libsignal identity until it is trusted, then the same bytes decrypt', async () => {
    const pair = await establish('libsignal');
    await exchange(pair.alice, pair.bob, 'old identity', 1);
    await exchange(pair.bob, pair.alice, 'reply', 1);
    // The peer reinstalls: same address, new identity, new session from a fresh bundle.
    const reinstalled = makeLibsignalParty(lib, 'libsignal again', pair.libsignal.addressName);
    const bundle = toLibsignalBundle(lib, await pair.chiffre.bundle());
    await reinstalled.processBundle(pair.chiffreAddressLib, bundle);
    const m = await reinstalled.encrypt(pair.chiffreAddressLib, enc('new identity'));
    const before = pair.chiffre.store.snapshot();
    await expectChiffreError(
      pair.chiffre.manager.decrypt(pair.libAddress, m),
      'ERR_UNTRUSTED_IDENTITY',
    );
    expect(pair.chiffre.store.snapshot()).toEqual(before);
    // Processing the new identity's bundle is refused as well.
    await expectChiffreError(
      pair.chiffre.manager.processPreKeyBundle(pair.libAddress, reinstalled.chiffreBundle()),
      'ERR_UNTRUSTED_IDENTITY',
    );
    // The user accepts the new safety number.
    const newKey = PublicKey.deserialize(
      new Uint8Array(reinstalled.identity.publicKey.serialize()),
    );
    pair.chiffre.store.saveIdentity(pair.libAddress, newKey);
    expect(dec(await pair.chiffre.manager.decrypt(pair.libAddress, m))).toBe('new identity');
    const reply = await pair.chiffre.manager.encrypt(pair.libAddress, enc('welcome back'));
    expect(reply.type).toBe('whisper');
    expect(dec(await reinstalled.decrypt(pair.chiffreAddressLib, reply))).toBe('welcome back');
  });

  it('libsignal refuses a changed chiffre identity until it is trusted, then the same bytes decrypt', async () => {
    const pair = await establish('chiffre');
    await exchange(pair.alice, pair.bob, 'old identity', 1);
    await exchange(pair.bob, pair.alice, 'reply', 1);
    const reinstalled = makeParty('chiffre again', { serviceId: pair.chiffre.address.name });
    const libAddress = new ProtocolAddress(pair.libsignal.addressName, 1);
    await reinstalled.manager.processPreKeyBundle(libAddress, pair.libsignal.chiffreBundle());
    const m = await reinstalled.manager.encrypt(libAddress, enc('new identity'));
    const before = storeSnapshot(pair, 'libsignal');
    await expectLibError(pair.l.decrypt(m), lib.ErrorCode.UntrustedIdentity);
    expect(storeSnapshot(pair, 'libsignal')).toBe(before);
    await expectLibError(
      pair.libsignal.processBundle(
        pair.chiffreAddressLib,
        toLibsignalBundle(lib, await reinstalled.bundle()),
      ),
      lib.ErrorCode.UntrustedIdentity,
    );
    await pair.libsignal.stores.identity.saveIdentity(
      pair.chiffreAddressLib,
      lib.PublicKey.deserialize(Buffer.from(reinstalled.identity.publicKey.serialize())),
    );
    expect(dec(await pair.l.decrypt(m))).toBe('new identity');
    const reply = await pair.l.encrypt(enc('welcome back'));
    expect(reply.type).toBe('whisper');
    expect(dec(await reinstalled.manager.decrypt(libAddress, reply))).toBe('welcome back');
  });
});
