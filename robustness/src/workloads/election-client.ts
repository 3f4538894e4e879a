/**
 * One election candidate (a child process). Even-numbered candidates use the leader-runner
 * (runForLeader), odd-numbered ones drive an Election by hand (campaign, resign). While leading,
 * a candidate writes a few leader marks guarded by `election.isLeader()`, with its term (the
 * create revision of its candidate key) in the value, then gives leadership up. The broken
 * variant (unfenced) writes the marks with a plain put and ignores the leadership signal.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Etcd, op } from '@etcdkit/core';
import { Election, runForLeader } from '@etcdkit/election';
import { ELECTION_MARK, ELECTION_NAME, guardedValue } from '../keys.js';
import { Prng } from '../prng.js';
import { CLIENT_OPTIONS } from '../testbed.js';
import {
  bump,
  type ClientConfig,
  type ClientStats,
  countError,
  reportBusy,
  roundsOnSession,
  runClient,
} from './client-process.js';

/** One term's marks; stops early when the guard refuses one (leadership is gone). */
async function writeMarks(
  etcd: Etcd,
  election: Election,
  config: ClientConfig,
  rng: Prng,
  stats: ClientStats,
  leading: AbortSignal,
): Promise<void> {
  const term = election.createRevision!;
  const marks = rng.between(3, 12);
  reportBusy(true);
  try {
    for (let n = 1; n <= marks; n++) {
      const value = guardedValue(term, config.name, n);
      if (config.unfenced) {
        await etcd.put(ELECTION_MARK, value);
      } else {
        if (leading.aborted) return;
        const r = await etcd.txn().if(election.isLeader()).then(op.put(ELECTION_MARK, value)).commit();
        if (!r.succeeded) {
          bump(stats, 'refused');
          return;
        }
      }
      bump(stats, 'marks');
      await sleep(rng.between(10, 80));
    }
  } finally {
    reportBusy(false);
  }
}

async function withRunner(etcd: Etcd, config: ClientConfig, signal: AbortSignal, stats: ClientStats) {
  const rng = new Prng(config.seed).fork(config.name);
  const runner = runForLeader({
    etcd,
    name: ELECTION_NAME,
    value: config.name,
    ttl: 2,
    retryDelayMs: 50,
    signal,
    onError: (err) => countError(stats, err),
    onLeading: async (leading, { election }) => {
      bump(stats, 'terms');
      await writeMarks(etcd, election, config, rng, stats, leading);
    },
  });
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  await runner.stop();
}

async function byHand(etcd: Etcd, config: ClientConfig, signal: AbortSignal, stats: ClientStats) {
  const rng = new Prng(config.seed).fork(config.name);
  await roundsOnSession(
    etcd,
    signal,
    stats,
    (session) => new Election(session, ELECTION_NAME),
    async (election, session) => {
      await election.campaign(config.name, { signal });
      bump(stats, 'terms');
      await writeMarks(etcd, election, config, rng, stats, session.signal);
      await election.resign();
    },
    (election) => election.resign(),
  );
}

runClient(async (config, signal, stats) => {
  const etcd = new Etcd({ endpoints: config.endpoints, ...CLIENT_OPTIONS });
  try {
    const index = Number(/(\d+)$/.exec(config.name)?.[1] ?? 0);
    await (index % 2 === 0 ? withRunner : byHand)(etcd, config, signal, stats);
  } finally {
    await etcd.close();
  }
});
