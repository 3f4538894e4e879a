import { describe, expect, it } from 'vitest';
import { diffLines, pretty } from '../page/diff.js';
import { derive } from '../page/model.js';
import type { Kv } from '../page/protocol.js';

let rev = 0;
function kv(k: string, v: string, lease = ''): Kv {
  rev++;
  return { k, v, c: String(rev), m: String(rev), n: '1', l: lease };
}

describe('the page: what keys mean', () => {
  it('tells mutexes, semaphores, elections and readers-writer locks apart, in create order', () => {
    const m = derive([
      kv('jobs/nightly/1a', '', '1a'),
      kv('jobs/nightly/2b', '', '2b'),
      kv('pool/3c', '2', '3c'),
      kv('pool/4d', '2', '4d'),
      kv('pool/5e', '2', '5e'),
      kv('sched/6f', 'host-a', '6f'),
      kv('sched/70', 'host-b', '70'),
      kv('db/read/71', '', '71'),
      kv('db/read/72', '', '72'),
      kv('db/write/73', '', '73'),
      kv('db/read/74', '', '74'),
      // Not queue keys: no lease, or a last segment that is not the key's own lease.
      kv('plain/1a', ''),
      kv('other/ff', '', '1a'),
    ]);
    const byName = new Map(m.queues.map((q) => [q.name, q]));
    expect([...byName.keys()].sort()).toEqual(['db', 'jobs/nightly', 'pool', 'sched']);
    const lock = byName.get('jobs/nightly')!;
    expect(lock.kind).toBe('mutex');
    expect(lock.holders.map((e) => e.lease)).toEqual(['1a']);
    expect(lock.waiters.map((e) => e.lease)).toEqual(['2b']);
    const pool = byName.get('pool')!;
    expect(pool.kind).toBe('semaphore');
    expect(pool.limit).toBe(2);
    expect(pool.holders.map((e) => e.lease)).toEqual(['3c', '4d']);
    expect(pool.waiters.map((e) => e.lease)).toEqual(['5e']);
    const sched = byName.get('sched')!;
    expect(sched.kind).toBe('election');
    expect(sched.holders.map((e) => e.value)).toEqual(['host-a']);
    const db = byName.get('db')!;
    expect(db.kind).toBe('rwmutex');
    expect(db.holders.map((e) => `${e.mode}:${e.lease}`)).toEqual(['read:71', 'read:72']);
    expect(db.waiters.map((e) => `${e.mode}:${e.lease}`)).toEqual(['write:73', 'read:74']);
    expect(m.keysByLease.get('1a')).toEqual(['jobs/nightly/1a', 'other/ff']);
  });

  it('finds service instances, queue items in dequeue order and work-queue claims', () => {
    const m = derive([
      kv(
        'svc/billing/i-1',
        '{"Op":0,"Addr":"10.0.0.1:50051","Metadata":{"etcdkit.draining":true,"zone":"a"}}',
        '9',
      ),
      kv('svc/billing/i-2', '{"Op":0,"Addr":"10.0.0.2:50051","Metadata":null}', '9'),
      kv('svc/notjson/x', '{"Addr" nope'),
      kv('q/00005/0000000000000000-00000000000000aa', 'late'),
      kv('q/00000/0000000000000000-00000000000000bb', 'urgent'),
      kv('wq/items/00000000000000cc', 'task-1'),
      kv('wq/items/00000000000000dd', 'task-2'),
      kv('wq/claims/00000000000000cc', '', 'beef'),
    ]);
    expect(m.services.get('svc/billing')).toEqual([
      {
        id: 'i-1',
        key: 'svc/billing/i-1',
        address: '10.0.0.1:50051',
        draining: true,
        metadata: { zone: 'a' },
        lease: '9',
      },
      { id: 'i-2', key: 'svc/billing/i-2', address: '10.0.0.2:50051', draining: false, lease: '9' },
    ]);
    expect(m.services.has('svc/notjson')).toBe(false);
    const q = m.itemQueues.find((x) => x.prefix === 'q/')!;
    expect(q.kind).toBe('queue');
    expect(q.items.map((i) => i.value)).toEqual(['urgent', 'late']);
    const wq = m.itemQueues.find((x) => x.prefix === 'wq/')!;
    expect(wq.kind).toBe('workqueue');
    expect(wq.items.map((i) => [i.value, i.claimedBy])).toEqual([
      ['task-1', 'beef'],
      ['task-2', undefined],
    ]);
  });
});

describe('the page: values and diffs', () => {
  it('pretty-prints JSON and leaves other text alone', () => {
    expect(pretty('{"a":1,"b":[1,2]}')).toBe('{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ]\n}');
    expect(pretty('{not json')).toBe('{not json');
    expect(pretty('plain')).toBe('plain');
  });

  it('diffs line by line', () => {
    expect(diffLines('a\nb\nc', 'a\nB\nc')).toEqual([
      { op: ' ', text: 'a' },
      { op: '-', text: 'b' },
      { op: '+', text: 'B' },
      { op: ' ', text: 'c' },
    ]);
    expect(diffLines('', 'x')).toEqual([{ op: '+', text: 'x' }]);
    expect(diffLines('x\ny', '')).toEqual([
      { op: '-', text: 'x' },
      { op: '-', text: 'y' },
    ]);
    // An insertion in the middle keeps the lines around it.
    const d = diffLines('1\n2\n3\n4', '1\n2\nnew\n3\n4');
    expect(d.filter((l) => l.op !== ' ')).toEqual([{ op: '+', text: 'new' }]);
    // Past the table's limit the middle is shown removed and added whole, still correct.
    const big = Array.from({ length: 1000 }, (_, i) => `l${i}`);
    const changed = big.map((l, i) => (i % 2 ? `${l}!` : l));
    const out = diffLines(big.join('\n'), changed.join('\n'));
    expect(out.filter((l) => l.op !== '+').map((l) => l.text)).toEqual(big);
    expect(out.filter((l) => l.op !== '-').map((l) => l.text)).toEqual(changed);
  });
});
