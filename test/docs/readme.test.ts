/**
 * The README quickstart is real code: extract it, point its import at the sources, run it, and
 * check what it prints.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, test, vi } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function quickstart(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quickstart'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (match?.[1] === undefined) throw new Error('no quickstart code block');
  return match[1];
}

test('the quickstart is at most 30 lines', () => {
  expect(quickstart().trimEnd().split('\n').length).toBeLessThanOrEqual(30);
});

test('the quickstart runs and both messages arrive', async () => {
  const dir = join(root, '.tmp', 'readme');
  mkdirSync(dir, { recursive: true });
  const src = pathToFileURL(join(root, 'src', 'index.ts')).href;
  const file = join(dir, 'quickstart.ts');
  writeFileSync(file, quickstart().replace("from 'chiffre'", `from '${src}'`));
  const logged: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    logged.push(args.map(String).join(' '));
  });
  try {
    await import(pathToFileURL(file).href);
  } finally {
    spy.mockRestore();
  }
  expect(logged).toEqual(['hi Bob', 'hi Alice']);
});
