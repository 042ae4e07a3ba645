/**
 * Bad SPQR input, at two levels.
 *
 * Session level (chiffre↔chiffre through SessionManager, store snapshots before/after): an
 * on-path attacker rewriting field 5 (the MAC then fails), and an authenticated peer sending bad
 * SPQR data (the message re-encrypted and re-MACed with the keys the receiver derives, so only
 * SPQR can refuse it). Every refusal is a typed ERR_INVALID_MESSAGE that leaves the store
 * unchanged, and the next valid message decrypts.
 *
 * Pure layer (spqrRecv on the SPQR states loaded from the parties' stored SessionRecords):
 * malformed and truncated payloads, chunks out of order, duplicated chunks, chunks from a wrong
 * epoch, a V1→V0 downgrade, corrupted header, ek, ct1 and ct2 chunks. Each refusal carries the
 * right SpqrError reason and never mutates its input state; a corrupted header or ciphertext is
 * caught by SPQR's own MAC exactly when its decoding completes; and the erasure code completes an
 * epoch when chunk-carrying messages were lost.
 */
import { describe, expect, it } from 'vitest';
import type { CiphertextMessage } from '../../src/index.js';
import {
  encodeSpqrMessage,
  type SpqrMessage,
  type SpqrFailure,
  spqrStatus,
} from '../../src/spqr/index.js';
import type { Party } from '../support/parties.js';
import {
  type Duo,
  expectCode,
  expectRecvRefused,
  field5,
  flipChunk,
  forgeForReceiver,
  makeDuo,
  PureDuo,
  rawField5,
  snapshotJson,
  storedPq,
  withField5,
} from './support.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const enc = encodeSpqrMessage;

/** A session with a few messages each way (V1 settled on both sides). */
async function settledDuo(seed: number): Promise<Duo> {
  const duo = await makeDuo({ seed });
  for (let i = 0; i < 3; i++) {
    await duo.exchange(duo.alice, `a${i}`);
    await duo.exchange(duo.bob, `b${i}`);
  }
  return duo;
}

/** `receiver` refuses `bad` (ERR_INVALID_MESSAGE, store unchanged) and then reads `good`. */
async function refusedThenGood(
  duo: Duo,
  receiver: Party,
  bad: CiphertextMessage,
  good: CiphertextMessage,
  goodText: string,
  label: string,
): Promise<void> {
  const before = snapshotJson(receiver);
  await expectCode(duo.recv(receiver, bad), 'ERR_INVALID_MESSAGE').catch((e: unknown) => {
    throw new Error(`${label}: ${String(e)}`);
  });
  expect(snapshotJson(receiver), `${label}: store unchanged`).toBe(before);
  expect(await duo.recv(receiver, good), `${label}: the genuine message still decrypts`).toBe(
    goodText,
  );
}

/** Variants of a genuine field 5 an attacker (or a broken peer) could send. */
function variants(f: Uint8Array, m: SpqrMessage): Record<string, Uint8Array | undefined> {
  const out: Record<string, Uint8Array | undefined> = {
    'stripped (downgrade to V0)': undefined,
    'truncated to 1 byte': f.slice(0, 1),
    'truncated to 3 bytes': f.slice(0, 3),
    'truncated by one byte': f.slice(0, f.length - 1),
    garbage: Uint8Array.of(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    'unknown type': Uint8Array.of(1, 1, 1, 9),
    'epoch 0': Uint8Array.of(1, 0, 1, 0),
    'a later epoch': enc({ ...m, epoch: m.epoch + 1 }),
    'a much later epoch': enc({ ...m, epoch: m.epoch + 5 }),
    'an index far ahead (over the jump limit)': enc({ ...m, index: m.index + 30_000 }),
    'version byte 2': Uint8Array.from([2, ...f.subarray(1)]),
    'the next index': enc({ ...m, index: m.index + 1 }),
    'trailing bytes': Uint8Array.from([...f, 0]),
  };
  if ('chunk' in m.payload) {
    out['a chunk byte flipped'] = enc(flipChunk(m, 5));
    out['another chunk index'] = enc({
      ...m,
      payload: { ...m.payload, chunk: { ...m.payload.chunk, index: m.payload.chunk.index + 1 } },
    });
    out['type changed'] = enc({
      ...m,
      payload: { ...m.payload, type: m.payload.type === 'ct1' ? 'ct2' : 'ct1' },
    });
  }
  return out;
}

describe('session level: a tampered field 5 is refused, nothing stored, the session goes on', () => {
  it('an on-path attacker rewriting field 5 (the MAC fails)', async () => {
    const duo = await settledDuo(11);
    const { alice, bob } = duo;
    let n = 0;
    let tried = 0;
    // Messages from both directions and several SCKA phases.
    for (let round = 0; round < 3; round++) {
      for (const [from, to] of [
        [alice, bob],
        [bob, alice],
      ] as const) {
        const probe = await duo.send(from, 'probe');
        expect(await duo.recv(to, probe)).toBe('probe');
        const names = Object.keys(
          variants(rawField5(probe) as Uint8Array, field5(probe) as SpqrMessage),
        );
        for (const name of names) {
          const text = `genuine ${n++}`;
          const genuine = await duo.send(from, text);
          // The same tampering, applied to this message's own field 5.
          const vs = variants(rawField5(genuine) as Uint8Array, field5(genuine) as SpqrMessage);
          if (!(name in vs)) {
            expect(await duo.recv(to, genuine)).toBe(text);
            continue;
          }
          await refusedThenGood(duo, to, withField5(genuine, vs[name]), genuine, text, name);
          tried++;
        }
      }
    }
    expect(tried).toBeGreaterThan(60);
    expect(await alice.manager.getSpqrStatus(bob.address)).toMatchObject({ version: 1 });
  });

  it('an authenticated peer sending bad SPQR data (the MAC passes; SPQR refuses)', async () => {
    const duo = await settledDuo(12);
    const { alice, bob } = duo;
    // The forgery works: with the genuine field 5 plus trailing bytes (allowed by the format),
    // the forged message is accepted with its new plaintext.
    const g0 = await duo.send(alice, 'original');
    const trailing = Uint8Array.from([...(rawField5(g0) as Uint8Array), 0x42]);
    expect(
      await duo.recv(bob, forgeForReceiver(bob, alice.address, g0, trailing, utf8('forged'))),
    ).toBe('forged');

    const received = await duo.send(alice, 'already received');
    expect(await duo.recv(bob, received)).toBe('already received');
    const receivedPq = rawField5(received) as Uint8Array;

    const expectations: [
      string,
      (f: Uint8Array, m: SpqrMessage) => Uint8Array | undefined,
      SpqrFailure,
    ][] = [
      ['field 5 stripped (downgrade)', () => undefined, 'version-mismatch'],
      ['truncated', (f) => f.slice(0, 3), 'malformed'],
      ['unknown type', () => Uint8Array.of(1, 1, 1, 9), 'malformed'],
      ['a later epoch', (_, m) => enc({ ...m, epoch: m.epoch + 1 }), 'epoch-out-of-range'],
      ['an index already used', () => receivedPq, 'key-already-requested'],
      ['a jump over 25,000', (_, m) => enc({ ...m, index: m.index + 25_001 }), 'key-jump'],
    ];
    let n = 0;
    for (const [name, make, reason] of expectations) {
      const text = `genuine ${n++}`;
      const genuine = await duo.send(alice, text);
      const pq = make(rawField5(genuine) as Uint8Array, field5(genuine) as SpqrMessage);
      // White box: this is SPQR's verdict on bob's stored state, which it leaves alone.
      expectRecvRefused(storedPq(bob, alice.address), pq ?? new Uint8Array(0), reason, name);
      const forged = forgeForReceiver(bob, alice.address, genuine, pq, utf8('forged'));
      await refusedThenGood(duo, bob, forged, genuine, text, name);
    }
    await duo.exchange(bob, 'the session works');
  });

  it('a corrupted ct2 chunk that passes the message MAC is caught by SPQR when ct2 completes', async () => {
    const duo = await makeDuo({ seed: 13 });
    const { alice, bob } = duo;
    await duo.exchange(alice, 'hello');
    // Ping-pong until Bob (send_ct, epoch 1) streams ct2 chunks.
    let bobMsg: CiphertextMessage | undefined;
    for (let i = 0; i < 200 && bobMsg === undefined; i++) {
      const m = await duo.send(bob, `b${i}`);
      if (field5(m)?.payload.type === 'ct2') bobMsg = m;
      else {
        expect(await duo.recv(alice, m)).toBe(`b${i}`);
        await duo.exchange(alice, `a${i}`);
      }
    }
    expect(bobMsg).toBeDefined();
    const first = bobMsg as CiphertextMessage;
    const firstPq = field5(first) as SpqrMessage;
    expect(firstPq.payload).toMatchObject({ type: 'ct2', chunk: { index: 0 } });
    // Bob's first ct2 chunk arrives corrupted but correctly authenticated: absorbed.
    const corrupted = forgeForReceiver(
      alice,
      bob.address,
      first,
      enc(flipChunk(firstPq, 3)),
      utf8('forged ct2'),
    );
    expect(await duo.recv(alice, corrupted)).toBe('forged ct2');
    // Bob's next ct2 chunks, delivered: the last one completes ct2 and SPQR's own MAC fails.
    const rest: CiphertextMessage[] = [];
    for (let i = 0; i < 4; i++) rest.push(await duo.send(bob, `ct2 ${i}`));
    for (let i = 0; i < 3; i++)
      expect(await duo.recv(alice, rest[i] as CiphertextMessage)).toBe(`ct2 ${i}`);
    const last = rest[3] as CiphertextMessage;
    expectRecvRefused(storedPq(alice, bob.address), rawField5(last) as Uint8Array, 'mac');
    const before = snapshotJson(alice);
    await expectCode(duo.recv(alice, last), 'ERR_INVALID_MESSAGE');
    expect(snapshotJson(alice)).toBe(before);
    expect(spqrStatus(storedPq(alice, bob.address)).completedEpochs).toBe(0);
  });

  it('dropped chunk-carrying messages: the erasure code still completes the epochs', async () => {
    const duo = await makeDuo({ seed: 14 });
    const { alice, bob } = duo;
    let dropped = 0;
    let parityUsed = false;
    for (let i = 0; i < 200; i++) {
      for (const [from, to] of [
        [alice, bob],
        [bob, alice],
      ] as const) {
        const m = await duo.send(from, `${from.name} ${i}`);
        const pq = field5(m) as SpqrMessage;
        const p = pq.payload;
        // Lose every 5th chunk of ek and ct1 (never the very first message).
        if ('chunk' in p && (p.type === 'ct1' || p.type === 'ek') && p.chunk.index % 5 === 2) {
          dropped++;
          continue;
        }
        if (
          'chunk' in p &&
          ((p.type === 'ct1' && p.chunk.index >= 30) ||
            (p.type.startsWith('ek') && p.chunk.index >= 36))
        ) {
          parityUsed = true;
        }
        expect(await duo.recv(to, m)).toBe(`${from.name} ${i}`);
      }
    }
    expect(dropped).toBeGreaterThan(10);
    expect(parityUsed).toBe(true);
    for (const [p, q] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      expect((await p.manager.getSpqrStatus(q.address))?.completedEpochs).toBeGreaterThanOrEqual(2);
    }
  });
});

// -- the pure layer -----------------------------------------------------------------------------

/** Pure SPQR states taken from a real session: Alice sent one message, Bob read it. */
async function pureFromSession(seed: number): Promise<PureDuo> {
  const duo = await makeDuo({ seed });
  await duo.exchange(duo.alice, 'hello');
  return new PureDuo(
    storedPq(duo.alice, duo.bob.address),
    storedPq(duo.bob, duo.alice.address),
    seed,
  );
}

/** Send from `from` and deliver to the other side, checking both ends derive the same key. */
function deliver(p: PureDuo, from: 'a' | 'b', bytes?: Uint8Array): void {
  const to = from === 'a' ? 'b' : 'a';
  if (bytes !== undefined) {
    p.recv(to, bytes);
    return;
  }
  const s = p.send(from);
  expect(Buffer.from(p.recv(to, s.bytes) ?? []).toString('hex')).toBe(
    Buffer.from(s.key ?? []).toString('hex'),
  );
}

describe('pure layer: spqrRecv on stored states', () => {
  it('malformed or truncated payloads: "malformed", input untouched', async () => {
    const p = await pureFromSession(21);
    expect(p.kind('b')).toBe('no-header-received');
    const g = p.send('a');
    const cases: Uint8Array[] = [
      Uint8Array.of(1),
      Uint8Array.of(0x01, 0x80),
      Uint8Array.of(1, 1, 1, 7),
      Uint8Array.of(1, 0, 2, 1, 0, ...new Uint8Array(32)),
      Uint8Array.of(1, ...new Array<number>(11).fill(0xff)),
    ];
    for (let k = 1; k < g.bytes.length; k++) cases.push(g.bytes.slice(0, k));
    for (const c of cases) expectRecvRefused(p.b, c, 'malformed', Buffer.from(c).toString('hex'));
    // The genuine message still works on the untouched state.
    deliver(p, 'a', g.bytes);
    expect(spqrStatus(p.b)).toMatchObject({ version: 1, negotiating: false });
  });

  it('a V1 → V0 downgrade after negotiation: "version-mismatch"', async () => {
    const p = await pureFromSession(22);
    expectRecvRefused(p.b, new Uint8Array(0), 'version-mismatch');
    deliver(p, 'b');
    expectRecvRefused(p.a, new Uint8Array(0), 'version-mismatch');
  });

  it('chunks out of order and runs delivered shuffled: epochs complete, keys agree', async () => {
    const p = await pureFromSession(23);
    let seed = 1;
    const shuffle = <T>(xs: T[]): T[] => {
      for (let i = xs.length - 1; i > 0; i--) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        const j = seed % (i + 1);
        [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
      }
      return xs;
    };
    let from: 'a' | 'b' = 'a';
    for (let turn = 0; turn < 16; turn++) {
      const run = Array.from({ length: 40 }, () => p.send(from));
      const to: 'a' | 'b' = from === 'a' ? 'b' : 'a';
      for (const s of turn % 2 === 0 ? shuffle(run) : run.reverse()) {
        expect(Buffer.from(p.recv(to, s.bytes) ?? []).toString('hex')).toBe(
          Buffer.from(s.key ?? []).toString('hex'),
        );
      }
      from = to;
    }
    expect(spqrStatus(p.a).completedEpochs).toBeGreaterThanOrEqual(3);
    expect(spqrStatus(p.b).completedEpochs).toBeGreaterThanOrEqual(3);
  });

  it('duplicated chunks do not count twice; a replayed message is "key-already-requested"', async () => {
    const p = await pureFromSession(24);
    expect(p.kind('b')).toBe('no-header-received');
    const m1 = p.send('a');
    expect(m1.message.payload).toMatchObject({ type: 'hdr', chunk: { index: 1 } });
    deliver(p, 'a', m1.bytes);
    expectRecvRefused(p.b, m1.bytes, 'key-already-requested', 'the same message again');
    // Chunk 1 again, twice, under fresh (far ahead) indexes: the header is still incomplete.
    for (const index of [1000, 1001]) {
      p.recv('b', enc({ ...m1.message, index }));
      expect(p.kind('b')).toBe('no-header-received');
    }
    // Chunk 2 completes it.
    const m2 = p.send('a');
    p.recv('b', m2.bytes);
    expect(p.kind('b')).toBe('header-received');
  });

  it('a chunk from a later epoch: "epoch-out-of-range"; from ct2-sampled only epoch + 1 moves on', async () => {
    const p = await pureFromSession(25);
    const g = p.send('a');
    expectRecvRefused(p.b, enc({ ...g.message, epoch: 2 }), 'epoch-out-of-range', 'epoch 2 at 1');
    deliver(p, 'a', g.bytes);
    // Drive Bob to ct2-sampled (epoch 1).
    p.pingPongUntil(() => p.kind('b') === 'ct2-sampled');
    const epoch = p.b.scka?.epoch as number;
    const a = p.send('a');
    expectRecvRefused(p.b, enc({ ...a.message, epoch: epoch + 2 }), 'epoch-out-of-range', 'e + 2');
    deliver(p, 'a', a.bytes);
    // Alice's next epoch is what moves Bob on.
    p.pingPongUntil(() => p.b.scka?.epoch === epoch + 1);
    expect(p.kind('b')).toMatch(/^keys-/);
  });

  it('a corrupted header chunk: "mac" when the header completes', async () => {
    for (const chunkIndex of [1, 2]) {
      const p = await pureFromSession(26 + chunkIndex);
      const m1 = p.send('a');
      const m2 = p.send('a');
      expect(m2.message.payload).toMatchObject({ type: 'hdr', chunk: { index: 2 } });
      // Chunk 1 carries the end of the header (H(ek)), chunk 2 its MAC.
      const first = chunkIndex === 1 ? enc(flipChunk(m1.message, 7)) : m1.bytes;
      const completing = chunkIndex === 1 ? m2.bytes : enc(flipChunk(m2.message, 31, 0x80));
      p.recv('b', first);
      expect(p.kind('b')).toBe('no-header-received');
      expectRecvRefused(p.b, completing, 'mac', `hdr chunk ${chunkIndex}`);
      // Untampered, the same sequence completes the header.
      const q = await pureFromSession(26 + chunkIndex);
      deliver(q, 'a');
      deliver(q, 'a');
      expect(q.kind('b')).toBe('header-received');
    }
  });

  it('a corrupted ct2 chunk or ct2 MAC: "mac" when ct2 completes', async () => {
    for (const [chunk, at] of [
      [0, 0],
      [3, 17],
      [4, 31],
    ] as const) {
      const p = await pureFromSession(30 + chunk);
      p.pingPongUntil(() => p.kind('b') === 'ct2-sampled');
      // Alice waits for ct2; Bob streams chunks 0..4 (ct2 ‖ MAC = 160 bytes).
      const ct2 = Array.from({ length: 5 }, () => p.send('b'));
      expect(ct2.map((s) => s.message.payload.type)).toEqual(['ct2', 'ct2', 'ct2', 'ct2', 'ct2']);
      const order = [0, 1, 2, 3, 4].filter((i) => i !== chunk).concat([chunk]);
      const epochsBefore = spqrStatus(p.a).completedEpochs;
      for (const i of order.slice(0, 4)) p.recv('a', (ct2[i] as { bytes: Uint8Array }).bytes);
      const bad = enc(flipChunk((ct2[chunk] as { message: SpqrMessage }).message, at));
      expectRecvRefused(p.a, bad, 'mac', `ct2 chunk ${chunk} byte ${at}`);
      // The genuine last chunk completes the epoch.
      p.recv('a', (ct2[chunk] as { bytes: Uint8Array }).bytes);
      expect(spqrStatus(p.a).completedEpochs).toBe(epochsBefore + 1);
    }
  });

  it('a corrupted ct1 chunk: "mac" when ct2 completes (the ciphertext MAC covers ct1)', async () => {
    const p = await pureFromSession(40);
    // Deliver Bob's ct1 chunks to Alice with chunk 4 corrupted; everything else in ping-pong.
    let corrupted = false;
    for (let i = 0; i < 300 && p.kind('a') !== 'ek-sent-ct1-received'; i++) {
      deliver(p, 'a');
      const s = p.send('b');
      const pl = s.message.payload;
      if (!corrupted && pl.type === 'ct1' && pl.chunk.index === 4) {
        p.recv('a', enc(flipChunk(s.message, 9)));
        corrupted = true;
      } else {
        p.recv('a', s.bytes);
      }
    }
    expect(corrupted).toBe(true);
    // Alice has ct2 chunk 0; chunks 1 … 3 are absorbed, chunk 4 completes ct2 and the
    // ciphertext MAC (over the corrupted ct1) fails.
    const ct2 = Array.from({ length: 4 }, () => p.send('b'));
    expect(ct2.map((c) => c.message.payload)).toMatchObject(
      [1, 2, 3, 4].map((index) => ({ type: 'ct2', chunk: { index } })),
    );
    for (const c of ct2.slice(0, 3)) p.recv('a', c.bytes);
    expectRecvRefused(p.a, (ct2[3] as { bytes: Uint8Array }).bytes, 'mac', 'ct2 completes');
  });

  it('a corrupted ek chunk: "erroneous-data" when ek completes (it must match the header)', async () => {
    const p = await pureFromSession(41);
    let corrupted = false;
    let refused = false;
    for (let i = 0; i < 300 && !refused; i++) {
      const s = p.send('a');
      const pl = s.message.payload;
      if (!corrupted && (pl.type === 'ek' || pl.type === 'ek-ct1-ack') && pl.chunk.index === 3) {
        p.recv('b', enc(flipChunk(s.message, 0)));
        corrupted = true;
      } else if (corrupted && 'chunk' in pl && pl.chunk.index === 35) {
        // The 36th distinct ek chunk completes ek.
        expectRecvRefused(p.b, s.bytes, 'erroneous-data', 'ek completes');
        refused = true;
        break;
      } else {
        p.recv('b', s.bytes);
      }
      deliver(p, 'b');
    }
    expect(refused).toBe(true);
  });

  it('lost ct1 messages: the epoch completes from later (parity) chunks', async () => {
    const p = await pureFromSession(42);
    const lost = new Set([0, 5, 11, 17, 29]);
    const ct1Seen: number[] = [];
    for (let i = 0; i < 300 && spqrStatus(p.a).completedEpochs === 0; i++) {
      deliver(p, 'a');
      const s = p.send('b');
      const pl = s.message.payload;
      if (pl.type === 'ct1' && lost.has(pl.chunk.index)) continue;
      if (
        pl.type === 'ct1' &&
        p.kind('a') !== 'ct1-received' &&
        p.kind('a') !== 'ek-sent-ct1-received'
      ) {
        ct1Seen.push(pl.chunk.index);
      }
      p.recv('a', s.bytes);
    }
    expect(spqrStatus(p.a).completedEpochs).toBe(1);
    // Alice needed chunks past the 30 systematic ones, and never got the lost ones.
    expect(ct1Seen.some((c) => c >= 30)).toBe(true);
    expect(ct1Seen.filter((c) => lost.has(c))).toEqual([]);
    // And the keys keep agreeing in the next epoch.
    p.pingPongUntil(() => spqrStatus(p.b).completedEpochs >= 2);
    for (let i = 0; i < 5; i++) {
      deliver(p, 'a');
      deliver(p, 'b');
    }
  });
});
