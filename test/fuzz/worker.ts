/**
 * A fuzz worker thread of the campaign (`campaign.ts`). It builds the fixtures and targets, then
 * runs its targets round-robin in small batches until its deadline or iteration budget, and
 * reports to the main thread:
 *
 * - before every input, the input itself goes into a shared buffer and a heartbeat counter is
 *   bumped, so that the main thread can name the input of a hang and terminate the worker;
 * - every second, and at the end, the statistics (outcomes, timings, failures with
 *   their inputs) and the settled heap size.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  emptyStats,
  InputGenerator,
  readCorpus,
  record,
  runInput,
  settledHeap,
  type TargetStats,
} from './engine.js';
import { fixtures } from './fixtures.js';
import { makeTargets } from './targets.js';

/** What the main thread passes to a worker. */
export interface WorkerConfig {
  readonly seed: string;
  readonly targets: readonly string[];
  /** Wall-clock deadline (ms since epoch), or undefined for an iteration budget. */
  readonly deadline: number | undefined;
  /** Iterations per target (when no deadline). */
  readonly iterations: number | undefined;
  readonly slowMs: number;
  /** Run only targets whose index is ≡ `partition` (mod `partitions`). */
  readonly partition: number;
  readonly partitions: number;
  /** Only these targets (all when empty). */
  readonly only: readonly string[];
  /** See {@link SHARED_HEADER}. */
  readonly shared: SharedArrayBuffer;
  /** Inputs already generated per target by an earlier worker that was stopped (hang, crash). */
  readonly skip: Readonly<Record<string, number>>;
}

/** Statistics as they travel to the main thread. */
export interface WireStats {
  readonly name: string;
  readonly iterations: number;
  readonly outcomes: [string, number][];
  readonly maxMs: number;
  readonly totalMs: number;
  readonly failures: [string, { kind: string; inputs: Uint8Array[] }][];
}

/** Messages to the main thread. */
export type WorkerMessage =
  | {
      readonly type: 'ready';
      readonly heap: number;
      readonly targets: string[];
      /** Failure messages the corpus already reproduces (so they are not written again). */
      readonly known: string[];
    }
  | {
      readonly type: 'stats';
      readonly stats: WireStats[];
      readonly heap: number | undefined;
      readonly done: boolean;
    };

/** Wall-clock time a worker spends on one target before moving to the next. */
const SLICE_MS = 250;

/** Most targets a worker can report generated-input counts for. */
export const MAX_TARGETS = 32;
/**
 * Shared memory layout: Int32 [heartbeat, current target index, current input length,
 * generated inputs per target × {@link MAX_TARGETS}], then the current input's bytes.
 */
export const SHARED_HEADER: number = 4 * (3 + MAX_TARGETS);
/** Largest input the shared buffer holds (the mutator caps inputs at 64 KiB). */
export const SHARED_INPUT_MAX: number = 64 * 1024 + 1;

function wire(s: TargetStats): WireStats {
  return {
    name: s.name,
    iterations: s.iterations,
    outcomes: [...s.outcomes],
    maxMs: s.maxMs,
    totalMs: s.totalMs,
    failures: [...s.failures],
  };
}

async function main(): Promise<void> {
  const config = workerData as WorkerConfig;
  const port = parentPort;
  if (port === null) throw new Error('worker.ts must run in a worker thread');
  const header = new Int32Array(config.shared, 0, SHARED_HEADER / 4);
  const inputBuf = new Uint8Array(config.shared, SHARED_HEADER);
  const all = makeTargets(await fixtures());
  const targets = all.filter(
    (t, i) =>
      i % config.partitions === config.partition &&
      (config.only.length === 0 || config.only.includes(t.name)),
  );
  const gens = targets.map((t) => {
    const g = new InputGenerator(
      t,
      config.seed,
      readCorpus(t.name).map((c) => c.bytes),
    );
    // Resume after a hang: skip what the stopped worker already generated.
    for (let i = 0; i < (config.skip[t.name] ?? 0); i++) g.next();
    return g;
  });
  const stats = targets.map((t) => emptyStats(t.name));
  // Replay the corpus first: failures it already reproduces are known, not new.
  const known: string[] = [];
  for (const t of targets) {
    for (const c of readCorpus(t.name)) {
      const r = await runInput(t, c.bytes, config.slowMs);
      if (!r.ok) known.push(r.failure.message);
    }
  }
  port.postMessage({
    type: 'ready',
    heap: await settledHeap(),
    targets: targets.map((t) => t.name),
    known,
  } satisfies WorkerMessage);
  let lastReport = Date.now();
  const report = async (done: boolean): Promise<void> => {
    port.postMessage({
      type: 'stats',
      stats: stats.map(wire),
      heap: done ? await settledHeap() : undefined,
      done,
    } satisfies WorkerMessage);
    lastReport = Date.now();
  };
  const skipped = targets.map((t) => config.skip[t.name] ?? 0);
  const finished = (i: number): boolean =>
    config.deadline !== undefined
      ? Date.now() >= config.deadline
      : (stats[i] as TargetStats).iterations + (skipped[i] as number) >= (config.iterations ?? 0);
  for (;;) {
    let progressed = false;
    for (let i = 0; i < targets.length; i++) {
      if (finished(i)) continue;
      progressed = true;
      const t = targets[i]!;
      const g = gens[i]!;
      const s = stats[i]!;
      // A time slice per visit, so that cheap targets (the decoders) get many more inputs than
      // the expensive ones (PQXDH, Kyber) in the same wall-clock time.
      const sliceEnd = performance.now() + SLICE_MS;
      for (let k = 0; (k === 0 || performance.now() < sliceEnd) && !finished(i); k++) {
        const input = g.next();
        inputBuf.set(input.subarray(0, SHARED_INPUT_MAX));
        Atomics.store(header, 1, i);
        Atomics.store(header, 2, Math.min(input.length, SHARED_INPUT_MAX));
        Atomics.add(header, 3 + i, 1);
        Atomics.add(header, 0, 1);
        record(s, input, await runInput(t, input, config.slowMs));
      }
      if (Date.now() - lastReport > 1000) await report(false);
    }
    if (!progressed) break;
  }
  await report(true);
}

// The campaign imports this module for its types and constants; only a worker runs it.
if (!isMainThread) void main();
