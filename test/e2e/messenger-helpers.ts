/**
 * Helpers of the example messenger's end-to-end tests: the ESM build the page needs, the CLI as a
 * child process speaking JSON lines, and an event recorder for in-process clients.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ClientEvent, MessengerClient } from '../../examples/messenger/client.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const messengerDir = path.join(root, 'examples/messenger');

/** A fresh temporary directory. */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `chiffre-${prefix}-`));
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * Make sure `dist/` holds a current ESM build (the browser client loads it): run `npm run build`
 * when it is missing or older than `src/`.
 */
export async function ensureBuild(): Promise<void> {
  const marker = path.join(root, 'dist/storage-indexeddb.js');
  const index = path.join(root, 'dist/index.js');
  if (existsSync(marker) && existsSync(index)) {
    const built = Math.min(statSync(marker).mtimeMs, statSync(index).mtimeMs);
    if (built >= newestMtime(path.join(root, 'src'))) return;
  }
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
    child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`npm run build failed:\n${output.join('').slice(-4000)}`);
}

/** A line the CLI prints with `--json`. */
export type CliLine =
  | { readonly event: ClientEvent }
  | { readonly ready: { address: string; server: string } }
  | { readonly reply: Record<string, unknown> }
  | { readonly error: { code: string; message: string } }
  | { readonly closed: true };

/** The CLI client (`examples/messenger/cli.ts --json`) in a child process. */
export class CliProcess {
  readonly lines: CliLine[] = [];
  readonly stderr: string[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #waiters = new Set<() => void>();
  readonly #exited: Promise<number | null>;

  constructor(args: readonly string[]) {
    this.#child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(messengerDir, 'cli.ts'), '--json', ...args],
      { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as CliLine);
      } catch {
        this.stderr.push(`(not JSON) ${line}`);
      }
      for (const wake of [...this.#waiters]) wake();
    });
    this.#child.stderr.on('data', (d: Buffer) => this.stderr.push(d.toString()));
    this.#exited = new Promise((resolve) => {
      this.#child.on('exit', (code) => {
        for (const wake of [...this.#waiters]) wake();
        resolve(code);
      });
    });
  }

  /** Type a line into the CLI. */
  send(line: string): void {
    this.#child.stdin.write(`${line}\n`);
  }

  /** The first printed line (from the start) that `match` accepts. */
  waitFor<T extends CliLine>(
    what: string,
    match: (line: CliLine) => line is T,
    timeoutMs = 30_000,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.lines.find(match);
        if (found !== undefined) {
          finish();
          resolve(found);
        } else if (this.#child.exitCode !== null) {
          finish();
          reject(new Error(`the CLI exited before ${what}: ${this.stderr.join('')}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(
            `timed out waiting for ${what}; CLI printed:\n${this.lines
              .map((l) => JSON.stringify(l))
              .join('\n')}\n${this.stderr.join('')}`,
          ),
        );
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Events of one type printed so far. */
  events<K extends ClientEvent['type']>(type: K): Extract<ClientEvent, { type: K }>[] {
    return this.lines.flatMap((l) =>
      'event' in l && l.event.type === type ? [l.event as Extract<ClientEvent, { type: K }>] : [],
    );
  }

  /** `/quit`, then wait for the exit (killed after 10 s). */
  async quit(): Promise<number | null> {
    if (this.#child.exitCode !== null) return this.#child.exitCode;
    this.send('/quit');
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    const code = await this.#exited;
    clearTimeout(timer);
    return code;
  }
}

/** Records a client's events and waits for them. */
export class EventLog {
  readonly events: ClientEvent[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(client?: MessengerClient) {
    if (client !== undefined) client.on(this.listener);
  }

  /** Subscribe with this (e.g. as `onEvent`). */
  readonly listener = (event: ClientEvent): void => {
    this.events.push(event);
    for (const wake of [...this.#waiters]) wake();
  };

  of<K extends ClientEvent['type']>(type: K): Extract<ClientEvent, { type: K }>[] {
    return this.events.filter((e): e is Extract<ClientEvent, { type: K }> => e.type === type);
  }

  /** Resolve with the first recorded event (from the start) of `type` that `match` accepts. */
  waitFor<K extends ClientEvent['type']>(
    type: K,
    match: (event: Extract<ClientEvent, { type: K }>) => boolean = () => true,
    timeoutMs = 20_000,
  ): Promise<Extract<ClientEvent, { type: K }>> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.of(type).find(match);
        if (found !== undefined) {
          clearTimeout(timer);
          this.#waiters.delete(check);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(
            `timed out waiting for a ${type} event; got:\n${this.events
              .map((e) => JSON.stringify(e))
              .join('\n')}`,
          ),
        );
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }
}
