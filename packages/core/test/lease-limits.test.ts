import { setTimeout as sleep } from 'node:timers/promises';
import { useEtcd } from '@etcdkit/testkit/vitest';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError } from '../src/index.js';
import { longTimer, MAX_TIMER_MS } from '../src/internal.js';
import { MAX_LEASE_TTL } from '../src/lease.js';

const t = useEtcd();

const DAY_S = 86_400;

async function refused(p: Promise<unknown>, names: RegExp): Promise<void> {
  const err = await p.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InvalidArgumentError);
  expect((err as Error).message).toMatch(names);
}

describe('lease limits', () => {
  it('refuses TTLs that are not whole seconds from 1 to etcd maximum, instead of wrapping them', async () => {
    const etcd = t.client();
    for (const ttl of [2 ** 63, 2 ** 64, 1e21, MAX_LEASE_TTL + 1, 0, -5, 1.5, Number.NaN, Infinity])
      await refused(etcd.lease.grant(ttl), /^ttl must be a whole number of seconds from 1 to 9000000000/);
    await refused(etcd.lease.grant('60' as unknown as number), /ttl/);
    await refused(etcd.session({ ttl: 2 ** 63 }), /^session ttl must be/);
    await refused(etcd.session({ ttl: 0 }), /^session ttl must be/);
    // Nothing was granted by the refused calls.
    expect(await etcd.lease.list()).toEqual([]);
  });

  it('grants etcd maximum TTL as it is', async () => {
    const etcd = t.client();
    const lease = await etcd.lease.grant(MAX_LEASE_TTL);
    expect(lease.ttl).toBe(MAX_LEASE_TTL);
    expect((await lease.timeToLive()).grantedTtl).toBe(MAX_LEASE_TTL);
    expect(lease.lost).toBe(false);
    await lease.revoke();
  });

  it('refuses lease IDs outside 1 .. 2^63 - 1', async () => {
    const etcd = t.client();
    for (const id of [0n, -1n, 2n ** 63n, 2n ** 64n])
      await refused(etcd.lease.revoke(id), /^lease id must be a bigint from 1 to 2\^63 - 1/);
    await refused(etcd.lease.revoke(5 as unknown as bigint), /lease id/);
    for (const id of [0n, 2n ** 63n])
      await refused(etcd.lease.grant(10, { id }), /^id must be a bigint from 1 to 2\^63 - 1/);
    // The largest ID is etcd's to take.
    const top = await etcd.lease.grant(10, { id: 2n ** 63n - 1n });
    expect(top.id).toBe(2n ** 63n - 1n);
    await top.revoke();
  });

  it('keeps a 30-day session, whose deadline is past one Node timer, alive rather than lost at once', async () => {
    const etcd = t.client();
    const session = await etcd.session({ ttl: 30 * DAY_S });
    let keepalives = 0;
    session.leaseHandle.on('keepalive', () => keepalives++);
    await session.leaseHandle.keepAliveOnce();
    expect(keepalives).toBeGreaterThanOrEqual(1);
    // Unchained, the deadline timer fired after 1 ms; a second is far past that.
    await sleep(1000);
    expect(session.expired).toBe(false);
    expect(session.leaseHandle.remainingMs).toBeGreaterThan(29 * DAY_S * 1000);
    expect((await session.leaseHandle.timeToLive()).ttl).toBeGreaterThan(29 * DAY_S);
    await session.close();
    expect(session.expired).toBe(true);
  });

  it('a bare lease of a year is not lost at once either', async () => {
    const etcd = t.client();
    const lease = await etcd.lease.grant(365 * DAY_S, { keepAlive: true });
    await sleep(1000);
    expect(lease.lost).toBe(false);
    await lease.revoke();
  });
});

describe('longTimer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires once at a moment past the timer limit, not early', () => {
    vi.useFakeTimers();
    const fired: number[] = [];
    const ms = 30 * DAY_S * 1000;
    expect(ms).toBeGreaterThan(MAX_TIMER_MS);
    const start = Date.now();
    longTimer(() => fired.push(Date.now() - start), ms);
    vi.advanceTimersByTime(MAX_TIMER_MS + 1000);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(ms - MAX_TIMER_MS - 1001);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([ms]);
    vi.advanceTimersByTime(ms);
    expect(fired).toEqual([ms]);
  });

  it('is cleared at any link of its chain', () => {
    vi.useFakeTimers();
    let fired = false;
    const timer = longTimer(() => {
      fired = true;
    }, 3 * MAX_TIMER_MS);
    vi.advanceTimersByTime(MAX_TIMER_MS + 5);
    timer.clear();
    vi.advanceTimersByTime(3 * MAX_TIMER_MS);
    expect(fired).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
