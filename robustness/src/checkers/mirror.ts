/**
 * Mirror: every snapshot the mirror published equals etcd's state of the prefix at the snapshot's
 * revision, computed from the recorded history; revisions never go back from one to the next.
 */
import type { Recorder } from '../history.js';
import { KV_PREFIX } from '../keys.js';
import { type CheckResult, collector } from '../workload.js';
import type { PublishedSnapshot } from '../workloads/watch.js';

const show = (entries: [string, string][]): string => entries.map(([k, v]) => `${k}=${v}`).join(' ');

export function checkMirror(history: Recorder, snapshots: readonly PublishedSnapshot[]): CheckResult {
  const result = collector('mirror');
  for (let i = 1; i < snapshots.length; i++)
    if (snapshots[i]!.revision < snapshots[i - 1]!.revision)
      result.fail(
        `snapshot ${i} went back from revision ${snapshots[i - 1]!.revision} to ${snapshots[i]!.revision}`,
      );
  const byRevision = [...snapshots].sort((a, b) =>
    a.revision < b.revision ? -1 : a.revision > b.revision ? 1 : 0,
  );
  let next = 0;
  const compareUpTo = (state: { entriesUnder(p: string): [string, string][] }, limit: bigint | undefined) => {
    for (; next < byRevision.length && (limit === undefined || byRevision[next]!.revision < limit); next++) {
      const snap = byRevision[next]!;
      result.operations++;
      const expected = show(state.entriesUnder(KV_PREFIX));
      const got = show(snap.entries);
      if (got !== expected)
        result.fail(`snapshot at revision ${snap.revision} is {${got}} but etcd held {${expected}}`);
    }
  };
  const replay = history.replay();
  for (;;) {
    const step = replay.next();
    // Before revision r is applied, the state is the one of every snapshot at a revision < r.
    if (step.done) {
      compareUpTo(step.value, undefined);
      break;
    }
    compareUpTo(step.value.before, step.value.revision);
  }
  if (byRevision.length > 0 && byRevision.at(-1)!.revision > history.revision)
    result.fail(`a snapshot is at revision ${byRevision.at(-1)!.revision}, after the recorded history`);
  return result;
}
