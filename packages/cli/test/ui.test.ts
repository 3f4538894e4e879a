/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The functions given to untilPage() run in the browser.
import { op } from '@etcdkit/core';
import { register } from '@etcdkit/discovery';
import { Mutex, RWMutex, Semaphore } from '@etcdkit/lock';
import { Queue, WorkQueue } from '@etcdkit/recipes';
import { spawnEtcdctl } from '@etcdkit/testkit';
import { uniqueName, uniquePrefix, untilGone, untilKeys, useEtcd } from '@etcdkit/testkit/vitest';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { flags, spawnCli } from './run-cli.js';
import { openPage, pageErrors, screenshot, startUi, untilPage, useBrowserAndUi } from './ui-browser.js';

const t = useEtcd({ useEnv: false });
const at = useBrowserAndUi(t);

/** The holder and waiters (leases, in order) of the lock card `name`, as the page shows them. */
function lockShows(arg: { name: string; holder: string[]; waiters: string[] }): boolean {
  const card = [...document.querySelectorAll<HTMLElement>('[data-queue]')].find(
    (c) => c.dataset.queue === arg.name,
  );
  if (!card) return arg.holder.length === 0 && arg.waiters.length === 0;
  const rows = [...card.querySelectorAll<HTMLElement>('tr[data-role]')];
  const of = (role: string) =>
    rows
      .filter((r) => r.dataset.role === role)
      .map((r) => r.dataset.lease)
      .join(',');
  return of('holder') === arg.holder.join(',') && of('waiter') === arg.waiters.join(',');
}

const leaseOf = (key: string): string => key.slice(key.lastIndexOf('/') + 1);

/** `etcdkit lock <name>` running a command that holds the lock until it reads a line. */
function holdLock(name: string) {
  return spawnCli([
    ...flags(t),
    'lock',
    name,
    '--',
    process.execPath,
    '-e',
    'console.log("held"); process.stdin.once("data", () => process.exit(0));',
  ]);
}

describe('etcdkit ui in a browser', () => {
  it('shows a lock holder and its waiters in order (etcdkit and etcdctl), and follows hand-overs', async () => {
    const name = uniqueName('ui-lock');
    const a = holdLock(name);
    await a.waitForLine(/^held$/);
    const b = holdLock(name);
    await untilKeys(t.etcd, `${name}/`, 2);
    const ctl = spawnEtcdctl(['lock', name], { endpoints: t.server.endpoints });
    let page: Page | undefined;
    try {
      const keys = await untilKeys(t.etcd, `${name}/`, 3);
      const [la, lb, lc] = keys.map(leaseOf) as [string, string, string];
      page = await openPage(at.browser, at.ui.url, 'locks');
      await untilPage(
        page,
        lockShows,
        { name, holder: [la], waiters: [lb, lc] },
        'holder A, waiters B then etcdctl',
      );
      // The holder row shows the fencing token (its key's create revision) and a TTL.
      const tokenText = await page
        .locator(`[data-queue="${name}"] tr[data-role="holder"] td:nth-child(3)`)
        .textContent();
      expect(tokenText).toBe(String((await t.etcd.get(keys[0]!))!.createRevision));
      await screenshot(page, 'locks');

      // A hands over to B: the page follows.
      const released = t.etcd.watch({ key: keys[0]!, filters: { noPut: true } });
      await released.ready;
      const t0 = performance.now();
      a.child.stdin!.write('done\n');
      await untilPage(page, lockShows, { name, holder: [lb], waiters: [lc] }, 'B holding after A released');
      console.log(
        `ui: lock hand-over A -> B shown ${(performance.now() - t0).toFixed(0)} ms after the release`,
      );
      expect((await a.exited).code).toBe(0);
      let handOver = 0n;
      for await (const e of released) {
        handOver = e.kv.modRevision;
        break;
      }
      released.close();
      // A page opened now did not see it happen: the server finds the hand-over in etcd's history.
      const later = await openPage(at.browser, at.ui.url, 'locks');
      try {
        await untilPage(
          later,
          (arg) =>
            document
              .querySelector(`[data-queue="${arg.name}"] tr[data-role="holder"] [data-took-over]`)
              ?.getAttribute('data-took-over') === arg.rev,
          { name, rev: String(handOver) },
          `B holding since revision ${handOver}`,
        );
      } finally {
        await later.close();
      }

      // B hands over to etcdctl.
      const t1 = performance.now();
      b.child.stdin!.write('done\n');
      await ctl.waitForOutput(new RegExp(`^${name}/`));
      await untilPage(
        page,
        lockShows,
        { name, holder: [lc], waiters: [] },
        'etcdctl holding after B released',
      );
      console.log(
        `ui: lock hand-over B -> etcdctl shown ${(performance.now() - t1).toFixed(0)} ms after the release`,
      );
      await ctl.stop('SIGTERM');
      await untilPage(page, lockShows, { name, holder: [], waiters: [] }, 'the lock gone once free');
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await page?.close();
      await ctl.stop('SIGKILL');
      await a.kill('SIGKILL');
      await b.kill('SIGKILL');
    }
  });

  it('shows readers-writer locks and semaphores with their modes and limits', async () => {
    const rwName = uniqueName('ui-rw');
    const semName = uniqueName('ui-sem');
    const ttl = 30;
    const sessions = await Promise.all([
      t.session(ttl),
      t.session(ttl),
      t.session(ttl),
      t.session(ttl),
      t.session(ttl),
      t.session(ttl),
      t.session(ttl),
    ]);
    const [s1, s2, s3, s4, s5, s6, s7] = sessions;
    const waiting: Promise<unknown>[] = [];
    let page: Page | undefined;
    try {
      await new RWMutex(s1, rwName).rlock();
      await new RWMutex(s2, rwName).rlock();
      waiting.push(new RWMutex(s3, rwName).lock().catch(() => {})); // a writer waits for both readers
      await untilKeys(t.etcd, `${rwName}/`, 3);
      waiting.push(new RWMutex(s4, rwName).rlock().catch(() => {})); // a reader waits behind the writer
      await new Semaphore(s5, semName, 2).acquire();
      await new Semaphore(s6, semName, 2).acquire();
      waiting.push(new Semaphore(s7, semName, 2).acquire().catch(() => {}));
      await untilKeys(t.etcd, `${rwName}/`, 4);
      await untilKeys(t.etcd, `${semName}/`, 3);
      const hex = (s: { lease: bigint }) => s.lease.toString(16);
      page = await openPage(at.browser, at.ui.url, 'locks');
      await untilPage(
        page,
        lockShows,
        { name: rwName, holder: [hex(s1), hex(s2)], waiters: [hex(s3), hex(s4)] },
        'two readers holding, a writer then a reader waiting',
      );
      const modes = await page
        .locator(`[data-queue="${rwName}"] tr[data-role] td:first-child`)
        .allTextContents();
      expect(modes).toEqual(['holds (read)', 'holds (read)', 'waits #1 (write)', 'waits #2 (read)']);
      await untilPage(
        page,
        lockShows,
        { name: semName, holder: [hex(s5), hex(s6)], waiters: [hex(s7)] },
        'two semaphore holders and one waiting',
      );
      expect(await page.locator(`[data-queue="${semName}"]`).getAttribute('data-kind')).toBe('semaphore');
      expect(await page.locator(`[data-queue="${semName}"] h2`).textContent()).toContain('limit 2');
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await page?.close();
      await Promise.all(sessions.map((s) => s.close()));
      await Promise.all(waiting);
    }
  });

  it('shows an election leader, candidates, and the new leader after a hand-over', async () => {
    const name = uniqueName('ui-elect');
    const alice = spawnEtcdctl(['elect', name, 'alice'], { endpoints: t.server.endpoints });
    let bob: ReturnType<typeof spawnEtcdctl> | undefined;
    let page: Page | undefined;
    try {
      await alice.waitForOutput(/^alice$/);
      bob = spawnEtcdctl(['elect', name, 'bob'], { endpoints: t.server.endpoints });
      await untilKeys(t.etcd, `${name}/`, 2);
      page = await openPage(at.browser, at.ui.url, 'elections');
      const shows = (arg: { name: string; leader: string; candidates: string }) => {
        const card = [...document.querySelectorAll<HTMLElement>('[data-election]')].find(
          (c) => c.dataset.election === arg.name,
        );
        if (!card) return false;
        const leader = card.querySelector('.leader-value')?.textContent;
        const candidates = [...card.querySelectorAll('tr[data-role="candidate"] td:nth-child(2)')]
          .map((td) => td.textContent)
          .join(',');
        return leader === arg.leader && candidates === arg.candidates;
      };
      await untilPage(
        page,
        shows,
        { name, leader: 'alice', candidates: 'bob' },
        'alice leading, bob waiting',
      );
      const t0 = performance.now();
      await alice.stop('SIGTERM'); // etcdctl elect resigns
      await untilPage(
        page,
        shows,
        { name, leader: 'bob', candidates: '' },
        'bob leading after alice resigned',
      );
      console.log(`ui: leader change shown ${(performance.now() - t0).toFixed(0)} ms after alice resigned`);
      const timeline = await page.locator(`[data-election="${name}"] .timeline li`).allTextContents();
      expect(timeline[0]).toContain('bob');
      expect(timeline.some((l) => l.includes('alice'))).toBe(true);
      await screenshot(page, 'elections');
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await page?.close();
      await alice.stop('SIGKILL');
      await bob?.stop('SIGKILL');
    }
  });

  it('shows a config tree, pretty-prints JSON, and lists a change with its diff', async () => {
    const prefix = uniquePrefix('ui-cfg');
    const key = `${prefix}service/limits.json`;
    await t.etcd.put(key, JSON.stringify({ maxConnections: 100, regions: ['eu', 'us'] }));
    await t.etcd.put(`${prefix}service/name`, 'billing');
    const page = await openPage(at.browser, at.ui.url, 'config');
    try {
      await page.locator('#cfg-filter').fill(prefix);
      await page.locator(`#tree .row[data-path="${key}"]`).click();
      await untilPage(
        page,
        (k) =>
          document.querySelector('#cfg-value')?.textContent?.includes('"maxConnections": 100') === true &&
          document.querySelector('[data-selected]')?.getAttribute('data-selected') === k,
        key,
        'the value pretty-printed',
      );
      const t0 = performance.now();
      const r = await t.etcd.put(key, JSON.stringify({ maxConnections: 250, regions: ['eu', 'us'] }));
      await untilPage(
        page,
        (arg) => {
          const c = document.querySelector(`[data-change-rev="${arg.rev}"]`);
          if (!c || c.getAttribute('data-change-key') !== arg.key) return false;
          const del = [...c.querySelectorAll('.del')].map((d) => d.textContent);
          const add = [...c.querySelectorAll('.add')].map((d) => d.textContent);
          return (
            del.length === 1 &&
            del[0]!.includes('"maxConnections": 100') &&
            add.length === 1 &&
            add[0]!.includes('"maxConnections": 250') &&
            document.querySelector('#cfg-value')?.textContent?.includes('"maxConnections": 250') === true
          );
        },
        { rev: String(r.revision), key },
        'the change with its one-line diff',
      );
      console.log(`ui: config change shown ${(performance.now() - t0).toFixed(0)} ms after the put`);
      await screenshot(page, 'config');
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('shows sessions with what they hold, discovered services, and queue items', async () => {
    const name = uniqueName('ui-sess');
    const session = await t.session(30);
    const m = new Mutex(session, name);
    await m.lock();
    const service = uniqueName('ui-svc');
    const reg = await register(t.etcd, { service, address: '10.0.0.7:50051', metadata: { zone: 'eu-1' } });
    const qp = uniquePrefix('ui-queue');
    const q = new Queue(t.etcd, qp);
    await q.enqueue('job-1', { priority: 5 });
    await q.enqueue('urgent'); // the default priority is the first
    const wqp = uniquePrefix('ui-work');
    const wq = new WorkQueue(session, wqp);
    await wq.enqueue('task-a');
    await wq.enqueue('task-b');
    const claimed = await wq.claim();
    const lease = session.lease.toString(16);
    const page = await openPage(at.browser, at.ui.url, 'sessions');
    try {
      await untilPage(
        page,
        (arg) => {
          const row = document.querySelector(`[data-lease-row="${arg.lease}"]`);
          const ttl = row?.querySelector('[data-ttl]')?.textContent ?? '';
          return row?.textContent?.includes(`holds mutex ${arg.name}`) === true && /^\d+s$/.test(ttl);
        },
        { lease, name },
        'the session holding the lock, with its TTL',
      );
      await screenshot(page, 'sessions');

      await page.click('button[data-view="discovery"]');
      await untilPage(
        page,
        (svc) => {
          const card = [...document.querySelectorAll<HTMLElement>('[data-service]')].find(
            (c) => c.dataset.service === svc,
          );
          return card?.textContent?.includes('10.0.0.7:50051') === true && card.textContent.includes('eu-1');
        },
        service,
        'the registered instance',
      );
      await reg.drain();
      await untilPage(
        page,
        (svc) =>
          [...document.querySelectorAll<HTMLElement>('[data-service]')]
            .find((c) => c.dataset.service === svc)
            ?.querySelector('td.warn')?.textContent === 'draining',
        service,
        'the instance draining',
      );
      await screenshot(page, 'discovery');

      await page.click('button[data-view="queues"]');
      await untilPage(
        page,
        (arg) => {
          const cards = [...document.querySelectorAll<HTMLElement>('[data-item-queue]')];
          const q = cards.find((c) => c.dataset.itemQueue === arg.qp);
          const w = cards.find((c) => c.dataset.itemQueue === `${arg.wqp}`);
          if (!q || !w) return false;
          const first = q.querySelector('tbody tr td:nth-child(3)')?.textContent;
          const claimedBy = [...w.querySelectorAll('tbody tr')].find((r) =>
            r.textContent?.includes('task-a'),
          );
          return (
            q.dataset.count === '2' &&
            first === 'urgent' &&
            claimedBy?.textContent?.includes(arg.lease) === true
          );
        },
        { qp, wqp, lease },
        'the queue (urgent first) and the work queue with its claim',
      );
      await screenshot(page, 'queues');
      expect(pageErrors(page)).toEqual([]);
      await claimed.ack();
    } finally {
      await page.close();
      await reg.close();
      await session.close();
    }
  });

  it('refuses writes without --allow-writes', async () => {
    const lease = await t.etcd.lease.grant(60);
    try {
      const html = await (await fetch(at.ui.url)).text();
      const token = /name="etcdkit-token" content="([0-9a-f]+)"/.exec(html)![1]!;
      expect(html).toContain('name="etcdkit-writes" content="off"');
      const r = await fetch(new URL('/api/revoke-lease', at.ui.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-etcdkit-token': token },
        body: JSON.stringify({ lease: lease.id.toString(16) }),
      });
      expect(r.status).toBe(403);
      expect(((await r.json()) as { error: string }).error).toMatch(/--allow-writes/);
      expect((await lease.timeToLive()).ttl).toBeGreaterThan(0);
      // The page offers no action either.
      const page = await openPage(at.browser, at.ui.url, 'sessions');
      try {
        await untilPage(
          page,
          (id) => document.querySelector(`[data-lease-row="${id}"]`) !== null,
          lease.id.toString(16),
          'the lease',
        );
        expect(await page.locator('button.act').count()).toBe(0);
      } finally {
        await page.close();
      }
    } finally {
      await lease.revoke();
    }
  });

  it('with --allow-writes: deletes a waiter key and revokes a lease, each after a confirmation', async () => {
    const rw = await startUi(flags(t), ['--allow-writes']);
    const name = uniqueName('ui-writes');
    const session = await t.session(60);
    const m = new Mutex(session, name);
    await m.lock();
    const waiter = holdLock(name);
    const page = await openPage(at.browser, rw.url, 'locks');
    try {
      const keys = await untilKeys(t.etcd, `${name}/`, 2);
      const [holderLease, waiterLease] = keys.map(leaseOf) as [string, string];
      await untilPage(
        page,
        lockShows,
        { name, holder: [holderLease], waiters: [waiterLease] },
        'holder and waiter',
      );

      // A holder's key is refused: revoking its lease is the way.
      const token = await page.locator('meta[name="etcdkit-token"]').getAttribute('content');
      const refused = await page.evaluate(
        async (arg) => {
          const r = await fetch('/api/delete-key', {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-etcdkit-token': arg.token },
            body: JSON.stringify({ key: arg.key, createRevision: arg.rev }),
          });
          return { status: r.status, body: (await r.json()) as { error: string } };
        },
        { token: token!, key: keys[0]!, rev: String(m.fencingToken) },
      );
      expect(refused.status).toBe(409);
      expect(refused.body.error).toMatch(/revoke its lease/);
      const noToken = await fetch(new URL('/api/revoke-lease', rw.url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ lease: holderLease }),
      });
      expect(noToken.status).toBe(403);

      // Delete the waiter's key: the confirmation says what will happen.
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.accept();
      });
      await page.locator(`[data-queue="${name}"] tr[data-role="waiter"] button[data-act="delete"]`).click();
      await untilGone(t.etcd, keys[1]!);
      expect(dialogs[0]).toContain(`Delete the waiter key\n  ${keys[1]}`);
      const w = await waiter.exited;
      expect(w.code).toBe(1); // its lock() failed: the key was deleted while waiting
      await untilPage(page, lockShows, { name, holder: [holderLease], waiters: [] }, 'the waiter gone');

      // Revoke the holder's lease: the lock is free, the session ends.
      await page.locator(`[data-queue="${name}"] tr[data-role="holder"] button[data-act="revoke"]`).click();
      await untilGone(t.etcd, keys[0]!);
      expect(dialogs[1]).toContain(`Revoke lease ${holderLease}?`);
      expect(dialogs[1]).toContain(keys[0]);
      expect((await t.etcd.lease.timeToLive(session.lease)).ttl).toBe(-1);
      await untilPage(page, lockShows, { name, holder: [], waiters: [] }, 'the lock gone');
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await page.close();
      await waiter.kill('SIGKILL');
      await session.close();
      await rw.stop();
    }
  });

  it('stays responsive on a 10 000-key prefix (time to first render and update latency are printed)', async () => {
    const prefix = uniquePrefix('ui-big');
    const COUNT = 10_000;
    const value = JSON.stringify({ enabled: true, owner: 'team-a', limits: { rps: 100 } });
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < COUNT; i += 100) {
      const tx = t.etcd.txn();
      const ops = [];
      for (let j = i; j < i + 100; j++)
        ops.push(op.put(`${prefix}group-${Math.floor(j / 500)}/item-${String(j).padStart(5, '0')}`, value));
      writes.push(tx.then(...ops).commit());
      if (writes.length >= 8) await Promise.all(writes.splice(0));
    }
    await Promise.all(writes);
    const big = await startUi(flags(t), ['--prefix', prefix]);
    const t0 = performance.now();
    const page = await openPage(at.browser, big.url, 'config');
    try {
      // The time in the page (since its navigation began) when the tree first shows every key.
      const shown = await page.waitForFunction(
        (n) =>
          document.querySelector('#cfg-count')?.textContent?.startsWith(`${n} keys`) === true &&
          document.querySelectorAll('#tree .row').length > 0 &&
          performance.now(),
        COUNT,
        { timeout: 60_000, polling: 'raf' },
      );
      const firstRender = (await shown.jsonValue()) as number;
      const withTab = performance.now() - t0;
      const inPage = await page.evaluate(
        () =>
          (window as unknown as { etcdkitUi: { stats: { snapshotAt: number; snapshotParseMs: number } } })
            .etcdkitUi.stats,
      );
      // Only the rows in view are in the DOM.
      const rows = await page.locator('#tree .row').count();
      expect(rows).toBeGreaterThan(0);
      expect(rows).toBeLessThan(200);

      const latencies: number[] = [];
      for (let i = 0; i < 5; i++) {
        const key = `${prefix}group-${i * 3}/item-${String(i * 1500).padStart(5, '0')}`;
        const t1 = performance.now();
        const r = await t.etcd.put(key, JSON.stringify({ enabled: false, round: i }));
        await untilPage(
          page,
          (rev) => document.querySelector(`[data-change-rev="${rev}"]`) !== null,
          String(r.revision),
          `the change at revision ${r.revision}`,
        );
        latencies.push(performance.now() - t1);
      }
      // A burst of 1 000 changes: the page keeps answering meanwhile.
      const burst = [];
      for (let i = 0; i < 10; i++) {
        const ops = [];
        for (let j = 0; j < 100; j++)
          ops.push(op.put(`${prefix}group-1/item-${String(500 + i * 100 + j).padStart(5, '0')}`, `v${i}`));
        burst.push(
          t.etcd
            .txn()
            .then(...ops)
            .commit(),
        );
      }
      let worst = 0;
      const done = Promise.all(burst);
      let settled = false;
      void done.then(() => (settled = true));
      while (!settled) {
        const s = performance.now();
        await page.evaluate(() => document.querySelectorAll('#tree .row').length);
        worst = Math.max(worst, performance.now() - s);
      }
      let last = 0n;
      for (const r of await done) if (r.revision > last) last = r.revision;
      await untilPage(
        page,
        (rev) => document.querySelector('#cfg-count')?.textContent?.endsWith(`revision ${rev}`) === true,
        String(last),
        'the burst applied',
      );
      const s = performance.now();
      await page.evaluate(() => 1);
      worst = Math.max(worst, performance.now() - s);
      console.log(
        `ui: ${COUNT}-key prefix: first render ${firstRender.toFixed(0)} ms after navigation began (the snapshot arrived at ${inPage.snapshotAt.toFixed(0)} ms, parsed in ${inPage.snapshotParseMs.toFixed(0)} ms; ${withTab.toFixed(0)} ms with opening the tab); update latency ${latencies
          .map((l) => l.toFixed(0))
          .join(
            ', ',
          )} ms; slowest page answer during a 1000-key burst ${worst.toFixed(0)} ms; ${rows} tree rows in the DOM`,
      );
      await screenshot(page, 'config-10k');
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await page.close();
      await big.stop();
      await t.etcd.delete({ prefix });
    }
  });
});
