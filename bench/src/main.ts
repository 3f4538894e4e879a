/**
 * `pnpm bench [-- [--quick] [--json] [scenario ...]]`: starts one etcd (or uses ETCD_ENDPOINTS),
 * runs the scenarios, prints a table with etcdkit's ratios to the baselines, and writes JSON to
 * bench/results/latest.json (and to stdout with --json).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type EtcdServer, startEtcd } from '@etcdkit/testkit';
import { checkSameGrpc, GrpcFloor } from './grpc-floor.js';
import {
  BASELINES,
  type BenchRow,
  type Comparison,
  checkTargets,
  compare,
  describeRatio,
  formatValue,
  type Scenario,
  SUBJECT,
  type TargetResult,
  table,
} from './harness.js';
import { scenarios } from './scenarios/index.js';

const USAGE = `usage: node bench/dist/main.js [--quick] [--json] [scenario ...]
  --quick   fewer operations (every scenario in about a minute and a half)
  --json    print the JSON report on stdout (the table then goes to stderr)
  scenario  run only these (default: all): ${scenarios.map((s) => s.name).join(', ')}
etcd: started on free loopback ports with @etcdkit/testkit, or ETCD_ENDPOINTS when set.`;

interface Args {
  quick: boolean;
  json: boolean;
  selected: Scenario[];
}

function parseArgs(argv: readonly string[]): Args | undefined {
  let quick = false;
  let json = false;
  const names: string[] = [];
  for (const a of argv) {
    if (a === '--')
      continue; // `pnpm bench -- --quick` may pass the separator on
    else if (a === '--quick' || a === '-q') quick = true;
    else if (a === '--json') json = true;
    else if (a === '--help' || a === '-h') return undefined;
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else names.push(a);
  }
  const unknown = names.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}\n${USAGE}`);
  const selected = names.length === 0 ? scenarios : scenarios.filter((s) => names.includes(s.name));
  return { quick, json, selected };
}

interface Failure {
  scenario: string;
  error: string;
}

interface Report {
  meta: {
    date: string;
    quick: boolean;
    node: string;
    platform: string;
    cpus: number;
    cpuModel: string;
    memoryGiB: number;
    /** 1-minute load average at the start and the end: other work on the machine skews figures. */
    loadAverage: { start: number; end: number };
    etcdVersion: string;
    etcdExternal: boolean;
    durationSec: number;
  };
  rows: BenchRow[];
  comparisons: Comparison[];
  targets: TargetResult[];
  failures: Failure[];
}

function render(report: Report, selected: readonly Scenario[]): string {
  const m = report.meta;
  const out: string[] = [
    `etcdkit bench — ${m.date}${m.quick ? ' (quick)' : ''}`,
    `node ${m.node}, ${m.cpus} × ${m.cpuModel}, etcd ${m.etcdVersion}${m.etcdExternal ? ' (ETCD_ENDPOINTS)' : ''}, ${m.durationSec.toFixed(0)} s, load average ${m.loadAverage.start} → ${m.loadAverage.end}`,
    `ratios: etcdkit's value / the other's; 'better' or 'worse' says what that means for the metric (within 2%: 'even')`,
    `±: half the interquartile range of the per-round values, relative: how much a figure moved between rounds`,
  ];
  for (const s of selected) {
    const comps = report.comparisons.filter((c) => c.scenario === s.name);
    const failure = report.failures.find((f) => f.scenario === s.name);
    out.push('', `${s.name}: ${s.description}`);
    if (failure) out.push(`  FAILED: ${failure.error}`);
    if (comps.length === 0) continue;
    const impls = [
      SUBJECT,
      ...new Set(comps.flatMap((c) => Object.keys(c.values)).filter((i) => i !== SUBJECT)),
    ];
    const baselines = BASELINES.filter((b) => impls.includes(b));
    const header = ['case', 'metric', ...impls, ...baselines.map((b) => `${SUBJECT}/${b}`)];
    const body = comps.map((c) => [
      c.case,
      c.metric,
      ...impls.map((i) => {
        const v = c.values[i];
        if (v === undefined) return '';
        const sp = c.spreads[i];
        return sp ? `${formatValue(v, c.unit)} ±${Math.round((sp * 100) / 2)}%` : formatValue(v, c.unit);
      }),
      ...baselines.map((b) => {
        const r = c.ratios.find((x) => x.against === b);
        return r ? describeRatio(r) : '';
      }),
    ]);
    out.push(table(header, body, 2));
    const targets = report.targets.filter((t) => t.scenario === s.name);
    if (targets.length > 0) {
      out.push('targets (reported, not enforced):');
      for (const t of targets) {
        const mark = t.met === undefined ? '?' : t.met ? 'met' : 'MISSED';
        const ratio = t.ratio === undefined ? 'n/a' : `${t.ratio.toFixed(2)}×`;
        out.push(`  [${mark}] ${t.label} (${t.case} ${t.metric}: ${ratio})`);
      }
    }
  }
  return out.join('\n');
}

async function etcdVersion(endpoint: string): Promise<string> {
  const floor = new GrpcFloor(endpoint);
  try {
    return (await floor.status()).version;
  } finally {
    floor.close();
  }
}

async function main(): Promise<number> {
  let args: Args | undefined;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (!args) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { quick, json, selected } = args;
  const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130); // a second ^C: leave now
    log(`${sig}: stopping after the current step`);
    controller.abort(new Error(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const started = Date.now();
  const load = () => Math.round((loadavg()[0] ?? 0) * 100) / 100;
  const loadAtStart = load();
  let server: EtcdServer | undefined;
  const rows: BenchRow[] = [];
  const failures: Failure[] = [];
  let version = 'unknown';
  try {
    const grpcCopy = checkSameGrpc();
    log(
      `grpc-js: ${grpcCopy.path} for etcdkit and the floor (checked: one module instance); etcd3 ${grpcCopy.etcd3Same ? 'on the same copy' : 'on a copy of its own'}`,
    );
    server = await startEtcd();
    log(`etcd at ${server.endpoints.join(', ')}${server.external ? ' (ETCD_ENDPOINTS)' : ''}`);
    version = await etcdVersion(server.endpoints[0]!);
    for (const s of selected) {
      if (controller.signal.aborted) break;
      log(`scenario ${s.name}${quick ? ' (quick)' : ''}`);
      const t0 = Date.now();
      try {
        rows.push(
          ...(await s.run({
            endpoints: server.endpoints,
            quick,
            log: (msg) => log(`${s.name}: ${msg}`),
            signal: controller.signal,
            prefix: `etcdkit-bench/${s.name}/`,
          })),
        );
        log(`scenario ${s.name} done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      } catch (e) {
        const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
        failures.push({ scenario: s.name, error: e instanceof Error ? e.message : String(e) });
        log(`scenario ${s.name} failed: ${error}`);
      }
    }
  } catch (e) {
    failures.push({ scenario: '(setup)', error: e instanceof Error ? e.message : String(e) });
    log(`setup failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    await server?.close().catch((e: unknown) => log(`stopping etcd failed: ${e}`));
  }

  const comparisons = compare(rows);
  const report: Report = {
    meta: {
      date: new Date(started).toISOString(),
      quick,
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      loadAverage: { start: loadAtStart, end: load() },
      etcdVersion: version,
      etcdExternal: server?.external ?? false,
      durationSec: (Date.now() - started) / 1000,
    },
    rows,
    comparisons,
    targets: selected.flatMap((s) => checkTargets(s, comparisons)),
    failures,
  };

  const text = render(report, selected);
  const jsonText = `${JSON.stringify(report, null, 2)}\n`;
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}latest.json`, jsonText);
  if (json) {
    process.stderr.write(`${text}\n`);
    process.stdout.write(jsonText);
  } else {
    process.stdout.write(`${text}\n\nJSON: ${dir}latest.json\n`);
  }
  return failures.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
