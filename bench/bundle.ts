/**
 * The browser bundle of the `chiffre` main entry, as an app would ship it: esbuild, minified, ESM,
 * platform browser, `@noble/*` bundled in; then gzip (level 9). Also checks that no storage
 * adapter code entered it.
 *
 * @module
 */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** Issue 7's budget for the main entry, minified + gzipped. */
export const BUDGET_BYTES = 40 * 1024;

/** Strings that only storage adapters would bring in. */
const FORBIDDEN = ['better-sqlite3', 'indexeddb'] as const;

export interface BundleReport {
  readonly entry: string;
  readonly minifiedBytes: number;
  readonly gzipBytes: number;
  readonly budgetBytes: number;
  /** Forbidden strings found in the output, and adapter modules found among the inputs. */
  readonly adapterLeaks: string[];
  /** Bytes in the minified output per package or `src/` folder, largest first. */
  readonly composition: { readonly part: string; readonly bytes: number }[];
}

const root = fileURLToPath(new URL('..', import.meta.url));

function partOf(input: string): string {
  const noble = /node_modules\/(@noble\/[^/]+)\//.exec(input);
  if (noble) return noble[1] as string;
  const src = /^src\/([^/]+)\//.exec(input);
  if (src) return `chiffre src/${src[1] as string}`;
  return input.startsWith('src/') ? 'chiffre src/*.ts' : input;
}

/** Bundle, compress and inspect the main entry. */
export async function measureBundle(): Promise<BundleReport> {
  const entry = 'src/index.ts';
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (out === undefined) throw new Error('esbuild produced no output');
  const text = out.text.toLowerCase();
  const inputs = Object.keys(result.metafile.inputs);
  const adapterLeaks = [
    ...FORBIDDEN.filter((s) => text.includes(s)),
    ...inputs.filter((i) => i.startsWith('src/adapters/') || i.includes('better-sqlite3')),
  ];
  const parts = new Map<string, number>();
  for (const o of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(o.inputs)) {
      const p = partOf(input);
      parts.set(p, (parts.get(p) ?? 0) + bytesInOutput);
    }
  }
  return {
    entry,
    minifiedBytes: out.contents.length,
    gzipBytes: gzipSync(out.contents, { level: 9 }).length,
    budgetBytes: BUDGET_BYTES,
    adapterLeaks,
    composition: [...parts]
      .map(([part, bytes]) => ({ part, bytes }))
      .sort((a, b) => b.bytes - a.bytes),
  };
}

export const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
