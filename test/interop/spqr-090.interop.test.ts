/**
 * SPQR version negotiation against libsignal-client 0.90.0 (spqr 1.5.1, minimum version V0):
 *
 * - with chiffre's default policy ('require-v1') and with 'allow-v0', in both roles, V1 is
 *   negotiated (0.90 speaks V1): chiffre reports version 1 and stops negotiating at its first
 *   received message, and the ML-KEM epochs advance on both sides over a few hundred messages;
 * - the first messages of a side whose minimum is V0 (libsignal 0.90, chiffre 'allow-v0') carry
 *   field 5 with index 0 (no key) until that side has heard from its peer; a 'require-v1' side
 *   salts from its first message;
 * - a pre-SPQR (V0) peer, simulated by a chiffre session without SPQR state: 0.90 falls back to
 *   V0 for the whole session in both roles (libsignal-wire.md §7.2), whereas 0.103 refuses it.
 */
import { describe, expect, it } from 'vitest';
import type { CiphertextMessage } from '../../src/index.js';
import {
  dec,
  enc,
  establishSpqr,
  field5,
  lib0103,
  lib090 as lib,
  makeChiffreV0,
  type Peer,
  type Policy,
  snapshotOf,
  type SpqrPair,
  tryDecrypt,
} from './spqr-support.js';

interface Exchange {
  readonly message: CiphertextMessage;
  readonly epoch: number | undefined;
  readonly index: number | undefined;
}

/** Encrypt on `from`, decrypt on `to`, check the plaintext; report field 5. */
async function send(from: Peer, to: Peer, text: string): Promise<Exchange> {
  const message = await from.encrypt(enc(text));
  expect(dec(await to.decrypt(message))).toBe(text);
  const pq = field5(message);
  return { message, epoch: pq?.epoch, index: pq?.index };
}

async function negotiate(pair: SpqrPair, policy: Policy): Promise<void> {
  const aliceIsChiffre = pair.initiator === 'chiffre';
  // Before anything was received, chiffre's initiator session is still negotiating.
  expect(await pair.status()).toEqual(
    aliceIsChiffre ? { version: 1, negotiating: true, epoch: 1, completedEpochs: 0 } : null,
  );
  // Alice's first messages: V1, epoch 1, header chunks. Keyed from the start only when Alice
  // requires V1 (chiffre's default); a V0-tolerant Alice (0.90, 'allow-v0') has no key yet.
  const aliceKeyed = aliceIsChiffre && policy === 'require-v1';
  for (let i = 0; i < 3; i++) {
    const e = await send(pair.alice, pair.bob, `alice first ${i}`);
    expect(e.message.type).toBe('prekey');
    const pq = field5(e.message);
    expect(pq?.epoch).toBe(1);
    expect(pq?.payload.type).toBe('hdr');
    expect(e.index).toBe(aliceKeyed ? i + 1 : 0);
    // chiffre as Bob settles on V1 with its first received message; as Alice it is still
    // negotiating, having heard nothing yet.
    expect(await pair.status()).toMatchObject({
      version: 1,
      negotiating: aliceIsChiffre,
      epoch: 1,
    });
  }
  // Bob's reply is keyed (his chain started when he received V1), and so is everything after.
  const reply = await send(pair.bob, pair.alice, 'bob first');
  expect(reply.message.type).toBe('whisper');
  expect(reply.epoch).toBe(1);
  expect(reply.index).toBe(1);
  expect(await pair.status()).toMatchObject({ version: 1, negotiating: false });
  const next = await send(pair.alice, pair.bob, 'alice after reply');
  expect(next.message.type).toBe('whisper');
  expect(next.index).toBe(aliceKeyed ? 4 : 1);
}

/** `rounds` ping-pong rounds; returns the highest epoch each side put in field 5. */
async function pingPong(pair: SpqrPair, rounds: number): Promise<{ alice: number; bob: number }> {
  const max = { alice: 0, bob: 0 };
  for (let i = 0; i < rounds; i++) {
    const a = await send(pair.alice, pair.bob, `ping ${i}`);
    const b = await send(pair.bob, pair.alice, `pong ${i}`);
    expect(a.index).toBeGreaterThanOrEqual(1);
    expect(b.index).toBeGreaterThanOrEqual(1);
    max.alice = Math.max(max.alice, a.epoch ?? 0);
    max.bob = Math.max(max.bob, b.epoch ?? 0);
  }
  return max;
}

describe('SPQR V1 negotiated with libsignal 0.90', () => {
  for (const policy of ['require-v1', 'allow-v0'] as const) {
    for (const initiator of ['chiffre', 'libsignal'] as const) {
      it(`policy ${policy}, ${initiator} initiator: V1, epochs advance on both sides`, async () => {
        const pair = await establishSpqr(lib, initiator, { policy });
        await negotiate(pair, policy);
        const max = await pingPong(pair, 150);
        const status = await pair.status();
        expect(status).toMatchObject({ version: 1, negotiating: false });
        expect(status?.completedEpochs).toBeGreaterThanOrEqual(2);
        const libRole = initiator === 'libsignal' ? 'alice' : 'bob';
        const chiffreRole = libRole === 'alice' ? 'bob' : 'alice';
        // libsignal's own field 5: at least two completed epochs (message epoch ≥ 3).
        expect(max[libRole]).toBeGreaterThanOrEqual(3);
        expect(max[chiffreRole]).toBeGreaterThanOrEqual(3);
        expect(max[chiffreRole] - 1).toBeLessThanOrEqual(status?.completedEpochs ?? 0);
      });
    }
  }
});

describe('a pre-SPQR (V0) peer', () => {
  it('0.90 as responder downgrades to V0 for good; the session works both ways', async () => {
    const pair = await establishSpqr(lib, 'chiffre');
    makeChiffreV0(pair);
    expect(await pair.status()).toEqual({
      version: 0,
      negotiating: false,
      epoch: 0,
      completedEpochs: 0,
    });
    for (let i = 0; i < 40; i++) {
      const a = await send(pair.alice, pair.bob, `v0 alice ${i}`);
      const b = await send(pair.bob, pair.alice, `v0 bob ${i}`);
      expect(a.message.type).toBe(i === 0 ? 'prekey' : 'whisper');
      // Neither side ever writes field 5 again.
      expect(a.epoch).toBeUndefined();
      expect(b.epoch).toBeUndefined();
    }
  });

  it('0.90 as initiator downgrades when the responder answers without SPQR', async () => {
    const pair = await establishSpqr(lib, 'libsignal');
    // 0.90's first messages carry V1 field 5 without a key (index 0), so a peer without SPQR,
    // which ignores field 5 and salts nothing, reads them.
    const first = await send(pair.alice, pair.bob, 'first');
    expect(first.index).toBe(0);
    makeChiffreV0(pair);
    const second = await send(pair.alice, pair.bob, 'second');
    expect(second.index).toBe(0);
    const reply = await send(pair.bob, pair.alice, 'reply without field 5');
    expect(reply.epoch).toBeUndefined();
    for (let i = 0; i < 30; i++) {
      const a = await send(pair.alice, pair.bob, `a ${i}`);
      const b = await send(pair.bob, pair.alice, `b ${i}`);
      expect(a.epoch, 'libsignal downgraded: no field 5').toBeUndefined();
      expect(b.epoch).toBeUndefined();
    }
    expect(await pair.status()).toMatchObject({ version: 0 });
  });

  it('0.103 refuses the same V0 peer, state unchanged (0.90 accepts it)', async () => {
    for (const [version, l] of [
      ['0.103', lib0103],
      ['0.90', lib],
    ] as const) {
      const pair = await establishSpqr(l, 'chiffre');
      makeChiffreV0(pair);
      const message = await pair.alice.encrypt(enc('no SPQR'));
      expect(field5(message)).toBeUndefined();
      const before = snapshotOf(pair, 'libsignal');
      const r = await tryDecrypt(l, pair.bob, message);
      if (version === '0.103') {
        expect(r.outcome).toBe('refused');
        expect(snapshotOf(pair, 'libsignal')).toBe(before);
      } else {
        expect(r.outcome).toBe('ok');
        expect(dec(r.plaintext as Uint8Array)).toBe('no SPQR');
      }
    }
  });

  it('a chiffre responder with an allow-v0 policy meets a 0.90 initiator in V1, not V0', async () => {
    // 0.90 offers V1 (index 0 at first): 'allow-v0' must not fall back when V1 is on offer.
    const pair = await establishSpqr(lib, 'libsignal', { policy: 'allow-v0' });
    await send(pair.alice, pair.bob, 'hello');
    expect(await pair.status()).toMatchObject({ version: 1, negotiating: false });
    const reply = await send(pair.bob, pair.alice, 'hi');
    expect(reply.index).toBe(1);
  });
});
