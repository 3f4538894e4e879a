/**
 * One lock worker (a child process): take the Mutex, write the guarded counter a few times with
 * the fencing token in the value, release, again. The guard is `txn().if(mutex.isOwner())`; the
 * broken variant (unfenced) writes with a plain put instead.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd, op } from '@etcdkit/core';
import { Mutex } from '@etcdkit/lock';
import { guardedValue, LOCK_COUNTER, LOCK_NAME } from '../keys.js';
import { Prng } from '../prng.js';
import { CLIENT_OPTIONS } from '../testbed.js';
import { bump, reportBusy, roundsOnSession, runClient } from './client-process.js';

runClient(async (config, signal, stats) => {
  const etcd = new Etcd({ endpoints: config.endpoints, ...CLIENT_OPTIONS });
  const rng = new Prng(config.seed).fork(config.name);
  const section = async (m: Mutex): Promise<void> => {
    bump(stats, 'sections');
    const token = m.fencingToken;
    const writes = rng.between(2, 8);
    for (let n = 1; n <= writes; n++) {
      const value = guardedValue(token, config.name, n);
      if (config.unfenced) {
        await etcd.put(LOCK_COUNTER, value);
      } else {
        const r = await etcd.txn().if(m.isOwner()).then(op.put(LOCK_COUNTER, value)).commit();
        if (!r.succeeded) {
          bump(stats, 'refused');
          return;
        }
      }
      bump(stats, 'writes');
      await sleep(rng.between(10, 80));
    }
  };
  try {
    await roundsOnSession(
      etcd,
      signal,
      stats,
      (session) => new Mutex(session, LOCK_NAME),
      async (mutex) => {
        await mutex.lock({ signal, timeoutMs: 15_000 });
        try {
          reportBusy(true);
          await section(mutex);
        } finally {
          reportBusy(false);
          // Refused when ownership was lost meanwhile: counted by the loop, which goes on.
          await mutex.unlock();
        }
      },
    );
  } finally {
    await etcd.close();
  }
});
