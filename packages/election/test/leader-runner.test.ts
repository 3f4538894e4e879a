import { type Etcd, InvalidArgumentError, SessionExpiredError } from '@etcdkit/core';
import { startTcpProxy } from '@etcdkit/testkit';
import { deferred, uniqueName, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { type Leader, NotLeaderError, runForLeader } from '../src/index.js';

const t = useEtcd();

const aborted = (signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const show = (l: Leader | undefined) => l?.value.toString();
const candidates = async (name: string) =>
  (await t.etcd.range({ prefix: `${name}/`, countOnly: true })).count;

describe('runForLeader', () => {
  it('runs onLeading on one runner only; stop() waits for it to settle, then resigns and the next takes over', async () => {
    const name = uniqueName('handover');
    const events: string[] = [];
    const errors: Error[] = [];
    const changes: Record<string, (string | undefined)[]> = { a: [], b: [] };
    const start = (id: 'a' | 'b') =>
      runForLeader({
        etcd: t.etcd,
        name,
        value: id,
        ttl: 5,
        onError: (e) => errors.push(e),
        onLeaderChange: (l) => changes[id]!.push(show(l)),
        onLeading: async (signal, { election }) => {
          events.push(`${id} leads`);
          const guarded = await t.etcd.txn().if(election.isLeader()).commit();
          if (!guarded.succeeded) events.push(`${id} not leader in its own term`);
          await aborted(signal);
          events.push(`${id} aborted`);
          await pause(100); // wind-down: the next leader must not start before it ends
          events.push(`${id} settled`);
        },
      });
    const a = start('a');
    await until(() => a.leading, { what: 'a leading' });
    const b = start('b');
    await until(async () => (await candidates(name)) === 2, { what: 'b enqueued' });
    await until(() => show(b.leader) === 'a', { what: 'b observing a' });
    await until(() => show(a.leader) === 'a', { what: 'a observing itself' });
    expect(b.leading).toBe(false);

    await a.stop();
    expect(a.leading).toBe(false);
    expect(events.slice(0, 3)).toEqual(['a leads', 'a aborted', 'a settled']);
    await until(() => b.leading, { what: 'b leading' });
    expect(events).toEqual(['a leads', 'a aborted', 'a settled', 'b leads']);
    await until(() => changes.b!.at(-1) === 'b', { what: 'b sees itself' });
    expect(changes.b).toEqual(['a', 'b']);
    // a's observer may have started before a was elected.
    expect(changes.a!.filter((v) => v !== undefined)).toEqual(['a']);

    await b.stop();
    expect(events.at(-1)).toBe('b settled');
    expect(await candidates(name)).toBe(0);
    expect(errors).toEqual([]);
    await a.stop(); // stopping twice is fine
  });

  it('aborts the signal when the leader key is deleted, then campaigns again', async () => {
    const name = uniqueName('deleted');
    const reasons: unknown[] = [];
    const errors: Error[] = [];
    const keys: string[] = [];
    const r = runForLeader({
      etcd: t.etcd,
      name,
      value: 'x',
      onError: (e) => errors.push(e),
      onLeading: async (signal, { election }) => {
        keys.push(election.key.toString());
        await aborted(signal);
        reasons.push(signal.reason);
      },
    });
    try {
      await until(() => keys.length === 1, { what: 'first term' });
      await t.etcd.delete(keys[0]!);
      await until(() => keys.length === 2, { what: 'second term' });
      expect(reasons[0]).toBeInstanceOf(NotLeaderError);
      expect(errors.some((e) => e instanceof NotLeaderError)).toBe(true);
      expect(r.leading).toBe(true);
    } finally {
      await r.stop();
    }
  });

  it('onLeading returning or throwing gives leadership up; errors go to onError; the runner campaigns again', async () => {
    const name = uniqueName('settles');
    const errors: Error[] = [];
    const terms: string[] = [];
    let aTerms = 0;
    const bWaiting = deferred();
    const a = runForLeader({
      etcd: t.etcd,
      name,
      value: 'a',
      retryDelayMs: 50,
      onError: (e) => errors.push(e),
      onLeading: async (signal) => {
        aTerms++;
        terms.push('a');
        if (aTerms === 1) {
          await bWaiting.promise;
          throw new Error('boom');
        }
        await aborted(signal);
      },
    });
    await until(() => aTerms === 1, { what: 'a first term' });
    const b = runForLeader({
      etcd: t.etcd,
      name,
      value: 'b',
      onError: (e) => errors.push(e),
      onLeading: async () => {
        terms.push('b');
        await pause(50); // returns: hands leadership back
      },
    });
    try {
      await until(async () => (await candidates(name)) === 2, { what: 'b waiting' });
      bWaiting.resolve();
      await until(() => aTerms === 2, { what: 'a leads again', timeoutMs: 20_000 });
      expect(terms.slice(0, 3)).toEqual(['a', 'b', 'a']);
      expect(errors.map((e) => e.message)).toContain('boom');
      expect(a.leading).toBe(true);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(await candidates(name)).toBe(0);
  });

  it('stop() while campaigning withdraws the candidacy without ever leading', async () => {
    const name = uniqueName('stop-waiting');
    const a = runForLeader({
      etcd: t.etcd,
      name,
      value: 'a',
      onLeading: (signal) => aborted(signal),
      onError: () => {},
    });
    await until(() => a.leading, { what: 'a leading' });
    let bLed = false;
    const b = runForLeader({
      etcd: t.etcd,
      name,
      value: 'b',
      onLeading: () => {
        bLed = true;
      },
      onError: () => {},
    });
    await until(async () => a.leading && (await candidates(name)) === 2, { what: 'a leading, b waiting' });
    await b.stop();
    expect(await candidates(name)).toBe(1);
    expect(bLed).toBe(false);
    expect(a.leading).toBe(true);
    await a.stop();
    expect(await candidates(name)).toBe(0);
  });

  it('stops with await using and with its signal', async () => {
    const name = uniqueName('dispose');
    {
      await using r = runForLeader({
        etcd: t.etcd,
        name,
        value: 'u',
        onLeading: (s) => aborted(s),
        onError: () => {},
      });
      await until(() => r.leading, { what: 'leading' });
    }
    expect(await candidates(name)).toBe(0);
    const ac = new AbortController();
    const r2 = runForLeader({
      etcd: t.etcd,
      name,
      value: 's',
      signal: ac.signal,
      onLeading: (s) => aborted(s),
      onError: () => {},
    });
    await until(() => r2.leading, { what: 'leading' });
    ac.abort();
    await r2.stop();
    expect(r2.stopped).toBe(true);
    expect(await candidates(name)).toBe(0);
    const pre = new AbortController();
    pre.abort();
    let led = false;
    const r3 = runForLeader({
      etcd: t.etcd,
      name,
      value: 'p',
      signal: pre.signal,
      onLeading: () => void (led = true),
    });
    await r3.stop();
    expect(led).toBe(false);
  });

  it('aborts the signal before the lease expires when the connection to etcd is blackholed, then rejoins', async () => {
    const name = uniqueName('blackhole');
    const proxy = await startTcpProxy(t.endpoints[0]!);
    // A 1 s margin: the local deadline passes well before etcd expires the lease.
    const remote = t.client({ endpoints: [proxy.endpoint], leaseSafetyMarginMs: 1000 });
    const order: string[] = [];
    const errors: Error[] = [];
    let reason: unknown;
    const ttl = 4;
    const a = runForLeader({
      etcd: remote,
      name,
      value: 'a',
      ttl,
      onError: (e) => errors.push(e),
      onLeading: async (signal, { election }) => {
        order.push('a leads');
        await aborted(signal);
        reason = signal.reason;
        // Read through the healthy client: etcd must still hold a's key at this point.
        const kv = await t.etcd.get(election.key);
        order.push(kv ? 'a stops while its key still exists' : 'a stops after its key expired');
      },
    });
    await until(() => a.leading, { what: 'a leading' });
    const b = runForLeader({
      etcd: t.etcd,
      name,
      value: 'b',
      ttl,
      onError: (e) => errors.push(e),
      onLeading: async (signal) => {
        order.push('b leads');
        await aborted(signal);
      },
    });
    try {
      await until(async () => (await candidates(name)) === 2, { what: 'b enqueued' });
      proxy.blackhole(true);
      await until(() => order.includes('b leads'), { what: 'b elected', timeoutMs: 30_000 });
      expect(order).toEqual(['a leads', 'a stops while its key still exists', 'b leads']);
      expect(reason).toBeInstanceOf(SessionExpiredError);
      expect(errors.some((e) => e instanceof SessionExpiredError)).toBe(true);

      // Back online, a campaigns again (with a new session) behind b.
      proxy.blackhole(false);
      await until(async () => (await candidates(name)) === 2, {
        what: 'a back in the election',
        timeoutMs: 40_000,
      });
      expect(show(await leaderOf(name))).toBe('b');
    } finally {
      proxy.blackhole(false);
      await Promise.all([a.stop(), b.stop()]);
      await remote.close();
      await proxy.close();
    }
  }, 90_000);

  it('refuses bad options with typed errors', () => {
    const onLeading = () => {};
    expect(() => runForLeader(undefined as never)).toThrow(InvalidArgumentError);
    expect(() => runForLeader({ etcd: {} as Etcd, name: 'n', value: 'v', onLeading })).toThrow(
      InvalidArgumentError,
    );
    expect(() => runForLeader({ etcd: t.etcd, name: '', value: 'v', onLeading })).toThrow(
      InvalidArgumentError,
    );
    expect(() => runForLeader({ etcd: t.etcd, name: 'n', value: 1 as never, onLeading })).toThrow(
      InvalidArgumentError,
    );
    expect(() => runForLeader({ etcd: t.etcd, name: 'n', value: 'v', ttl: 0, onLeading })).toThrow(
      InvalidArgumentError,
    );
    expect(() => runForLeader({ etcd: t.etcd, name: 'n', value: 'v', retryDelayMs: -1, onLeading })).toThrow(
      InvalidArgumentError,
    );
    expect(() => runForLeader({ etcd: t.etcd, name: 'n', value: 'v' } as never)).toThrow(
      InvalidArgumentError,
    );
  });
});

async function leaderOf(name: string): Promise<Leader | undefined> {
  const r = await t.etcd.range({ prefix: `${name}/`, sort: { target: 'create', order: 'ascend' }, limit: 1 });
  return r.kvs[0];
}
