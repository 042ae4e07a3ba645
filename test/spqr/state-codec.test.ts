/**
 * The stored SPQR state (src/spqr/state-codec.ts) over a long chiffre↔chiffre conversation:
 * after every encrypt and every decrypt the state a party stored serializes → deserializes →
 * serializes to identical bytes (and so does the whole SessionRecord), the deserialized state
 * sends exactly what the original would, and all 11 SCKA state kinds are reached. Random bytes and random mutations of stored states only ever fail with
 * InvalidRecordError (ERR_INVALID_RECORD); a mutated state that still decodes re-encodes
 * stably, and the SPQR layer fed with it fails only with its own typed errors.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidRecordError, isSignalError, SessionRecord } from '../../src/index.js';
import {
  decodePqRatchetState,
  encodePqRatchetState,
  SpqrError,
  spqrRecv,
  spqrSend,
} from '../../src/spqr/index.js';
import type { Party } from '../support/parties.js';
import { type Duo, makeDuo, rawField5, seededRandom, storedRecord } from './support.js';
import { fcRuns } from '../support/session-helpers.js';

const ALL_KINDS = [
  'keys-unsampled',
  'keys-sampled',
  'header-sent',
  'ct1-received',
  'ek-sent-ct1-received',
  'no-header-received',
  'header-received',
  'ct1-sampled',
  'ek-received-ct1-sampled',
  'ct1-acknowledged',
  'ct2-sampled',
];

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface Conversation {
  /** One stored SPQR state per kind (the last seen), and whole records. */
  readonly states: Map<string, Uint8Array>;
  readonly records: Map<string, Uint8Array>;
  /** Field 5 of every message (inputs for spqrRecv). */
  readonly field5s: Uint8Array[];
  readonly checks: number;
}

/** Round-trip what `party` stored for its peer; returns the SCKA kind. */
function checkStored(duo: Duo, party: Party, c: { checks: number }, conv: Conversation): string {
  const record = storedRecord(party, duo.peerOf(party));
  const recordBytes = record.serialize();
  expect(hex(SessionRecord.deserialize(recordBytes).serialize())).toBe(hex(recordBytes));
  const pq = record.currentState?.pqRatchet;
  if (pq === undefined) throw new Error('no current state');
  const once = encodePqRatchetState(pq);
  const decoded = decodePqRatchetState(once);
  const twice = encodePqRatchetState(decoded);
  expect(hex(twice), 'serialize → deserialize → serialize').toBe(hex(once));
  // Deserialized twice, still the same (no hidden state in the decoder).
  expect(hex(encodePqRatchetState(decodePqRatchetState(twice)))).toBe(hex(once));
  // The decoded state owns its bytes: overwriting the input afterwards changes nothing.
  const scratch = once.slice();
  const fromScratch = decodePqRatchetState(scratch);
  scratch.fill(0xa5);
  expect(hex(encodePqRatchetState(fromScratch))).toBe(hex(once));
  // The large SCKA fields are views into a copy of the SCKA state only: the chain's keys are not
  // in that buffer, so those views do not keep old chain keys alive.
  const scka = decoded.scka as Record<string, unknown> | undefined;
  for (const name of ['ek', 'dk', 'header', 'ct1']) {
    const view = scka?.[name];
    if (!(view instanceof Uint8Array)) continue;
    const buffer = Buffer.from(view.buffer);
    for (const link of decoded.chain?.links ?? []) {
      for (const half of [link.send, link.recv]) {
        if (half.next.length > 0) expect(buffer.indexOf(Buffer.from(half.next))).toBe(-1);
      }
    }
  }
  // And the decoded state behaves exactly like the original one.
  const original = spqrSend(pq, seededRandom(c.checks));
  const restored = spqrSend(decoded, seededRandom(c.checks));
  expect(hex(restored.message)).toBe(hex(original.message));
  expect(hex(restored.key ?? new Uint8Array(0))).toBe(hex(original.key ?? new Uint8Array(0)));
  expect(hex(encodePqRatchetState(restored.state))).toBe(hex(encodePqRatchetState(original.state)));
  c.checks++;
  const kind = pq.scka?.kind ?? 'v0';
  conv.states.set(kind, once);
  conv.records.set(kind, recordBytes);
  return kind;
}

/**
 * A seeded conversation mixing strict ping-pong, short bursts and long one-sided runs (which
 * push the send_ek side into "ek received before ct1 acknowledged" and similar states), with a
 * few lost and reordered messages.
 */
async function converse(
  seed: number,
  messages: number,
): Promise<Conversation & { kinds: Set<string> }> {
  let s = seed;
  const rand = (n: number): number => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
  const duo = await makeDuo({ seed });
  const conv: Conversation = { states: new Map(), records: new Map(), field5s: [], checks: 0 };
  const counter = { checks: 0 };
  const kinds = new Set<string>();
  let from = duo.alice;
  let bobStarted = false;
  let sent = 0;
  while (sent < messages) {
    const to = from === duo.alice ? duo.bob : duo.alice;
    const shape = rand(10);
    // A send_ek side that has started on ct1 (header-sent) sometimes streams its whole ek at
    // once: the peer then holds the complete ek before ct1 is acknowledged.
    const senderKind = storedRecord(from, duo.peerOf(from)).currentState?.pqRatchet.scka?.kind;
    const runLength =
      senderKind === 'header-sent' && rand(2) === 0
        ? 40
        : shape < 5
          ? 1
          : shape < 8
            ? 1 + rand(5)
            : 30 + rand(20);
    const run = [];
    for (let i = 0; i < runLength; i++) {
      const text = `m${sent++}`;
      const m = await duo.send(from, text);
      conv.field5s.push(rawField5(m) as Uint8Array);
      kinds.add(checkStored(duo, from, counter, conv));
      run.push({ m, text });
    }
    if (runLength > 1 && rand(3) === 0) run.reverse();
    for (const [i, { m, text }] of run.entries()) {
      // Lose a few messages (never the first one, which creates Bob's session).
      if (sent > 1 && i > 0 && rand(20) === 0) continue;
      expect(await duo.recv(to, m)).toBe(text);
      if (to === duo.bob) bobStarted = true;
      kinds.add(checkStored(duo, to, counter, conv));
    }
    from = bobStarted && rand(10) < 7 ? to : from;
  }
  return { ...conv, checks: counter.checks, kinds };
}

let shared: ReturnType<typeof converse> | undefined;
/** The conversation, run once (by whichever test needs it first). */
const conversation = (): ReturnType<typeof converse> => (shared ??= converse(0x5eed, 900));

describe('stored SPQR state over a long conversation', () => {
  it('serialize → deserialize → serialize is byte-identical at every step, all 11 kinds reached', async () => {
    const conv = await conversation();
    expect(conv.checks).toBeGreaterThan(1_500);
    expect([...conv.kinds].sort()).toEqual([...ALL_KINDS].sort());
    expect([...conv.states.keys()].sort()).toEqual([...ALL_KINDS].sort());
  }, 120_000);
});

// -- corruption -----------------------------------------------------------------------------------

/** Decode, expecting success or InvalidRecordError only. */
function decodeOrRecordError<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof InvalidRecordError) || !isSignalError(e, 'ERR_INVALID_RECORD')) {
      throw new Error(`expected InvalidRecordError, got ${String(e)}`, { cause: e });
    }
    return undefined;
  }
}

type Mutation = readonly [position: number, value: number, op: 0 | 1 | 2 | 3];
const arbMutations = fc.array(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom<0 | 1 | 2 | 3>(0, 1, 2, 3)),
  { minLength: 1, maxLength: 4 },
);

/** Apply byte replacements (0), insertions (1), deletions (2) and truncations (3). */
function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = Array.from(bytes);
  for (const [pos, value, op] of mutations) {
    const at = pos % (b.length + 1);
    if (op === 0 && b.length > 0) b[at % b.length] = value === b[at % b.length] ? value ^ 1 : value;
    else if (op === 1) b.splice(at, 0, value);
    else if (op === 2 && b.length > 0) b.splice(at % b.length, 1);
    else if (op === 3) b = b.slice(0, at);
  }
  return Uint8Array.from(b);
}

describe('corrupted stored state: only InvalidRecordError', () => {
  it('random bytes (SPQR state and whole session records)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const pq = decodeOrRecordError(() => decodePqRatchetState(bytes));
        if (pq !== undefined) {
          const again = encodePqRatchetState(pq);
          expect(hex(encodePqRatchetState(decodePqRatchetState(again)))).toBe(hex(again));
        }
        decodeOrRecordError(() => SessionRecord.deserialize(bytes));
        decodeOrRecordError(() => SessionRecord.deserialize(Uint8Array.from([2, ...bytes])));
      }),
      fcRuns(3_000),
    );
  });

  it('mutations of real stored states of every kind', async () => {
    const conv = await conversation();
    const states = [...conv.states.values()];
    const records = [...conv.records.values()];
    let decoded = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: states.length - 1 }),
        arbMutations,
        fc.nat({ max: conv.field5s.length - 1 }),
        (which, mutations, msg) => {
          const bytes = mutate(states[which] as Uint8Array, mutations);
          const pq = decodeOrRecordError(() => decodePqRatchetState(bytes));
          if (pq === undefined) return;
          decoded++;
          // Still decodable: the re-encoding is stable ...
          const again = encodePqRatchetState(pq);
          expect(hex(encodePqRatchetState(decodePqRatchetState(again)))).toBe(hex(again));
          // ... and the SPQR layer fails, if at all, with typed errors only.
          for (const run of [
            () => spqrSend(pq, seededRandom(which)),
            () => spqrRecv(pq, conv.field5s[msg] as Uint8Array),
          ]) {
            try {
              run();
            } catch (e) {
              if (!(e instanceof SpqrError) && !isSignalError(e)) {
                throw new Error(`untyped failure on a decodable state: ${String(e)}`, { cause: e });
              }
            }
          }
        },
      ),
      fcRuns(4_000),
    );
    // The property was not vacuous: some mutants decode (e.g. changed key bytes).
    expect(decoded).toBeGreaterThan(50);
    fc.assert(
      fc.property(fc.nat({ max: records.length - 1 }), arbMutations, (which, mutations) => {
        const bytes = mutate(records[which] as Uint8Array, mutations);
        const record = decodeOrRecordError(() => SessionRecord.deserialize(bytes));
        if (record !== undefined) {
          const again = record.serialize();
          expect(hex(SessionRecord.deserialize(again).serialize())).toBe(hex(again));
        }
      }),
      fcRuns(1_500),
    );
  }, 120_000);
});
