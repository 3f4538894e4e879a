import { uniquePrefix, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  type Etcd,
  InvalidArgumentError,
  StmConflictError,
  type StmIsolation,
  type StmTx,
} from '../src/index.js';
import { checkTotalAtEveryRevision, openAccounts, runTransfers } from './stm-workload.js';

const t = useEtcd();

/** A promise and its resolve function: lets a test hold fn at a chosen point. */
function gate(): { open: () => void; passed: Promise<void> } {
  let open!: () => void;
  const passed = new Promise<void>((r) => {
    open = r;
  });
  return { open, passed };
}

const num = (b: Buffer | undefined): number => Number(b?.toString() ?? 'NaN');

describe('etcd.stm()', () => {
  it('reads, buffers writes, commits them in one revision and resolves with fn’s result', async () => {
    const etcd = t.client();
    const p = uniquePrefix('basic');
    await etcd.put(`${p}a`, '1');
    await etcd.put(`${p}gone`, 'x');
    const result = await etcd.stm(async (tx) => {
      expect((await tx.get(`${p}a`))?.toString()).toBe('1');
      expect(await tx.get(`${p}none`)).toBeUndefined();
      tx.put(`${p}a`, '2');
      tx.put(`${p}b`, 'new');
      tx.delete(`${p}gone`);
      // fn sees its own buffered writes
      expect((await tx.get(`${p}a`))?.toString()).toBe('2');
      expect(await tx.get(`${p}gone`)).toBeUndefined();
      const all = await tx.range({ prefix: p });
      expect(all.map((e) => [e.key.toString(), e.value.toString()])).toEqual([
        [`${p}a`, '2'],
        [`${p}b`, 'new'],
      ]);
      return 'done';
    });
    expect(result).toBe('done');
    const after = await etcd.range({ prefix: p });
    expect(after.kvs.map((kv) => [kv.key.toString(), kv.value.toString()])).toEqual([
      [`${p}a`, '2'],
      [`${p}b`, 'new'],
    ]);
    // one txn: both puts carry the same mod revision
    expect(after.kvs[0]!.modRevision).toBe(after.kvs[1]!.modRevision);
  });

  it('an error thrown by fn rejects stm() with it, and nothing is written', async () => {
    const etcd = t.client();
    const p = uniquePrefix('throws');
    const boom = new Error('boom');
    await expect(
      etcd.stm(async (tx) => {
        tx.put(`${p}k`, 'v');
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await etcd.get(`${p}k`)).toBeUndefined();
  });

  for (const isolation of ['serializable-snapshot', 'serializable', 'repeatable-read'] as const) {
    it(`${isolation}: 8 workers x 100 random transfers between 10 accounts keep the total at every revision`, async () => {
      const admin = t.client();
      const p = uniquePrefix(`bank-${isolation}`);
      const start = await openAccounts(admin, p, 10, 100);
      const clients = Array.from({ length: 8 }, () => t.client());
      const stats = await runTransfers(clients, p, 10, 100, isolation);
      expect(stats.commits).toBe(800);
      expect(stats.unknown).toBe(0);
      const revisions = await checkTotalAtEveryRevision(admin, p, start, 1000);
      // every committed transfer is one revision (a transfer of 0 still writes both keys)
      expect(revisions).toBe(800);
    });
  }

  it('read-committed lets a concurrent read-modify-write be lost; repeatable-read prevents it', async () => {
    async function race(isolation: StmIsolation): Promise<{ final: number; runs: number }> {
      const etcd = t.client();
      const key = `${uniquePrefix(`lost-${isolation}`)}x`;
      await etcd.put(key, '100');
      const g = gate();
      const read = gate();
      let runs = 0;
      const slow = etcd.stm(
        async (tx) => {
          runs++;
          const v = num(await tx.get(key));
          if (runs === 1) {
            read.open();
            await g.passed; // another writer commits meanwhile
          }
          tx.put(key, String(v - 20));
        },
        { isolation },
      );
      await read.passed;
      await etcd.stm(
        async (tx) => {
          tx.put(key, String(num(await tx.get(key)) - 10));
        },
        { isolation },
      );
      g.open();
      await slow;
      return { final: num((await etcd.get(key))?.value), runs };
    }
    // Under read-committed the slow writer overwrote the other's update: 80, not 70.
    expect(await race('read-committed')).toEqual({ final: 80, runs: 1 });
    expect(await race('repeatable-read')).toEqual({ final: 70, runs: 2 });
    expect(await race('serializable-snapshot')).toEqual({ final: 70, runs: 2 });
  });

  it('repeatable-read lets fn see a state that never existed (read skew); the serializable levels read one snapshot', async () => {
    async function race(isolation: StmIsolation): Promise<number[]> {
      const etcd = t.client();
      const p = uniquePrefix(`skew-${isolation}`);
      await openAccounts(etcd, p, 2, 50);
      const seen: number[] = [];
      const g = gate();
      const read = gate();
      let runs = 0;
      const auditor = etcd.stm(
        async (tx) => {
          runs++;
          const a = num(await tx.get(`${p}0`));
          if (runs === 1) {
            read.open();
            await g.passed;
          }
          const b = num(await tx.get(`${p}1`));
          seen.push(a + b);
          tx.put(`${p}audit`, String(a + b));
        },
        { isolation },
      );
      await read.passed;
      // a transfer of 10 from account 0 to 1 commits between the auditor's two reads
      await etcd.stm(async (tx) => {
        tx.put(`${p}0`, String(num(await tx.get(`${p}0`)) - 10));
        tx.put(`${p}1`, String(num(await tx.get(`${p}1`)) + 10));
      });
      g.open();
      await auditor;
      expect(num((await etcd.get(`${p}audit`))?.value)).toBe(100); // what is committed is consistent
      return seen;
    }
    expect(await race('repeatable-read')).toEqual([110, 100]);
    expect(await race('serializable')).toEqual([100, 100]);
    expect(await race('serializable-snapshot')).toEqual([100, 100]);
  });

  it('serializable-snapshot also refuses to overwrite a key written since its snapshot; serializable does not', async () => {
    async function race(isolation: StmIsolation): Promise<{ y: string; runs: number }> {
      const etcd = t.client();
      const p = uniquePrefix(`ww-${isolation}`);
      await etcd.put(`${p}x`, 'seed');
      let runs = 0;
      await etcd.stm(
        async (tx) => {
          runs++;
          const x = (await tx.get(`${p}x`))!.toString();
          if (runs === 1) await etcd.put(`${p}y`, 'theirs'); // a blind write lands after the snapshot
          tx.put(`${p}y`, `mine from ${x}`);
        },
        { isolation },
      );
      return { y: (await etcd.get(`${p}y`))!.value.toString(), runs };
    }
    expect(await race('serializable')).toEqual({ y: 'mine from seed', runs: 1 });
    expect(await race('serializable-snapshot')).toEqual({ y: 'mine from seed', runs: 2 });
  });

  it('a key created in a range read after the read is a conflict (no phantoms)', async () => {
    const etcd = t.client();
    const p = uniquePrefix('phantom');
    await etcd.put(`${p}items/a`, '1');
    const counts: number[] = [];
    await etcd.stm(async (tx) => {
      const items = await tx.range({ prefix: `${p}items/` });
      if (counts.length === 0) await etcd.put(`${p}items/b`, '1');
      counts.push(items.length);
      tx.put(`${p}count`, String(items.length));
    });
    expect(counts).toEqual([1, 2]);
    expect((await etcd.get(`${p}count`))?.value.toString()).toBe('2');
  });

  it('a key deleted from a range read is a conflict too', async () => {
    const etcd = t.client();
    const p = uniquePrefix('range-delete');
    await etcd.put(`${p}a`, '1');
    await etcd.put(`${p}b`, '1');
    const counts: number[] = [];
    await etcd.stm(
      async (tx) => {
        const items = await tx.range({ key: `${p}a`, end: `${p}c` });
        if (counts.length === 0) await etcd.delete(`${p}b`);
        counts.push(items.length);
        tx.put(`${p}count`, String(items.length));
      },
      { isolation: 'repeatable-read' },
    );
    expect(counts).toEqual([2, 1]);
  });

  it('StmConflictError names the changed keys when maxRetries runs out', async () => {
    const etcd = t.client();
    const p = uniquePrefix('conflict');
    await etcd.put(`${p}x`, '0');
    let runs = 0;
    const err = await etcd
      .stm(
        async (tx) => {
          runs++;
          const v = num(await tx.get(`${p}x`));
          await etcd.put(`${p}x`, String(v + 100)); // someone always writes in between
          tx.put(`${p}x`, String(v + 1));
        },
        { maxRetries: 2 },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StmConflictError);
    const e = err as StmConflictError;
    expect(e.code).toBe('STM_CONFLICT');
    expect(e.attempts).toBe(3);
    expect(runs).toBe(3);
    expect(e.keys.map((k) => k.toString())).toEqual([`${p}x`]);
    expect(e.message).toContain(`${p}x`);
  });

  it('after a conflict the next attempt starts from what the failed commit read back', async () => {
    const etcd = t.client();
    const p = uniquePrefix('carry');
    await etcd.put(`${p}x`, '1');
    const seen: string[] = [];
    await etcd.stm(async (tx) => {
      const v = (await tx.get(`${p}x`))!.toString();
      seen.push(v);
      if (seen.length === 1) await etcd.put(`${p}x`, '2');
      tx.put(`${p}y`, v);
    });
    expect(seen).toEqual(['1', '2']);
    expect((await etcd.get(`${p}y`))?.value.toString()).toBe('2');
  });

  it('prefetch reads its keys at one revision before fn runs', async () => {
    const etcd = t.client();
    const p = uniquePrefix('prefetch');
    await openAccounts(etcd, p, 3, 7);
    const revs: bigint[] = [];
    const sum = await etcd.stm(
      async (tx) => {
        let s = 0;
        for (let i = 0; i < 3; i++) {
          s += num(await tx.get(`${p}${i}`));
          revs.push(await tx.rev(`${p}${i}`));
        }
        return s;
      },
      { prefetch: [`${p}0`, `${p}1`, `${p}2`] },
    );
    expect(sum).toBe(21);
    expect(revs.every((r) => r > 0n)).toBe(true);
  });

  it('concurrent reads inside fn share one snapshot', async () => {
    const etcd = t.client();
    const p = uniquePrefix('concurrent-reads');
    await openAccounts(etcd, p, 5, 1);
    const values = await etcd.stm(async (tx) =>
      Promise.all(Array.from({ length: 5 }, (_, i) => tx.get(`${p}${i}`).then(num))),
    );
    expect(values).toEqual([1, 1, 1, 1, 1]);
  });

  it('works on a namespace view', async () => {
    const etcd = t.client();
    const p = uniquePrefix('ns');
    const ns = etcd.namespace(p);
    await ns.put('a', '5');
    await ns.stm(async (tx) => {
      tx.put('a', String(num(await tx.get('a')) + 1));
      expect((await tx.range({ prefix: '' })).map((e) => e.key.toString())).toEqual(['a']);
    });
    expect((await etcd.get(`${p}a`))?.value.toString()).toBe('6');
  });

  it('signal: an aborted signal stops before fn runs; an abort during the backoff ends it', async () => {
    const etcd = t.client();
    const p = uniquePrefix('abort');
    let runs = 0;
    await expect(
      etcd.stm(
        () => {
          runs++;
        },
        { signal: AbortSignal.abort() },
      ),
    ).rejects.toBeInstanceOf(AbortError);
    expect(runs).toBe(0);
    await etcd.put(`${p}x`, '0');
    const ac = new AbortController();
    const err = await etcd
      .stm(
        async (tx) => {
          runs++;
          await tx.get(`${p}x`);
          await etcd.put(`${p}x`, String(runs));
          if (runs === 3) ac.abort(new Error('enough'));
          tx.put(`${p}x`, 'never');
        },
        { signal: ac.signal },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect((err as AbortError).cause).toEqual(new Error('enough'));
    expect((await etcd.get(`${p}x`))?.value.toString()).not.toBe('never');
  });

  it('checks its input', async () => {
    const etcd = t.client();
    const bad: [unknown, unknown][] = [
      [undefined, {}],
      [() => 1, { isolation: 'snapshot' }],
      [() => 1, { maxRetries: -1 }],
      [() => 1, { maxRetries: 1.5 }],
      [() => 1, { maxRetries: '3' }],
      [() => 1, { signal: 'no' }],
      [() => 1, { prefetch: 'k' }],
      [() => 1, { prefetch: [''] }],
      [() => 1, null],
    ];
    for (const [fn, o] of bad)
      await expect(
        etcd.stm(fn as (tx: StmTx) => number, o as Parameters<Etcd['stm']>[1]),
      ).rejects.toBeInstanceOf(InvalidArgumentError);
    let leaked: StmTx | undefined;
    await etcd.stm((tx) => {
      leaked = tx;
    });
    expect(() => leaked!.put('k', 'v')).toThrow(InvalidArgumentError);
    await expect(leaked!.get('k')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(
      etcd.stm((tx) => tx.range({ prefix: 'a', key: 'b' } as unknown as { prefix: string })),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(etcd.stm((tx) => tx.put('k', undefined as unknown as string))).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });
});
