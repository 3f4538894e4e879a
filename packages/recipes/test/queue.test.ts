import { setWatchStreamIdleMs, watchStats } from '@etcdkit/core/internal';
import { isPending, uniquePrefix, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  DeadlineExceededError,
  InvalidArgumentError,
  InvalidValueError,
  Queue,
} from '../src/index.js';

const t = useEtcd();

describe('Queue', () => {
  it('4 producers x 1 000 items, 4 consumers: every item dequeued exactly once, in FIFO order per producer', async () => {
    const prefix = uniquePrefix('q');
    const producers = 4;
    const perProducer = 1000;
    const total = producers * perProducer;
    // The order etcd applied the takes in, from one watch of the deletions (with the values
    // taken): the queue's order itself, not the order answers reached this process.
    const order: string[] = [];
    const watcher = t.etcd.watch({ prefix, prevKv: true });
    await watcher.ready;
    const watched = (async () => {
      for await (const ev of watcher) {
        if (ev.type !== 'delete') continue;
        order.push(ev.prevKv?.value.toString() ?? '?');
        if (order.length === total) return;
      }
    })();
    const done = new AbortController();
    const got: string[][] = [[], [], [], []];
    let count = 0;
    const consumers = got.map(async (mine) => {
      const q = new Queue(t.client(), prefix);
      for (;;) {
        let v: Buffer;
        try {
          v = await q.dequeue({ signal: done.signal });
        } catch (err) {
          if (err instanceof AbortError && done.signal.aborted) return;
          throw err;
        }
        mine.push(v.toString());
        if (++count === total) done.abort();
      }
    });
    const producing = Array.from({ length: producers }, async (_, p) => {
      const q = new Queue(t.client(), prefix);
      for (let n = 0; n < perProducer; n++) await q.enqueue(`${p}:${n}`);
    });
    try {
      await Promise.all([...producing, ...consumers]);
      await watched;
    } finally {
      done.abort();
      watcher.close();
    }

    const all = got.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    // Taken in etcd in the order each producer enqueued: FIFO per producer, exactly once each.
    expect(order).toHaveLength(total);
    expect(new Set(order).size).toBe(total);
    const next = new Array<number>(producers).fill(0);
    for (const v of order) {
      const [p, n] = v.split(':').map(Number) as [number, number];
      expect(n).toBe(next[p]);
      next[p] = n + 1;
    }
    expect(await new Queue(t.etcd, prefix).size()).toBe(0);
  }, 600_000); // 4 000 items through a real etcd on a shared 2-core machine: time for a slow run, never a measure.

  it('lower priority first, FIFO within one priority', async () => {
    const q = new Queue(t.client(), uniquePrefix('qp'));
    const priorities = [5, 0, 3, 5, 0, 99_999, 3, 0, 12, 5];
    for (const [i, priority] of priorities.entries()) await q.enqueue(`${priority}:${i}`, { priority });
    await q.enqueue('default:10');
    expect(await q.size()).toBe(11);
    const out: string[] = [];
    for (let i = 0; i < 11; i++) out.push((await q.dequeue()).toString());
    expect(out).toEqual([
      '0:1',
      '0:4',
      '0:7',
      'default:10',
      '3:2',
      '3:6',
      '5:0',
      '5:3',
      '5:9',
      '12:8',
      '99999:5',
    ]);
  });

  it('a delayed item is never delivered before its time; due items of any priority go first', async () => {
    const q = new Queue(t.client(), uniquePrefix('qd'));
    const notBefore = Date.now() + 400;
    await q.enqueue('later', { notBefore, priority: 0 });
    await q.enqueue('now', { priority: 7 });
    expect((await q.dequeue()).toString()).toBe('now');
    // Only the delayed item is left: the consumer waits for its time (a timer, no new enqueue).
    expect((await q.dequeue()).toString()).toBe('later');
    expect(Date.now()).toBeGreaterThanOrEqual(notBefore);

    // A consumer already waiting on an empty queue: a delayed enqueue wakes it (watch), then
    // its timer delivers the item, not earlier; a Date works as well as a number.
    const waiting = q.dequeue();
    expect(await isPending(waiting, 50)).toBe(true);
    const at = new Date(Date.now() + 300);
    await q.enqueue('dated', { notBefore: at });
    expect((await waiting).toString()).toBe('dated');
    expect(Date.now()).toBeGreaterThanOrEqual(at.getTime());
  });

  it('a waiting consumer wakes at the next enqueue', async () => {
    const prefix = uniquePrefix('qw');
    const consumer = new Queue(t.client(), prefix);
    const waiting = consumer.dequeue();
    expect(await isPending(waiting)).toBe(true);
    await new Queue(t.client(), prefix).enqueue(new Uint8Array([1, 2, 3]));
    expect(await waiting).toEqual(Buffer.from([1, 2, 3]));
  });

  it('abort or timeout while waiting: AbortError / DeadlineExceededError, nothing taken, no watch left', async () => {
    const etcd = t.client();
    setWatchStreamIdleMs(etcd, 0);
    const prefix = uniquePrefix('qa');
    const q = new Queue(etcd, prefix);
    const ac = new AbortController();
    const waiting = q.dequeue({ signal: ac.signal });
    await until(() => watchStats(etcd).streamOpen, { what: 'the dequeue watch' });
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    await until(() => !watchStats(etcd).streamOpen, { what: 'the watch to close' });
    // waiting on a delayed item's timer, then aborted
    await q.enqueue('x', { notBefore: Date.now() + 60_000 });
    await expect(q.dequeue({ timeoutMs: 100 })).rejects.toBeInstanceOf(DeadlineExceededError);
    await until(() => !watchStats(etcd).streamOpen, { what: 'the watch to close' });
    const pre = new AbortController();
    pre.abort();
    await expect(q.dequeue({ signal: pre.signal })).rejects.toBeInstanceOf(AbortError);
    expect(await q.size()).toBe(1); // the delayed item is still there
  });

  it('typed(): JSON values by default, any codec (config-sync decoders fit), raw and typed ends share a queue', async () => {
    const prefix = uniquePrefix('qt');
    const raw = new Queue(t.client(), prefix);
    const jobs = raw.typed<{ id: number; tags: string[] }>();
    await jobs.enqueue({ id: 1, tags: ['a'] });
    await raw.enqueue('{"id":2,"tags":[]}');
    expect(await jobs.dequeue()).toEqual({ id: 1, tags: ['a'] });
    expect(await jobs.dequeue()).toEqual({ id: 2, tags: [] });
    // A decoder of config-sync's shape (value, key) => T, and an encoder of our own.
    const seen: string[] = [];
    const upper = raw.typed<string>({
      encode: (v) => v.toUpperCase(),
      decode: (value, key) => {
        seen.push(key);
        return value.toString('utf8');
      },
    });
    await upper.enqueue('hello');
    expect(await upper.dequeue()).toBe('HELLO');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.startsWith(prefix)).toBe(true);
    expect(await jobs.size()).toBe(0);
  });

  it('typed(): an item the decoder refuses is InvalidValueError with its key and bytes; the next item still comes', async () => {
    const prefix = uniquePrefix('qbad');
    const raw = new Queue(t.client(), prefix);
    const typed = raw.typed<number>();
    await raw.enqueue('not json');
    await typed.enqueue(7);
    const err = await typed.dequeue().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidValueError);
    expect(err).toMatchObject({ code: 'INVALID_VALUE', value: Buffer.from('not json') });
    expect((err as InvalidValueError).key.startsWith(prefix)).toBe(true);
    expect((err as InvalidValueError).cause).toBeInstanceOf(SyntaxError);
    expect(await typed.dequeue()).toBe(7);
    // Values JSON cannot carry are refused before anything is written.
    expect(() => typed.enqueue(undefined as never)).toThrow(InvalidArgumentError);
    expect(() => raw.typed({ decode: 'x' } as never)).toThrow(InvalidArgumentError);
    expect(await raw.size()).toBe(0);
  });

  it('checks its arguments', async () => {
    const etcd = t.etcd;
    expect(() => new Queue(etcd, '')).toThrow(InvalidArgumentError);
    expect(() => new Queue({} as never, 'x')).toThrow(InvalidArgumentError);
    expect(new Queue(etcd, 'jobs').prefix).toBe('jobs/');
    const q = new Queue(etcd, uniquePrefix('qx'));
    for (const options of [
      { priority: -1 },
      { priority: 100_000 },
      { priority: 1.5 },
      { priority: '1' },
      { notBefore: Number.NaN },
      { notBefore: new Date('nope') },
      { notBefore: Number.POSITIVE_INFINITY },
      { notBefore: -1 },
    ])
      await expect(q.enqueue('v', options as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(q.enqueue(undefined as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(q.dequeue({ timeoutMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(await q.size()).toBe(0);
  });
});
