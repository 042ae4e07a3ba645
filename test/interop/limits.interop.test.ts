/**
 * libsignal's limits as seen across the wire (libsignal-wire.md §6.1, §11): the window of kept
 * skipped message keys and the cap of 5 receiving chains (the forward-jump limit is in
 * `forward-jump.interop.slow.test.ts`). Each scenario
 * is run as libsignal ↔ libsignal (the reference) and with chiffre on either end; the outcome of
 * every probe must match the reference exactly — chiffre must neither exceed nor undercut
 * libsignal's limits.
 */
import { describe, expect, it } from 'vitest';
import { acknowledged, enc, type Impl, probe, sendMany, type Side } from './helpers.js';

/** The four ways chiffre can take part, and the libsignal-only reference of the same shape. */
const placements: { name: string; a: Impl; b: Impl; sender: 0 | 1 }[] = [
  {
    name: 'chiffre sends (initiator), libsignal receives',
    a: 'chiffre',
    b: 'libsignal',
    sender: 0,
  },
  {
    name: 'libsignal sends (initiator), chiffre receives',
    a: 'libsignal',
    b: 'chiffre',
    sender: 0,
  },
  {
    name: 'chiffre sends (responder), libsignal receives',
    a: 'libsignal',
    b: 'chiffre',
    sender: 1,
  },
  {
    name: 'libsignal sends (responder), chiffre receives',
    a: 'chiffre',
    b: 'libsignal',
    sender: 1,
  },
];

describe('limits match libsignal', () => {
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
