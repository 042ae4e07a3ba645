/**
 * The forward-jump limit across the wire (libsignal-wire.md §6.1, §11): a receiver refuses a
 * message too far ahead in its chain. Run as libsignal ↔ libsignal (the reference) and with chiffre
 * as sender and as receiver; every probe must give the reference's outcome. Slow: each run sends
 * 25,003 messages.
 */
import { describe, expect, it } from 'vitest';
import { acknowledged, type Impl, probe, sendMany } from './helpers.js';

const N = 25_003;
/** Delivered in this order after message 0; refusals leave the state unchanged. */
const PROBES = [25_002, 25_001, 25_000, 24_999, 1, 5_000, 23_000, 23_001, 24_998];

async function scenario(a: Impl, b: Impl, codes?: string[]): Promise<string[]> {
  const [s, r] = await acknowledged(a, b);
  const ms = await sendMany(s, N);
  const out = [`0:${await probe(r, ms, 0, codes)}`];
  for (const i of PROBES) out.push(`${String(i)}:${await probe(r, ms, i, codes)}`);
  return out;
}

/** The reference run, libsignal ↔ libsignal. */
async function reference(): Promise<string[]> {
  const ref = await scenario('libsignal', 'libsignal');
  // The documented values (libsignal-wire.md §11): 25,001 ahead is refused everywhere; with
  // SPQR the effective limit is 24,999.
  expect(ref.slice(0, 5)).toEqual([
    '0:ok',
    '25002:refused',
    '25001:refused',
    '25000:ok',
    '24999:ok',
  ]);
  return ref;
}

describe('forward-jump limit matches libsignal (SPQR on)', () => {
  it('chiffre receives from libsignal', async () => {
    const ref = await reference();
    const codes: string[] = [];
    expect(await scenario('libsignal', 'chiffre', codes)).toEqual(ref);
    // chiffre names the cause of the refusal beyond the ratchet's limit.
    expect(codes[0]).toBe('ERR_MESSAGE_GAP_TOO_LARGE');
  });

  it('libsignal receives from chiffre', async () => {
    const ref = await reference();
    expect(await scenario('chiffre', 'libsignal')).toEqual(ref);
  });
});
