/**
 * Differential model test against libsignal-client 0.90 (STYLE.md §1.11 "Model test"): two
 * participants run the same seeded schedule of random events — send bursts, deliver in-flight
 * messages in any order, duplicate deliveries, drop everything in flight, and either side fetching
 * a fresh bundle (new session while old messages are still in flight) — once as
 * libsignal ↔ libsignal (the reference) and once each as chiffre ↔ libsignal in both role
 * assignments. The outcome of every operation (message type, decrypted / duplicate / refused) must
 * be identical to the reference, so chiffre's session selection, archiving, promotion and limits
 * behave exactly like libsignal's from the outside.
 */
import { describe, expect, it } from 'vitest';
import type { CiphertextMessage } from '../../src/index.js';
import { dec, enc, failure, type Impl, makeSides, type Side, Xorshift } from './helpers.js';

const STEPS = 300;
/** Seeds chosen so that the schedules also hit refusals (e.g. evicted receiver chains). */
const SEEDS = [13, 11, 12];

/** Run the seeded schedule; return the trace of outcomes. */
async function run(a: Impl, b: Impl, seed: number): Promise<string[]> {
  const rng = new Xorshift(seed);
  const sides = makeSides(a, b);
  /** In-flight messages to each side. */
  const inFlight: { id: number; message: CiphertextMessage }[][] = [[], []];
  const trace: string[] = [];
  let nextId = 0;
  await sides[0].start();
  for (let step = 0; step < STEPS; step++) {
    const x = rng.int(0, 1);
    const me = sides[x] as Side;
    const r = rng.next();
    if (r < 0.4) {
      const n = rng.int(1, 10);
      for (let k = 0; k < n; k++) {
        const id = nextId++;
        try {
          const message = await me.encrypt(enc(`message ${String(id)}`));
          (inFlight[1 - x] as { id: number; message: CiphertextMessage }[]).push({ id, message });
          trace.push(`${String(step)} ${String(x)} send ${message.type}`);
        } catch (e) {
          trace.push(`${String(step)} ${String(x)} send ${failure(e)}`);
        }
      }
    } else if (r < 0.9) {
      const pool = inFlight[x] as { id: number; message: CiphertextMessage }[];
      const n = Math.min(pool.length, rng.int(1, 6));
      for (let k = 0; k < n; k++) {
        // Mostly one of the oldest, sometimes anything in flight; sometimes keep a copy.
        const i = rng.chance(0.3)
          ? rng.int(0, Math.min(2, pool.length - 1))
          : rng.int(0, pool.length - 1);
        const item = pool[i] as { id: number; message: CiphertextMessage };
        if (!rng.chance(0.2)) pool.splice(i, 1);
        let outcome: string;
        try {
          const pt = dec(await me.decrypt(item.message));
          outcome = pt === `message ${String(item.id)}` ? 'ok' : `WRONG PLAINTEXT ${pt}`;
        } catch (e) {
          outcome = failure(e);
        }
        trace.push(`${String(step)} ${String(x)} receive #${String(item.id)} ${outcome}`);
      }
    } else if (r < 0.97) {
      try {
        await me.start();
        trace.push(`${String(step)} ${String(x)} new session`);
      } catch (e) {
        trace.push(`${String(step)} ${String(x)} new session ${failure(e)}`);
      }
    } else {
      (inFlight[x] as unknown[]).length = 0;
      trace.push(`${String(step)} ${String(x)} drop all`);
    }
  }
  return trace;
}

function expectSameTrace(got: string[], ref: string[], label: string): void {
  const i = ref.findIndex((v, j) => v !== got[j]);
  if (i >= 0 || got.length !== ref.length) {
    const at = i >= 0 ? i : Math.min(got.length, ref.length);
    const ctx = (t: string[]) => t.slice(Math.max(0, at - 6), at + 2).join('\n    ');
    expect.fail(
      `${label}: first difference at #${String(at)}\n  libsignal↔libsignal:\n    ${ctx(ref)}\n  ${label}:\n    ${ctx(got)}`,
    );
  }
}

describe('differential model test: chiffre ↔ libsignal behaves like libsignal ↔ libsignal', () => {
  for (const [a, b] of [
    ['chiffre', 'libsignal'],
    ['libsignal', 'chiffre'],
  ] as const) {
    it(`${a} starts, ${b} answers: same outcomes under random send/deliver/duplicate/drop/new-session events`, async () => {
      const totals = new Map<string, number>();
      for (const seed of SEEDS) {
        const ref = await run('libsignal', 'libsignal', seed);
        const got = await run(a, b, seed);
        expectSameTrace(got, ref, `${a}↔${b} (seed ${String(seed)})`);
        for (const line of got) {
          const kind = line
            .split(' ')
            .slice(2)
            .filter((w) => !w.startsWith('#'))
            .join(' ');
          totals.set(kind, (totals.get(kind) ?? 0) + 1);
        }
      }
      // The schedules covered the interesting outcomes.
      for (const kind of [
        'send prekey',
        'send whisper',
        'receive ok',
        'receive duplicate',
        'receive refused',
        'send refused',
        'new session',
        'drop all',
      ]) {
        expect(totals.get(kind) ?? 0, kind).toBeGreaterThan(0);
      }
    });
  }
});
