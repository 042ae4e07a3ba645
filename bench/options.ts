/**
 * Work sizes of a full and a smoke run, and the worker's command line and output format (shared
 * by `run.ts` and `worker.ts`).
 *
 * @module
 */
import type { Metric, ScenarioOptions } from './scenarios.js';

/** What a worker reports. */
export interface WorkerResult {
  readonly implementation: string;
  readonly scenario: string;
  readonly options: ScenarioOptions;
  readonly metrics: Metric[];
  /** Wall time of the whole scenario, warm-up included (ms). */
  readonly elapsedMs: number;
}

/** The worker prints its result on one stdout line with this prefix. */
export const RESULT_PREFIX = 'RESULT ';

/** Defaults of a full run (`npm run bench`). */
export const FULL_OPTIONS: ScenarioOptions = {
  warmup: 1,
  warmupMs: 2000,
  reps: 5,
  handshakes: 20,
  messages: 1000,
  reversed: 200,
  sizeMessages: 1000,
};

/** A few iterations only (`npm run bench:smoke`, for CI). */
export const SMOKE_OPTIONS: ScenarioOptions = {
  warmup: 0,
  warmupMs: 0,
  reps: 1,
  handshakes: 2,
  messages: 10,
  reversed: 20,
  sizeMessages: 20,
};

const FLAGS: Record<string, keyof ScenarioOptions> = {
  '--warmup': 'warmup',
  '--warmup-ms': 'warmupMs',
  '--reps': 'reps',
  '--handshakes': 'handshakes',
  '--messages': 'messages',
  '--reversed': 'reversed',
  '--size-messages': 'sizeMessages',
};

/** Command-line flags for `options`. */
export function optionFlags(options: ScenarioOptions): string[] {
  return Object.entries(FLAGS).flatMap(([flag, k]) => [flag, String(options[k])]);
}

/** Parse `<impl> <scenario> [--flag n]… [--profile file]`. */
export function parseWorkerArgs(argv: readonly string[]): {
  impl: string;
  scenario: string;
  options: ScenarioOptions;
  profile: string | undefined;
} {
  const [impl, scenario, ...rest] = argv;
  if (impl === undefined || scenario === undefined) {
    throw new Error('usage: worker.ts <impl> <scenario> [--reps n] ... [--profile file]');
  }
  const options: Record<keyof ScenarioOptions, number> = { ...FULL_OPTIONS };
  let profile: string | undefined;
  for (let i = 0; i < rest.length; i += 2) {
    if (rest[i] === '--profile') {
      profile = rest[i + 1];
      continue;
    }
    const k = FLAGS[rest[i] as string];
    const v = Number(rest[i + 1]);
    if (k === undefined || !Number.isInteger(v) || v < 0) {
      throw new Error(`bad option ${String(rest[i])} ${String(rest[i + 1])}`);
    }
    options[k] = v;
  }
  return { impl, scenario, options, profile };
}
