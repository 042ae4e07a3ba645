/**
 * Model test of SPQR-on sessions (chiffre↔chiffre through SessionManager), driven by
 * fast-check: random sequences of send / deliver (any in-flight message: reordering) / drop /
 * duplicate / flush commands, checked against a simple model of the network. Every delivered
 * message must decrypt exactly once to its plaintext, every repeat must be refused as a
 * duplicate, and nothing else may fail. A final ping-pong phase of 160 messages must leave both
 * sides with completed SPQR epochs, within one epoch of each other.
 *
 * Delays are bounded so that every delivery stays legitimately decryptable under libsignal's
 * limits (libsignal-wire.md §6.1, §11): a message still in flight three turns after it was sent
 * (a turn = the sender changes) is delivered before anything else happens, and duplicates are
 * taken from the last three turns only. An SPQR epoch needs at least four turns, and the Double
 * Ratchet keeps five receiving chains, so nothing falls out of either window.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CiphertextMessage } from '../../src/index.js';
import type { Party } from '../support/parties.js';
import { expectCode, field5, makeDuo } from './support.js';

type Side = 'alice' | 'bob';
type Command =
  | { readonly kind: 'send'; readonly from: Side; readonly count: number }
  | { readonly kind: 'deliver'; readonly from: Side; readonly pick: number }
  | { readonly kind: 'drop'; readonly from: Side; readonly pick: number }
  | { readonly kind: 'duplicate'; readonly to: Side; readonly pick: number }
  | { readonly kind: 'flush'; readonly from: Side; readonly reverse: boolean };

const side = fc.constantFrom<Side>('alice', 'bob');
const arbCommand: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      from: side,
      count: fc.integer({ min: 1, max: 12 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('deliver' as const), from: side, pick: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('drop' as const), from: side, pick: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('duplicate' as const), to: side, pick: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('flush' as const),
      from: side,
      reverse: fc.boolean(),
    }),
  },
);

interface Flying {
  readonly id: number;
  readonly from: Side;
  readonly text: string;
  readonly message: CiphertextMessage;
  readonly turn: number;
}

const MAX_AGE = 3;
const FINAL_ROUNDS = 80;

interface Stats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicates: number;
  reordered: number;
  forced: number;
}

async function run(seed: number, commands: readonly Command[]): Promise<Stats> {
  const duo = await makeDuo({ seed });
  const party: Record<Side, Party> = { alice: duo.alice, bob: duo.bob };
  const other = (s: Side): Side => (s === 'alice' ? 'bob' : 'alice');
  const inFlight: Record<Side, Flying[]> = { alice: [], bob: [] };
  const delivered: Record<Side, Flying[]> = { alice: [], bob: [] };
  const decryptCount = new Map<number, number>();
  const stats: Stats = {
    sent: 0,
    delivered: 0,
    dropped: 0,
    duplicates: 0,
    reordered: 0,
    forced: 0,
  };
  let turn = 0;
  let lastSender: Side | undefined;
  let bobHasSession = false;
  let lastDeliveredId: Record<Side, number> = { alice: -1, bob: -1 };

  const send = async (from: Side): Promise<Flying> => {
    if (lastSender !== undefined && lastSender !== from) turn++;
    lastSender = from;
    const id = stats.sent++;
    const text = `${from} #${id}`;
    const message = await duo.send(party[from], text);
    // SPQR is on: every message carries field 5 with a key.
    expect(field5(message)?.index, `message ${id}`).toBeGreaterThanOrEqual(1);
    const f: Flying = { id, from, text, message, turn };
    inFlight[from].push(f);
    return f;
  };
  const deliver = async (f: Flying): Promise<void> => {
    const to = other(f.from);
    inFlight[f.from] = inFlight[f.from].filter((x) => x !== f);
    expect(decryptCount.get(f.id) ?? 0, `message ${f.id} not yet decrypted`).toBe(0);
    expect(await duo.recv(party[to], f.message), `message ${f.id}`).toBe(f.text);
    decryptCount.set(f.id, 1);
    if (f.id < lastDeliveredId[to]) stats.reordered++;
    lastDeliveredId = { ...lastDeliveredId, [to]: Math.max(lastDeliveredId[to], f.id) };
    delivered[to].push(f);
    stats.delivered++;
    if (to === 'bob') bobHasSession = true;
  };
  /** Deliver whatever is too old, oldest first, so nothing leaves the legitimate window. */
  const forceOld = async (): Promise<void> => {
    for (const s of ['alice', 'bob'] as const) {
      for (const f of inFlight[s].filter((x) => turn - x.turn >= MAX_AGE)) {
        await deliver(f);
        stats.forced++;
      }
    }
  };

  for (const c of commands) {
    await forceOld();
    switch (c.kind) {
      case 'send': {
        // Bob can only answer once he has a session.
        if (c.from === 'bob' && !bobHasSession) break;
        for (let i = 0; i < c.count; i++) await send(c.from);
        break;
      }
      case 'deliver': {
        const q = inFlight[c.from];
        if (q.length > 0) await deliver(q[c.pick % q.length] as Flying);
        break;
      }
      case 'drop': {
        const q = inFlight[c.from];
        if (q.length === 0) break;
        const f = q[c.pick % q.length] as Flying;
        inFlight[c.from] = q.filter((x) => x !== f);
        stats.dropped++;
        break;
      }
      case 'duplicate': {
        const recent = delivered[c.to].filter((f) => turn - f.turn < MAX_AGE);
        if (recent.length === 0) break;
        const f = recent[c.pick % recent.length] as Flying;
        await expectCode(duo.recv(party[c.to], f.message), 'ERR_DUPLICATE_MESSAGE');
        decryptCount.set(f.id, (decryptCount.get(f.id) ?? 0) + 1);
        stats.duplicates++;
        break;
      }
      case 'flush': {
        const q = [...inFlight[c.from]];
        for (const f of c.reverse ? q.reverse() : q) await deliver(f);
        break;
      }
    }
  }
  // Settle: deliver everything still in flight, then a final ping-pong.
  for (const s of ['alice', 'bob'] as const) for (const f of [...inFlight[s]]) await deliver(f);
  if (!bobHasSession) await deliver(await send('alice'));
  for (let i = 0; i < FINAL_ROUNDS; i++) {
    await deliver(await send('alice'));
    await deliver(await send('bob'));
  }

  // Exactly once: every message was decrypted once or dropped; repeats were all refused.
  expect(stats.delivered + stats.dropped).toBe(stats.sent);
  expect([...decryptCount.values()].reduce((a, b) => a + b, 0)).toBe(
    stats.delivered + stats.duplicates,
  );
  const statusA = await duo.alice.manager.getSpqrStatus(duo.bob.address);
  const statusB = await duo.bob.manager.getSpqrStatus(duo.alice.address);
  expect(statusA).toMatchObject({ version: 1, negotiating: false });
  expect(statusB).toMatchObject({ version: 1, negotiating: false });
  expect(statusA?.completedEpochs).toBeGreaterThan(0);
  expect(statusB?.completedEpochs).toBeGreaterThan(0);
  expect(Math.abs((statusA?.epoch ?? 0) - (statusB?.epoch ?? 0))).toBeLessThanOrEqual(1);
  return stats;
}

describe('SPQR model test: send / deliver / drop / duplicate / reorder', () => {
  it('exactly-once decryption and advancing epochs (fast-check)', async () => {
    const totals: Stats = {
      sent: 0,
      delivered: 0,
      dropped: 0,
      duplicates: 0,
      reordered: 0,
      forced: 0,
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 0x7fff_ffff }),
        fc.array(arbCommand, { minLength: 30, maxLength: 70, size: 'max' }),
        async (seed, commands) => {
          const s = await run(seed, commands);
          for (const k of Object.keys(totals) as (keyof Stats)[]) totals[k] += s[k];
        },
      ),
      { numRuns: 8, seed: 0x5b9e },
    );
    // The commands really exercised reordering, drops and duplicates.
    expect(totals.reordered).toBeGreaterThan(10);
    expect(totals.dropped).toBeGreaterThan(10);
    expect(totals.duplicates).toBeGreaterThan(5);
  }, 180_000);

  it('a long random phase with many chunk-carrying losses still completes epochs', async () => {
    // One deterministic, longer run: mostly sends, deliveries and drops.
    const commands: Command[] = [];
    let x = 12345;
    const r = (n: number): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return (x >>> 8) % n;
    };
    for (let i = 0; i < 300; i++) {
      const from: Side = r(2) === 0 ? 'alice' : 'bob';
      const k = r(10);
      commands.push(
        k < 4
          ? { kind: 'send', from, count: 1 + r(6) }
          : k < 8
            ? { kind: 'deliver', from, pick: r(1000) }
            : k < 9 || r(2) === 0
              ? { kind: 'drop', from, pick: r(1000) }
              : { kind: 'duplicate', to: from, pick: r(1000) },
      );
    }
    const stats = await run(99, commands);
    expect(stats.sent).toBeGreaterThan(400);
    expect(stats.dropped).toBeGreaterThan(20);
    expect(stats.duplicates).toBeGreaterThan(5);
  }, 120_000);
});
