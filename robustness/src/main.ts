/**
 * `pnpm test:robustness [--seed N] [--duration S] [--workload watch|lock|election|all]`
 *
 * Starts a 3-member etcd cluster behind TCP proxies, runs the chosen workloads while faults from
 * the seed's schedule are injected, then checks what the workloads saw against etcd's history.
 * Exits 0 when every check held; otherwise prints the seed and the command that replays it.
 */
import { parseArgs } from 'node:util';
import { checkHistory } from './checkers/history.js';
import { FAULT_KINDS, FaultInjector, type FaultKind, faultSchedule } from './faults.js';
import { Recorder } from './history.js';
import { ELECTION_MARK, KV_PREFIX, LOCK_COUNTER, ROOT } from './keys.js';
import { startTestbed } from './testbed.js';
import type { CheckResult, Workload } from './workload.js';
import { startElectionWorkload } from './workloads/election.js';
import { startLockWorkload } from './workloads/lock.js';
import { WatchWorkload } from './workloads/watch.js';

const WORKLOADS = ['watch', 'lock', 'election'] as const;
/** Deliberately broken variants, to show the checkers catch what they should (see README). */
const BROKEN_ENV = 'ETCDKIT_ROBUSTNESS_BROKEN';
const BROKEN = ['unfenced', 'no-watch-guard'] as const;

function usage(message: string): never {
  console.error(`robustness: ${message}`);
  console.error('usage: pnpm test:robustness [--seed N] [--duration S] [--workload watch|lock|election|all]');
  process.exit(2);
}

function options() {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      duration: { type: 'string', default: '60' },
      workload: { type: 'string', default: 'all' },
    },
    strict: true,
  });
  const seed = values.seed === undefined ? 1 + Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1)
    usage(`--seed must be an integer in [0, 2^32), got ${values.seed}`);
  const duration = Number(values.duration);
  if (!Number.isFinite(duration) || duration < 1 || duration > 24 * 3600)
    usage(`--duration must be seconds in [1, 86400], got ${values.duration}`);
  const w = values.workload;
  if (w !== 'all' && !(WORKLOADS as readonly string[]).includes(w)) usage(`unknown --workload ${w}`);
  const workloads = w === 'all' ? [...WORKLOADS] : [w as (typeof WORKLOADS)[number]];
  const broken = (process.env[BROKEN_ENV] ?? '').split(',').filter(Boolean);
  for (const b of broken)
    if (!(BROKEN as readonly string[]).includes(b))
      usage(`${BROKEN_ENV}: unknown variant ${b} (known: ${BROKEN.join(', ')})`);
  return { seed, duration, workload: w, workloads, broken };
}

async function main(): Promise<boolean> {
  const o = options();
  const transport = process.env.ETCDKIT_TRANSPORT;
  const replay =
    `${o.broken.length ? `${BROKEN_ENV}=${o.broken.join(',')} ` : ''}` +
    `${transport ? `ETCDKIT_TRANSPORT=${transport} ` : ''}` +
    `pnpm test:robustness --seed ${o.seed} --duration ${o.duration} --workload ${o.workload}`;
  console.log(
    `robustness: seed ${o.seed}, workload ${o.workload}, ${o.duration} s${transport ? `, transport ${transport}` : ''}`,
  );
  if (o.broken.length)
    console.log(`robustness: broken variant ${o.broken.join(', ')} (the checks should fail)`);
  if (o.broken.includes('no-watch-guard'))
    console.log(
      'robustness: no-watch-guard is reserved for the watch compaction guard; this build has no switch for it',
    );
  const fail = (why: string): false => {
    console.log(`FAIL seed ${o.seed}: ${why}`);
    console.log(`replay: ${replay}`);
    return false;
  };
  // Ctrl-C: exit hooks kill the etcd members and the client processes.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      console.log(`robustness: interrupted (seed ${o.seed})`);
      process.exit(130);
    });
  process.on('unhandledRejection', (err) => {
    fail(`unhandled rejection: ${String(err instanceof Error ? err.stack : err)}`);
    process.exit(1);
  });

  const t0 = Date.now();
  const print = (line: string) => console.log(line);
  const bed = await startTestbed();
  try {
    const recorder = await Recorder.start(bed.admin, ROOT);
    const unfenced = o.broken.includes('unfenced');
    const workloads: Workload[] = [];
    if (o.workloads.includes('watch')) workloads.push(await WatchWorkload.start(bed, o.seed, recorder));
    if (o.workloads.includes('lock')) workloads.push(startLockWorkload(bed, o.seed, unfenced));
    if (o.workloads.includes('election')) workloads.push(startElectionWorkload(bed, o.seed, unfenced));
    const clients = workloads.flatMap((w) => w.clients);
    const kinds = FAULT_KINDS.filter((k: FaultKind) => k !== 'pause-client' || clients.length > 0);
    const deletable = [KV_PREFIX, LOCK_COUNTER, ELECTION_MARK];
    const injector = new FaultInjector(bed, recorder, () => clients, ROOT, deletable, t0, print);
    await injector.run(faultSchedule(o.seed, kinds), Date.now() + o.duration * 1000);

    // Every fault is healed; let the cluster settle, stop the load, and collect.
    await bed.cluster.waitForLeader(60_000);
    await bed.cluster.waitHealthy(60_000);
    await Promise.all(workloads.map((w) => w.stop()));
    const liveness: string[] = [];
    for (const w of workloads) if (w instanceof WatchWorkload) await w.catchUp(liveness);
    const finalRevision = (await bed.admin.range({ prefix: ROOT, countOnly: true })).revision;
    if (!(await recorder.reach(finalRevision, 60_000)))
      liveness.push(`the recorder did not reach revision ${finalRevision}`);

    const facts = { compactions: injector.compactions };
    const results: CheckResult[] = [
      await checkHistory(bed.admin, recorder, ROOT, finalRevision, facts.compactions),
      ...workloads.flatMap((w) => w.check(recorder, facts)),
    ];
    for (const w of workloads) await w.close();
    await recorder.close();

    const byKind = new Map<string, number>();
    for (const f of injector.log) byKind.set(f.kind, (byKind.get(f.kind) ?? 0) + 1);
    const notInjected = injector.log.filter((f) => f.outcome !== 'ok').length;
    console.log(
      `faults: ${injector.log.length} (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})` +
        `${notInjected ? `, ${notInjected} not injected or not healed cleanly (see above)` : ''}`,
    );
    console.log(
      `history: revisions ${recorder.startRevision + 1n}..${finalRevision}, compactions at ${facts.compactions.join(', ') || 'none'}`,
    );
    for (const w of workloads) console.log(`workload ${w.name}: ${w.summary()}`);
    let operations = 0;
    const failures = [...liveness];
    for (const r of results) {
      operations += r.operations;
      const notes = r.notes.length ? ` (${r.notes.join('; ')})` : '';
      console.log(
        `check ${r.checker}: ${r.operations} operations, ${r.failures.length ? 'FAILED' : 'ok'}${notes}`,
      );
      for (const f of r.failures) console.log(`  ${r.checker}: ${f}`);
      failures.push(...r.failures.map((f) => `${r.checker}: ${f}`));
    }
    for (const l of liveness) console.log(`  liveness: ${l}`);
    console.log(
      `summary: seed=${o.seed} faults=${injector.log.length} operations=${operations} ` +
        `result=${failures.length ? 'FAIL' : 'PASS'} seconds=${Math.round((Date.now() - t0) / 1000)}`,
    );
    if (failures.length) return fail(`${failures.length} check failures, the first: ${failures[0]}`);
    console.log(`PASS seed ${o.seed}`);
    return true;
  } catch (err) {
    return fail(`the run broke: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await bed.close();
  }
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
