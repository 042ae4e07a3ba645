/**
 * Debian's Chromium for the browser tests: {@link ensureChromium} installs it with apt when
 * `/usr/bin/chromium` is missing (CI starts from a fresh machine and must install what it needs;
 * test tools' own browser downloads do not work there), and {@link launchChromium} starts it
 * headless through playwright-core with the flags this machine needs.
 *
 * The install is idempotent and safe when several test files (vitest forks) call it at once: a
 * lock file created with `O_EXCL` holds the installer's pid; the others wait for it, and a lock
 * left by a dead process is taken over. apt itself waits for the dpkg lock
 * (`DPkg::Lock::Timeout`), so an unrelated apt run does not fail the install either.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, open, readFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for this machine: no sandbox (we run as root), no GPU, and no background traffic (the
 * network is closed; without these Chromium keeps trying Google's hosts).
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const LOCK_PATH = path.join(tmpdir(), 'chiffre-chromium-install.lock');
const LOG_PATH = path.join(tmpdir(), 'chiffre-chromium-install.log');
const LOCK_POLL_MS = 500;
const LOCK_WAIT_MS = 20 * 60_000;

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Take the install lock; returns once this process holds it. */
async function acquireLock(): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(LOCK_PATH, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    // Someone holds it. Take over a lock whose owner died (killed test run); the pid is written
    // right after the file is created, so an empty file is a lock being taken, not a stale one.
    const owner = Number.parseInt(await readFile(LOCK_PATH, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
      await unlink(LOCK_PATH).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for the Chromium install lock ${LOCK_PATH}`);
    }
    await sleep(LOCK_POLL_MS);
  }
}

/** Run a command, appending its output to the install log; reject on a non-zero exit. */
async function run(command: string, args: readonly string[]): Promise<void> {
  const log = await open(LOG_PATH, 'a');
  try {
    await log.write(`\n$ ${command} ${args.join(' ')}\n`);
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(command, args, {
        stdio: ['ignore', log.fd, log.fd],
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      });
      child.on('error', reject);
      child.on('exit', resolve);
    });
    if (code !== 0) {
      const tail = (await readFile(LOG_PATH, 'utf8')).split('\n').slice(-40).join('\n');
      throw new Error(
        `${command} ${args.join(' ')} exited with ${String(code)}; log ${LOG_PATH}:\n${tail}`,
      );
    }
  } finally {
    await log.close();
  }
}

let installing: Promise<string> | undefined;

/**
 * Make sure Debian's Chromium is installed; install it with apt (as root) when it is missing.
 * Idempotent; concurrent calls (in this process or others) install once.
 *
 * @returns the browser's executable path ({@link CHROMIUM_PATH})
 */
export function ensureChromium(): Promise<string> {
  installing ??= (async () => {
    if (await isExecutable(CHROMIUM_PATH)) return CHROMIUM_PATH;
    if (process.platform !== 'linux' || process.getuid?.() !== 0) {
      throw new Error(
        `${CHROMIUM_PATH} is missing; install Debian's chromium (apt-get install -y chromium) ` +
          'or run the tests as root so they can install it',
      );
    }
    await acquireLock();
    try {
      // Another process may have installed it while we waited for the lock.
      if (await isExecutable(CHROMIUM_PATH)) return CHROMIUM_PATH;
      const wait = ['-o', 'DPkg::Lock::Timeout=600'];
      await run('apt-get', [...wait, 'update']);
      await run('apt-get', [...wait, 'install', '-y', 'chromium']);
      if (!(await isExecutable(CHROMIUM_PATH))) {
        throw new Error(`apt-get installed chromium but ${CHROMIUM_PATH} is not executable`);
      }
      return CHROMIUM_PATH;
    } finally {
      await unlink(LOCK_PATH).catch(() => undefined);
    }
  })();
  // A failed attempt may be retried by a later call.
  installing.catch(() => {
    installing = undefined;
  });
  return installing;
}

/** Install Chromium when needed, then launch it headless through playwright-core. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = await ensureChromium();
  return chromium.launch({ executablePath, headless: true, args: [...CHROMIUM_ARGS] });
}
