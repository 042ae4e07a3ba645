/**
 * The tarball's full-session smoke test (`session-smoke.mjs`) in Chromium: bundle it from the
 * scratch project where the tarball is installed (so `chiffre` resolves to the packed ESM
 * build), serve it on 127.0.0.1, run it in Debian's Chromium, print its line.
 *
 * Usage: node --import tsx test/package/browser-smoke.ts <scratch project dir>
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { launchChromium } from '../support/chromium.js';

const scratch = process.argv[2];
if (scratch === undefined) throw new Error('usage: browser-smoke.ts <scratch dir>');

const entry = join(scratch, 'browser-entry.mjs');
const { writeFileSync } = await import('node:fs');
writeFileSync(
  entry,
  "import { runSessionSmoke } from './session-smoke.mjs';\n" +
    'globalThis.smokeResult = runSessionSmoke(`chromium ${navigator.userAgent.match(/Chrome\\/[\\d.]+/)?.[0] ?? ""}`);\n',
);
const bundle = await build({
  entryPoints: [entry],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  write: false,
  absWorkingDir: scratch,
  conditions: ['import', 'browser', 'default'],
});
const code = bundle.outputFiles[0]?.text ?? '';
const server = createServer((req, res) => {
  if (req.url === '/smoke.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' }).end(code);
  } else {
    res
      .writeHead(200, { 'content-type': 'text/html' })
      .end('<!doctype html><script type="module" src="/smoke.js"></script>');
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`http://127.0.0.1:${String(port)}/`);
  await page.waitForFunction(() => 'smokeResult' in globalThis, undefined, { timeout: 60_000 });
  const line = await page.evaluate(async () => {
    return (globalThis as unknown as { smokeResult: Promise<string> }).smokeResult;
  });
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
  console.log(line);
} finally {
  await browser.close();
  server.close();
}
