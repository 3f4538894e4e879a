import {
  anyoneAhead,
  followDeletes,
  joinQueue,
  NAMED_QUEUE_MAX,
  type Ticket,
  waitForTurn,
} from '@etcdkit/core/internal';
import { caughtUp, uniquePrefix as uniq, until, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import type { Etcd, Session } from '../src/index.js';

const t = useEtcd();

/** Count the transactions a client sends: the kernel's waits must add none after the join. */
function countTxns(etcd: Etcd): { readonly n: number } {
  const original = etcd.txn.bind(etcd);
  const counter = { n: 0 };
  etcd.txn = () => {
    counter.n++;
    return original();
  };
  return counter;
}

async function join(session: Session, prefix: string): Promise<Ticket> {
  return joinQueue(session, { prefix, key: `${prefix}${session.lease.toString(16)}` });
}

describe('coordination kernel: queue and turn', () => {
  it('a join reads the keys ahead; the turn comes when the last is deleted, a put does not wake it', async () => {
    const etcd = t.client();
    const p = uniq('q');
    const [a, b, c] = [
      await etcd.session({ ttl: 30 }),
      await etcd.session({ ttl: 30 }),
      await etcd.session({ ttl: 30 }),
    ];
    const ta = await join(a, p);
    const tb = await join(b, p);
    expect(ta.ahead).toHaveLength(0);
    expect(tb.ahead.map((kv) => kv.key.toString())).toEqual([ta.key.toString()]);
    const tc = await join(c, p);
    expect(tc.ahead.map((kv) => kv.createRevision)).toEqual([ta.rev, tb.rev]);

    const ac = new AbortController();
    let turn: bigint | undefined | 'pending' = 'pending';
    const waiting = waitForTurn(tc, anyoneAhead, ac.signal).then((r) => {
      turn = r;
    });
    // b leaves the middle of the queue, a's key changes value: c still waits for a.
    await etcd.delete(tb.key);
    await etcd.put(ta.key, 'touched', { lease: a.lease });
    const probe = await etcd.put(`${p}probe`, 'x');
    await until(async () => (await etcd.get(`${p}probe`))?.modRevision === probe.revision, { what: 'probe' });
    expect(turn).toBe('pending');
    const del = await etcd.delete(ta.key);
    await waiting;
    expect(turn).toBeTypeOf('bigint');
    expect(turn as unknown as bigint).toBeGreaterThanOrEqual(del.revision);
    for (const s of [a, b, c]) await s.close();
  });

  it('hands over without a confirming read once the deletion feed is open', async () => {
    const etcd = t.client();
    const p = uniq('feed');
    const owner = await etcd.session({ ttl: 30 });
    const waiter = await etcd.session({ ttl: 30 });
    const ac = new AbortController();
    // First wait on this prefix: opens the feed (one read to cover the join).
    const t1 = await join(owner, p);
    const t2 = await join(waiter, p);
    const w1 = waitForTurn(t2, anyoneAhead, ac.signal);
    await etcd.delete(t1.key);
    expect(await w1).toBeTypeOf('bigint');
    await etcd.delete(t2.key);

    // Second round: the feed is open, so the join and the deletion event are all it takes.
    const t3 = await join(owner, p);
    const t4 = await join(waiter, p);
    const txns = countTxns(etcd);
    const w2 = waitForTurn(t4, anyoneAhead, ac.signal);
    await etcd.delete(t3.key);
    expect(await w2).toBeTypeOf('bigint');
    expect(txns.n).toBe(0);
    await owner.close();
    await waiter.close();
  });

  it('sees a predecessor deleted between the join and the wait, with no feed open', async () => {
    const etcd = t.client();
    const p = uniq('gap');
    const a = await etcd.session({ ttl: 30 });
    const b = await etcd.session({ ttl: 30 });
    const ta = await join(a, p);
    const tb = await join(b, p);
    await etcd.delete(ta.key);
    expect(await waitForTurn(tb, anyoneAhead, new AbortController().signal)).toBeTypeOf('bigint');
    await a.close();
    await b.close();
  });

  it('says undefined when my own key is deleted while waiting, and rejects with the signal reason on abort', async () => {
    const etcd = t.client();
    const p = uniq('gone');
    const a = await etcd.session({ ttl: 30 });
    const b = await etcd.session({ ttl: 30 });
    await join(a, p);
    const tb = await join(b, p);
    const waiting = waitForTurn(tb, anyoneAhead, new AbortController().signal);
    await etcd.delete(tb.key);
    expect(await waiting).toBeUndefined();

    const tb2 = await join(b, p);
    const ac = new AbortController();
    const aborted = waitForTurn(tb2, anyoneAhead, ac.signal);
    const reason = new Error('stop');
    ac.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    await a.close();
    await b.close();
  });

  it('applies the rule of the queue: admitted when fewer than 2 keys remain ahead', async () => {
    const etcd = t.client();
    const p = uniq('sem');
    const s = await Promise.all([1, 2, 3].map(() => etcd.session({ ttl: 30 })));
    const tickets = [];
    for (const x of s) tickets.push(await join(x, p));
    const last = tickets[2]!;
    const twoAhead = (ahead: readonly unknown[]) => ahead.length >= 2;
    expect(twoAhead(last.ahead)).toBe(true);
    const waiting = waitForTurn(last, twoAhead, new AbortController().signal);
    await etcd.delete(tickets[1]!.key);
    expect(await waiting).toBeTypeOf('bigint');
    for (const x of s) await x.close();
  });
});

describe('coordination kernel: counted joins', () => {
  async function countedJoin(session: Session, prefix: string): Promise<Ticket> {
    return joinQueue(session, { prefix, key: `${prefix}${session.lease.toString(16)}`, countAhead: true });
  }

  it('a short queue is read by name (oldest first); a key behind me leaving does not count', async () => {
    const etcd = t.client();
    const p = uniq('named');
    const s = await Promise.all([1, 2, 3].map(() => etcd.session({ ttl: 30 })));
    const tickets: Ticket[] = [];
    for (const x of s) tickets.push(await countedJoin(x, p));
    const last = tickets[2]!;
    expect(last.aheadCount).toBe(2);
    expect(last.ahead.map((kv) => kv.createRevision)).toEqual([tickets[0]!.rev, tickets[1]!.rev]);
    let turn: bigint | undefined | 'pending' = 'pending';
    const waiting = waitForTurn(last, anyoneAhead, new AbortController().signal).then((r) => {
      turn = r;
    });
    await etcd.delete(tickets[1]!.key);
    // A key created after mine, then deleted: behind me, so it changes nothing.
    await etcd.put(`${p}zz-behind`, 'x');
    await etcd.delete(`${p}zz-behind`);
    await caughtUp(etcd, `${p}-sentinel`);
    expect(turn).toBe('pending');
    const del = await etcd.delete(tickets[0]!.key);
    await waiting;
    expect(turn as unknown as bigint).toBeGreaterThanOrEqual(del.revision);
    for (const x of s) await x.close();
  });

  it('a join registers only with a feed etcd has confirmed: one still being created could start after the join', async () => {
    const etcd = t.client();
    const p = uniq('live');
    const [a, b] = [await etcd.session({ ttl: 30 }), await etcd.session({ ttl: 30 })];
    const feed = followDeletes(etcd, Buffer.from(p), { create: true, counts: false })!;
    // The join looks for a feed before it sends anything; etcd has not confirmed this one yet.
    expect(feed.live).toBe(false);
    const ta = await countedJoin(a, p);
    expect(ta.registration).toBeUndefined();
    await feed.ready;
    expect(feed.live).toBe(true);
    const tb = await countedJoin(b, p);
    expect(tb.registration).toBeDefined();
    // Covered by the feed, the waiter sees the one ahead go with no read.
    const txns = countTxns(etcd);
    const waiting = waitForTurn(tb, anyoneAhead, new AbortController().signal);
    const del = await etcd.delete(ta.key);
    expect(await waiting).toBeGreaterThanOrEqual(del.revision);
    expect(txns.n).toBe(0);
    feed.close();
    await a.close();
    await b.close();
  });

  it(`a queue longer than ${NAMED_QUEUE_MAX} is counted: the turn comes when the last key ahead goes, whatever the order`, async () => {
    const etcd = t.client();
    const admin = t.client();
    const p = uniq('long');
    const n = NAMED_QUEUE_MAX + 6;
    const lease = await admin.lease.grant(60);
    const ahead: string[] = [];
    for (let i = 0; i < n; i++) {
      const k = `${p}${String(i).padStart(3, '0')}`;
      await admin.put(k, '', { lease: lease.id });
      ahead.push(k);
    }
    const first = await etcd.session({ ttl: 30 });
    const second = await etcd.session({ ttl: 30 });
    const ac = new AbortController();
    // No feed is open yet: the first waiter reads the queue once more and opens the counting feed.
    const t1 = await countedJoin(first, p);
    expect(t1.ahead).toEqual([]);
    expect(t1.aheadCount).toBe(n);
    expect(t1.registration).toBeUndefined();
    const w1 = waitForTurn(t1, anyoneAhead, ac.signal);
    // The second joins once that feed is confirmed, and only counts (n keys and the first waiter's).
    const t2 = await until(
      async () => {
        const tk = await countedJoin(second, p);
        if (tk.registration) return tk;
        await etcd.delete(tk.key);
        return undefined;
      },
      { what: 'a join covered by the counting feed' },
    );
    expect(t2.ahead).toEqual([]);
    expect(t2.aheadCount).toBe(n + 1);
    const txns = countTxns(etcd);
    let turn: bigint | undefined | 'pending' = 'pending';
    const w2 = waitForTurn(t2, anyoneAhead, ac.signal).then((r) => {
      turn = r;
    });
    // Deleted out of order, with a key behind both coming and going: neither may go early.
    const reversed = (k: string) => k.split('').reverse().join('');
    const order = [...ahead].sort((a, b) => (reversed(a) < reversed(b) ? -1 : 1));
    for (const k of order.slice(0, -1)) await admin.delete(k);
    await admin.put(`${p}zzz-behind`, 'x');
    await admin.delete(`${p}zzz-behind`);
    // The first waiter's key is deleted: it says so, and the second still waits for the last key.
    await admin.delete(t1.key);
    expect(await w1).toBeUndefined();
    await caughtUp(etcd, `${p}-sentinel`);
    expect(turn).toBe('pending');
    const del = await admin.delete(order.at(-1)!);
    await w2;
    expect(turn as unknown as bigint).toBeGreaterThanOrEqual(del.revision);
    // Counted from the feed's events: no read confirmed the turn.
    expect(txns.n).toBe(0);
    await first.close();
    await second.close();
    await lease.revoke();
  });
});

describe('coordination kernel: untilDeleted', () => {
  it('resolves at once for an absent key, on a later delete (not on a put), and rejects on abort', async () => {
    const { untilDeleted } = await import('@etcdkit/core/internal');
    const etcd = t.client();
    const p = uniq('ud');
    await untilDeleted(etcd, `${p}absent`);
    await etcd.put(`${p}k`, 'x');
    let done = false;
    const waiting = untilDeleted(etcd, `${p}k`).then(() => {
      done = true;
    });
    await etcd.put(`${p}k`, 'changed');
    expect(done).toBe(false);
    await etcd.delete(`${p}k`);
    await waiting;
    expect(done).toBe(true);

    await etcd.put(`${p}k2`, 'x');
    const ac = new AbortController();
    const aborted = untilDeleted(etcd, `${p}k2`, ac.signal);
    ac.abort();
    await expect(aborted).rejects.toBeInstanceOf(Error);
  });
});
