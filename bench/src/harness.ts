import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * The implementations compared side by side. `etcdkit` is the subject; `grpc-js` (bare stubs on
 * the same schema, no retries, no conversions) is the floor; `etcd3` is the npm client people
 * use today. A scenario may add others (e.g. 'etcdctl'); they get a column but no ratio.
 */
export type Impl = 'etcdkit' | 'etcd3' | 'grpc-js' | (string & {});

export const SUBJECT = 'etcdkit';
/** Ratios are computed of the subject against each of these, in this order. */
export const BASELINES = ['grpc-js', 'grpc-js Go RPCs', 'etcd3'] as const;

export type Better = 'lower' | 'higher';

/** One measured figure: one implementation, one case of one scenario, one metric. */
export interface BenchRow {
  /** The scenario's name, e.g. 'core-kv'. */
  scenario: string;
  /** What was done, e.g. 'put serial' or 'get x64'. */
  case: string;
  impl: Impl;
  /** e.g. 'p50', 'p99', 'throughput', 'cpu/op'. */
  metric: string;
  value: number;
  /** e.g. 'ms', 'µs', 'ops/s', 'MiB'. */
  unit: string;
  better: Better;
  /** How many operations or samples the figure comes from. */
  samples?: number;
  /**
   * How much the figure moved between rounds: interquartile range of the per-round values over
   * their median (0.05 = ±5%). Ratios smaller than this are noise.
   */
  spread?: number;
  note?: string;
}

export interface BenchContext {
  /** etcd client endpoints as etcdkit takes them: 'host:port' (or 'http(s)://host:port'). */
  endpoints: string[];
  /** Smaller counts: a smoke run of every scenario in about a minute and a half. */
  quick: boolean;
  /** Progress lines go here (stderr), never to stdout. */
  log(message: string): void;
  /** Aborted on SIGINT/SIGTERM: stop early and clean up. */
  signal: AbortSignal;
  /** A key prefix that belongs to this scenario alone, e.g. 'etcdkit-bench/core-kv/'. */
  prefix: string;
}

/** A target the report checks (never asserted): etcdkit at most `tolerance` worse than `against`. */
export interface Target {
  case: string;
  metric: string;
  against: Impl;
  /** 0.1 = may be up to 10% worse; 0 = must be at least as good. */
  tolerance: number;
  label: string;
}

export interface Scenario {
  /** Short, kebab-case, unique: used on the command line and as the key prefix. */
  name: string;
  /** One line for the report. */
  description: string;
  targets?: Target[];
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

// ---------------------------------------------------------------------------------------------
// Timing and statistics

export function now(): bigint {
  return process.hrtime.bigint();
}

export function nsToMs(ns: bigint | number): number {
  return Number(ns) / 1e6;
}

/** The p-th percentile (0..100) by the nearest-rank method; NaN for no samples. */
export function percentile(samples: readonly number[], p: number, sorted = false): number {
  if (samples.length === 0) return Number.NaN;
  const s = sorted ? samples : [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Client CPU (user + system) in microseconds, of this whole process. */
export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

let gcFn: (() => void) | undefined;
/**
 * Full garbage collection, so that one implementation's garbage is not collected during the
 * next one's measured window. Works without --expose-gc.
 */
export function collectGarbage(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) gcFn = g;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
}

/**
 * Collect garbage until the heap stops shrinking: finalizers and close callbacks that run after a
 * collection free more at the next one. Returns heapUsed + external, in bytes.
 */
export async function settledHeap(): Promise<number> {
  const size = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  let last = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 10; i++) {
    collectGarbage();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const s = size();
    if (last - s < 16 * 1024) return s;
    last = s;
  }
  return last;
}

/** What one measured window produced. */
export interface Measurement {
  ops: number;
  /** Wall time of the window. */
  elapsedMs: number;
  /** Per-operation latencies, ms, sorted ascending. */
  latenciesMs: number[];
  /** Client CPU over the window, µs. */
  cpuMicros: number;
  opsPerSec: number;
  cpuMicrosPerOp: number;
}

/**
 * A Measurement from what a window recorded: the latencies (sorted here), its wall time and its
 * client CPU; `ops` defaults to one operation per latency.
 */
export function measurement(
  latenciesMs: number[],
  elapsedMs: number,
  cpu: number,
  ops = latenciesMs.length,
): Measurement {
  latenciesMs.sort((a, b) => a - b);
  return {
    ops,
    elapsedMs,
    latenciesMs,
    cpuMicros: cpu,
    opsPerSec: ops / (elapsedMs / 1000),
    cpuMicrosPerOp: cpu / ops,
  };
}

export type Operation = (i: number) => Promise<unknown>;

export interface RunOptions {
  /** Operations in flight at once (1 = serial). */
  concurrency: number;
  /** Stop after this many operations... */
  ops?: number;
  /** ...or after this long (whichever comes first; at least one of the two). */
  durationMs?: number;
  /** Index of the first operation, passed on to `op` (to spread keys across rounds). */
  offset?: number;
  signal?: AbortSignal;
}

/**
 * Runs `op` with a fixed number in flight, starting the next as soon as one finishes, and
 * measures latency per operation, wall time and client CPU. The first error ends the run.
 */
export async function measure(op: Operation, o: RunOptions): Promise<Measurement> {
  if (o.ops === undefined && o.durationMs === undefined) throw new Error('measure: give ops or durationMs');
  const limit = o.ops ?? Number.POSITIVE_INFINITY;
  const offset = o.offset ?? 0;
  const latencies: number[] = [];
  let started = 0;
  collectGarbage();
  const cpu0 = cpuMicros();
  const t0 = now();
  const stopAt = o.durationMs === undefined ? undefined : t0 + BigInt(Math.round(o.durationMs * 1e6));
  const more = () =>
    started < limit && !o.signal?.aborted && (stopAt === undefined || started === 0 || now() < stopAt);
  const worker = async () => {
    while (more()) {
      const i = offset + started++;
      const s = now();
      await op(i);
      latencies.push(nsToMs(now() - s));
    }
  };
  const workers = Math.max(1, Math.min(o.concurrency, limit));
  await Promise.all(Array.from({ length: workers }, worker));
  const elapsedMs = nsToMs(now() - t0);
  const cpu = cpuMicros() - cpu0;
  if (o.signal?.aborted) throw o.signal.reason ?? new Error('aborted');
  return measurement(latencies, elapsedMs, cpu);
}

/** Unmeasured operations first, so that connections are open and the code is optimised. */
export async function warmUp(op: Operation, ops: number, concurrency = 8, offset = 0): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < ops) await op(offset + next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ops) }, worker));
}

/** Rotate `items` by `round`, so that each one in turn goes first. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/**
 * Run `rounds` rounds; in each, every implementation's `run` once, the order rotated per round,
 * so that no implementation always goes first (cold) or last (after the others' garbage and
 * revisions). Returns the measurements per implementation, in round order.
 */
export async function interleave<I extends string>(
  impls: readonly I[],
  rounds: number,
  run: (impl: I, round: number) => Promise<Measurement>,
): Promise<Map<I, Measurement[]>> {
  const out = new Map<I, Measurement[]>(impls.map((i) => [i, []]));
  for (let r = 0; r < rounds; r++) {
    for (const impl of rotate(impls, r)) out.get(impl)!.push(await run(impl, r));
  }
  return out;
}

let minorGcFn: ((o: { type: 'minor' }) => void) | undefined;
/** A young-generation collection only (a scavenge, well under a millisecond): see interleaveSerial. */
export function collectYoungGarbage(): void {
  if (!minorGcFn) {
    collectGarbage(); // exposes gc
    minorGcFn = ((globalThis as { gc?: unknown }).gc ?? runInNewContext('gc')) as typeof minorGcFn;
  }
  minorGcFn!({ type: 'minor' });
}

export interface SerialOptions {
  /** Operations per implementation in each round (its length is the number of rounds). */
  perRound: readonly number[];
  /** Operations of one implementation before the next takes its turn. Default 10. */
  block?: number;
  signal?: AbortSignal;
  /** Index of the first operation, passed on to `op`. */
  offset?: number;
}

/**
 * Serial latency with the implementations interleaved block by block: a few operations of one,
 * then of the next (the order rotated every block), so that all of them see the same moments of
 * the machine and of etcd (a compaction, a busy neighbour, a slow fsync). Running one
 * implementation's whole round after another's lets such moments fall on one alone. Each block
 * starts after a young-generation collection, so that no implementation pays for the short-lived
 * garbage of the one before it; CPU and wall time are counted per block and added up per round.
 */
export async function interleaveSerial<I extends string>(
  impls: readonly I[],
  ops: Record<I, Operation>,
  o: SerialOptions,
): Promise<Map<I, Measurement[]>> {
  const block = o.block ?? 10;
  const out = new Map<I, Measurement[]>(impls.map((i) => [i, []]));
  let index = o.offset ?? 0;
  let turn = 0;
  for (const total of o.perRound) {
    const acc = new Map(impls.map((i) => [i, { latencies: [] as number[], cpu: 0, elapsed: 0, done: 0 }]));
    collectGarbage();
    while ([...acc.values()].some((a) => a.done < total)) {
      for (const impl of rotate(impls, turn++)) {
        const a = acc.get(impl)!;
        const n = Math.min(block, total - a.done);
        if (n <= 0) continue;
        if (o.signal?.aborted) throw o.signal.reason ?? new Error('aborted');
        collectYoungGarbage();
        const op = ops[impl];
        const cpu0 = cpuMicros();
        const t0 = now();
        for (let k = 0; k < n; k++) {
          const s = now();
          await op(index + k);
          a.latencies.push(nsToMs(now() - s));
        }
        a.elapsed += nsToMs(now() - t0);
        a.cpu += cpuMicros() - cpu0;
        a.done += n;
      }
      index += block;
    }
    for (const impl of impls) {
      const a = acc.get(impl)!;
      a.latencies.sort((x, y) => x - y);
      out.get(impl)!.push({
        ops: a.done,
        elapsedMs: a.elapsed,
        latenciesMs: a.latencies,
        cpuMicros: a.cpu,
        opsPerSec: a.done / (a.elapsed / 1000),
        cpuMicrosPerOp: a.cpu / a.done,
      });
    }
  }
  return out;
}

/**
 * The usual rows from several rounds of one case: latency percentiles over every sample of every
 * round; throughput and CPU per op as the median of the rounds (robust to one disturbed round).
 */
export function summarize(
  scenario: string,
  caseName: string,
  impl: Impl,
  rounds: readonly Measurement[],
  metrics: readonly ('p50' | 'p99' | 'throughput' | 'cpu/op')[],
): BenchRow[] {
  const all = rounds.flatMap((m) => m.latenciesMs).sort((a, b) => a - b);
  const ops = rounds.reduce((n, m) => n + m.ops, 0);
  const rows: BenchRow[] = [];
  const base = { scenario, case: caseName, impl, samples: ops };
  for (const metric of metrics) {
    switch (metric) {
      case 'p50':
      case 'p99': {
        const p = metric === 'p50' ? 50 : 99;
        const perRound = rounds.map((m) => percentile(m.latenciesMs, p, true));
        rows.push({
          ...base,
          metric,
          value: percentile(all, p, true),
          unit: 'ms',
          better: 'lower',
          spread: spread(perRound),
        });
        break;
      }
      case 'throughput': {
        const perRound = rounds.map((m) => m.opsPerSec);
        rows.push({
          ...base,
          metric,
          value: median(perRound),
          unit: 'ops/s',
          better: 'higher',
          spread: spread(perRound),
        });
        break;
      }
      case 'cpu/op': {
        const perRound = rounds.map((m) => m.cpuMicrosPerOp);
        rows.push({
          ...base,
          metric,
          value: median(perRound),
          unit: 'µs',
          better: 'lower',
          spread: spread(perRound),
        });
        break;
      }
    }
  }
  return rows;
}

/** Interquartile range over median; 0 for fewer than 3 values. */
export function spread(values: readonly number[]): number {
  if (values.length < 3) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = median(s);
  return m === 0 ? 0 : (percentile(s, 75, true) - percentile(s, 25, true)) / m;
}

/** Split `total` into `parts` whole numbers that add up to it. */
export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// Comparison

export interface Ratio {
  against: Impl;
  /** etcdkit's value divided by the other's. */
  ratio: number;
  /** etcdkit's value is the better one (higher throughput, lower latency or CPU). */
  etcdkitBetter: boolean;
  /** |ratio − 1| < 2%: reported as even. */
  even: boolean;
}

export interface Comparison {
  scenario: string;
  case: string;
  metric: string;
  unit: string;
  better: Better;
  values: Record<string, number>;
  /** Per implementation, when measured over rounds: see BenchRow.spread. */
  spreads: Record<string, number>;
  ratios: Ratio[];
}

const EVEN = 0.02;

export function ratioOf(subject: number, other: number, better: Better): Ratio | undefined {
  // A ratio of a zero or negative figure (e.g. memory within measurement noise of nothing) says nothing.
  if (!Number.isFinite(subject) || !Number.isFinite(other) || subject <= 0 || other <= 0) return undefined;
  const ratio = subject / other;
  return {
    against: '',
    ratio,
    etcdkitBetter: better === 'higher' ? ratio > 1 : ratio < 1,
    even: Math.abs(ratio - 1) < EVEN,
  };
}

/** Group rows into one comparison per (scenario, case, metric), with etcdkit's ratios to the baselines. */
export function compare(rows: readonly BenchRow[]): Comparison[] {
  const byKey = new Map<string, Comparison>();
  for (const r of rows) {
    const key = `${r.scenario}\u0000${r.case}\u0000${r.metric}`;
    let c = byKey.get(key);
    if (!c) {
      c = {
        scenario: r.scenario,
        case: r.case,
        metric: r.metric,
        unit: r.unit,
        better: r.better,
        values: {},
        spreads: {},
        ratios: [],
      };
      byKey.set(key, c);
    }
    c.values[r.impl] = r.value;
    if (r.spread !== undefined) c.spreads[r.impl] = r.spread;
  }
  for (const c of byKey.values()) {
    const subject = c.values[SUBJECT];
    if (subject === undefined) continue;
    for (const against of BASELINES) {
      const other = c.values[against];
      if (other === undefined) continue;
      const ratio = ratioOf(subject, other, c.better);
      if (ratio) c.ratios.push({ ...ratio, against });
    }
  }
  return [...byKey.values()];
}

export interface TargetResult extends Target {
  scenario: string;
  ratio: number | undefined;
  met: boolean | undefined;
}

/** Whether each target holds on these figures (undefined when a figure is missing). */
export function checkTargets(scenario: Scenario, comparisons: readonly Comparison[]): TargetResult[] {
  return (scenario.targets ?? []).map((t) => {
    const c = comparisons.find(
      (x) => x.scenario === scenario.name && x.case === t.case && x.metric === t.metric,
    );
    // Any column can be a target's reference (a second floor, say), not only the baselines.
    const subject = c?.values[SUBJECT];
    const other = c?.values[t.against];
    const r =
      c && subject !== undefined && other !== undefined ? ratioOf(subject, other, c.better) : undefined;
    if (!c || !r) return { ...t, scenario: scenario.name, ratio: undefined, met: undefined };
    const met = c.better === 'higher' ? r.ratio >= 1 - t.tolerance : r.ratio <= 1 + t.tolerance;
    return { ...t, scenario: scenario.name, ratio: r.ratio, met };
  });
}

/** '0.93× worse', '1.04× better', '1.01× even'. */
export function describeRatio(r: Ratio): string {
  return `${r.ratio.toFixed(2)}× ${r.even ? 'even' : r.etcdkitBetter ? 'better' : 'worse'}`;
}

export function formatValue(value: number, unit: string): string {
  if (!Number.isFinite(value)) return '-';
  const digits = Math.abs(value) >= 1000 ? 0 : Math.abs(value) >= 100 ? 1 : Math.abs(value) >= 10 ? 2 : 3;
  const n = value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  return unit ? `${n} ${unit}` : n;
}

/** A plain-text table; the first `leftAligned` columns are aligned left, the rest right. */
export function table(
  header: readonly string[],
  body: readonly (readonly string[])[],
  leftAligned = 3,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < leftAligned ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
