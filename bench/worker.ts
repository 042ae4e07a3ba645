/**
 * One implementation, one scenario, in its own process:
 *
 *     node --expose-gc --import tsx bench/worker.ts <impl> <scenario> [--warmup n] [--reps n]
 *       [--handshakes n] [--messages n] [--reversed n] [--size-messages n] [--profile file]
 *
 * Prints one line `RESULT <json>` (a `WorkerResult`) on stdout. `<scenario>` may be a
 * comma-separated list (the smoke run uses one process per implementation): one line each. With
 * `--profile`, the inspector's
 * CPU profiler runs during the timed regions of the timed repetitions only (not setup, not
 * warm-up) and the profiles are written to `file` as a JSON array.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { isImplementationId, loadImplementation } from './impl/index.js';
import { parseWorkerArgs, RESULT_PREFIX, type WorkerResult } from './options.js';
import type { CpuProfile } from './profile.js';
import { isScenarioId, runScenario, type ScenarioId, setTimedHooks } from './scenarios.js';

/** Profile the timed regions with the inspector; returns a function that writes the profiles. */
async function startProfiling(file: string): Promise<() => void> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  const profiles: CpuProfile[] = [];
  setTimedHooks({
    start: async () => {
      await session.post('Profiler.start');
    },
    stop: async () => {
      const { profile } = await session.post('Profiler.stop');
      profiles.push(profile as CpuProfile);
    },
  });
  return () => {
    writeFileSync(file, JSON.stringify(profiles));
    session.disconnect();
  };
}

async function main(): Promise<void> {
  const { impl, scenario, options, profile } = parseWorkerArgs(process.argv.slice(2));
  if (!isImplementationId(impl)) throw new Error(`unknown implementation ${impl}`);
  const scenarios = scenario.split(',');
  for (const s of scenarios) if (!isScenarioId(s)) throw new Error(`unknown scenario ${s}`);
  const implementation = await loadImplementation(impl);
  const writeProfiles = profile === undefined ? undefined : await startProfiling(profile);
  for (const s of scenarios as ScenarioId[]) {
    const t0 = performance.now();
    const metrics = await runScenario(implementation, s, options);
    const result: WorkerResult = {
      implementation: impl,
      scenario: s,
      options,
      metrics,
      elapsedMs: performance.now() - t0,
    };
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  }
  writeProfiles?.();
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
