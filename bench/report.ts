/**
 * `docs/benchmarks.md`, generated from one full run.
 *
 * @module
 */
import { type BundleReport, kib } from './bundle.js';
import {
  type Aggregate,
  METRIC_LABELS,
  type Results,
  SIZE_METRICS,
  TIMED_METRICS,
  type Verdict,
} from './catalog.js';
import type { ImplementationId } from './impl/index.js';
import type { ProfileSummary } from './profile.js';
import type { ScenarioId, ScenarioOptions } from './scenarios.js';

export interface ProfileEntry {
  readonly scenario: ScenarioId;
  readonly summary: ProfileSummary;
}

export interface BenchmarkData {
  readonly date: string;
  readonly machine: {
    readonly node: string;
    readonly v8: string;
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGiB: number;
    readonly platform: string;
    /** `os.loadavg()` (1, 5, 15 minutes) when the run started and when it ended. */
    readonly loadAverage: { readonly before: number[]; readonly after: number[] };
  };
  readonly options: ScenarioOptions;
  readonly reference: ImplementationId;
  readonly implementations: readonly {
    readonly id: ImplementationId;
    readonly label: string;
    readonly protocol: string;
    readonly storage: string;
  }[];
  readonly results: Results;
  readonly verdicts: readonly Verdict[];
  readonly bundle: BundleReport;
  readonly profiles: readonly ProfileEntry[];
  readonly errors: readonly { implementation: string; scenario: string; message: string }[];
  readonly durationSeconds: number;
}

/** A number for a table: three significant digits, thousands separated. */
export function num(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : Math.abs(v) >= 1 ? 2 : 3;
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

const ratio = (r: number | null | undefined): string =>
  r === null || r === undefined
    ? '—'
    : `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(2) : r.toPrecision(2)}x`;

const pct = (share: number): string => `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;

const cellWithRange = (a: Aggregate | undefined): string =>
  a === undefined
    ? 'n/a'
    : a.min === a.max
      ? num(a.median)
      : `${num(a.median)} (${num(a.min)}–${num(a.max)})`;

const UNITS: Record<string, string> = {
  S1: 'handshakes/s',
  S2: 'msgs/s',
  'S2-encrypt': 'msgs/s',
  'S2-decrypt': 'msgs/s',
  S3: 'msgs/s',
  S4: 'ms',
};

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** A metric's label, with the size run's message count. */
function label(d: BenchmarkData, metric: string): string {
  return (METRIC_LABELS[metric] ?? metric).replace('1,000', num(d.options.sizeMessages));
}

function labelOf(d: BenchmarkData, id: ImplementationId): string {
  return d.implementations.find((i) => i.id === id)?.label ?? id;
}

function targetText(d: BenchmarkData, v: Verdict): string {
  const t = v.target;
  const what = label(d, t.metric);
  const unit = UNITS[t.metric] ?? 'bytes';
  const vs =
    t.factor === 1 && t.op === '>='
      ? `≥ ${labelOf(d, t.against)}`
      : `${t.op === '>=' ? '≥' : '≤'} ${String(t.factor)}x ${labelOf(d, t.against)}`;
  return `${what} (${unit}) ${vs}`;
}

function verdictText(v: Verdict, clock: 'wall' | 'cpu' = 'wall'): string {
  const met = clock === 'wall' ? v.met : v.metCpu;
  const off = clock === 'wall' ? v.factorOff : v.factorOffCpu;
  if (met === null || off === null) return clock === 'wall' ? 'not measured' : '—';
  const by = off >= 10 ? off.toFixed(0) : off.toFixed(2);
  if (met) return `**met** (margin ${by}x)`;
  return v.target.op === '>=' ? `**missed**: needs ${by}x more` : `**missed**: ${by}x over`;
}

function targetsSection(d: BenchmarkData): string {
  const rows = d.verdicts.map((v) => [
    v.target.column,
    targetText(d, v),
    v.value === null ? 'n/a' : num(v.value),
    v.other === null ? 'n/a' : num(v.other),
    ratio(v.achieved),
    verdictText(v),
    ratio(v.achievedCpu),
    verdictText(v, 'cpu'),
  ]);
  const b = d.bundle;
  const bundleMet = b.gzipBytes <= b.budgetBytes && b.adapterLeaks.length === 0;
  rows.push([
    'size',
    'main entry, browser bundle, minified + gzipped ≤ 40 KiB, no storage adapter',
    kib(b.gzipBytes),
    kib(b.budgetBytes),
    ratio(b.gzipBytes / b.budgetBytes),
    bundleMet
      ? `**met** (${kib(b.budgetBytes - b.gzipBytes)} to spare)`
      : `**missed**: ${kib(b.gzipBytes - b.budgetBytes)} over${
          b.adapterLeaks.length > 0 ? `; adapter code: ${b.adapterLeaks.join(', ')}` : ''
        }`,
    '—',
    '—',
  ]);
  const missed = d.verdicts.filter((v) => v.met === false).length + (bundleMet ? 0 : 1);
  const total = d.verdicts.length + 1;
  return [
    '## Targets',
    '',
    `Issue 7's targets (and issue 4's record bound), judged on the wall-clock medians of this run: ` +
      `${String(total - missed)} of ${String(total)} met. "achieved" is chiffre's median divided ` +
      `by the other implementation's; "needs Nx more" is the factor chiffre must improve by. The same judged on CPU time (see "Speed") is beside it: it leaves out time spent waiting for a core, which matters on a busy machine and for libraries that hop between threads (libsignal-client's Rust runtime, WebCrypto's thread pool).`,
    '',
    table(
      [
        'column',
        'target',
        'chiffre',
        'compared with',
        'achieved',
        'verdict',
        'achieved (CPU time)',
        'verdict (CPU time)',
      ],
      rows,
    ),
    '',
    "The “default (Node)” column is chiffre as configured by default: native X25519 and Ed25519 verification through WebCrypto where the platform has them (Node 20+), with chiffre's own JavaScript for everything else (SHA-2, SHA-3, HMAC and HKDF, AES-256-CBC, ML-KEM, the Curve25519 arithmetic) and `@noble/ciphers` for XChaCha20-Poly1305 (records at rest, not in these scenarios). The “pure noble” column is chiffre with `crypto: 'noble'` (“chiffre 0.1.0, pure noble” below), as on a platform without native X25519 such as React Native.",
  ].join('\n');
}

function speedSection(d: BenchmarkData): string {
  const ids = d.implementations.map((i) => i.id);
  const head = [
    'implementation',
    ...TIMED_METRICS.map((m) => `${label(d, m)} (${UNITS[m] ?? ''})`),
  ];
  const abs = ids.map((id) => [
    labelOf(d, id),
    ...TIMED_METRICS.map((m) => cellWithRange(d.results[id]?.[m])),
  ]);
  const rel = ids.map((id) => [
    labelOf(d, id),
    ...TIMED_METRICS.map((m) => ratio(d.results[id]?.[m]?.ratio)),
  ]);
  const relCpu = ids.map((id) => [
    labelOf(d, id),
    ...TIMED_METRICS.map((m) => ratio(d.results[id]?.[`${m}@cpu`]?.ratio)),
  ]);
  return [
    '## Speed',
    '',
    `Medians of ${String(d.options.reps)} repetitions (min–max in parentheses). Higher is better except S4 (milliseconds to decrypt 200 messages in reverse order).`,
    '',
    table(head, abs),
    '',
    `Ratios to ${labelOf(d, d.reference)}, computed within this run (for S4, below 1 is faster):`,
    '',
    table(head, rel),
    '',
    `The same ratios from CPU time (user + system time of the whole process, all threads, over the same intervals): insensitive to time spent waiting for a core on a busy machine, and counting the work native libraries do on their own threads:`,
    '',
    table(head, relCpu),
    '',
    '![Speed relative to libsignal-client 0.103](../bench/results/ratios.svg)',
  ].join('\n');
}

function spqrSection(d: BenchmarkData): string {
  const on = d.results.chiffre;
  const off = d.results['chiffre-nospqr'];
  if (on === undefined || off === undefined) return '## SPQR cost\n\nNot measured in this run.';
  const rows: string[][] = [];
  for (const m of ['S2', 'S2-encrypt', 'S2-decrypt', 'S3'] as const) {
    const a = on[m];
    const b = off[m];
    if (a === undefined || b === undefined) continue;
    const extraUs = 1e6 / a.median - 1e6 / b.median;
    rows.push([
      label(d, m),
      `${num(a.median)} msgs/s`,
      `${num(b.median)} msgs/s`,
      `${num(1e6 / a.median)} µs vs ${num(1e6 / b.median)} µs: ${extraUs >= 0 ? '+' : ''}${num(extraUs)} µs`,
    ]);
  }
  const s4a = on.S4;
  const s4b = off.S4;
  if (s4a !== undefined && s4b !== undefined) {
    rows.push([
      label(d, 'S4'),
      `${num(s4a.median)} ms`,
      `${num(s4b.median)} ms`,
      `${num(((s4a.median - s4b.median) * 1000) / d.options.reversed)} µs per message`,
    ]);
  }
  for (const m of ['size-later-message-S2', 'size-later-message-S3', 'record-after-S3'] as const) {
    const a = on[m];
    const b = off[m];
    if (a === undefined || b === undefined) continue;
    rows.push([
      label(d, m),
      `${num(a.median)} B`,
      `${num(b.median)} B`,
      `${a.median - b.median >= 0 ? '+' : ''}${num(a.median - b.median)} B`,
    ]);
  }
  return [
    '## SPQR cost',
    '',
    "Issue 4 asks for SPQR's per-message cost. “Without SPQR” is chiffre between two of its own parties that both accept a peer without SPQR (`spqrPolicy: 'allow-v0'`), where the initiator's fresh session is rewritten as a pre-SPQR (V0) session, as a peer that never speaks SPQR would hold it; the responder negotiates down to V0 on the first message, so no message carries field 5 and no key is salted. Everything else (PQXDH, the Double Ratchet, the store) is the same code, so the difference is SPQR's own cost: its ML-KEM-768 braid, chunk encoding, chain and the larger stored state.",
    '',
    table(['measure', 'with SPQR (default)', 'without SPQR', 'per message: difference'], rows),
    '',
    'The per-message difference is the time per message with SPQR minus without (from the medians). In S1 the variant without SPQR still runs PQXDH and creates the SPQR state, then rewrites the stored session once, so S1 says little about SPQR.',
  ].join('\n');
}

function sizeSection(d: BenchmarkData): string {
  const ids = d.implementations.map((i) => i.id);
  const n = num(d.options.sizeMessages);
  const head = ['implementation', ...SIZE_METRICS.map((m) => label(d, m))];
  const rows = ids.map((id) => [
    labelOf(d, id),
    ...SIZE_METRICS.map((m) => {
      const a = d.results[id]?.[m];
      if (a === undefined) return 'n/a';
      const r = m.startsWith('record') && id !== d.reference ? ` · ${ratio(a.ratio)}` : '';
      return `${cellWithRange(a)}${r}`;
    }),
  ]);
  return [
    '## Sizes',
    '',
    `Bytes. Messages carry 1 KiB of plaintext; "later message" is the median (min–max) over the ${n} messages of an S2 conversation (all from A, in a row) and of an S3 conversation (alternating). Records are the serialized session record each implementation's store keeps, the larger of the two parties', after setup (first message and one reply), after those ${n} S2 and S3 messages, and the peak sampled every 10 messages during S3; ratios are to ${labelOf(d, d.reference)}. 2key-ratchet's state holds non-extractable CryptoKeys and has no byte form to measure.`,
    '',
    table(head, rows),
  ].join('\n');
}

const AREA_NOTES: Record<string, string> = {
  'chiffre src/keys': 'key objects, and the packed lists of skipped and out-of-order keys',
  '@noble/hashes': 'the CSPRNG wrapper (`randomBytes`)',
  '@noble/ciphers': 'XChaCha20-Poly1305 (records encrypted at rest; not in the message path)',
  '(garbage collector)': 'allocation pressure',
  'chiffre src/primitives':
    "SHA-256, HMAC, HKDF, SHA-512, AES-256-CBC, SHA-3, ML-KEM and the Curve25519 arithmetic (chiffre's own), the WebCrypto glue",
  'chiffre src/wire': 'protobuf encoding and decoding',
  'chiffre src/state': 'session record (de)serialization',
  'chiffre src/spqr': 'SPQR braid, erasure code, chain',
  'V8/native builtins': 'typed-array work in the engine; native X25519 (`run`)',
  'Node.js internals': "WebCrypto's JavaScript side: key objects, job dispatch",
};

function profileSection(d: BenchmarkData): string {
  if (d.profiles.length === 0) return '';
  const parts = [
    "## Where chiffre's time goes",
    '',
    "CPU profiles of chiffre taken with the inspector's sampling profiler (100 µs interval) during the timed regions only (no setup, no warm-up) of a separate worker run of each scenario below. Self time: the time spent in a function's own code, not in what it calls. Areas group functions by package or by `src/` folder.",
  ];
  for (const p of d.profiles) {
    const s = p.summary;
    parts.push(
      '',
      `### ${label(d, p.scenario)} (${num(s.totalMs)} ms sampled)`,
      '',
      table(
        ['area', 'self time', 'share', 'what it is'],
        s.areas
          .slice(0, 8)
          .map((a) => [a.name, `${num(a.ms)} ms`, pct(a.share), AREA_NOTES[a.name] ?? '']),
      ),
      '',
      table(
        ['function (top self time)', 'self time', 'share'],
        s.functions.slice(0, 10).map((f) => [`\`${f.name}\``, `${num(f.ms)} ms`, pct(f.share)]),
      ),
    );
  }
  return parts.join('\n');
}

/** What would shrink the time an area takes, per area of the profiles. */
const LEVERS: Record<string, string> = {
  '@noble/hashes': 'nothing to gain: one call for random bytes',
  'chiffre src/primitives':
    "SHA-256 at about 0.25 µs per 64-byte block, near the JavaScript floor (a reworked compression function measured 5% faster); WebCrypto's HMAC costs 60 µs per call with its key import on Node 20, against 7.6–9 µs here. AES-256-CBC at about 8 µs per KiB with 1 KiB tables (noble's 256 KiB tables fell out of the caches between messages); WebCrypto's AES-CBC costs 39.5 µs per call with a ready key on Node 20. The Curve25519 arithmetic that stays in JavaScript even with native X25519: XEdDSA signing of new prekeys (WebCrypto's Ed25519 cannot sign with an X25519 key), public keys of prekeys generated synchronously, and the responder's subgroup check of the initiator's base key (a 253-bit scalar multiplication, as libsignal requires). ML-KEM has nothing native to move to (WebCrypto on Node 20 has neither ML-KEM nor SHA-3): chiffre's own takes about 210, 225 and 275 µs for Kyber-1024 key generation, encapsulation and decapsulation here (noble's took 340, 395 and 480 µs), half of it in Keccak-f[1600] at about 1.3 µs per permutation",
  'chiffre src/wire':
    'less protobuf work per message: the store keeps bytes, so the whole record is decoded on every operation and its current state (with the SPQR state) re-encoded; archived states stay in their stored encoding unless a message needs them',
  'chiffre src/state':
    'the record is decoded and re-encoded on every operation; skipped keys and SPQR key history are already kept packed and copied as bytes, the rest is decoded field by field',
  'chiffre src/spqr':
    "SPQR's stored state (ML-KEM keys, erasure-code encoder and decoder) is decoded and re-encoded with every message; lazy decoding of the parts a message does not touch",
  'chiffre src/keys':
    'the packed key lists are copied once on load and once per removal (7 KiB each with 199 keys); views into one copy of the record would save one of those copies',
  '(garbage collector)':
    'fewer allocations per message: intermediate arrays in the codecs, the copies of the packed key lists, AES buffers',
  'V8/native builtins':
    'native X25519 itself (`run`), and typed-array copies inside the engine (follows the codecs)',
  'Node.js internals':
    "WebCrypto's per-call cost on Node (key objects, job dispatch): five calls per ratchet step (generate and export, made ahead of need; import the peer key; two agreements)",
};

/** The time per S2 message (encrypt and decrypt) that twice the reference's speed leaves. */
function s2Budget(d: BenchmarkData): string {
  const ref = d.results[d.reference]?.S2?.median;
  return ref === undefined ? 'an unknown time' : `about ${num(1e6 / (2 * ref))} µs`;
}

function closingSection(d: BenchmarkData): string {
  const lines = ['## What would close the gaps', ''];
  const missed = d.verdicts.filter((v) => v.met === false);
  const scenarios = [...new Set(missed.map((v) => v.target.metric))].filter((m) =>
    d.profiles.some((p) => p.scenario === m),
  );
  if (missed.length === 0) {
    lines.push('Every speed and record target is met in this run.');
  }
  for (const scenario of scenarios) {
    const p = d.profiles.find((e) => e.scenario === scenario);
    if (p === undefined) continue;
    const worst = missed
      .filter((v) => v.target.metric === scenario)
      .reduce((a, b) => ((b.factorOff ?? 0) > (a.factorOff ?? 0) ? b : a));
    const areas = p.summary.areas.filter((a) => a.share >= 0.05).slice(0, 4);
    lines.push(
      `- **${label(d, scenario)}** (${verdictText(worst).replace(/\*\*/g, '')} against ${labelOf(d, worst.target.against)}): ` +
        areas
          .map(
            (a) => `${a.name} ${pct(a.share)}${LEVERS[a.name] ? ` → ${LEVERS[a.name] ?? ''}` : ''}`,
          )
          .join('; ') +
        '.',
    );
  }
  const b = d.bundle;
  const own = b.composition.filter((c) => c.part.startsWith('chiffre'));
  const ownBytes = own.reduce((sum, c) => sum + c.bytes, 0);
  const spqrShare =
    ownBytes === 0 ? 0 : (own.find((c) => c.part === 'chiffre src/spqr')?.bytes ?? 0) / ownBytes;
  if (b.gzipBytes > b.budgetBytes) {
    lines.push(
      `- **Bundle** (${kib(b.gzipBytes)}, ${kib(b.gzipBytes - b.budgetBytes)} over ${kib(b.budgetBytes)}): the largest parts are ${b.composition
        .slice(0, 4)
        .map((c) => `${c.part} (${kib(c.bytes)} minified)`)
        .join(', ')}. SPQR is ${pct(spqrShare)} of chiffre's own minified code.`,
    );
  }
  const refName = labelOf(d, d.reference);
  const s4Missed = missed.some((v) => v.target.metric === 'S4');
  lines.push(
    '',
    `The native libsignal-client does all of this in Rust and crosses into JavaScript only for the store callbacks; the JavaScript peers pay the same pure-JS elliptic-curve cost as chiffre (privacyresearch) or use Node's native X25519 (libsignal 6.0.0). For S2 the arithmetic of a message pair in JavaScript sets a floor: AES-256-CBC of 1 KiB each way (about 2 × 8 µs here, more in a session, where the tables share the caches) and SHA-256 for the chain steps, message keys, SPQR chain keys and MACs (about 30 µs) already take about 46 µs, while twice ${refName}'s speed in this run allows ${s2Budget(d)} for everything, record and message codecs, SPQR and the store included; native symmetric crypto does not help on Node 20 (it is slower per call, see above). S1 is bound by ML-KEM in JavaScript (Kyber-1024 key generation, encapsulation and decapsulation and SPQR's first ML-KEM-768 key take about 0.85 ms of each handshake) and by the Curve25519 arithmetic that stays in JavaScript (prekey public keys, XEdDSA signatures, the base key's subgroup check), S3 by one native DH ratchet step per message (five WebCrypto calls, two of them made ahead) and by SPQR.${s4Missed ? ' S4 is bound by the first message’s 199 skipped keys: 398 chain steps of HMAC and HKDF (Double Ratchet and SPQR) in JavaScript.' : ''}`,
  );
  const off = d.results['chiffre-nospqr'];
  const ref = d.results[d.reference];
  const offRatio = (m: 'S2' | 'S3'): string | undefined => {
    const a = off?.[m]?.median;
    const b = ref?.[m]?.median;
    return a === undefined || b === undefined ? undefined : ratio(a / b);
  };
  const s2Off = offRatio('S2');
  const s3Off = offRatio('S3');
  if (s2Off !== undefined && s3Off !== undefined) {
    lines.push(
      '',
      `SPQR is the largest single part of the S2 and S3 gaps: ${refName} runs SPQR too, in Rust, while chiffre's SPQR (ML-KEM-768, the erasure code, its chain and the decoding and encoding of its stored state on every message) runs in JavaScript. Without SPQR, chiffre reaches ${s2Off} of ${refName}'s S2 and ${s3Off} of its S3 in this run (see "SPQR cost").`,
    );
  }
  return lines.join('\n');
}

function implementationsSection(d: BenchmarkData): string {
  return [
    '## Implementations',
    '',
    table(
      ['implementation', 'protocol between two of its parties', 'records in the store'],
      d.implementations.map((i) => [i.label, i.protocol, i.storage]),
    ),
    '',
    '- Peers that cannot run PQXDH or SPQR are measured on the same scenarios with their own handshake: `libsignal` 6.0.0 and libsignal-protocol-typescript run X3DH (message version 3) without Kyber or SPQR, 2key-ratchet runs its own X3DH variant on P-256 (it is not Signal-wire-compatible). Their handshakes and records are therefore cheaper by construction than a post-quantum session’s: a Kyber-1024 prekey alone adds 1,568 bytes to a bundle and its ciphertext 1,568 bytes to the first message.',
    '- `libsignal` 6.0.0 does its X25519 with Node’s native `crypto` (`diffieHellman`), and does not verify the signed prekey’s signature when it processes a bundle (`verifySignature(…, isInit = true)` returns early), which also makes its S1 cheaper.',
    '- Both libsignal-client releases run SPQR V1 between two of their own parties (0.90 accepts a peer without it, but does not turn it off).',
  ].join('\n');
}

function methodSection(d: BenchmarkData): string {
  const o = d.options;
  return [
    '## Method',
    '',
    `- One child process per implementation per scenario (\`node --expose-gc --import tsx bench/worker.ts <impl> <scenario>\`), run one after another; warm-up repetitions (at least ${String(o.warmup)}, and more until ${num(o.warmupMs / 1000)} s have passed), then ${String(o.reps)} timed repetitions; median with min–max; ratios to ${labelOf(d, d.reference)} from the same run. Before each repetition the young generation is collected (\`gc({ type: 'minor' })\`, a scavenge), so one repetition's short-lived garbage does not land in the next; not a full collection, which makes V8 throw away optimized code whose embedded objects died ("weak objects" deoptimizations, 205 of them over 8 repetitions of chiffre's S2 when this was measured) and so charges JavaScript implementations a re-optimization per repetition that a running application does not pay. Measured when the method changed, medians of S2 msgs/s: chiffre 2,414 with a full collection, 4,058 with a scavenge; libsignal-client 0.103 8,578 and 9,138.`,
    `- Every party has an in-memory store that keeps records serialized, as an app over a database does (see "Implementations"); every operation is awaited before the next; plaintexts are 1 KiB of fresh random bytes made before the clock starts, and every decryption is compared with its plaintext after the clock stops. Peers are addressed by UUID service ids, so libsignal-client and chiffre bind both addresses into each message as Signal does.`,
    `- **S1**: ${String(o.handshakes)} handshakes per repetition, each between two new identities (made before the clock starts): the responder generates fresh prekeys (signed, one-time and, where supported, Kyber) and its bundle, the initiator processes it and encrypts the first message, the responder decrypts it.`,
    `- **S2**: after setup (first message and one reply), A encrypts ${String(o.messages)} messages in a row, then B decrypts them in order; throughput of the pair, and of each half.`,
    `- **S3**: after setup, A and B alternate for ${String(o.messages)} messages, each encrypted and decrypted before the next (every message starts a new ratchet step).`,
    `- S2 and S3 run ${num(o.messages)} messages per repetition (the length of the issue's record-size conversations) so that even the fastest implementation's timed region lasts about a tenth of a second; with 200 it lasted about 20 ms, and a single pause of the machine could move a whole repetition. The length matters for the ratios: measured one after another when this changed, S2 medians (msgs/s) for libsignal-client 0.103 and chiffre were 6,337 and 3,446 at 200 messages, 5,588 and 4,599 at 500, 4,756 and 4,891 at 1,000, 3,892 and 5,430 at 2,000 — libsignal-client gets slower per message on longer runs (its decrypt half most), chiffre faster (its fixed costs per repetition spread out). S3 in the last full runs at 200 and at 1,000 messages: libsignal-client 0.103 4,154 and 3,566, chiffre 1,090 and 1,654.`,
    `- **S4**: after setup, A encrypts ${String(o.reversed)} messages (not timed); B decrypts them last to first.`,
    `- Warm-up by time as well as by count came with S4, whose repetitions are short (200 decryptions): with one warm-up repetition V8 had not finished optimizing JavaScript implementations when the clock started. Measured one after another when this changed, S4 medians (ms) with one warm-up repetition and with 2 s of warm-up: libsignal-client 0.103 16.3 and 17.0, libsignal 6.0.0 17.7 and 17.0, privacyresearch 184 and 182, chiffre 25.4 and 13.8, chiffre on pure noble 25.1 and 15.9. A cold process decrypting its first 200 messages sees the first figures; a client working through a backlog, the second.`,
    `- **Sizes**: one S2 and one S3 conversation of ${num(o.sizeMessages)} messages each per implementation.`,
    '- `npm run bench:smoke` runs the same code with a few iterations (no thresholds) and writes nothing outside `.tmp/`.',
    '',
    `Run: ${d.date}, ${d.machine.cpu} (${String(d.machine.cores)} cores, ${String(d.machine.memoryGiB)} GiB), ${d.machine.platform}, Node ${d.machine.node} (V8 ${d.machine.v8}); the whole run took ${String(Math.round(d.durationSeconds / 6) / 10)} minutes. ${loadNote(d)}`,
  ].join('\n');
}

function busy(d: BenchmarkData): boolean {
  const [before = 0] = d.machine.loadAverage.before;
  const [after = 0] = d.machine.loadAverage.after;
  return Math.max(before, after) > d.machine.cores * 0.5;
}

function loadNote(d: BenchmarkData): string {
  const [before = 0] = d.machine.loadAverage.before;
  const [after = 0] = d.machine.loadAverage.after;
  return (
    `Load average (1 min) ${before.toFixed(1)} at the start and ${after.toFixed(1)} at the end, on ${String(d.machine.cores)} cores` +
    (busy(d)
      ? ': other processes were running during the run, so absolute numbers are lower and spreads wider than on an idle machine, and a ratio moves when the load changed between two workers; the CPU-time ratios are the steadier figures.'
      : '.')
  );
}

function bundleSection(d: BenchmarkData): string {
  const b = d.bundle;
  return [
    '## Bundle size',
    '',
    `\`npm run size\` bundles \`${b.entry}\` (the \`chiffre\` main entry: 1:1 sessions with PQXDH, SPQR and the in-memory store) for the browser with esbuild (minified, ESM, \`@noble/*\` bundled in) and gzips it (level 9): **${kib(b.gzipBytes)}** (${num(b.gzipBytes)} bytes; ${kib(b.minifiedBytes)} minified), budget ${kib(b.budgetBytes)}. Storage adapter code in the bundle: ${b.adapterLeaks.length === 0 ? 'none' : b.adapterLeaks.join(', ')}.`,
    '',
    table(
      ['part', 'minified bytes'],
      b.composition.slice(0, 10).map((c) => [c.part, num(c.bytes)]),
    ),
  ].join('\n');
}

/** The whole page. */
export function renderReport(d: BenchmarkData): string {
  const errors =
    d.errors.length === 0
      ? ''
      : [
          '## Failures',
          '',
          table(
            ['implementation', 'scenario', 'error'],
            d.errors.map((e) => [e.implementation, e.scenario, e.message.replace(/\|/g, '\\|')]),
          ),
        ].join('\n');
  return [
    '# Benchmarks',
    '',
    `<!-- Generated by \`npm run bench\` (bench/run.ts); do not edit by hand. -->`,
    '',
    `chiffre against every peer of issue 7, measured in one run on ${d.date.slice(0, 10)}: ${d.machine.cpu}, ${String(d.machine.cores)} cores, Node ${d.machine.node}. Machine-readable results: [\`bench/results/latest.json\`](../bench/results/latest.json). Reproduce with \`npm ci && npm run bench\`.`,
    '',
    ...(busy(d) ? [`> **Busy machine.** ${loadNote(d)}`, ''] : []),
    targetsSection(d),
    '',
    speedSection(d),
    '',
    spqrSection(d),
    '',
    sizeSection(d),
    '',
    profileSection(d),
    '',
    closingSection(d),
    '',
    bundleSection(d),
    '',
    implementationsSection(d),
    '',
    methodSection(d),
    '',
    errors,
  ]
    .filter((s, i, all) => !(s === '' && all[i - 1] === ''))
    .join('\n');
}
