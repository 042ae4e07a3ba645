/**
 * The long fuzz campaign: `npm run fuzz -- [options]`.
 *
 *   --minutes N      run for N minutes (default 3)
 *   --iterations N   instead: N inputs per target
 *   --seed S         PRNG seed (default: derived from the clock, printed so a run can be repeated)
 *   --workers N      worker threads (default 1); targets are split between them
 *   --targets a,b    only these targets
 *   --slow-ms N      an input slower than this is a failure (default 30000: the legitimate worst
 *                    case, a 25,000-key jump in both the Double Ratchet and SPQR, takes ~1–3 s)
 *   --hang-ms N      an input still running after this is a hang: the worker is stopped
 *                    (default 120000)
 *   --no-write       do not write failures to the corpus
 *   --seed-corpus    write the handcrafted interesting inputs to the corpus and exit
 *
 * Targets run in worker threads, so that a hang can be detected, named and stopped: the worker
 * publishes every input in shared memory before running it. The campaign prints per-target
 * iteration counts, an outcome histogram (decrypted / error codes), the slowest input, heap use
 * after warm-up and at the end (after full collections), and the largest RSS; the smallest input
 * of every new failure is written to `test/fuzz/corpus/<target>/<sha256>.bin`, replayed by
 * `corpus.test.ts` (failures the corpus already reproduces are reported as known and not written
 * again). The exit code is 1 when anything failed.
 */
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { formatOutcomes, writeCorpus } from './engine.js';
import { interestingInputs } from './interesting.js';
import {
  MAX_TARGETS,
  SHARED_HEADER,
  SHARED_INPUT_MAX,
  type WireStats,
  type WorkerConfig,
  type WorkerMessage,
} from './worker.js';

interface Options {
  minutes: number;
  iterations: number | undefined;
  seed: string;
  workers: number;
  only: string[];
  slowMs: number;
  hangMs: number;
  write: boolean;
  seedCorpus: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = {
    minutes: 3,
    iterations: undefined,
    seed: String(Date.now() % 1_000_000_007),
    workers: 1,
    only: [],
    slowMs: 30_000,
    hangMs: 120_000,
    write: true,
    seedCorpus: false,
  };
  const num = (v: string | undefined, name: string): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n <= 0)
      throw new Error(`${name} needs a positive number`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case '--minutes':
        o.minutes = num(v, a);
        i++;
        break;
      case '--iterations':
        o.iterations = Math.floor(num(v, a));
        i++;
        break;
      case '--seed':
        if (v === undefined) throw new Error('--seed needs a value');
        o.seed = v;
        i++;
        break;
      case '--workers':
        o.workers = Math.min(Math.floor(num(v, a)), Math.max(1, cpus().length));
        i++;
        break;
      case '--targets':
        o.only = (v ?? '').split(',').filter((x) => x !== '');
        i++;
        break;
      case '--slow-ms':
        o.slowMs = num(v, a);
        i++;
        break;
      case '--hang-ms':
        o.hangMs = num(v, a);
        i++;
        break;
      case '--no-write':
        o.write = false;
        break;
      case '--seed-corpus':
        o.seedCorpus = true;
        break;
      case '--help':
      case '-h':
        process.stdout.write(
          'usage: npm run fuzz -- [--minutes N | --iterations N] [--seed S] [--workers N] [--targets a,b] [--slow-ms N] [--hang-ms N] [--no-write] [--seed-corpus]\n',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${String(a)}`);
    }
  }
  return o;
}

/**
 * The worker's entry: register the TypeScript loader in the worker thread (loader hooks are per
 * thread), then load `worker.ts`.
 */
const WORKER_ENTRY = new URL(
  `data:text/javascript,${encodeURIComponent(
    `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};\nregister();\nawait import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)});`,
  )}`,
);

/** Accumulated statistics of one target over (possibly several) worker lives. */
interface Totals {
  iterations: number;
  outcomes: Map<string, number>;
  maxMs: number;
  totalMs: number;
  failures: Map<string, { kind: string; inputs: Uint8Array[] }>;
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function merge(into: Map<string, Totals>, stats: readonly WireStats[]): void {
  for (const s of stats) {
    const t = into.get(s.name) ?? {
      iterations: 0,
      outcomes: new Map<string, number>(),
      maxMs: 0,
      totalMs: 0,
      failures: new Map<string, { kind: string; inputs: Uint8Array[] }>(),
    };
    t.iterations += s.iterations;
    for (const [k, v] of s.outcomes) t.outcomes.set(k, (t.outcomes.get(k) ?? 0) + v);
    t.maxMs = Math.max(t.maxMs, s.maxMs);
    t.totalMs += s.totalMs;
    for (const [k, v] of s.failures) if (!t.failures.has(k)) t.failures.set(k, v);
    into.set(s.name, t);
  }
}

/** Run one partition of the targets in worker threads until done, restarting after hangs. */
/** Failure messages that the corpus already reproduces (reported, not written again). */
const knownFailures = new Set<string>();

async function runPartition(
  o: Options,
  partition: number,
  deadline: number | undefined,
  totals: Map<string, Totals>,
  memory: { warm: number[]; end: number[] },
): Promise<void> {
  const skip: Record<string, number> = {};
  for (;;) {
    const shared = new SharedArrayBuffer(SHARED_HEADER + SHARED_INPUT_MAX);
    const header = new Int32Array(shared, 0, SHARED_HEADER / 4);
    const config: WorkerConfig = {
      seed: o.seed,
      targets: [],
      deadline,
      iterations: o.iterations,
      slowMs: o.slowMs,
      partition,
      partitions: o.workers,
      only: o.only,
      shared,
      skip: { ...skip },
    };
    const worker = new Worker(WORKER_ENTRY, {
      workerData: config,
      resourceLimits: { maxOldGenerationSizeMb: 4096 },
    });
    let names: string[] = [];
    let latest: WireStats[] = [];
    let lastBeat = -1;
    let lastChange = Date.now();
    const outcome = await new Promise<'done' | { problem: string }>((resolve) => {
      const timer = setInterval(() => {
        const beat = Atomics.load(header, 0);
        if (beat !== lastBeat) {
          lastBeat = beat;
          lastChange = Date.now();
        } else if (names.length > 0 && Date.now() - lastChange > o.hangMs) {
          clearInterval(timer);
          resolve({ problem: `hang: one input ran for more than ${String(o.hangMs)} ms` });
        }
      }, 250);
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          names = m.targets;
          for (const k of m.known) knownFailures.add(k);
          // Building the fixtures is not an input: start the hang clock now.
          lastChange = Date.now();
          memory.warm[partition] ??= m.heap;
        } else {
          latest = m.stats;
          if (m.done) {
            if (m.heap !== undefined) memory.end[partition] = m.heap;
            clearInterval(timer);
            resolve('done');
          }
        }
      });
      worker.on('error', (e: Error) => {
        clearInterval(timer);
        resolve({ problem: `crash: ${e.name}: ${e.message.slice(0, 200)}` });
      });
      worker.on('exit', (code) => {
        clearInterval(timer);
        resolve(code === 0 ? 'done' : { problem: `crash: worker exited with ${String(code)}` });
      });
    });
    await worker.terminate();
    merge(totals, latest);
    if (outcome === 'done') return;
    // A hang or crash: name the input, keep it, and resume after it.
    const target = names[Atomics.load(header, 1)] ?? '(unknown)';
    const length = Atomics.load(header, 2);
    const input = new Uint8Array(shared, SHARED_HEADER, length).slice();
    const failure = { kind: outcome.problem.split(':')[0] as string, inputs: [input] };
    merge(totals, [
      {
        name: target,
        iterations: 1,
        outcomes: [[`FAILURE ${failure.kind}`, 1]],
        maxMs: o.hangMs,
        totalMs: 0,
        failures: [[outcome.problem, failure]],
      },
    ]);
    names.forEach((n, i) => {
      skip[n] = Atomics.load(header, 3 + i);
    });
    if (names.length === 0 || (deadline !== undefined && Date.now() >= deadline)) return;
    process.stdout.write(`  ${target}: ${outcome.problem}; resuming\n`);
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.seedCorpus) {
    const inputs = await interestingInputs();
    for (const { target, bytes, why } of inputs) {
      process.stdout.write(`${target}: ${why} → ${writeCorpus(target, bytes)}\n`);
    }
    return;
  }
  if (o.workers > MAX_TARGETS) o.workers = MAX_TARGETS;
  const started = Date.now();
  const deadline = o.iterations === undefined ? started + o.minutes * 60_000 : undefined;
  process.stdout.write(
    `chiffre fuzz campaign: seed ${o.seed}, ${o.iterations === undefined ? `${String(o.minutes)} min` : `${String(o.iterations)} inputs per target`}, ${String(o.workers)} worker(s)\n`,
  );
  const totals = new Map<string, Totals>();
  const memory = { warm: [] as number[], end: [] as number[] };
  let maxRss = process.memoryUsage().rss;
  const rssTimer = setInterval(() => {
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
  }, 500);
  await Promise.all(
    Array.from({ length: o.workers }, (_, p) => runPartition(o, p, deadline, totals, memory)),
  );
  clearInterval(rssTimer);
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
  const seconds = (Date.now() - started) / 1000;

  const rows = [...totals.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  const w = Math.max(...rows.map(([n]) => n.length), 6);
  const lines: string[] = [];
  lines.push('', `${'target'.padEnd(w)}  iterations   max ms   avg ms  failures`);
  for (const [name, t] of rows) {
    lines.push(
      `${name.padEnd(w)}  ${String(t.iterations).padStart(10)}  ${t.maxMs.toFixed(1).padStart(7)}  ${(t.totalMs / Math.max(1, t.iterations)).toFixed(2).padStart(7)}  ${String(t.failures.size).padStart(8)}`,
    );
  }
  const total = rows.reduce((n, [, t]) => n + t.iterations, 0);
  lines.push(
    `${'total'.padEnd(w)}  ${String(total).padStart(10)}  in ${seconds.toFixed(0)} s`,
    '',
    'outcomes:',
  );
  const overall = new Map<string, number>();
  for (const [name, t] of rows) {
    lines.push(`  ${name}`, formatOutcomes(t.outcomes));
    for (const [k, v] of t.outcomes) {
      const key = k.startsWith('ERR_')
        ? k
        : k.includes('ERR_')
          ? (k.match(/ERR_[A-Z_]+/)?.[0] ?? k)
          : k.includes('decrypted')
            ? 'decrypted'
            : k.startsWith('ok')
              ? 'ok'
              : k;
      overall.set(key, (overall.get(key) ?? 0) + v);
    }
  }
  lines.push(
    '',
    'overall (decrypted / ok / first error code of each outcome):',
    formatOutcomes(overall, '  '),
  );
  const warm = memory.warm.reduce((a, b) => a + b, 0);
  const end = memory.end.reduce((a, b) => a + b, 0);
  const measured = memory.end.filter((x) => x !== undefined).length === memory.warm.length;
  lines.push(
    '',
    measured
      ? `memory: settled heap after warm-up ${mb(warm)}, at the end ${mb(end)} (growth ${mb(end - warm)}), max RSS ${mb(maxRss)}`
      : `memory: settled heap after warm-up ${mb(warm)} (a worker was stopped: no end measurement), max RSS ${mb(maxRss)}`,
  );
  let failures = 0;
  for (const [name, t] of rows) {
    for (const [message, f] of t.failures) {
      failures++;
      const known = knownFailures.has(message);
      lines.push(
        `FAILURE [${name}] ${message}${known ? ' (known: the corpus reproduces it)' : ''}`,
      );
      // The smallest input of a new failure goes to the corpus; the others are only shown.
      const inputs = [...f.inputs].sort((a, b) => a.length - b.length);
      inputs.forEach((input, i) => {
        const where =
          o.write && i === 0 && !known
            ? writeCorpus(name, input)
            : `${Buffer.from(input).toString('hex').slice(0, 96)}…`;
        lines.push(`  input (${String(input.length)} bytes): ${where}`);
      });
    }
  }
  // Heap growth beyond this after full collections means state is retained across inputs.
  const growthLimit = 256 * 1024 * 1024;
  if (measured && end - warm > growthLimit) {
    failures++;
    lines.push(`FAILURE memory: settled heap grew by ${mb(end - warm)} (limit ${mb(growthLimit)})`);
  }
  lines.push(failures === 0 ? '\nno failures' : `\n${String(failures)} failure(s)`);
  process.stdout.write(`${lines.join('\n')}\n`);
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 2;
});
