/**
 * chiffre's `src/` compiled file by file with esbuild, the way tsup compiles the published package
 * (no `keepNames`), so that the benchmark measures the shipped code rather than tsx's on-the-fly
 * transform: tsx keeps function names by wrapping every function and class it creates in a
 * `__name(...)` call, which chiffre would pay for each closure it creates per message. Relative
 * imports and the folder layout are kept, so CPU profiles still point into `src/<folder>/`.
 *
 * `bench/run.ts` compiles once and hands the directory to its workers in
 * `CHIFFRE_BENCH_BUILD`; a worker started on its own compiles into a directory of its own.
 *
 * @module
 */
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const BUILD_ENV = 'CHIFFRE_BENCH_BUILD';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Compile every `src/**\/*.ts` into `outdir/src/**\/*.js`; returns `outdir`. */
export async function compileChiffre(outdir: string): Promise<string> {
  const entryPoints = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(root, 'src', f));
  await build({
    absWorkingDir: root,
    entryPoints,
    outbase: root,
    outdir,
    bundle: false,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    logLevel: 'silent',
  });
  return outdir;
}

/** The compiled tree for this process: the runner's, or a fresh one removed at exit. */
export async function chiffreBuild(): Promise<string> {
  const given = process.env[BUILD_ENV];
  if (given !== undefined && given !== '') return given;
  const own = join(root, '.tmp', 'bench', `build-${String(process.pid)}`);
  process.on('exit', () => {
    rmSync(own, { recursive: true, force: true });
  });
  return compileChiffre(own);
}
