/**
 * What the benchmark reports: metric labels and issue 7's targets (plus issue 4's record bound),
 * and how a target is judged against the numbers of one run.
 *
 * @module
 */
import type { ImplementationId } from './impl/index.js';

/** Timed metrics, in table order. */
export const TIMED_METRICS = ['S1', 'S2', 'S2-encrypt', 'S2-decrypt', 'S3', 'S4'] as const;

/** Size metrics, in table order. */
export const SIZE_METRICS = [
  'size-first-message',
  'size-later-message-S2',
  'size-later-message-S3',
  'record-after-setup',
  'record-after-S2',
  'record-after-S3',
  'record-peak-S3',
] as const;

export const METRIC_LABELS: Record<string, string> = {
  S1: 'S1 handshake',
  S2: 'S2 same chain',
  'S2-encrypt': 'S2 encrypt only',
  'S2-decrypt': 'S2 decrypt only',
  S3: 'S3 ping-pong',
  S4: 'S4 200 in reverse',
  'size-first-message': 'first message',
  'size-later-message-S2': 'later message (S2)',
  'size-later-message-S3': 'later message (S3)',
  'record-after-setup': 'record after setup',
  'record-after-S2': 'record after 1,000 S2',
  'record-after-S3': 'record after 1,000 S3',
  'record-peak-S3': 'record peak during S3',
};

/** Aggregated numbers of one metric of one implementation. */
export interface Aggregate {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
  /** Samples (timed repetitions, or messages for message sizes). */
  readonly n: number;
  /** median / median of the reference implementation in the same run. */
  readonly ratio: number | null;
}

export type Results = Partial<Record<ImplementationId, Record<string, Aggregate>>>;

/** One target: chiffre's median of `metric` compared with `factor` × another's median. */
export interface Target {
  readonly column: 'default (Node)' | 'pure noble' | 'records';
  readonly metric: string;
  readonly against: ImplementationId;
  readonly op: '>=' | '<=';
  readonly factor: number;
  readonly source: string;
}

const REF: ImplementationId = 'libsignal-client-0103';

export const TARGETS: readonly Target[] = [
  { column: 'default (Node)', metric: 'S1', against: REF, op: '>=', factor: 0.5, source: '#7' },
  { column: 'default (Node)', metric: 'S2', against: REF, op: '>=', factor: 2, source: '#7' },
  {
    column: 'default (Node)',
    metric: 'S2',
    against: 'libsignal-node',
    op: '>=',
    factor: 1,
    source: '#7',
  },
  { column: 'default (Node)', metric: 'S3', against: REF, op: '>=', factor: 1, source: '#7' },
  { column: 'default (Node)', metric: 'S4', against: REF, op: '<=', factor: 1, source: '#7' },
  {
    column: 'pure noble',
    metric: 'S1',
    against: 'privacyresearch',
    op: '>=',
    factor: 2,
    source: '#7',
  },
  { column: 'pure noble', metric: 'S2', against: REF, op: '>=', factor: 1, source: '#7' },
  {
    column: 'pure noble',
    metric: 'S3',
    against: 'privacyresearch',
    op: '>=',
    factor: 2,
    source: '#7',
  },
  { column: 'pure noble', metric: 'S4', against: REF, op: '<=', factor: 1, source: '#7' },
  {
    column: 'records',
    metric: 'record-after-setup',
    against: REF,
    op: '<=',
    factor: 1,
    source: '#7',
  },
  { column: 'records', metric: 'record-after-S2', against: REF, op: '<=', factor: 1, source: '#7' },
  { column: 'records', metric: 'record-after-S3', against: REF, op: '<=', factor: 1, source: '#7' },
  {
    column: 'records',
    metric: 'record-after-S3',
    against: REF,
    op: '<=',
    factor: 1.5,
    source: '#4',
  },
];

export interface Verdict {
  readonly target: Target;
  /** chiffre's median and the other implementation's, when both were measured. */
  readonly value: number | null;
  readonly other: number | null;
  /** chiffre / other. */
  readonly achieved: number | null;
  /** The same from CPU time (`<metric>@cpu`), for timed metrics. */
  readonly achievedCpu: number | null;
  readonly met: boolean | null;
  /**
   * How far from the target: for a miss, the factor chiffre must improve by; for a hit, the
   * margin (both ≥ 1).
   */
  readonly factorOff: number | null;
  /** `met` and `factorOff` from CPU time (timed metrics only). */
  readonly metCpu: boolean | null;
  readonly factorOffCpu: number | null;
}

/** Whether `achieved` meets `target`, and by what factor it is off (a margin when met). */
function assess(target: Target, achieved: number): { met: boolean; factorOff: number } {
  const met = target.op === '>=' ? achieved >= target.factor : achieved <= target.factor;
  return {
    met,
    factorOff: Math.max(achieved / target.factor, target.factor / achieved),
  };
}

/** Judge every target against `results`. */
export function judge(results: Results): Verdict[] {
  return TARGETS.map((target) => {
    // The pure-noble column is chiffre forced onto noble (`crypto: 'noble'`), as on a platform
    // without native X25519 (e.g. React Native).
    const ours = target.column === 'pure noble' ? results['chiffre-noble'] : results.chiffre;
    const value = ours?.[target.metric]?.median ?? null;
    const other = results[target.against]?.[target.metric]?.median ?? null;
    const cpu = `${target.metric}@cpu`;
    const valueCpu = ours?.[cpu]?.median;
    const otherCpu = results[target.against]?.[cpu]?.median;
    const achievedCpu =
      valueCpu === undefined || otherCpu === undefined || otherCpu === 0
        ? null
        : valueCpu / otherCpu;
    const cpuVerdict =
      achievedCpu === null ? { met: null, factorOff: null } : assess(target, achievedCpu);
    const base = { target, value, other, achievedCpu, metCpu: cpuVerdict.met };
    if (value === null || other === null || other === 0) {
      return { ...base, achieved: null, met: null, factorOff: null, factorOffCpu: null };
    }
    const achieved = value / other;
    return {
      ...base,
      achieved,
      ...assess(target, achieved),
      factorOffCpu: cpuVerdict.factorOff,
    };
  });
}
