/**
 * One script, run unchanged on Node, Bun, Deno and in a browser page, over etcd's HTTP/JSON
 * gateway: put/get, a txn, a Mutex with two contenders, an Election hand-over and a mirror
 * receiving a change. It uses the public API only, and throws at the first check that fails.
 */

import { mirror } from '@etcdkit/config-sync';
import { compare, Etcd, op } from '@etcdkit/core';
import { Election } from '@etcdkit/election';
import { Mutex } from '@etcdkit/lock';

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`smoke check failed: ${what}`);
}

/** Wait until `cond` holds (a condition with a deadline, as the tests do). */
async function until(cond: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`smoke: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `p`, or a failure after `ms` saying what did not happen. */
function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`smoke: timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** `endpoints` undefined: ETCD_ENDPOINTS, as every client reads it. */
export async function smoke(endpoints: string[] | undefined, log: (line: string) => void): Promise<void> {
  const options = { ...(endpoints ? { endpoints } : {}), transport: 'gateway' as const };
  const a = new Etcd(options);
  const b = new Etcd(options);
  const p = `smoke/${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}/`;
  try {
    const put = await a.put(`${p}k`, 'v1');
    const got = await a.get(`${p}k`);
    check(got?.value.toString() === 'v1' && got.modRevision === put.revision, 'put then get');
    check(typeof put.revision === 'bigint', 'revisions are bigint');
    const bin = new Uint8Array([0, 1, 254, 255]);
    await a.put(`${p}bin`, bin);
    const back = await b.get(`${p}bin`);
    check(back !== undefined && [...back.value].join(',') === '0,1,254,255', 'binary values round-trip');
    log('put/get: ok');

    const t = await a
      .txn()
      .if(compare.value(`${p}k`, '==', 'v1'))
      .then(op.put(`${p}k`, 'v2'), op.get(`${p}k`))
      .else(op.put(`${p}k`, 'other'))
      .commit();
    check(t.succeeded && (await b.get(`${p}k`))?.value.toString() === 'v2', 'txn');
    log('txn: ok');

    const s1 = await a.session({ ttl: 10 });
    const s2 = await b.session({ ttl: 10 });
    const name = `${p}lock`;
    const m1 = new Mutex(s1, name);
    const m2 = new Mutex(s2, name);
    await m1.lock({ timeoutMs: 10_000 });
    let second = false;
    const waiting = m2.lock({ timeoutMs: 20_000 }).then(() => {
      second = true;
    });
    await until(async () => (await Mutex.waiters(a, name)).length === 1, 'the second contender to queue');
    check(!second, 'the second contender waits while the first holds the lock');
    const first = m1.fencingToken;
    await m1.unlock();
    await within(waiting, 'the lock to pass to the second contender');
    check(m2.fencingToken > first, 'fencing tokens grow');
    await m2.unlock();
    log('mutex: ok');

    const e1 = new Election(s1, `${p}election`);
    const e2 = new Election(s2, `${p}election`);
    await e1.campaign('one');
    const campaigning = e2.campaign('two');
    check((await a.get(`${p}k`)) !== undefined, 'calls go on while a campaign waits');
    check((await e2.leader())?.value.toString() === 'one', 'the first candidate leads');
    await e1.resign();
    await within(campaigning, 'leadership to pass to the second candidate');
    check((await e1.leader())?.value.toString() === 'two', 'the second candidate leads after the hand-over');
    await e2.resign();
    log('election: ok');

    const cfg = await mirror(a, `${p}config/`);
    try {
      const seen = new Promise<void>((resolve) => {
        cfg.subscribe((snap) => {
          if (snap.get('flag') === 'on') resolve();
        });
      });
      await b.put(`${p}config/flag`, 'on');
      await within(seen, 'the mirror to receive the change');
      check(cfg.get('flag') === 'on', 'mirror get');
    } finally {
      await cfg.close();
    }
    log('mirror: ok');

    await s1.close();
    await s2.close();
    await a.delete({ prefix: p });
  } finally {
    await Promise.allSettled([a.close(), b.close()]);
  }
}
