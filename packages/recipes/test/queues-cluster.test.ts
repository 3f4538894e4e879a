import { type Etcd, UnavailableError } from '@etcdkit/core';
import { uniquePrefix, until, useCluster } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, Queue, WorkQueue } from '../src/index.js';

const t = useCluster({ members: 3, client: { dialTimeoutMs: 2000 } });

/** A client whose endpoint list starts at member `rotate % 3`, so clients spread over the members. */
function client(rotate: number): Etcd {
  const eps = [...t.endpoints];
  return t.client({ endpoints: [...eps.slice(rotate % 3), ...eps.slice(0, rotate % 3)] });
}

function outcomeUnknown(err: unknown): boolean {
  return (err instanceof UnavailableError || err instanceof DeadlineExceededError) && err.outcomeUnknown;
}

const pause = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

/** Kill the leader once, when `at` items were handled; resolves when the cluster has a leader again. */
function leaderKiller(at: number): { tick(handled: number): void; done(): Promise<void> | undefined } {
  let killing: Promise<void> | undefined;
  return {
    tick(handled) {
      if (handled !== at || killing) return;
      killing = (async () => {
        const leader = await t.cluster.leader();
        await leader!.kill();
        await t.cluster.waitForLeader();
        await leader!.restart();
      })();
    },
    done: () => killing,
  };
}

describe('queues on a 3-member cluster, the leader killed mid-run', () => {
  it('Queue: no item delivered twice; one is missing only where a put or a take reported an unknown outcome', async () => {
    const prefix = uniquePrefix('cq');
    const total = 2 * 150;
    const stop = new AbortController();
    const got: string[] = [];
    let unknown = 0;
    let unknownPuts = 0;
    const killer = leaderKiller(100);
    const consumers = [0, 1].map(async (i) => {
      const q = new Queue(client(i + 1), prefix);
      while (!stop.signal.aborted) {
        try {
          got.push((await q.dequeue({ signal: stop.signal })).toString());
          killer.tick(got.length);
        } catch (err) {
          if (stop.signal.aborted) return;
          if (outcomeUnknown(err)) unknown++;
          await pause();
        }
      }
    });
    const producers = [0, 1].map(async (p) => {
      const q = new Queue(client(p), prefix);
      for (let n = 0; n < total / 2; ) {
        try {
          await q.enqueue(`${p}:${n}`);
          n++;
        } catch (err) {
          // A put whose answer was lost may be in or not: never send the same item twice.
          if (outcomeUnknown(err)) {
            unknownPuts++;
            n++;
          }
          await pause();
        }
      }
    });
    await Promise.all(producers);
    const admin = client(0);
    await until(async () => (await new Queue(admin, prefix).size()) === 0, { what: 'the queue to drain' });
    stop.abort();
    await Promise.all(consumers);
    await killer.done();
    expect(killer.done()).toBeDefined();
    expect(new Set(got).size).toBe(got.length);
    expect(got.length).toBeLessThanOrEqual(total);
    expect(got.length + unknown, `${unknownPuts} puts with an unknown outcome`).toBeGreaterThanOrEqual(
      total - unknownPuts,
    );
  });

  it('WorkQueue: every item processed at least once and the queue ends empty', async () => {
    const prefix = uniquePrefix('cwq');
    const total = 2 * 100;
    const stop = new AbortController();
    const processed = new Set<string>();
    let handled = 0;
    const killer = leaderKiller(60);
    const consumers = [0, 1].map(async (i) => {
      const wq = new WorkQueue(await client(i + 1).session({ ttl: 10 }), prefix);
      while (!stop.signal.aborted) {
        try {
          const item = await wq.claim({ signal: stop.signal });
          processed.add(item.value.toString());
          killer.tick(++handled);
          // An ack can be repeated: after a lost answer, the next one sees the item gone.
          for (;;) {
            try {
              await item.ack();
              break;
            } catch (err) {
              if (!(err instanceof UnavailableError || err instanceof DeadlineExceededError)) throw err;
              await pause();
            }
          }
        } catch (err) {
          if (stop.signal.aborted) return;
          if (!(err instanceof UnavailableError || err instanceof DeadlineExceededError)) throw err;
          await pause();
        }
      }
    });
    const sent = new Set<string>();
    const producers = [0, 1].map(async (p) => {
      const wq = new WorkQueue(await client(p).session({ ttl: 10 }), prefix);
      for (let n = 0; n < total / 2; ) {
        try {
          await wq.enqueue(`${p}:${n}`);
          sent.add(`${p}:${n}`);
          n++;
        } catch (err) {
          if (outcomeUnknown(err)) n++;
          await pause();
        }
      }
    });
    await Promise.all(producers);
    const admin = client(0);
    await until(async () => (await admin.range({ prefix, countOnly: true })).count === 0, {
      what: 'the work queue to drain',
      timeoutMs: 30_000,
    });
    stop.abort();
    await Promise.all(consumers);
    await killer.done();
    expect(killer.done()).toBeDefined();
    for (const v of sent) expect(processed.has(v), v).toBe(true);
  });
});
