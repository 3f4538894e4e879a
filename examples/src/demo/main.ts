/**
 * The etcdkit demo. It starts a local 3-member etcd cluster, runs three worker processes that
 * register in a service registry, elect a scheduler (which discovers the workers), share a locked
 * counter and follow a live config value, then breaks things on purpose and reports what
 * happened, with measured figures. Exits 0 when every invariant held.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Etcd } from '@etcdkit/core';
import { type EtcdCluster, startCluster } from '@etcdkit/testkit';
import { type ConductorMessage, keys, type WorkerMessage } from './messages.js';

const t0 = Date.now();
const timeline = (text: string) =>
  console.log(`[${((Date.now() - t0) / 1000).toFixed(2).padStart(6)}s] ${text}`);

interface Worker {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

const messages: WorkerMessage[] = [];
const waiters = new Set<{ pred: (m: WorkerMessage) => boolean; resolve: (m: WorkerMessage) => void }>();

function waitFor(
  pred: (m: WorkerMessage) => boolean,
  timeoutMs: number,
  what: string,
  since = 0,
): Promise<WorkerMessage> {
  const seen = messages.slice(since).find(pred);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const w = {
      pred,
      resolve: (m: WorkerMessage) => {
        clearTimeout(timer);
        waiters.delete(w);
        resolve(m);
      },
    };
    const timer = setTimeout(() => {
      waiters.delete(w);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    waiters.add(w);
  });
}

function onMessage(m: WorkerMessage): void {
  messages.push(m);
  if (m.type === 'leading') timeline(`${m.worker} is the leader: its scheduler runs`);
  if (m.type === 'not-leading') timeline(`${m.worker} stopped leading after ${m.ticks} scheduler ticks`);
  if (m.type === 'error') timeline(`${m.worker} reported ${m.message}`);
  for (const w of [...waiters]) if (w.pred(m)) w.resolve(m);
}

function startWorker(name: string, endpoints: string[]): Worker {
  const child = fork(fileURLToPath(new URL('./worker.js', import.meta.url)), [], {
    env: { ...process.env, ETCD_ENDPOINTS: endpoints.join(','), DEMO_WORKER: name },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.on('message', (m: WorkerMessage) => onMessage(m));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, exited };
}

const tell = (w: Worker, m: ConductorMessage) => w.child.send(m);
const ms = (x: number) => `${Math.round(x)} ms`;
const pause = (t: number) => new Promise((r) => setTimeout(r, t));

async function run(cluster: EtcdCluster): Promise<boolean> {
  const etcd = new Etcd({ endpoints: cluster.endpoints, dialTimeoutMs: 2000 });
  const workers: Worker[] = [];
  try {
    await etcd.delete({ prefix: keys.prefix });
    await etcd.put(keys.configMessage, 'hello from v1');

    timeline('starting workers w1, w2, w3');
    for (const name of ['w1', 'w2', 'w3']) workers.push(startWorker(name, cluster.endpoints));
    await Promise.all(
      workers.map((w) =>
        waitFor((m) => m.type === 'ready' && m.worker === w.name, 15_000, `${w.name} ready`),
      ),
    );
    const first = await waitFor((m) => m.type === 'leading', 10_000, 'a first leader');
    const names = (m: WorkerMessage) => (m.type === 'discovered' ? [...m.instances].sort().join(', ') : '');
    const discovered = await waitFor(
      (m) => m.type === 'discovered' && m.worker === first.worker && names(m) === 'w1, w2, w3',
      10_000,
      'the leader to discover w1, w2 and w3',
    );
    timeline(`leader ${first.worker} discovered the registered workers: ${names(discovered)}`);
    await pause(2000);
    const counted = messages.filter((m) => m.type === 'increment').length;
    timeline(
      `locked counter incremented ${counted} times by ${new Set(messages.filter((m) => m.type === 'increment').map((m) => m.worker)).size} workers`,
    );

    // 1. A graceful hand-over: the leader resigns, the next candidate takes over at once.
    const leader1 = workers.find((w) => w.name === first.worker)!;
    timeline(`asking leader ${leader1.name} to step down`);
    let mark = messages.length;
    tell(leader1, { type: 'resign' });
    // From the old leader's last tick (its work settled, then it resigned) to the new leader's start.
    const stepped = await waitFor(
      (m) => m.type === 'not-leading' && m.worker === leader1.name,
      10_000,
      'step down',
      mark,
    );
    const next = await waitFor(
      (m) => m.type === 'leading' && m.worker !== leader1.name,
      10_000,
      'the next leader',
      mark,
    );
    await waitFor((m) => m.type === 'resigned' && m.worker === leader1.name, 10_000, 'resign', mark);
    const handover = Math.max(0, next.at - stepped.at);
    timeline(`hand-over to ${next.worker} took ${ms(handover)}`);
    await pause(500);

    // 2. A crash: the leader process is killed; its session must expire before another leads.
    const leader2 = workers.find((w) => w.name === next.worker)!;
    mark = messages.length;
    const killedAt = Date.now();
    leader2.child.kill('SIGKILL');
    timeline(`killed leader ${leader2.name} with SIGKILL (session ttl 2 s)`);
    const after = await waitFor(
      (m) => m.type === 'leading' && m.worker !== leader2.name,
      15_000,
      'a leader after the crash',
      mark,
    );
    const failover = after.at - killedAt;
    timeline(`failover to ${after.worker} took ${ms(failover)}`);
    workers.splice(workers.indexOf(leader2), 1);
    timeline('starting w4 in place of the killed worker');
    const w4 = startWorker('w4', cluster.endpoints);
    workers.push(w4);
    await waitFor((m) => m.type === 'ready' && m.worker === 'w4', 15_000, 'w4 ready');
    // The registry follows: the killed worker's entry went with its lease, w4 registered.
    const seenAfter = await waitFor(
      (m) =>
        m.type === 'discovered' &&
        m.worker === after.worker &&
        m.instances.includes('w4') &&
        !m.instances.includes(leader2.name),
      10_000,
      'the leader to see w4 and not the killed worker',
      mark,
    );
    const registryFollowed = seenAfter.type === 'discovered';
    timeline(`leader ${after.worker} now discovers ${names(seenAfter)}`);

    // 3. An etcd member dies: the raft leader, for good measure.
    const member = (await cluster.waitForLeader()) ?? cluster.members[0]!;
    mark = messages.length;
    const memberKilledAt = Date.now();
    await member.kill();
    timeline(`killed etcd member ${member.name} (the raft leader)`);
    const resumed = await waitFor(
      (m) => m.type === 'increment' && m.at > memberKilledAt,
      20_000,
      'the counter after the member kill',
      mark,
    );
    const gap = resumed.at - memberKilledAt;
    timeline(
      `locked counter moving again after ${ms(gap)}` +
        (gap > 1000 ? ' (a request caught by the kill waited out its 3 s deadline)' : ''),
    );
    await member.restart();
    timeline(`restarted ${member.name}`);

    // 4. Live config: every worker must see the new value.
    mark = messages.length;
    const changedAt = Date.now();
    await etcd.put(keys.configMessage, 'hello from v2');
    timeline('changed demo/config/message to "hello from v2"');
    const seen = await Promise.all(
      workers.map((w) =>
        waitFor(
          (m) => m.type === 'config' && m.worker === w.name && m.value === 'hello from v2',
          10_000,
          `${w.name} config`,
          mark,
        ),
      ),
    );
    const propagation = Math.max(...seen.map((m) => m.at - changedAt));
    timeline(`all ${seen.length} workers reloaded the config; slowest after ${ms(propagation)}`);

    // 5. Stop everyone and check the invariants in etcd itself.
    await pause(500);
    timeline('stopping workers');
    for (const w of workers) tell(w, { type: 'stop' });
    const codes = await Promise.all(workers.map((w) => w.exited));
    const counter = Number((await etcd.get(keys.counter))?.value.toString() ?? '0');
    const log = await etcd.range({ prefix: keys.counterLog });
    const values = log.kvs.map((kv) => Number(kv.key.toString().slice(keys.counterLog.length)));
    const counterCorrect =
      log.count === counter &&
      log.kvs.every((kv) => kv.version === 1n) &&
      values.every((v, i) => v === i + 1);
    // In the order etcd applied the increments (the counter value each wrote), not the order their
    // reports reached us: workers are separate processes, so their messages may cross.
    const tokens = messages
      .flatMap((m) => (m.type === 'increment' ? [m] : []))
      .sort((a, b) => a.value - b.value)
      .map((m) => BigInt(m.fencingToken));
    const tokensIncrease = tokens.every((t, i) => i === 0 || t >= tokens[i - 1]!);
    const ticks = await etcd.range({ prefix: keys.tickLog, sort: { target: 'mod', order: 'ascend' } });
    const runs = ticks.kvs
      .map((kv) => kv.value.toString())
      .filter((w, i, a) => i === 0 || a[i - 1] !== w).length;
    const terms = messages.filter((m) => m.type === 'leading').length;
    const singleLeader = runs <= terms;
    const cleanExit = codes.every((c) => c === 0);

    console.log('\nSummary');
    const rows: [string, string][] = [
      ['hand-over after resign (old work stopped → new leader)', ms(handover)],
      ['failover after leader crash (ttl 2 s)', ms(failover)],
      ['counter moving again after etcd member kill', ms(gap)],
      ['config propagation (slowest worker)', ms(propagation)],
      [
        'leader discovered the workers (and the crash, and w4)',
        registryFollowed ? `yes (${names(discovered)} → ${names(seenAfter)})` : 'NO',
      ],
      ['counter increments', `${counter} (log entries ${log.count})`],
      ['counter correct (no torn or lost update)', counterCorrect ? 'yes' : 'NO'],
      ['fencing tokens never went back', tokensIncrease ? 'yes' : 'NO'],
      [
        'scheduler ticks only by the elected leader',
        singleLeader ? `yes (${ticks.count} ticks, ${runs} runs, ${terms} terms)` : 'NO',
      ],
      ['workers stopped cleanly', cleanExit ? 'yes' : `NO (${codes.join(', ')})`],
    ];
    for (const [k, v] of rows) console.log(`  ${k.padEnd(56)} ${v}`);
    const ok =
      counterCorrect && tokensIncrease && singleLeader && cleanExit && registryFollowed && counter > 0;
    console.log(
      `\n${ok ? 'All invariants held.' : 'An invariant was violated.'} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    );
    return ok;
  } finally {
    for (const w of workers)
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await etcd.close();
  }
}

async function main(): Promise<void> {
  timeline('starting a local 3-member etcd cluster');
  const cluster = await startCluster({ members: 3 });
  timeline(`etcd cluster up: ${cluster.endpoints.join(', ')}`);
  let ok = false;
  try {
    ok = await run(cluster);
  } finally {
    await cluster.close();
  }
  process.exitCode = ok ? 0 : 1;
}

main().catch((err) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
