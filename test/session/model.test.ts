/**
 * Two-party model test (STYLE.md 1.11; libsignal's test-support Participant/Event and
 * proptest_session_resets). fast-check drives random commands over two real parties and a lossy,
 * reordering network:
 *
 *   send(A→B) · send(B→A) · deliver next · deliver a random pending message · drop ·
 *   deliver a duplicate · reorder the queue · session reset (one side processes a fresh bundle)
 *
 * Invariants, checked after every command:
 * - a message decrypts at most once, to its plaintext;
 * - a message decrypts exactly once unless it was legitimately made undeliverable. The rule, from
 *   libsignal's limits: a message is undeliverable only when
 *   (a) the receiving chain its ratchet key belongs to was seen and has since been evicted by the
 *       MAX_RECEIVER_CHAINS (5) limit — the receiver then cannot tell it from a new chain; every
 *       such case is checked to coincide with a full set of 5 chains; or
 *   (b) SPQR no longer keeps its key: its epoch is older than the one epoch kept before the
 *       receiver's send epoch, or it is more than 2,000 keys behind (upstream spqr chain.rs).
 *   (The other limits — 2,000 skipped keys, 25,000 jumps, 40 archived states — cannot be reached
 *   by these runs; resets are capped at 6 per run.)
 * - every redelivery of a decrypted message is ERR_DUPLICATE_MESSAGE (or, when its chain was
 *   evicted, another typed error); every refusal leaves both stores byte-for-byte unchanged;
 * - stored state stays bounded: receiver chains ≤ 5, skipped keys ≤ 2,000 per chain, archived
 *   states ≤ 40, and every record re-serializes byte-identically.
 * At the end every pending message is delivered and the rule is checked once more.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCHIVED_STATES_MAX_LENGTH,
  MAX_MESSAGE_KEYS,
  MAX_RECEIVER_CHAINS,
} from '../../src/constants.js';
import { decodePreKeySignalMessage, decodeSignalMessage } from '../../src/hazmat/index.js';
import { decodeSpqrMessage } from '../../src/spqr/index.js';
import { type CiphertextMessage, isSignalError, SessionRecord } from '../../src/index.js';
import {
  establish,
  expectSameBytes,
  fcRuns,
  makeTestParty,
  snapshotOf,
  type TestParty,
  text,
  utf8,
} from '../support/session-helpers.js';

type Side = 'A' | 'B';
const other = (s: Side): Side => (s === 'A' ? 'B' : 'A');

interface Msg {
  readonly id: number;
  readonly from: Side;
  readonly to: Side;
  readonly message: CiphertextMessage;
  readonly text: string;
  /** The sender's session (its alice base key). */
  readonly session: string;
  readonly ratchetKey: string;
  readonly counter: number;
  /** Epoch and index of its SPQR message (field 5), when it has one. */
  readonly spqr: { readonly epoch: number; readonly index: number } | undefined;
  decrypted: number;
  undeliverable?: string;
  dropped?: boolean;
}

interface World {
  readonly party: Record<Side, TestParty>;
  readonly inFlight: Record<Side, Msg[]>;
  readonly delivered: Record<Side, Msg[]>;
  readonly all: Msg[];
  /** `${receiver}|${session}` → ratchet keys that ever had a receiving chain there. */
  readonly seen: Map<string, Set<string>>;
  /** Sessions (alice base keys) that ever existed on each side. */
  readonly sessions: Record<Side, Set<string>>;
  nextId: number;
  resets: number;
}

const stats = {
  sent: 0,
  delivered: 0,
  duplicates: 0,
  undeliverable: 0,
  resets: 0,
  outOfOrder: 0,
  dropped: 0,
  spqrEpochs: 0,
};

async function recordOf(w: World, owner: Side): Promise<SessionRecord | null> {
  return w.party[owner].store.loadSession(w.party[other(owner)].address);
}

/** Observe the real records: remember chains and sessions, and check the bounds. */
async function observe(w: World): Promise<void> {
  for (const side of ['A', 'B'] as const) {
    const record = await recordOf(w, side);
    if (record === null) continue;
    const bytes = record.serialize();
    expectSameBytes(SessionRecord.deserialize(bytes).serialize(), bytes);
    expect(record.previousStates.length).toBeLessThanOrEqual(ARCHIVED_STATES_MAX_LENGTH);
    stats.spqrEpochs = Math.max(
      stats.spqrEpochs,
      record.currentState?.pqRatchet.chain?.currentEpoch ?? 0,
    );
    for (const state of record.allStates()) {
      const session = state.aliceBaseKey.toHex();
      w.sessions[side].add(session);
      expect(state.receiverChains.length).toBeLessThanOrEqual(MAX_RECEIVER_CHAINS);
      const key = `${side}|${session}`;
      const seen = w.seen.get(key) ?? new Set<string>();
      w.seen.set(key, seen);
      const keys = state.receiverChains.map((c) => c.ratchetKey.toHex());
      expect(new Set(keys).size).toBe(keys.length);
      for (const c of state.receiverChains) {
        expect(c.skippedKeys.length).toBeLessThanOrEqual(MAX_MESSAGE_KEYS);
        seen.add(c.ratchetKey.toHex());
      }
    }
  }
}

type Prediction =
  { kind: 'ok' } | { kind: 'duplicate' } | { kind: 'undeliverable'; reason: string };

/** What the receiver must do with `m`, from its stored state and the rule in the header. */
async function predict(w: World, m: Msg): Promise<Prediction> {
  const record = await recordOf(w, m.to);
  const state = record?.allStates().find((s) => s.aliceBaseKey.toHex() === m.session);
  if (state === undefined) {
    // Only the first message of a new session can arrive before its session exists.
    expect(m.message.type).toBe('prekey');
    expect(w.sessions[m.to].has(m.session)).toBe(false);
    return { kind: 'ok' };
  }
  const chain = state.receiverChains.find((c) => c.ratchetKey.toHex() === m.ratchetKey);
  if (chain !== undefined) {
    if (m.counter < chain.chainKey.index && !chain.skippedKeys.has(m.counter)) {
      return { kind: 'duplicate' };
    }
  } else if (w.seen.get(`${m.to}|${m.session}`)?.has(m.ratchetKey) === true) {
    // Legitimately undeliverable only because the 5-chain limit evicted its chain.
    expect(state.receiverChains.length).toBe(MAX_RECEIVER_CHAINS);
    return { kind: 'undeliverable', reason: 'receiving chain evicted by MAX_RECEIVER_CHAINS' };
  }
  // The Double Ratchet has the key. SPQR keeps the keys of one epoch before its send epoch and
  // the last 2,000 keys of each (libsignal spqr `chain.rs`): older messages are lost there.
  const pq = state.pqRatchet.chain;
  if (m.spqr !== undefined && pq !== undefined && !(m.spqr.epoch === 1 && m.spqr.index === 0)) {
    const keyEpoch = m.spqr.epoch - 1;
    const oldest = pq.currentEpoch - pq.links.length + 1;
    if (keyEpoch < oldest) return { kind: 'undeliverable', reason: 'SPQR epoch no longer kept' };
    const link = pq.links[keyEpoch - oldest];
    if (link !== undefined && m.spqr.index + pq.params.maxOooKeys < link.recv.ctr) {
      return { kind: 'undeliverable', reason: 'SPQR key trimmed' };
    }
  }
  return { kind: 'ok' };
}

async function deliver(w: World, m: Msg, redelivery: boolean): Promise<void> {
  const p = await predict(w, m);
  const { party } = w;
  const before = [snapshotOf(party.A.store), snapshotOf(party.B.store)];
  let plaintext: string | undefined;
  let error: unknown;
  try {
    plaintext = text(await party[m.to].manager.decrypt(party[m.from].address, m.message));
  } catch (e) {
    error = e;
  }
  if (p.kind === 'ok') {
    if (plaintext === undefined) {
      const why = isSignalError(error) ? `${error.code}: ${error.message}` : String(error);
      expect.fail(`message #${String(m.id)} (${m.from}→${m.to}) should decrypt, got ${why}`);
    }
    expect(plaintext).toBe(m.text);
    expect(m.decrypted, `message #${String(m.id)} decrypted twice`).toBe(0);
    m.decrypted++;
    w.delivered[m.to].push(m);
    stats.delivered++;
    return;
  }
  if (plaintext !== undefined) expect.fail(`message #${String(m.id)} decrypted although ${p.kind}`);
  expect(isSignalError(error)).toBe(true);
  if (p.kind === 'duplicate') {
    expect(isSignalError(error, 'ERR_DUPLICATE_MESSAGE')).toBe(true);
    stats.duplicates++;
  } else if (!redelivery) {
    m.undeliverable = p.reason;
    stats.undeliverable++;
  }
  expect([snapshotOf(party.A.store), snapshotOf(party.B.store)]).toEqual(before);
}

abstract class Step implements fc.AsyncCommand<World, World> {
  check(_w: Readonly<World>): boolean {
    return true;
  }
  abstract apply(w: World): Promise<void>;
  async run(_m: World, w: World): Promise<void> {
    await this.apply(w);
    await observe(w);
  }
  abstract toString(): string;
}

class Send extends Step {
  readonly from: Side;
  constructor(from: Side) {
    super();
    this.from = from;
  }
  async apply(w: World): Promise<void> {
    const to = other(this.from);
    const id = w.nextId++;
    const body = `#${String(id)} ${this.from}→${to}`;
    const message = await w.party[this.from].manager.encrypt(w.party[to].address, utf8(body));
    const s =
      message.type === 'prekey'
        ? decodePreKeySignalMessage(message.body).signalMessage
        : decodeSignalMessage(message.body);
    const session = (await recordOf(w, this.from))!.currentState!.aliceBaseKey.toHex();
    const m: Msg = {
      id,
      from: this.from,
      to,
      message,
      text: body,
      session,
      ratchetKey: s.ratchetKey.toHex(),
      counter: s.counter,
      spqr: s.pqRatchet === undefined ? undefined : decodeSpqrMessage(s.pqRatchet),
      decrypted: 0,
    };
    w.all.push(m);
    w.inFlight[to].push(m);
    stats.sent++;
  }
  toString(): string {
    return `send(${this.from}→${other(this.from)})`;
  }
}

class DeliverAt extends Step {
  readonly to: Side;
  readonly pick: number | 'next';
  constructor(to: Side, pick: number | 'next') {
    super();
    this.to = to;
    this.pick = pick;
  }
  override check(w: Readonly<World>): boolean {
    return w.inFlight[this.to].length > 0;
  }
  async apply(w: World): Promise<void> {
    const queue = w.inFlight[this.to];
    const at = this.pick === 'next' ? 0 : this.pick % queue.length;
    if (at > 0) stats.outOfOrder++;
    const [m] = queue.splice(at, 1);
    await deliver(w, m!, false);
  }
  toString(): string {
    return `deliver(→${this.to}, ${String(this.pick)})`;
  }
}

class Drop extends Step {
  readonly to: Side;
  readonly pick: number;
  constructor(to: Side, pick: number) {
    super();
    this.to = to;
    this.pick = pick;
  }
  override check(w: Readonly<World>): boolean {
    return w.inFlight[this.to].length > 0;
  }
  async apply(w: World): Promise<void> {
    const queue = w.inFlight[this.to];
    const [m] = queue.splice(this.pick % queue.length, 1);
    m!.dropped = true;
    stats.dropped++;
  }
  toString(): string {
    return `drop(→${this.to}, ${String(this.pick)})`;
  }
}

class Duplicate extends Step {
  readonly to: Side;
  readonly pick: number;
  constructor(to: Side, pick: number) {
    super();
    this.to = to;
    this.pick = pick;
  }
  override check(w: Readonly<World>): boolean {
    return w.delivered[this.to].length > 0;
  }
  async apply(w: World): Promise<void> {
    const done = w.delivered[this.to];
    await deliver(w, done[this.pick % done.length]!, true);
  }
  toString(): string {
    return `duplicate(→${this.to}, ${String(this.pick)})`;
  }
}

class Reorder extends Step {
  readonly to: Side;
  readonly seed: number;
  constructor(to: Side, seed: number) {
    super();
    this.to = to;
    this.seed = seed;
  }
  override check(w: Readonly<World>): boolean {
    return w.inFlight[this.to].length > 1;
  }
  async apply(w: World): Promise<void> {
    const q = w.inFlight[this.to];
    const rotated = [...q.slice(this.seed % q.length), ...q.slice(0, this.seed % q.length)];
    if (this.seed % 2 === 1) rotated.reverse();
    q.splice(0, q.length, ...rotated);
    await Promise.resolve();
  }
  toString(): string {
    return `reorder(→${this.to}, ${String(this.seed)})`;
  }
}

class Reset extends Step {
  readonly side: Side;
  constructor(side: Side) {
    super();
    this.side = side;
  }
  override check(w: Readonly<World>): boolean {
    return w.resets < 6;
  }
  async apply(w: World): Promise<void> {
    const peer = w.party[other(this.side)];
    await w.party[this.side].manager.processPreKeyBundle(peer.address, await peer.bundle());
    w.resets++;
    stats.resets++;
  }
  toString(): string {
    return `reset(${this.side} processes a fresh bundle)`;
  }
}

const side = fc.constantFrom<Side>('A', 'B');
const commands = [
  side.map((s) => new Send(s)),
  side.map((s) => new Send(s)),
  side.map((s) => new Send(s)),
  side.map((s) => new DeliverAt(s, 'next')),
  side.map((s) => new DeliverAt(s, 'next')),
  fc.tuple(side, fc.nat(64)).map(([s, k]) => new DeliverAt(s, k)),
  fc.tuple(side, fc.nat(64)).map(([s, k]) => new DeliverAt(s, k)),
  fc.tuple(side, fc.nat(64)).map(([s, k]) => new Drop(s, k)),
  fc.tuple(side, fc.nat(64)).map(([s, k]) => new Duplicate(s, k)),
  fc.tuple(side, fc.nat(64)).map(([s, k]) => new Reorder(s, k)),
  side.map((s) => new Reset(s)),
];

async function newWorld(): Promise<World> {
  const A = makeTestParty('A');
  const B = makeTestParty('B');
  await establish(A, B);
  const w: World = {
    party: { A, B },
    inFlight: { A: [], B: [] },
    delivered: { A: [], B: [] },
    all: [],
    seen: new Map(),
    sessions: { A: new Set(), B: new Set() },
    nextId: 0,
    resets: 0,
  };
  await observe(w);
  return w;
}

/** Deliver everything still in flight, then check exactly-once for every message. */
async function drain(w: World): Promise<void> {
  while (w.inFlight.A.length + w.inFlight.B.length > 0) {
    for (const to of ['A', 'B'] as const) {
      const m = w.inFlight[to].shift();
      if (m === undefined) continue;
      await deliver(w, m, false);
      await observe(w);
    }
  }
  for (const m of w.all) {
    if (m.dropped === true) expect(m.decrypted).toBe(0);
    else if (m.undeliverable !== undefined) expect(m.decrypted).toBe(0);
    else expect(m.decrypted, `message #${String(m.id)} never decrypted`).toBe(1);
  }
  // The conversation still works afterwards.
  for (const from of ['A', 'B'] as const) {
    const to = other(from);
    const m = await w.party[from].manager.encrypt(w.party[to].address, utf8('after the run'));
    expect(text(await w.party[to].manager.decrypt(w.party[from].address, m))).toBe('after the run');
  }
}

const longCommands = [
  side.map((s) => new Send(s)),
  side.map((s) => new Send(s)),
  side.map((s) => new Send(s)),
  side.map((s) => new DeliverAt(s, 'next')),
  side.map((s) => new DeliverAt(s, 'next')),
  side.map((s) => new DeliverAt(s, 'next')),
  fc.tuple(side, fc.nat(64)).map(([s, k]) => new DeliverAt(s, k)),
  fc.tuple(side, fc.nat(64)).map(([s, k]) => new Drop(s, k)),
  fc.tuple(side, fc.nat(64)).map(([s, k]) => new Duplicate(s, k)),
  fc.tuple(side, fc.nat(64)).map(([s, k]) => new Reorder(s, k)),
];

function resetStats(): void {
  for (const k of Object.keys(stats) as (keyof typeof stats)[]) stats[k] = 0;
}

describe('two-party model', () => {
  it('random send / deliver / drop / duplicate / reorder / reset keeps every invariant', async () => {
    resetStats();
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 70, size: 'max' }), async (cmds) => {
        const w = await newWorld();
        await fc.asyncModelRun(() => ({ model: w, real: w }), cmds);
        await drain(w);
      }),
      fcRuns(35),
    );
    // The runs really exercised the interesting paths.
    expect(stats.sent).toBeGreaterThan(250);
    expect(stats.duplicates).toBeGreaterThan(30);
    expect(stats.outOfOrder).toBeGreaterThan(10);
    expect(stats.resets).toBeGreaterThan(40);
    expect(stats.dropped).toBeGreaterThan(30);
  });

  it('long conversations (no resets) cross SPQR epochs and keep every invariant', async () => {
    resetStats();
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(...longCommands), { minLength: 600, maxLength: 700 }),
        async (cmds) => {
          const w = await newWorld();
          await fc.asyncModelRun(() => ({ model: w, real: w }), cmds);
          await drain(w);
        },
      ),
      fcRuns(3),
    );
    expect(stats.sent).toBeGreaterThan(450);
    expect(stats.spqrEpochs).toBeGreaterThanOrEqual(1);
    expect(stats.duplicates).toBeGreaterThan(40);
  });

  it('long ping-pong with out-of-order delivery evicts old chains only by the 5-chain limit', async () => {
    const w = await newWorld();
    // Hold one message back, then turn the ratchet many times: it becomes undeliverable exactly
    // when its chain is the sixth-oldest.
    await new Send('A').run(w, w);
    const held = w.inFlight.B.shift()!;
    for (let turn = 0; turn < 8; turn++) {
      await new Send('A').run(w, w);
      await new DeliverAt('B', 'next').run(w, w);
      await new Send('B').run(w, w);
      await new DeliverAt('A', 'next').run(w, w);
    }
    await deliver(w, held, false);
    expect(held.undeliverable).toBe('receiving chain evicted by MAX_RECEIVER_CHAINS');
    await drain(w);
  });
});
