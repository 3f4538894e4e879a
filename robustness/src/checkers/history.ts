/**
 * The recorded history itself, against etcd: the recorder's watch must not have failed, the
 * state it replays to must equal a range read at the final revision, and the revisions etcd
 * still holds (after the last compaction) must be the ones recorded, event for event.
 */
import type { Etcd } from '@etcdkit/core';
import { type Recorder, sameEvent, showEvent, toEvent } from '../history.js';
import { type CheckResult, collector } from '../workload.js';

export async function checkHistory(
  etcd: Etcd,
  history: Recorder,
  prefix: string,
  finalRevision: bigint,
  compactions: readonly bigint[],
): Promise<CheckResult> {
  const result = collector('history');
  if (history.error)
    result.fail(`the recorder's watch failed: ${history.error.name}: ${history.error.message}`);

  // The replayed state against a read at the final revision.
  const replay = history.replay();
  let step = replay.next();
  while (!step.done) step = replay.next();
  const state = step.value;
  const read = await etcd.range({ prefix, revision: finalRevision });
  const seen = new Set<string>();
  for (const kv of read.kvs) {
    const key = kv.key.toString();
    seen.add(key);
    result.operations++;
    const mine = state.kvs.get(key);
    if (
      !mine ||
      mine.value !== kv.value.toString() ||
      mine.createRevision !== kv.createRevision ||
      mine.modRevision !== kv.modRevision ||
      mine.version !== kv.version
    )
      result.fail(
        `at revision ${finalRevision} etcd holds ${key}=${kv.value} (mod ${kv.modRevision}), the history ${mine ? `${mine.value} (mod ${mine.modRevision})` : 'nothing'}`,
      );
  }
  for (const key of state.kvs.keys())
    if (!seen.has(key)) result.fail(`the history holds ${key} at revision ${finalRevision}, etcd does not`);

  // etcd's own history, revision by revision.
  // After the last compaction: etcd before 3.4.34 serves a watch from the compaction revision
  // itself without the deletes made at it (etcd-io/etcd#18089).
  const last = compactions.at(-1);
  const from = last !== undefined ? last + 1n : history.startRevision + 1n;
  if (from > finalRevision) return result;
  const watcher = etcd.watch({ prefix, startRevision: from, signal: AbortSignal.timeout(60_000) });
  try {
    let expect = from;
    for await (const b of watcher.batches()) {
      for (; expect < b.revision; expect++)
        if (history.revisions.has(expect)) result.fail(`the history has revision ${expect}, etcd does not`);
      const recorded = history.revisions.get(b.revision) ?? [];
      const events = b.events.map(toEvent);
      result.operations += events.length;
      if (events.length !== recorded.length || !events.every((e, i) => sameEvent(e, recorded[i]!)))
        result.fail(
          `revision ${b.revision}: etcd has [${events.map(showEvent).join('; ')}], ` +
            `the history [${recorded.map(showEvent).join('; ')}]`,
        );
      expect = b.revision + 1n;
      if (b.revision >= finalRevision) break;
    }
  } catch (err) {
    result.fail(
      `reading etcd's history from revision ${from} failed: ${(err as Error).name}: ${(err as Error).message}`,
    );
  } finally {
    watcher.close();
  }
  return result;
}
