/**
 * `npm run bench` (full) and `npm run bench:smoke` (a few iterations, for CI): every
 * implementation × scenario in its own child process (`bench/worker.ts`), one at a time, then
 * medians, ratios to libsignal-client 0.103 from the same run, the targets of issue 7, CPU
 * profiles of chiffre where it misses, and the bundle size.
 *
 * Full run writes `bench/results/latest.json`, `bench/results/ratios.svg` and
 * `docs/benchmarks.md`. The smoke run only prints, and keeps its JSON in `.tmp/bench/`. Work
 * sizes can be overridden with the worker's flags, e.g. `npm run bench -- --reps 7`;
 * `npm run bench -- --report-only` re-renders the page and chart from `latest.json`.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { measureBundle } from './bundle.js';
import { type Aggregate, judge, METRIC_LABELS, type Results, TIMED_METRICS } from './catalog.js';
import {
  IMPLEMENTATION_IDS,
  type ImplementationId,
  loadImplementation,
  REFERENCE_ID,
} from './impl/index.js';
import { BUILD_ENV, compileChiffre } from './impl/compile-chiffre.js';
import { type CpuProfile, summarize } from './profile.js';
import { type BenchmarkData, type ProfileEntry, renderReport } from './report.js';
import { type Metric, SCENARIO_IDS, type ScenarioId, type ScenarioOptions } from './scenarios.js';
import { renderChart } from './svg.js';
import {
  FULL_OPTIONS,
  optionFlags,
  parseWorkerArgs,
  RESULT_PREFIX,
  SMOKE_OPTIONS,
  type WorkerResult,
} from './options.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const path = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const smoke = process.argv.includes('--smoke');
/** chiffre compiled once for all workers of this run. */
const buildDir = path(`.tmp/bench/build-run-${String(process.pid)}`);
/** Work sizes: the mode's defaults, overridable with the worker's flags (`--reps 3`, …). */
const options: ScenarioOptions = parseWorkerArgs([
  'run',
  'run',
  ...optionFlags(smoke ? SMOKE_OPTIONS : FULL_OPTIONS),
  ...process.argv.slice(2).filter((a) => a !== '--smoke' && a !== '--report-only'),
]).options;

/** Run one worker (one or more scenarios); resolves with its results or rejects with its stderr. */
function runWorker(
  impl: ImplementationId,
  scenarios: readonly ScenarioId[],
  opts: ScenarioOptions,
  extra: string[] = [],
): Promise<WorkerResult[]> {
  const args = [
    '--expose-gc',
    '--import',
    'tsx',
    path('bench/worker.ts'),
    impl,
    scenarios.join(','),
    ...optionFlags(opts),
    ...extra,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, [BUILD_ENV]: buildDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), smoke ? 60_000 : 300_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const results = stdout
        .split('\n')
        .filter((l) => l.startsWith(RESULT_PREFIX))
        .map((l) => JSON.parse(l.slice(RESULT_PREFIX.length)) as WorkerResult);
      if (code === 0 && results.length === scenarios.length) {
        resolve(results);
      } else {
        const lastLines = stderr.trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`exit ${String(code)}: ${lastLines || 'no output'}`));
      }
    });
  });
}

function median(sorted: readonly number[]): number {
  const m = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[m] as number)
    : ((sorted[m - 1] as number) + (sorted[m] as number)) / 2;
}

function aggregate(metric: Metric): Omit<Aggregate, 'ratio'> {
  const sorted = [...metric.samples].sort((a, b) => a - b);
  return {
    median: median(sorted),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    unit: metric.unit,
    better: metric.better,
    n: sorted.length,
  };
}

const round = (v: number): number => Number(v.toPrecision(4));
const show = (a: Aggregate | undefined): string =>
  a === undefined
    ? '—'
    : `${String(round(a.median))}${a.ratio === null ? '' : ` (${a.ratio.toFixed(2)}x)`}`;

function machine(loadBefore: number[]): BenchmarkData['machine'] {
  const cpus = os.cpus();
  return {
    loadAverage: { before: loadBefore, after: os.loadavg() },
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

/** `bench/results/ratios.svg` and `docs/benchmarks.md` from the data of one run. */
async function writePages(data: BenchmarkData): Promise<void> {
  const { results, options: o, date, implementations } = data;
  writeFileSync(
    path('bench/results/ratios.svg'),
    renderChart({
      title: 'Speed relative to libsignal-client 0.103 (same run; log scale; right is faster)',
      subtitle: `Wall-clock medians of ${String(o.reps)} repetitions; S4 plotted as the inverse of its time ratio. ${date.slice(0, 10)}, Node ${data.machine.node}.`,
      series: implementations.map((i) => ({ id: i.id, label: i.label })),
      groups: TIMED_METRICS.map((m) => ({
        title: METRIC_LABELS[m] ?? m,
        bars: implementations.map(({ id }) => {
          const ratio = results[id]?.[m]?.ratio ?? null;
          return { series: id, value: ratio === null ? null : m === 'S4' ? 1 / ratio : ratio };
        }),
      })),
    }),
  );
  const file = path('docs/benchmarks.md');
  const config = (await resolveConfig(file)) ?? {};
  writeFileSync(file, await format(renderReport(data), { ...config, filepath: file }));
}

async function main(): Promise<void> {
  if (process.argv.includes('--report-only')) {
    // Re-render the page and the chart from the last full run, without measuring.
    const data = JSON.parse(
      readFileSync(path('bench/results/latest.json'), 'utf8'),
    ) as BenchmarkData;
    await writePages({ ...data, verdicts: judge(data.results) });
    console.log('docs/benchmarks.md and bench/results/ratios.svg re-rendered from latest.json');
    return;
  }
  const started = performance.now();
  const loadBefore = os.loadavg();
  await compileChiffre(buildDir);
  process.on('exit', () => {
    rmSync(buildDir, { recursive: true, force: true });
  });
  const date = new Date().toISOString();
  const raw: WorkerResult[] = [];
  const errors: { implementation: string; scenario: string; message: string }[] = [];
  console.log(
    `chiffre benchmark (${smoke ? 'smoke' : 'full'}): ${String(IMPLEMENTATION_IDS.length)} ` +
      `implementations x ${String(SCENARIO_IDS.length)} scenarios, ` +
      (smoke ? 'one process per implementation' : 'one process each'),
  );
  // A full run measures one implementation x scenario per process, one process at a time. The
  // smoke run (no numbers kept) runs every scenario of an implementation in one process and uses
  // every core, to stay quick.
  const jobs: { impl: ImplementationId; scenarios: ScenarioId[] }[] = smoke
    ? IMPLEMENTATION_IDS.map((impl) => ({ impl, scenarios: [...SCENARIO_IDS] }))
    : SCENARIO_IDS.flatMap((scenario) =>
        IMPLEMENTATION_IDS.map((impl) => ({ impl, scenarios: [scenario] })),
      );
  const runJob = async ({ impl, scenarios }: (typeof jobs)[number]): Promise<void> => {
    const t0 = performance.now();
    const what = `${scenarios.join(',').padEnd(5)} ${impl.padEnd(22)}`;
    try {
      const results = await runWorker(impl, scenarios, options);
      raw.push(...results);
      const summary = results
        .flatMap((r) => r.metrics)
        .filter((m) => !m.id.startsWith('size-later') && !m.id.endsWith('@cpu'))
        .slice(0, smoke ? 6 : 3)
        .map((m) => `${m.id} ${String(round(aggregate(m).median))} ${m.unit}`)
        .join(', ');
      console.log(
        `  ${what} ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s  ${summary}`,
      );
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      for (const scenario of scenarios) errors.push({ implementation: impl, scenario, message });
      console.log(`  ${what} FAILED ${message}`);
    }
  };
  const lanes = smoke ? Math.max(1, os.cpus().length) : 1;
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      while (next < jobs.length) await runJob(jobs[next++] as (typeof jobs)[number]);
    }),
  );

  // Aggregate, then ratios to the reference within this run.
  const partial = new Map<ImplementationId, Map<string, Omit<Aggregate, 'ratio'>>>();
  for (const r of raw) {
    const id = r.implementation as ImplementationId;
    const m = partial.get(id) ?? new Map<string, Omit<Aggregate, 'ratio'>>();
    for (const metric of r.metrics)
      if (metric.samples.length > 0) m.set(metric.id, aggregate(metric));
    partial.set(id, m);
  }
  const results: Results = {};
  const ref = partial.get(REFERENCE_ID);
  for (const [id, metrics] of partial) {
    const out: Record<string, Aggregate> = {};
    for (const [k, a] of metrics) {
      const r = ref?.get(k);
      out[k] = { ...a, ratio: r === undefined || r.median === 0 ? null : a.median / r.median };
    }
    results[id] = out;
  }
  const verdicts = judge(results);

  console.log('\nmedians (ratio to libsignal-client 0.103):');
  console.log(['implementation'.padEnd(22), ...TIMED_METRICS.map((m) => m.padStart(18))].join(' '));
  for (const id of IMPLEMENTATION_IDS) {
    console.log(
      [id.padEnd(22), ...TIMED_METRICS.map((m) => show(results[id]?.[m]).padStart(18))].join(' '),
    );
  }
  console.log('\nthe same from CPU time (ratio to libsignal-client 0.103):');
  for (const id of IMPLEMENTATION_IDS) {
    console.log(
      [
        id.padEnd(22),
        ...TIMED_METRICS.map((m) => show(results[id]?.[`${m}@cpu`]).padStart(18)),
      ].join(' '),
    );
  }

  const bundle = await measureBundle();
  const implementations = await Promise.all(
    IMPLEMENTATION_IDS.map(async (id) => {
      const impl = await loadImplementation(id);
      return { id, label: impl.label, protocol: impl.protocol, storage: impl.storage };
    }),
  );

  if (smoke) {
    mkdirSync(path('.tmp/bench'), { recursive: true });
    const file = path('.tmp/bench/smoke.json');
    writeFileSync(file, `${JSON.stringify({ date, options, results, errors }, null, 2)}\n`);
    console.log(
      `\nsmoke run done in ${((performance.now() - started) / 1000).toFixed(1)} s ` +
        `(${String(errors.length)} failures); JSON in .tmp/bench/smoke.json`,
    );
    if (errors.length > 0) process.exitCode = 1;
    return;
  }

  // Where chiffre's time goes: CPU profiles of the timed regions of every missed scenario, and
  // always of S2 and S3.
  const missed = new Set(
    verdicts.filter((v) => v.met === false).map((v) => v.target.metric.replace(/-.*/, '')),
  );
  const profiled: ScenarioId[] = (['S1', 'S2', 'S3', 'S4'] as const).filter(
    (s) => s === 'S2' || s === 'S3' || missed.has(s),
  );
  const profiles: ProfileEntry[] = [];
  mkdirSync(path('.tmp/bench/profiles'), { recursive: true });
  for (const scenario of profiled) {
    const file = path(`.tmp/bench/profiles/chiffre-${scenario}.json`);
    const t0 = performance.now();
    try {
      await runWorker('chiffre', [scenario], { ...options, reps: 3 }, ['--profile', file]);
      const summary = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile[]);
      profiles.push({ scenario, summary });
      console.log(
        `  profile chiffre ${scenario}: ${((performance.now() - t0) / 1000).toFixed(1)} s, ` +
          `top ${summary.areas
            .slice(0, 3)
            .map((a) => `${a.name} ${(a.share * 100).toFixed(0)}%`)
            .join(', ')}`,
      );
    } catch (e) {
      console.log(`  profile chiffre ${scenario} FAILED ${e instanceof Error ? e.message : ''}`);
    }
  }

  const data: BenchmarkData = {
    date,
    machine: machine(loadBefore),
    options,
    reference: REFERENCE_ID,
    implementations,
    results,
    verdicts,
    bundle,
    profiles,
    errors,
    durationSeconds: Math.round((performance.now() - started) / 1000),
  };

  mkdirSync(path('bench/results'), { recursive: true });
  const stored: BenchmarkData = {
    ...data,
    profiles: profiles.map((p) => ({
      scenario: p.scenario,
      summary: {
        totalMs: p.summary.totalMs,
        areas: p.summary.areas.slice(0, 12),
        functions: p.summary.functions.slice(0, 20),
      },
    })),
  };
  writeFileSync(path('bench/results/latest.json'), `${JSON.stringify(stored, null, 2)}\n`);
  await writePages(stored);
  console.log(
    `\nfull run done in ${String(data.durationSeconds)} s: bench/results/latest.json, ` +
      'bench/results/ratios.svg, docs/benchmarks.md',
  );
}

await main();
