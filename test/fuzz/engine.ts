/**
 * The fuzz loop shared by the CI short run (`short.test.ts`) and the long campaign
 * (`campaign.ts`): pick a seed or a corpus entry, apply structured mutations, run the target,
 * classify the outcome, time it, and collect failures (deduplicated by their message).
 *
 * Corpus files live in `test/fuzz/corpus/<target>/<sha256>.bin` and hold one raw input each.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mutate } from './mutator.js';
import { Prng, sha256Hex } from './rng.js';
import { describeError, FuzzFailure, type FuzzTarget } from './targets.js';

/** `test/fuzz/corpus`. */
export const CORPUS_DIR: string = fileURLToPath(new URL('./corpus', import.meta.url));

/** One corpus file. */
export interface CorpusEntry {
  readonly target: string;
  readonly file: string;
  readonly bytes: Uint8Array;
}

/** Every corpus entry of `target` (or of all targets). */
export function readCorpus(target?: string): CorpusEntry[] {
  if (!existsSync(CORPUS_DIR)) return [];
  const dirs =
    target === undefined
      ? readdirSync(CORPUS_DIR, { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => d.name)
      : [target];
  const out: CorpusEntry[] = [];
  for (const t of dirs.sort()) {
    const dir = path.join(CORPUS_DIR, t);
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).sort()) {
      if (!file.endsWith('.bin')) continue;
      out.push({
        target: t,
        file: path.join(dir, file),
        bytes: new Uint8Array(readFileSync(path.join(dir, file))),
      });
    }
  }
  return out;
}

/** Write `bytes` to the corpus of `target` (by content hash); returns the path. */
export function writeCorpus(target: string, bytes: Uint8Array): string {
  const dir = path.join(CORPUS_DIR, target);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${sha256Hex(bytes)}.bin`);
  if (!existsSync(file)) writeFileSync(file, bytes);
  return file;
}

/** The result of one input. */
export type InputResult =
  | { readonly ok: true; readonly label: string; readonly ms: number }
  | {
      readonly ok: false;
      readonly failure: FuzzFailure;
      readonly label: string;
      readonly ms: number;
    };

/** Run one input through a target with the oracle; never throws. */
export async function runInput(
  target: FuzzTarget,
  input: Uint8Array,
  slowMs = Infinity,
): Promise<InputResult> {
  const t0 = performance.now();
  try {
    const label = await target.run(input);
    const ms = performance.now() - t0;
    if (ms > slowMs) {
      return {
        ok: false,
        failure: new FuzzFailure('slow', `${target.name}: one input took ${ms.toFixed(0)} ms`),
        label,
        ms,
      };
    }
    return { ok: true, label, ms };
  } catch (e) {
    const ms = performance.now() - t0;
    const failure = e instanceof FuzzFailure ? e : new FuzzFailure('harness', describeError(e));
    return { ok: false, failure, label: `FAILURE ${failure.kind}`, ms };
  }
}

/** Statistics of one target's run. */
export interface TargetStats {
  readonly name: string;
  iterations: number;
  readonly outcomes: Map<string, number>;
  maxMs: number;
  totalMs: number;
  /** Failures by message, with up to 3 inputs each. */
  readonly failures: Map<string, { kind: string; inputs: Uint8Array[] }>;
}

export function emptyStats(name: string): TargetStats {
  return { name, iterations: 0, outcomes: new Map(), maxMs: 0, totalMs: 0, failures: new Map() };
}

/** Merge one result into `stats`; returns the input when it is a new failure signature. */
export function record(stats: TargetStats, input: Uint8Array, r: InputResult): boolean {
  stats.iterations++;
  stats.outcomes.set(r.label, (stats.outcomes.get(r.label) ?? 0) + 1);
  stats.maxMs = Math.max(stats.maxMs, r.ms);
  stats.totalMs += r.ms;
  if (r.ok) return false;
  const key = r.failure.message;
  const seen = stats.failures.get(key);
  if (seen === undefined) {
    stats.failures.set(key, { kind: r.failure.kind, inputs: [input] });
    return true;
  }
  if (seen.inputs.length < 3) seen.inputs.push(input);
  return false;
}

/** Generates the inputs of one target from a seed. */
export class InputGenerator {
  readonly #target: FuzzTarget;
  readonly #rng: Prng;
  readonly #bases: Uint8Array[];
  readonly #pool: Uint8Array[];

  constructor(target: FuzzTarget, seed: string | number, corpus: readonly Uint8Array[] = []) {
    this.#target = target;
    this.#rng = new Prng(`${String(seed)}:${target.name}`);
    this.#bases = [...target.seeds, ...corpus];
    this.#pool = target.seeds.map((s) => s.subarray(target.prefix));
  }

  /** The next input. */
  next(): Uint8Array {
    const rng = this.#rng;
    const base = this.#bases.length === 0 ? new Uint8Array(0) : rng.pick(this.#bases);
    const p = this.#target.prefix;
    const prefix = base.subarray(0, p).slice();
    if (p === 1 && (prefix.length === 0 || rng.chance(0.05))) {
      return Uint8Array.of(
        rng.u32() & 0xff,
        ...mutate(base.subarray(p), this.#target.layout, rng, this.#pool),
      );
    }
    const body = mutate(base.subarray(p), this.#target.layout, rng, this.#pool);
    const out = new Uint8Array(p + body.length);
    out.set(prefix, 0);
    out.set(body, p);
    return out;
  }
}

/** Heap in use after a full collection, when a collector is reachable (`--expose-gc` or v8 flags). */
export async function settledHeap(): Promise<number> {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  if (typeof gc === 'function') {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** A compact text table of outcomes. */
export function formatOutcomes(outcomes: ReadonlyMap<string, number>, indent = '    '): string {
  return [...outcomes.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${indent}${String(v).padStart(7)}  ${k}`)
    .join('\n');
}
