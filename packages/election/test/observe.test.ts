import { ClientClosedError, type Session } from '@etcdkit/core';
import { startTcpProxy } from '@etcdkit/testkit';
import { uniqueName, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { Election, type Leader, observeLeader } from '../src/index.js';

const t = useEtcd();
const sessions: Session[] = [];

async function candidate(name: string): Promise<Election> {
  const s = await t.etcd.session({ ttl: 10 });
  sessions.push(s);
  return new Election(s, name);
}

const show = (l: Leader | undefined): string | undefined => l?.value.toString();

/** Iterate an observation in the background, recording what it yields. */
function record(iterable: AsyncIterable<Leader | undefined>) {
  const r = {
    seen: [] as (string | undefined)[],
    leaders: [] as (Leader | undefined)[],
    error: undefined as unknown,
    done: Promise.resolve(),
  };
  r.done = (async () => {
    try {
      for await (const l of iterable) {
        r.leaders.push(l);
        r.seen.push(show(l));
      }
    } catch (err) {
      r.error = err;
      throw err;
    }
  })();
  // A test that fails half-way leaves its observation running until the client closes.
  r.done.catch(() => {});
  return r;
}

t.defer(() => Promise.allSettled(sessions.map((s) => s.close())));

describe('observe', () => {
  it('yields the current leader, then every leader and value in order, and undefined when the last one resigns', async () => {
    const name = uniqueName('order');
    const [a, b, c] = [await candidate(name), await candidate(name), await candidate(name)];
    const stop = new AbortController();
    const r = record(a.observe({ signal: stop.signal }));
    await until(() => r.seen.length === 1, { what: 'the first state' });
    expect(r.seen).toEqual([undefined]);

    await a.campaign('a1');
    await until(() => r.seen.length === 2, { what: 'a elected' });
    const bWon = b.campaign('b');
    await until(async () => (await t.etcd.get(b.key)) !== undefined, { what: 'b enqueued' });
    const cWon = c.campaign('c');
    await until(async () => (await t.etcd.get(c.key)) !== undefined, { what: 'c enqueued' });
    await a.proclaim('a2');
    await until(() => r.seen.length === 3, { what: 'a2 proclaimed' });
    await a.resign();
    await bWon;
    await b.proclaim('b2');
    await b.resign();
    await cWon;
    await c.resign();
    await until(() => r.seen.length === 7, { what: 'c resigned' });
    expect(r.seen).toEqual([undefined, 'a1', 'a2', 'b', 'b2', 'c', undefined]);
    expect(r.leaders[1]?.key.equals(a.key)).toBe(true);
    expect(r.leaders[3]?.key.equals(b.key)).toBe(true);
    expect(r.leaders[5]?.key.equals(c.key)).toBe(true);

    // Aborting ends the iteration without an error.
    stop.abort();
    await r.done;
    expect(r.seen).toHaveLength(7);
  });

  it('starts with the current leader and a late observer sees the same state as an early one', async () => {
    const name = uniqueName('late');
    const a = await candidate(name);
    await a.campaign('x');
    const stop = new AbortController();
    const it1 = a.observe({ signal: stop.signal })[Symbol.asyncIterator]();
    const first = await it1.next();
    expect(first.done).toBe(false);
    expect(first.value?.value.toString()).toBe('x');
    expect(first.value?.createRevision).toBe(a.createRevision);
    // Breaking out of a loop closes its watch.
    await it1.return();
    const viaClient = observeLeader(t.etcd, name, { signal: stop.signal })[Symbol.asyncIterator]();
    expect((await viaClient.next()).value?.key.equals(a.key)).toBe(true);
    await viaClient.return();
    await a.resign();
  });

  it('does not repeat a state, and ignores candidates that are not leader', async () => {
    const name = uniqueName('dedupe');
    const [a, b] = [await candidate(name), await candidate(name)];
    await a.campaign('same');
    const stop = new AbortController();
    const r = record(a.observe({ signal: stop.signal }));
    await until(() => r.seen.length === 1, { what: 'first state' });
    const bWon = b.campaign('waiting');
    await until(async () => (await t.etcd.get(b.key)) !== undefined, { what: 'b enqueued' });
    // Unrelated keys under the prefix change nothing either.
    await t.etcd.put(`${name}/zzz-not-a-candidate`, 'x');
    await t.etcd.delete(`${name}/zzz-not-a-candidate`);
    await a.proclaim('same2');
    await until(() => r.seen.length === 2, { what: 'proclaim seen' });
    expect(r.seen).toEqual(['same', 'same2']);
    for (let i = 1; i < r.leaders.length; i++)
      expect(r.leaders[i]?.modRevision).not.toBe(r.leaders[i - 1]?.modRevision);
    await a.resign();
    await bWon;
    await b.resign();
    await until(() => r.seen.length === 4, { what: 'b and nobody' });
    expect(r.seen).toEqual(['same', 'same2', 'waiting', undefined]);
    stop.abort();
    await r.done;
  });

  it('survives cut connections: the watch resumes and no state is missed', async () => {
    const name = uniqueName('cut');
    const proxy = await startTcpProxy(t.endpoints[0]!);
    const remote = t.client({ endpoints: [proxy.endpoint] });
    const stop = new AbortController();
    try {
      const [a, b] = [await candidate(name), await candidate(name)];
      await a.campaign('one');
      const r = record(observeLeader(remote, name, { signal: stop.signal }));
      await until(() => r.seen.length === 1, { what: 'first state' });
      proxy.cut();
      await a.proclaim('two');
      proxy.cut();
      const bWon = b.campaign('three');
      await until(async () => (await t.etcd.get(b.key)) !== undefined, { what: 'b enqueued' });
      await a.resign();
      await bWon;
      proxy.cut();
      await b.resign();
      await until(() => r.seen.length >= 4, { what: 'every state', timeoutMs: 30_000 });
      expect(r.seen).toEqual(['one', 'two', 'three', undefined]);
    } finally {
      stop.abort();
      await remote.close();
      await proxy.close();
    }
  });

  it('survives a cut connection and a compacted history without missing the latest state', async () => {
    const name = uniqueName('reconnect');
    const proxy = await startTcpProxy(t.endpoints[0]!);
    const remote = t.client({ endpoints: [proxy.endpoint] });
    const stop = new AbortController();
    try {
      const [a, b] = [await candidate(name), await candidate(name)];
      await a.campaign('before');
      const r = record(observeLeader(remote, name, { signal: stop.signal }));
      await until(() => r.seen.length === 1, { what: 'first state' });

      // Cut and keep the observer away while leadership changes and history is compacted.
      proxy.refuse(true);
      proxy.cut();
      await a.proclaim('during');
      const bWon = b.campaign('next');
      await a.resign();
      await bWon;
      await b.proclaim('latest');
      const { revision } = await t.etcd.put(`${name}-filler`, 'x');
      await t.etcd.compact(revision);
      proxy.refuse(false);

      await until(() => r.seen.at(-1) === 'latest', {
        what: 'the latest state after reconnecting',
        timeoutMs: 30_000,
      });
      expect(r.leaders.at(-1)?.key.equals(b.key)).toBe(true);
      // What was seen is in order, whatever was skipped by the compaction.
      const order = ['before', 'during', 'next', 'latest'];
      const positions = r.seen.map((v) => order.indexOf(v!));
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
      await b.resign();
      await until(() => r.seen.at(-1) === undefined && r.seen.length > 1, { what: 'no leader' });
    } finally {
      stop.abort();
      await remote.close();
      await proxy.close();
    }
  });

  it('is an Observable: subscribe, unsubscribe, errors to the observer', async () => {
    const name = uniqueName('observable');
    const a = await candidate(name);
    const observation = a.observe();
    const symbol = (Symbol as { observable?: symbol }).observable;
    if (symbol)
      expect((observation as unknown as Record<symbol, () => unknown>)[symbol]!()).toBe(observation);
    expect(observation['@@observable']()).toBe(observation);

    const seen: (string | undefined)[] = [];
    const sub = observation.subscribe((l) => seen.push(show(l)));
    await until(() => seen.length === 1, { what: 'first state' });
    await a.campaign('s1');
    await until(() => seen.length === 2, { what: 's1' });
    sub.unsubscribe();
    expect(sub.closed).toBe(true);
    await a.proclaim('s2');
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual([undefined, 's1']);

    // Closing the client ends an observation with an error the observer receives.
    const other = t.client();
    const errors: unknown[] = [];
    let completed = false;
    const sub2 = observeLeader(other, name).subscribe({
      next: (l) => seen.push(show(l)),
      error: (e) => errors.push(e),
      complete: () => {
        completed = true;
      },
    });
    await until(() => seen.length === 3, { what: 'second subscriber first state' });
    expect(seen[2]).toBe('s2');
    await other.close();
    await until(() => errors.length === 1, { what: 'the error' });
    expect(errors[0]).toBeInstanceOf(ClientClosedError);
    expect(completed).toBe(false);
    expect(sub2.closed).toBe(true);

    // complete() when the options' signal aborts.
    const stop = new AbortController();
    let done = false;
    a.observe({ signal: stop.signal }).subscribe({ complete: () => (done = true) });
    stop.abort();
    await until(() => done, { what: 'complete' });
    await a.resign();
  });

  it('shares one observation between overlapping subscribers; one that throws disturbs neither the others nor itself', async () => {
    const name = uniqueName('shared');
    const a = await candidate(name);
    const observation = a.observe();
    const boom = new Error('subscriber bug');
    // What a throwing subscriber threw surfaces as an uncaught exception: catch it here instead.
    const uncaught: unknown[] = [];
    const previous = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    const onUncaught = (e: unknown): void => {
      uncaught.push(e);
    };
    process.on('uncaughtException', onUncaught);
    try {
      const thrower: (string | undefined)[] = [];
      const calm: (string | undefined)[] = [];
      const subThrower = observation.subscribe((l) => {
        thrower.push(show(l));
        throw boom;
      });
      await until(() => thrower.length === 1, { what: 'the first state' });
      // A subscriber joining a running observation gets the leader as last seen at once (no read of its own).
      const subCalm = observation.subscribe((l) => calm.push(show(l)));
      expect(calm).toEqual([undefined]);
      const iterator = observation[Symbol.asyncIterator]();
      const states = [iterator.next(), iterator.next(), iterator.next()];
      await a.campaign('one');
      await a.proclaim('two');
      expect((await Promise.all(states)).map((r) => show(r.value ?? undefined))).toEqual([
        undefined,
        'one',
        'two',
      ]);
      await until(() => calm.length === 3 && thrower.length === 3, { what: 'every state' });
      expect(calm).toEqual([undefined, 'one', 'two']);
      expect(thrower).toEqual([undefined, 'one', 'two']);
      await iterator.return();
      await until(() => uncaught.length === 3, { what: 'the reports' });
      expect(uncaught).toEqual([boom, boom, boom]);
      expect(subThrower.closed).toBe(false);
      subThrower();
      subCalm();
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const l of previous) process.on('uncaughtException', l);
    }
    await a.resign();
  });
});
