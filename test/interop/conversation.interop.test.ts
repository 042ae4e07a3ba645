/**
 * A long randomized conversation between a chiffre party and a libsignal-client 0.90 party, in
 * both role assignments: seeded random turn-taking and run lengths, reordering within each
 * sender's run, drops, duplicate deliveries (within the run and replays of the sender's previous
 * runs). Every delivered message must decrypt exactly once to its exact plaintext, every
 * duplicate must be refused as a duplicate, and nothing else may fail.
 *
 * Reordering never crosses a turn, so no message can fall behind the 5-receiver-chain or
 * 2,000-skipped-key limits (libsignal-wire.md §6.1); replays reach at most a few chains back.
 */
import { describe, expect, it } from 'vitest';
import type { CiphertextMessage } from '../../src/index.js';
import { bytesToHex } from '../support/hex.js';
import { establish, expectDuplicate, type Impl, type Peer, Xorshift } from './helpers.js';

const TOTAL = 1_000;
const DROP = 0.06;
const DUPLICATE = 0.08;
const REPLAY = 0.3;
const MAX_RUN = 12;
const HOLD = 0.05;

interface Sent {
  readonly id: number;
  readonly from: 'alice' | 'bob';
  readonly plaintext: Uint8Array;
  readonly message: CiphertextMessage;
}

interface Stats {
  sent: number;
  dropped: number;
  delivered: number;
  duplicates: number;
  replays: number;
  prekey: number;
  whisper: number;
  turns: number;
  reordered: number;
  held: number;
}

async function converse(initiator: Impl, seed: number): Promise<Stats> {
  const rng = new Xorshift(seed);
  const s = await establish(initiator, { oneTime: true });
  const peer: Record<'alice' | 'bob', Peer> = { alice: s.alice, bob: s.bob };
  const stats: Stats = {
    sent: 0,
    dropped: 0,
    delivered: 0,
    duplicates: 0,
    replays: 0,
    prekey: 0,
    whisper: 0,
    turns: 0,
    reordered: 0,
    held: 0,
  };
  const decrypted = new Map<number, number>();
  /** Messages each side received in its last few turns: candidates for late replays. */
  const recent: Record<'alice' | 'bob', Sent[][]> = { alice: [], bob: [] };
  let bobHasSession = false;
  let aliceAcknowledged = false;
  let sender: 'alice' | 'bob' = 'alice';
  /** Messages held back, to be delivered at a later turn of the same receiver. */
  const held: Record<'alice' | 'bob', { message: Sent; due: number }[]> = { alice: [], bob: [] };

  /** Deliver one message: the first copy must decrypt exactly, later copies are duplicates. */
  const receive = async (receiver: 'alice' | 'bob', m: Sent): Promise<boolean> => {
    const seen = decrypted.get(m.id) ?? 0;
    if (seen > 0) {
      await expectDuplicate(peer[receiver], m.message);
      decrypted.set(m.id, seen + 1);
      return false;
    }
    const got = await peer[receiver].decrypt(m.message);
    expect(bytesToHex(got), `plaintext of message ${String(m.id)}`).toBe(bytesToHex(m.plaintext));
    decrypted.set(m.id, 1);
    stats.delivered++;
    if (receiver === 'bob') bobHasSession = true;
    else aliceAcknowledged = true;
    return true;
  };

  while (stats.sent < TOTAL) {
    const receiver: 'alice' | 'bob' = sender === 'alice' ? 'bob' : 'alice';
    const runLength = Math.min(rng.int(1, MAX_RUN), TOTAL - stats.sent);
    const run: Sent[] = [];
    for (let k = 0; k < runLength; k++) {
      const id = stats.sent++;
      const body = rng.bytes(rng.int(0, 200));
      const plaintext = new Uint8Array(body.length + 4);
      new DataView(plaintext.buffer).setUint32(0, id);
      plaintext.set(body, 4);
      const message = await peer[sender].encrypt(plaintext);
      // Wrapping: only the initiator, and only until it has received something.
      expect(message.type, `message ${String(id)}`).toBe(
        sender === 'alice' && !aliceAcknowledged ? 'prekey' : 'whisper',
      );
      stats[message.type]++;
      run.push({ id, from: sender, plaintext, message });
    }

    // Schedule: drop some, shuffle the rest (sometimes), hold a few back for a later turn, add
    // duplicates and late replays.
    const kept = run.filter((m) => (m.id === 0 ? true : !rng.chance(DROP)));
    stats.dropped += run.length - kept.length;
    let schedule: Sent[] = [...kept];
    const mode = rng.int(0, 2);
    if (mode === 1) rng.shuffle(schedule);
    else if (mode === 2) schedule.reverse();
    for (const m of kept) {
      if (rng.chance(DUPLICATE)) schedule.splice(rng.int(0, schedule.length), 0, m);
    }
    const holdNow = schedule.filter((m) => m.id !== 0 && rng.chance(HOLD));
    schedule = schedule.filter((m) => !holdNow.includes(m));
    const due = held[receiver].filter((h) => h.due <= stats.turns);
    held[receiver] = held[receiver].filter((h) => h.due > stats.turns);
    for (const h of due) schedule.splice(rng.int(0, schedule.length), 0, h.message);
    stats.held += due.length;
    for (const m of holdNow) held[receiver].push({ message: m, due: stats.turns + rng.int(1, 2) });
    if (schedule.some((m, i) => i > 0 && m.id < (schedule[i - 1] as Sent).id)) stats.reordered++;
    const older = recent[receiver].flat();
    if (older.length > 0 && rng.chance(REPLAY)) {
      schedule.splice(rng.int(0, schedule.length), 0, older[rng.int(0, older.length - 1)] as Sent);
    }

    const receivedThisTurn: Sent[] = [];
    for (const m of schedule) {
      if (await receive(receiver, m)) receivedThisTurn.push(m);
      else if (run.includes(m)) stats.duplicates++;
      else stats.replays++;
    }
    recent[receiver].push(receivedThisTurn);
    if (recent[receiver].length > 2) recent[receiver].shift();
    stats.turns++;

    // Turn-taking: bob can only answer once he has a session.
    sender = sender === 'bob' || bobHasSession ? (rng.chance(0.6) ? receiver : sender) : 'alice';
  }

  // Deliver whatever is still held back.
  for (const receiver of ['alice', 'bob'] as const) {
    for (const h of held[receiver]) {
      if (!(await receive(receiver, h.message))) stats.duplicates++;
      stats.held++;
    }
  }

  // Every delivered message decrypted exactly once (counted), and the session still works.
  expect(decrypted.size).toBe(stats.delivered);
  expect(stats.delivered + stats.dropped).toBe(TOTAL);
  for (const [from, to] of [
    [peer.alice, peer.bob],
    [peer.bob, peer.alice],
  ] as const) {
    const pt = Uint8Array.of(0xde, 0xad);
    expect(await to.decrypt(await from.encrypt(pt))).toEqual(pt);
  }
  return stats;
}

describe('1,000-message conversation with libsignal 0.90', () => {
  for (const [initiator, seed] of [
    ['chiffre', 0x5eed_0001],
    ['chiffre', 0x5eed_0003],
    ['libsignal', 0x5eed_0002],
    ['libsignal', 0x5eed_0004],
  ] as const) {
    it(`${initiator} initiator (seed 0x${seed.toString(16)}): random turns, reordering, drops, duplicates`, async () => {
      const stats = await converse(initiator, seed);
      // The schedule really exercised each feature.
      expect(stats.sent).toBe(TOTAL);
      expect(stats.dropped).toBeGreaterThan(20);
      expect(stats.duplicates).toBeGreaterThan(20);
      expect(stats.replays).toBeGreaterThan(5);
      expect(stats.reordered).toBeGreaterThan(20);
      expect(stats.held).toBeGreaterThan(20);
      expect(stats.turns).toBeGreaterThan(100);
      expect(stats.prekey).toBeGreaterThan(0);
      expect(stats.whisper).toBeGreaterThan(900);
    });
  }
});
