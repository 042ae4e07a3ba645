/**
 * The scenarios of issue 7, written once against the adapter interface. Every operation is
 * awaited before the next starts; plaintexts are 1 KiB of fresh random bytes, generated before
 * the clock starts; every decryption is checked against its plaintext after the clock stops.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Implementation, Party, WireMessage } from './types.js';

export const SCENARIO_IDS = ['S1', 'S2', 'S3', 'S4', 'sizes'] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

export function isScenarioId(id: string): id is ScenarioId {
  return (SCENARIO_IDS as readonly string[]).includes(id);
}

/** Work per scenario and repetition counts. */
export interface ScenarioOptions {
  /** Untimed repetitions first: at least this many… */
  readonly warmup: number;
  /**
   * …and more until this many milliseconds of warm-up have passed, so that a JIT compiler has
   * settled even in scenarios whose repetitions are short (S4).
   */
  readonly warmupMs: number;
  /** Timed repetitions (one sample each). */
  readonly reps: number;
  /** S1: handshakes per repetition. */
  readonly handshakes: number;
  /** S2 and S3: messages per repetition. */
  readonly messages: number;
  /** S4: messages decrypted in reverse (200 in issue 7). */
  readonly reversed: number;
  /** Sizes: messages of the S2 and S3 conversations whose records are measured (1,000). */
  readonly sizeMessages: number;
}

/** One measured quantity: every sample of it, in its unit. */
export interface Metric {
  readonly id: string;
  readonly unit: string;
  /** Whether a larger number is better (throughput) or worse (time, bytes). */
  readonly better: 'higher' | 'lower';
  readonly samples: number[];
}

export const PLAINTEXT_BYTES = 1024;

function plaintexts(n: number): Uint8Array[] {
  return Array.from({ length: n }, () => crypto.getRandomValues(new Uint8Array(PLAINTEXT_BYTES)));
}

function check(expected: readonly Uint8Array[], actual: readonly Uint8Array[]): void {
  if (expected.length !== actual.length) throw new Error('lost messages');
  expected.forEach((e, i) => {
    if (Buffer.compare(e, actual[i] as Uint8Array) !== 0) {
      throw new Error(`message ${String(i)} decrypted wrong`);
    }
  });
}

async function pair(impl: Implementation): Promise<{ a: Party; b: Party }> {
  // Service-id-looking names, so libsignal and chiffre bind both addresses (field 6) as in Signal.
  const a = await impl.createParty(crypto.randomUUID());
  const b = await impl.createParty(crypto.randomUUID());
  return { a, b };
}

interface Established {
  readonly a: Party;
  readonly b: Party;
  /** A's first (prekey) message and B's reply. */
  readonly first: WireMessage;
  readonly reply: WireMessage;
}

/** Setup shared by S2–S4 and the sizes: a session, A's first message and B's reply, decrypted. */
async function establish(impl: Implementation): Promise<Established> {
  const { a, b } = await pair(impl);
  const [p1, p2] = plaintexts(2) as [Uint8Array, Uint8Array];
  await a.processBundle(b.name, await b.bundle());
  const first = await a.encrypt(b.name, p1);
  if (first.type !== 'prekey') throw new Error('first message is not a prekey message');
  const d1 = await b.decrypt(a.name, first);
  const reply = await b.encrypt(a.name, p2);
  if (reply.type !== 'whisper') throw new Error('reply is not a whisper message');
  const d2 = await a.decrypt(b.name, reply);
  check([p1, p2], [d1, d2]);
  return { a, b, first, reply };
}

const perSecond = (count: number, ms: number): number => (count * 1000) / ms;

/** A point in time: wall clock, and CPU time of the whole process (all threads), in ms. */
interface Mark {
  readonly wall: number;
  readonly cpu: number;
}

function mark(): Mark {
  const u = process.cpuUsage();
  return { wall: performance.now(), cpu: (u.user + u.system) / 1000 };
}

/**
 * `id` from the wall clock and `id@cpu` from the process's CPU time over the same interval: the
 * CPU figure leaves out time the process waited for a core, so it stays meaningful on a busy
 * machine.
 */
function rate(id: string, count: number, from: Mark, to: Mark): Record<string, number> {
  return {
    [id]: perSecond(count, to.wall - from.wall),
    [`${id}@cpu`]: perSecond(count, to.cpu - from.cpu),
  };
}

/** Called around the timed region of every timed repetition (a profiler uses them). */
export interface TimedHooks {
  start(): Promise<void>;
  stop(): Promise<void>;
}

const NO_HOOKS: TimedHooks = { start: async () => undefined, stop: async () => undefined };
let hooks: TimedHooks = NO_HOOKS;

/** Install hooks around the timed regions (e.g. the inspector's CPU profiler). */
export function setTimedHooks(h: TimedHooks): void {
  hooks = h;
}

/**
 * Run `body` warm-up + reps times; keep the timed samples. A scavenge (young generation only)
 * before each run; a full collection would make V8 discard optimized JavaScript (see the method
 * notes in report.ts).
 */
async function repeat(
  options: ScenarioOptions,
  body: (clock: TimedHooks) => Promise<Record<string, number>>,
): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>();
  const scavenge = (): void => {
    (globalThis as { gc?: (o?: { type: string }) => void }).gc?.({ type: 'minor' });
  };
  const warmupStart = performance.now();
  for (let i = 0; i < options.warmup || performance.now() - warmupStart < options.warmupMs; i++) {
    scavenge();
    await body(NO_HOOKS);
  }
  for (let i = 0; i < options.reps; i++) {
    scavenge();
    const result = await body(hooks);
    for (const [k, v] of Object.entries(result)) {
      const list = samples.get(k) ?? [];
      list.push(v);
      samples.set(k, list);
    }
  }
  return samples;
}

/** The wall-clock metric `id` and its CPU-time twin `id@cpu`. */
function withCpu(
  samples: Map<string, number[]>,
  id: string,
  unit: string,
  better: Metric['better'],
): Metric[] {
  return [id, `${id}@cpu`].map((k) => ({ id: k, unit, better, samples: samples.get(k) ?? [] }));
}

/** S1: fresh responder keys and bundle, process, first message, decrypt. Handshakes/s. */
async function s1(impl: Implementation, o: ScenarioOptions): Promise<Metric[]> {
  const s = await repeat(o, async (clock) => {
    // Identities are created before the clock starts; prekeys and bundles are part of the run.
    const pairs = await Promise.all(Array.from({ length: o.handshakes }, () => pair(impl)));
    const pts = plaintexts(o.handshakes);
    const out: Uint8Array[] = [];
    await clock.start();
    const t0 = mark();
    for (let i = 0; i < o.handshakes; i++) {
      const { a, b } = pairs[i] as { a: Party; b: Party };
      await a.processBundle(b.name, await b.bundle());
      const m = await a.encrypt(b.name, pts[i] as Uint8Array);
      out.push(await b.decrypt(a.name, m));
    }
    const t1 = mark();
    await clock.stop();
    check(pts, out);
    return rate('S1', o.handshakes, t0, t1);
  });
  return withCpu(s, 'S1', 'handshakes/s', 'higher');
}

/** S2: A sends N in a row, then B decrypts them in order. Messages/s. */
async function s2(impl: Implementation, o: ScenarioOptions): Promise<Metric[]> {
  const s = await repeat(o, async (clock) => {
    const { a, b } = await establish(impl);
    const pts = plaintexts(o.messages);
    const sent: WireMessage[] = [];
    const out: Uint8Array[] = [];
    await clock.start();
    const t0 = mark();
    for (const p of pts) sent.push(await a.encrypt(b.name, p));
    const t1 = mark();
    for (const m of sent) out.push(await b.decrypt(a.name, m));
    const t2 = mark();
    await clock.stop();
    check(pts, out);
    return {
      ...rate('S2', o.messages, t0, t2),
      ...rate('S2-encrypt', o.messages, t0, t1),
      ...rate('S2-decrypt', o.messages, t1, t2),
    };
  });
  return ['S2', 'S2-encrypt', 'S2-decrypt'].flatMap((id) => withCpu(s, id, 'msgs/s', 'higher'));
}

/** S3: A and B alternate, every message on a new ratchet key. Messages/s (encrypt + decrypt). */
async function s3(impl: Implementation, o: ScenarioOptions): Promise<Metric[]> {
  const s = await repeat(o, async (clock) => {
    const { a, b } = await establish(impl);
    const pts = plaintexts(o.messages);
    const out: Uint8Array[] = [];
    await clock.start();
    const t0 = mark();
    for (let i = 0; i < o.messages; i++) {
      const [from, to] = i % 2 === 0 ? [a, b] : [b, a];
      out.push(await to.decrypt(from.name, await from.encrypt(to.name, pts[i] as Uint8Array)));
    }
    const t1 = mark();
    await clock.stop();
    check(pts, out);
    return rate('S3', o.messages, t0, t1);
  });
  return withCpu(s, 'S3', 'msgs/s', 'higher');
}

/** S4: A sends M (200), B decrypts them last to first. Milliseconds for the decryptions. */
async function s4(impl: Implementation, o: ScenarioOptions): Promise<Metric[]> {
  const s = await repeat(o, async (clock) => {
    const { a, b } = await establish(impl);
    const pts = plaintexts(o.reversed);
    const sent: WireMessage[] = [];
    for (const p of pts) sent.push(await a.encrypt(b.name, p));
    const out: Uint8Array[] = new Array<Uint8Array>(o.reversed);
    await clock.start();
    const t0 = mark();
    for (let i = o.reversed - 1; i >= 0; i--) {
      out[i] = await b.decrypt(a.name, sent[i] as WireMessage);
    }
    const t1 = mark();
    await clock.stop();
    check(pts, out);
    return { S4: t1.wall - t0.wall, 'S4@cpu': t1.cpu - t0.cpu };
  });
  return withCpu(s, 'S4', 'ms', 'lower');
}

/** The larger of the two parties' records (undefined when the adapter cannot measure it). */
async function recordOf(e: { a: Party; b: Party }): Promise<number | undefined> {
  const ra = await e.a.recordSize(e.b.name);
  const rb = await e.b.recordSize(e.a.name);
  return ra === undefined || rb === undefined ? undefined : Math.max(ra, rb);
}

/** Sizes: messages and serialized records (one conversation each; no timing). */
async function sizes(impl: Implementation, o: ScenarioOptions): Promise<Metric[]> {
  const metrics: Metric[] = [];
  const bytes = (id: string, samples: number[]): void => {
    metrics.push({ id, unit: 'bytes', better: 'lower', samples });
  };
  const record = (id: string, value: number | undefined): void => {
    if (value !== undefined) bytes(id, [value]);
  };

  // S2-style conversation: N in a row from A, decrypted in order.
  const e2 = await establish(impl);
  bytes('size-first-message', [e2.first.body.length]);
  record('record-after-setup', await recordOf(e2));
  const pts2 = plaintexts(o.sizeMessages);
  const sent2: WireMessage[] = [];
  for (const p of pts2) sent2.push(await e2.a.encrypt(e2.b.name, p));
  const out2: Uint8Array[] = [];
  for (const m of sent2) out2.push(await e2.b.decrypt(e2.a.name, m));
  check(pts2, out2);
  bytes(
    'size-later-message-S2',
    sent2.map((m) => m.body.length),
  );
  record('record-after-S2', await recordOf(e2));

  // S3-style conversation: alternating; the record is sampled along the way for its peak.
  const e3 = await establish(impl);
  const pts3 = plaintexts(o.sizeMessages);
  const out3: Uint8Array[] = [];
  const sizes3: number[] = [];
  let peak: number | undefined = await recordOf(e3);
  for (let i = 0; i < o.sizeMessages; i++) {
    const [from, to] = i % 2 === 0 ? [e3.a, e3.b] : [e3.b, e3.a];
    const m = await from.encrypt(to.name, pts3[i] as Uint8Array);
    sizes3.push(m.body.length);
    out3.push(await to.decrypt(from.name, m));
    if (i % 10 === 9 && peak !== undefined) peak = Math.max(peak, (await recordOf(e3)) ?? 0);
  }
  check(pts3, out3);
  bytes('size-later-message-S3', sizes3);
  record('record-after-S3', await recordOf(e3));
  record('record-peak-S3', peak);
  return metrics;
}

const scenarios: Record<
  ScenarioId,
  (impl: Implementation, options: ScenarioOptions) => Promise<Metric[]>
> = { S1: s1, S2: s2, S3: s3, S4: s4, sizes };

/** Run one scenario against one implementation. */
export function runScenario(
  impl: Implementation,
  id: ScenarioId,
  options: ScenarioOptions,
): Promise<Metric[]> {
  return scenarios[id](impl, options);
}
