/**
 * `npm run size`: the `chiffre` main entry bundled for the browser (esbuild, minified, ESM,
 * `@noble/*` included), gzipped. Prints the number; exits 1 above issue 7's 40 KiB budget, or
 * when storage adapter code entered the bundle.
 *
 * `--ceiling <KiB>` (used by CI while the 40 KiB target is not met): still prints the verdict
 * against the budget, but fails only above the ceiling, which guards against regressions.
 *
 * @module
 */
import { kib, measureBundle } from './bundle.js';

const at = process.argv.indexOf('--ceiling');
const ceilingKiB = at >= 0 ? Number(process.argv[at + 1]) : undefined;
if (ceilingKiB !== undefined && !(ceilingKiB > 0)) throw new Error('--ceiling needs a size in KiB');

const report = await measureBundle();
const within = report.gzipBytes <= report.budgetBytes;
console.log(
  `chiffre (${report.entry}) for the browser: ${kib(report.minifiedBytes)} minified, ` +
    `${kib(report.gzipBytes)} (${String(report.gzipBytes)} bytes) minified+gzipped; ` +
    `budget ${kib(report.budgetBytes)}: ${
      within ? 'within' : `OVER by ${kib(report.gzipBytes - report.budgetBytes)}`
    }`,
);
for (const { part, bytes } of report.composition.slice(0, 8)) {
  console.log(`  ${part.padEnd(34)} ${kib(bytes).padStart(10)} minified`);
}
if (report.adapterLeaks.length > 0) {
  console.log(`storage adapter code in the bundle: ${report.adapterLeaks.join(', ')}`);
}
const limit = ceilingKiB === undefined ? report.budgetBytes : ceilingKiB * 1024;
if (ceilingKiB !== undefined) {
  console.log(`regression ceiling ${kib(limit)}: ${report.gzipBytes <= limit ? 'within' : 'OVER'}`);
}
if (report.gzipBytes > limit || report.adapterLeaks.length > 0) process.exitCode = 1;
