/**
 * Summaries of V8 CPU profiles (the inspector's `Profiler.stop` result, as `--cpu-prof` writes
 * it): self time per function and per area (a `@noble/*` package, a `src/` folder of chiffre, the
 * garbage collector, …), over one or more profiles.
 *
 * @module
 */

/** The subset of a V8 `.cpuprofile` this module reads. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
    };
  }[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  readonly ms: number;
  /** Share of all sampled time. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly totalMs: number;
  /** Functions by self time, largest first. */
  readonly functions: SelfTime[];
  /** Areas by self time, largest first. */
  readonly areas: SelfTime[];
}

const ROOT = new URL('..', import.meta.url).href;

function location(url: string, line: number): string {
  if (url === '') return '';
  const rel = (url.startsWith(ROOT) ? url.slice(ROOT.length) : url.replace(/^file:\/\//, ''))
    // chiffre compiled for the benchmark (bench/impl/compile-chiffre.ts): name the source file.
    .replace(/^\.tmp\/bench\/build[^/]*\/src\/(.*)\.js$/, 'src/$1.ts');
  // Compiled line numbers are not the source's: name the file only.
  if (rel.startsWith('src/')) return rel;
  const short = rel.replace(/^node_modules\//, '').replace(/\/(esm|lib|dist)\//, '/');
  return `${short}:${String(line + 1)}`;
}

/** Where a function lives, coarsely. */
export function areaOf(functionName: string, url: string): string {
  if (url === '') {
    if (functionName.startsWith('(')) return functionName; // (garbage collector), (program), …
    return 'V8/native builtins';
  }
  const noble = /node_modules\/(@noble\/[^/]+)\//.exec(url);
  if (noble) return noble[1] as string;
  const src = /\/src\/([^/]+)\//.exec(url);
  if (src && url.startsWith(ROOT)) return `chiffre src/${src[1] as string}`;
  if (url.startsWith('node:')) return 'Node.js internals';
  if (url.includes('/node_modules/')) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    return pkg ? (pkg[1] as string) : 'other';
  }
  if (url.startsWith(ROOT) && url.includes('/bench/')) return 'benchmark harness';
  return 'other';
}

/** Self time per function and per area over `profiles` (the idle time is left out). */
export function summarize(profiles: readonly CpuProfile[]): ProfileSummary {
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
    const samples = p.samples ?? [];
    const deltas = p.timeDeltas ?? [];
    // timeDeltas[i] is the time before sample i; attribute the time after it to sample i.
    for (let i = 0; i < samples.length; i++) {
      const frame = nodes.get(samples[i] as number);
      if (frame === undefined || frame.functionName === '(idle)') continue;
      const us = deltas[i + 1] ?? 0;
      const name =
        `${frame.functionName || '(anonymous)'} ${location(frame.url, frame.lineNumber)}`.trim();
      byFunction.set(name, (byFunction.get(name) ?? 0) + us);
      const area = areaOf(frame.functionName, frame.url);
      byArea.set(area, (byArea.get(area) ?? 0) + us);
      total += us;
    }
  }
  const rank = (m: Map<string, number>): SelfTime[] =>
    [...m]
      .map(([name, us]) => ({ name, ms: us / 1000, share: total === 0 ? 0 : us / total }))
      .sort((a, b) => b.ms - a.ms);
  return { totalMs: total / 1000, functions: rank(byFunction), areas: rank(byArea) };
}
