/**
 * Replays the whole fuzz corpus (`test/fuzz/corpus/<target>/<sha256>.bin`): the handcrafted
 * inputs written by `npm run fuzz -- --seed-corpus` and every failure a fuzz run found. Each
 * input goes through its target with the fuzzer's oracle (success or a chiffre error; no other
 * exception; stores unchanged by failures; plaintexts right; no forgery or replay accepted).
 */
import { readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CORPUS_DIR, readCorpus, runInput } from './engine.js';
import { fixtures } from './fixtures.js';
import { type FuzzTarget, makeTargets } from './targets.js';

const corpus = readCorpus();
let targets: Map<string, FuzzTarget>;

beforeAll(async () => {
  targets = new Map(makeTargets(await fixtures()).map((t) => [t.name, t]));
});

describe('fuzz corpus', () => {
  it('exists and only holds inputs of known targets', () => {
    expect(corpus.length).toBeGreaterThan(0);
    const dirs = readdirSync(CORPUS_DIR, { withFileTypes: true }).filter((d) => d.isDirectory());
    for (const d of dirs)
      expect([...targets.keys()], `corpus directory ${d.name}`).toContain(d.name);
  });

  it('has handcrafted inputs for every target', () => {
    const covered = new Set(corpus.map((c) => c.target));
    for (const name of targets.keys()) expect(covered, name).toContain(name);
  });

  it.each(corpus.map((c) => [`${c.target}/${c.file.slice(-68, -56)}…`, c] as const))(
    '%s',
    async (_name, entry) => {
      const target = targets.get(entry.target);
      if (target === undefined) return expect.fail(`unknown target ${entry.target}`);
      const r = await runInput(target, entry.bytes);
      if (!r.ok) expect.fail(`${entry.file}: ${r.failure.message}`);
    },
  );
});
