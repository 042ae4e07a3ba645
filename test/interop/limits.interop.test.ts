/**
 * libsignal's limits as seen across the wire (libsignal-wire.md §6.1, §11): the forward-jump
 * limit, the window of kept skipped message keys, and the cap of 5 receiving chains. Each scenario
 * is run as libsignal ↔ libsignal (the reference) and with chiffre on either end; the outcome of
 * every probe must match the reference exactly — chiffre must neither exceed nor undercut
 * libsignal's limits.
 */
import { describe, expect, it } from 'vitest';
import type { CiphertextMessage } from '../../src/index.js';
import { dec, enc, failure, type Impl, makeSides, type Side } from './helpers.js';

/** Outcome of one delivery, checked against the plaintext when it decrypts. */
async function probe(to: Side, messages: CiphertextMessage[], i: number): Promise<string> {
  try {
    const pt = dec(await to.decrypt(messages[i] as CiphertextMessage));
    return pt === `m${String(i)}` ? 'ok' : `WRONG ${pt}`;
  } catch (e) {
    return failure(e);
  }
}

/** A session started by side 0 with one round trip done, so both sides send whisper messages. */
async function acknowledged(a: Impl, b: Impl): Promise<[Side, Side]> {
  const sides = makeSides(a, b);
  await sides[0].start();
  await sides[1].decrypt(await sides[0].encrypt(enc('hello')));
  await sides[0].decrypt(await sides[1].encrypt(enc('hi')));
  return sides;
}

async function sendMany(from: Side, n: number): Promise<CiphertextMessage[]> {
  const out: CiphertextMessage[] = [];
  for (let i = 0; i < n; i++) out.push(await from.encrypt(enc(`m${String(i)}`)));
  return out;
}

/** The four ways chiffre can take part, and the libsignal-only reference of the same shape. */
const placements: { name: string; a: Impl; b: Impl; sender: 0 | 1 }[] = [
  { name: 'chiffre sends (initiator), libsignal receives', a: 'chiffre', b: 'libsignal', sender: 0 },
  { name: 'libsignal sends (initiator), chiffre receives', a: 'libsignal', b: 'chiffre', sender: 0 },
  { name: 'chiffre sends (responder), libsignal receives', a: 'libsignal', b: 'chiffre', sender: 1 },
  { name: 'libsignal sends (responder), chiffre receives', a: 'chiffre', b: 'libsignal', sender: 1 },
];

describe('limits match libsignal', () => {
  it('forward jumps: 25,000-message limit within one chain (SPQR on)', async () => {
    // Two placements keep the run time down: chiffre as sender and as receiver.
    const N = 25_003;
    const probes = [25_002, 25_001, 25_000, 24_999, 1, 5_000, 23_000, 23_001, 24_998];
    const scenario = async (a: Impl, b: Impl): Promise<string[]> => {
      const [s, r] = await acknowledged(a, b);
      const ms = await sendMany(s, N);
      const out = [`0:${await probe(r, ms, 0)}`];
      for (const i of probes) out.push(`${String(i)}:${await probe(r, ms, i)}`);
      return out;
    };
    const ref = await scenario('libsignal', 'libsignal');
    // The documented values (libsignal-wire.md §11): 25,001 ahead is refused everywhere; with
    // SPQR the effective limit is 24,999.
    expect(ref.slice(0, 5)).toEqual(['0:ok', '25002:refused', '25001:refused', '25000:ok', '24999:ok']);
    expect(await scenario('chiffre', 'libsignal')).toEqual(ref);
    expect(await scenario('libsignal', 'chiffre')).toEqual(ref);
  });

  describe.each(placements)('$name', ({ a, b, sender }) => {
    it('skipped message keys: the 2,000-key window', async () => {
      const N = 2_010;
      const probes = [2_009, 0, 8, 9, 10, 2_008, 1_000, 5, 9, 2_009];
      const scenario = async (x: Impl, y: Impl): Promise<string[]> => {
        const sides = await acknowledged(x, y);
        const s = sides[sender];
        const r = sides[1 - sender] as Side;
        const ms = await sendMany(s, N);
        const out: string[] = [];
        for (const i of probes) out.push(`${String(i)}:${await probe(r, ms, i)}`);
        // The conversation continues.
        await s.decrypt(await r.encrypt(enc('m0')));
        return out;
      };
      const ref = await scenario('libsignal', 'libsignal');
      // Sanity of the reference: the newest message decrypts, the window edge is refused.
      expect(ref[0]).toBe('2009:ok');
      expect(ref).toContain('0:duplicate');
      expect(await scenario(a, b)).toEqual(ref);
    });

    it('receiving chains: a held-back message survives up to the 5-chain cap', async () => {
      const scenario = async (x: Impl, y: Impl): Promise<string[]> => {
        const out: string[] = [];
        for (let turns = 1; turns <= 7; turns++) {
          const sides = await acknowledged(x, y);
          const s = sides[sender];
          const r = sides[1 - sender] as Side;
          // s sends two messages on its current chain; r gets only the second.
          const held = await sendMany(s, 2);
          await probe(r, held, 1);
          // `turns` full round trips: each gives r a new receiving chain.
          for (let t = 0; t < turns; t++) {
            await s.decrypt(await r.encrypt(enc('m0')));
            await r.decrypt(await s.encrypt(enc('m0')));
          }
          out.push(`${String(turns)}:${await probe(r, held, 0)}`);
          // Whatever happened, the conversation goes on.
          await s.decrypt(await r.encrypt(enc('m0')));
          await r.decrypt(await s.encrypt(enc('m0')));
        }
        return out;
      };
      const ref = await scenario('libsignal', 'libsignal');
      expect(ref[0]).toBe('1:ok');
      expect(ref[6]).toBe('7:refused');
      expect(await scenario(a, b)).toEqual(ref);
    });
  });
});
