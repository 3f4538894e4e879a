/**
 * One service instance of the demo: it registers itself in the service registry, campaigns to
 * run the scheduler (the leader also follows the registry: who is there to schedule work for),
 * increments a shared counter under a lock, and follows a live config value. It reports what it
 * does to the conductor.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { mirror } from '@etcdkit/config-sync';
import { Etcd, op } from '@etcdkit/core';
import { discover, register } from '@etcdkit/discovery';
import { type LeaderRunner, runForLeader } from '@etcdkit/election';
import { withLock } from '@etcdkit/lock';
import { type ConductorMessage, keys, type WorkerMessage } from './messages.js';

const worker = process.env.DEMO_WORKER ?? `w${process.pid}`;
const send = (m: WorkerMessage) => process.send?.(m);
const report = (err: unknown) =>
  send({
    type: 'error',
    worker,
    at: Date.now(),
    message: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
  });

const etcd = new Etcd({ dialTimeoutMs: 1000, requestTimeoutMs: 3000 });
const stopping = new AbortController();

/** The leader's work: a scheduler tick every 100 ms, written only while this worker leads. */
function startRunner(): LeaderRunner {
  return runForLeader({
    etcd,
    name: keys.election,
    value: worker,
    ttl: 2,
    retryDelayMs: 50,
    onError: () => {
      // Lost leadership and unreachable members are part of the demo; the runner recovers by itself.
    },
    onLeading: async (signal, { election }) => {
      send({ type: 'leading', worker, at: Date.now() });
      let ticks = 0;
      // The leader discovers the workers: the registry's current list, then every change.
      const workers = await discover(etcd, keys.service, { signal });
      const following = workers.subscribe(() =>
        send({
          type: 'discovered',
          worker,
          at: Date.now(),
          instances: workers.instances().map((i) => i.id),
        }),
      );
      try {
        while (!signal.aborted) {
          const r = await etcd
            .txn()
            .if(election.isLeader())
            .then(
              op.put(keys.tick, `${worker}:${ticks + 1}`),
              op.put(`${keys.tickLog}${worker}-${ticks + 1}`, worker),
            )
            .commit({ signal });
          if (!r.succeeded) break;
          ticks++;
          await sleep(100, undefined, { signal });
        }
      } catch (err) {
        if (!signal.aborted) report(err);
      } finally {
        following.unsubscribe();
        await workers.close();
        send({ type: 'not-leading', worker, at: Date.now(), ticks });
      }
    },
  });
}

/** The shared job: read the counter, think, write counter + 1. Only the lock keeps this from tearing. */
async function jobLoop(): Promise<number> {
  let increments = 0;
  while (!stopping.signal.aborted) {
    try {
      await withLock(
        etcd,
        keys.lock,
        async ({ fencingToken, isOwner, signal }) => {
          const current = Number((await etcd.get(keys.counter))?.value.toString() ?? '0');
          await sleep(5, undefined, { signal });
          const next = current + 1;
          // The write is fenced: it only lands while this worker still owns the lock.
          const r = await etcd
            .txn()
            .if(isOwner())
            .then(
              op.put(keys.counter, String(next)),
              op.put(`${keys.counterLog}${String(next).padStart(6, '0')}`, worker),
            )
            .commit();
          if (r.succeeded) {
            increments++;
            send({
              type: 'increment',
              worker,
              at: Date.now(),
              value: next,
              fencingToken: fencingToken.toString(),
            });
          }
        },
        { ttl: 2, timeoutMs: 5000, signal: stopping.signal },
      );
    } catch (err) {
      if (stopping.signal.aborted) break;
      // An etcd member going away can fail one round; the next one finds another member.
      await sleep(50);
      if (!(err instanceof Error && /Unavailable|Timeout|Deadline|Session|Lock/i.test(err.name))) report(err);
    }
    await sleep(20);
  }
  return increments;
}

async function main(): Promise<void> {
  // Listed while alive: closed on stop, or gone with its 2 s lease if the process dies.
  const registration = await register(etcd, {
    service: keys.service,
    id: worker,
    address: `127.0.0.1:${20000 + (Number(worker.replace(/\D/g, '')) % 10000)}`,
    ttl: 2,
  });
  const cfg = await mirror(etcd, keys.config);
  cfg.subscribe((snapshot) =>
    send({ type: 'config', worker, at: Date.now(), value: snapshot.get('message') }),
  );
  let runner = startRunner();
  process.on('message', async (m: ConductorMessage) => {
    if (m.type === 'resign') {
      await runner.stop();
      send({ type: 'resigned', worker, at: Date.now() });
      runner = startRunner();
    } else if (m.type === 'stop') {
      stopping.abort();
    }
  });
  send({ type: 'ready', worker, at: Date.now() });
  const increments = await jobLoop();
  await runner.stop();
  await cfg.close();
  await registration.close();
  await etcd.close();
  send({ type: 'stopped', worker, at: Date.now(), increments });
  process.disconnect?.();
}

main().catch((err) => {
  report(err);
  process.exitCode = 1;
  process.disconnect?.();
});
