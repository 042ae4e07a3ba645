/**
 * The CI fuzz run: every target, a fixed seed and a fixed number of inputs (the long, random-seed
 * campaign is `npm run fuzz`). Seeds must pass; mutated inputs must meet the oracle of
 * `targets.ts`; heap use after full collections must stay flat across thousands of inputs; no
 * input may take long (the slowest legitimate ones walk a 25,000-step chain).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emptyStats,
  formatOutcomes,
  InputGenerator,
  record,
  runInput,
  settledHeap,
  type TargetStats,
} from './engine.js';
import { fixtures } from './fixtures.js';
import { type FuzzTarget, makeTargets } from './targets.js';

const SEED = 'chiffre-ci-short-1';

/** Inputs per target, sized so that the whole file runs in well under a minute. */
const ITERATIONS: Readonly<Record<string, number>> = {
  'signal-message': 3000,
  'prekey-message': 2000,
  'spqr-message': 3000,
  'decrypt-whisper': 1200,
  'decrypt-prekey-new': 250,
  'decrypt-prekey-existing': 600,
  'decrypt-spqr-authenticated': 150,
  'record-session': 900,
  'record-spqr-state': 900,
  'record-prekey': 250,
  'record-signed-prekey': 250,
  'record-kyber-prekey': 250,
  bundle: 250,
};

/** An input slower than this fails the run (a 25,000-step jump takes a few hundred ms). */
const SLOW_MS = 30_000;
/** Heap growth allowed across the run, after full collections. */
const HEAP_GROWTH_LIMIT = 64 * 1024 * 1024;

let targets: Map<string, FuzzTarget>;
let warmHeap = 0;
const all: TargetStats[] = [];

beforeAll(async () => {
  targets = new Map(makeTargets(await fixtures()).map((t) => [t.name, t]));
  // Warm-up: every seed once (fills caches that legitimately live for the whole process).
  for (const t of targets.values()) for (const s of t.seeds) await runInput(t, s);
  warmHeap = await settledHeap();
});

afterAll(() => {
  const lines = all.map(
    (s) =>
      `${s.name.padEnd(28)} ${String(s.iterations).padStart(5)} inputs, max ${s.maxMs.toFixed(0).padStart(5)} ms\n${formatOutcomes(s.outcomes)}`,
  );
  process.stdout.write(`short fuzz (seed ${SEED}):\n${lines.join('\n')}\n`);
});

describe('short fuzz run (fixed seed)', () => {
  it('covers every target', () => {
    expect([...targets.keys()].sort()).toEqual(Object.keys(ITERATIONS).sort());
  });

  it.each(Object.keys(ITERATIONS))('%s', async (name) => {
    const target = targets.get(name);
    if (target === undefined) return expect.fail(`no target ${name}`);
    for (const s of target.seeds) {
      const r = await runInput(target, s);
      if (!r.ok) expect.fail(`a valid seed fails: ${r.failure.message}`);
    }
    // Seeds only (not the corpus, which corpus.test.ts replays): the run depends on SEED alone.
    const gen = new InputGenerator(target, SEED);
    const stats = emptyStats(name);
    for (let i = 0; i < (ITERATIONS[name] ?? 0); i++) {
      const input = gen.next();
      record(stats, input, await runInput(target, input, SLOW_MS));
    }
    all.push(stats);
    const failures = [...stats.failures].map(
      ([message, f]) => `${message}\n    input: ${Buffer.from(f.inputs[0] ?? []).toString('hex')}`,
    );
    expect(
      failures,
      'failures (replay with `npm run fuzz -- --seed chiffre-ci-short-1 --iterations …`)',
    ).toEqual([]);
    // The run exercised more than the decoders' first checks.
    expect(stats.outcomes.size).toBeGreaterThan(1);
  });

  it('heap use stays flat across the run', async () => {
    const growth = (await settledHeap()) - warmHeap;
    expect(growth).toBeLessThan(HEAP_GROWTH_LIMIT);
  });
});
