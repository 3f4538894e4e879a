import { type SpawnedProcess, spawnTs, track, uniqueName, untilKeys, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import {
  AbortError,
  Barrier,
  BarrierFullError,
  BarrierStateError,
  DoubleBarrier,
  InvalidArgumentError,
} from '../src/index.js';

const t = useEtcd();

/** A participant of the double barrier `key` in its own process (fixtures/participant.ts). */
function participant(key: string, count: number, ttl: number): SpawnedProcess {
  return spawnTs(new URL('./fixtures/participant.ts', import.meta.url), [
    t.endpoints.join(','),
    key,
    String(count),
    String(ttl),
  ]);
}

describe('DoubleBarrier', () => {
  it('5 processes: nobody passes enter() before the 5th arrives; a SIGKILLed one does not block leave() (its session expires)', async () => {
    const key = uniqueName('db5');
    const admin = t.client();
    const go = new Barrier(admin, `${key}-go`);
    await go.hold();
    const children: SpawnedProcess[] = [];
    try {
      for (let i = 0; i < 4; i++) children.push(participant(key, 5, 2));
      await untilKeys(admin, `${key}/waiters/`, 4);
      // four are waiting in enter(): none has passed
      expect((await admin.range({ prefix: `${key}-passed/`, countOnly: true })).count).toBe(0);
      children.push(participant(key, 5, 2));
      await untilKeys(admin, `${key}-passed/`, 5);
      // Every pass came after the 5th waiter key and after the ready mark it wrote.
      const waiters = await admin.range({ prefix: `${key}/waiters/` });
      const ready = await admin.get(`${key}/ready`);
      const passed = await admin.range({ prefix: `${key}-passed/` });
      expect(waiters.kvs).toHaveLength(5);
      let fifth = 0n;
      for (const kv of waiters.kvs) if (kv.createRevision > fifth) fifth = kv.createRevision;
      expect(ready!.modRevision > fifth).toBe(true);
      for (const kv of passed.kvs) expect(kv.createRevision > ready!.modRevision).toBe(true);

      // One participant dies without leaving; the others leave once its session expires.
      const victim = children[1]!;
      await victim.kill('SIGKILL');
      await go.release();
      const codes = await Promise.all(
        children.filter((c) => c !== victim).map(async (c) => (await c.exited).code),
      );
      expect(codes, children.map((c) => c.stderr()).join('\n')).toEqual([0, 0, 0, 0]);
      for (const c of children) if (c !== victim) expect(c.stdout()).toContain('left');
      expect((await admin.range({ prefix: `${key}/` })).kvs).toEqual([]);
    } finally {
      await Promise.all(children.map((c) => c.kill('SIGKILL')));
    }
  });

  it('in one process: enter() waits for count, leave() for everyone; then the barrier can be used again', async () => {
    const key = uniqueName('db3');
    const admin = t.client();
    for (let round = 0; round < 2; round++) {
      const parts = await Promise.all(
        Array.from({ length: 3 }, async () => new DoubleBarrier(await t.session(), key, 3)),
      );
      const first = track(parts[0]!.enter());
      const second = track(parts[1]!.enter());
      await untilKeys(admin, `${key}/waiters/`, 2);
      expect(first.settled() || second.settled()).toBe(false);
      await parts[2]!.enter();
      await Promise.all([first.promise, second.promise]);
      const l0 = track(parts[0]!.leave());
      const l1 = track(parts[1]!.leave());
      // the one of them that entered later deleted its key and waits for the first
      await untilKeys(admin, `${key}/waiters/`, (keys) => keys.length <= 2);
      expect(l0.settled() && l1.settled()).toBe(false);
      await parts[2]!.leave();
      await Promise.all([l0.promise, l1.promise]);
      expect((await admin.range({ prefix: `${key}/` })).kvs).toEqual([]);
    }
  });

  it('when the first participant dies before leaving, the others still leave and the ready mark goes', async () => {
    const key = uniqueName('first-dies');
    const admin = t.client();
    const sessions = await Promise.all([t.session(), t.session(), t.session()]);
    const parts = sessions.map((s) => new DoubleBarrier(s, key, 3));
    const first = track(parts[0]!.enter());
    await untilKeys(admin, `${key}/waiters/`, 1);
    const second = track(parts[1]!.enter());
    await untilKeys(admin, `${key}/waiters/`, 2);
    await parts[2]!.enter();
    await Promise.all([first.promise, second.promise]);
    // The others leave first: each deletes its key and waits for the first one's.
    const leaving = [track(parts[1]!.leave()), track(parts[2]!.leave())];
    await untilKeys(admin, `${key}/waiters/`, (keys) => keys.length <= 1);
    expect(leaving.some((l) => l.settled())).toBe(false);
    // Then the first one dies (its session revoked, as an expiry would): its key goes.
    await sessions[0]!.close();
    await Promise.all(leaving.map((l) => l.promise));
    expect((await admin.range({ prefix: `${key}/` })).kvs).toEqual([]);
  });

  it('await using: a participant still inside at the end of its scope gives its place back at once', async () => {
    const key = uniqueName('dispose');
    const admin = t.client();
    const other = new DoubleBarrier(await t.session(), key, 2);
    const otherEntered = other.enter();
    {
      await using db = new DoubleBarrier(await t.session(), key, 2);
      await db.enter();
      await otherEntered;
    }
    await other.leave();
    expect((await admin.range({ prefix: `${key}/` })).kvs).toEqual([]);
  });

  it('a participant beyond count gets BarrierFullError and leaves no key', async () => {
    const key = uniqueName('full');
    const admin = t.client();
    const a = new DoubleBarrier(await t.session(), key, 1);
    await a.enter(); // count 1: passes at once
    const b = new DoubleBarrier(await t.session(), key, 1);
    await expect(b.enter()).rejects.toBeInstanceOf(BarrierFullError);
    expect((await admin.range({ prefix: `${key}/waiters/`, countOnly: true })).count).toBe(1);
    await a.leave();
    await expect(a.leave()).rejects.toBeInstanceOf(BarrierStateError);
  });

  it('an aborted enter() gives its place back', async () => {
    const key = uniqueName('abort');
    const admin = t.client();
    const a = new DoubleBarrier(await t.session(), key, 2);
    const ac = new AbortController();
    const entering = a.enter({ signal: ac.signal });
    await untilKeys(admin, `${key}/waiters/`, 1);
    ac.abort();
    await expect(entering).rejects.toBeInstanceOf(AbortError);
    expect((await admin.range({ prefix: `${key}/waiters/`, countOnly: true })).count).toBe(0);
  });

  it('checks its arguments and refuses two participants on one session', async () => {
    const s = await t.session();
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53, '3'])
      expect(() => new DoubleBarrier(s, 'k', bad as number)).toThrow(InvalidArgumentError);
    expect(() => new DoubleBarrier(s, '', 2)).toThrow(InvalidArgumentError);
    expect(() => new DoubleBarrier({} as never, 'k', 2)).toThrow(InvalidArgumentError);
    const key = uniqueName('same-session');
    const a = new DoubleBarrier(s, key, 2);
    const ac = new AbortController();
    const entering = a.enter({ signal: ac.signal });
    await untilKeys(t.client(), `${key}/waiters/`, 1);
    await expect(new DoubleBarrier(s, key, 2).enter()).rejects.toBeInstanceOf(BarrierStateError);
    ac.abort();
    await expect(entering).rejects.toBeInstanceOf(AbortError);
  });
});
