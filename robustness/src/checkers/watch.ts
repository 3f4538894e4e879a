/**
 * Watch: the guarantees of etcd's own robustness tests, per watch, against the recorded history.
 * - ordered and unique: batch revisions strictly increase;
 * - atomic: a batch holds exactly the events of its revision under the watched prefix, as etcd
 *   recorded them (same keys, values, versions, in the same order), and with prevKv asked for,
 *   each event's previous key-value is the key's value just before that revision;
 * - no gap: every revision with events under the prefix, from the watch's first revision to
 *   where it ended, was delivered. A watch may end with CompactedError only when a compaction
 *   reached past the revision it had to resume from (etcd can no longer serve it).
 */
import { type Event, type Recorder, sameEvent, showEvent } from '../history.js';
import { type CheckResult, collector } from '../workload.js';
import type { Follower, Segment } from '../workloads/watch.js';

export function checkWatch(
  history: Recorder,
  followers: Follower[],
  compactions: readonly bigint[],
): CheckResult {
  const result = collector('watch');
  // Revisions in order, each with the events under every followed prefix.
  const order = [...history.revisions.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const under = (rev: bigint, prefix: string): Event[] =>
    (history.revisions.get(rev) ?? []).filter((e) => e.key.startsWith(prefix));
  // Compactions only move forward: the last one is the highest.
  const previous = followers.some((f) => f.prevKv) ? previousValues(history) : undefined;
  const maxCompaction = compactions.at(-1) ?? 0n;
  let segments = 0;
  for (const f of followers) {
    for (const [i, s] of f.segments.entries()) {
      segments++;
      const label = `${f.name} segment ${i + 1}`;
      const first = s.from ?? (s.created === undefined ? undefined : s.created + 1n);
      if (first === undefined) {
        if (s.batches.length > 0) result.fail(`${label}: events arrived before the watch was created`);
        continue;
      }
      checkSegment(result, label, s, first, f.prefix, order, under, history);
      if (f.prevKv && previous) checkPrevious(result, label, s, previous);
      if (s.end instanceof Error)
        result.fail(`${label}: the watch ended with ${s.end.name}: ${s.end.message}`);
      if (s.end === 'compacted') {
        const next = (s.batches.at(-1)?.revision ?? first - 1n) + 1n;
        if (maxCompaction < next)
          result.fail(`${label}: CompactedError, but nothing was compacted at or after revision ${next}`);
      }
    }
  }
  result.notes.push(`${segments} watch segments`);
  return result;
}

function checkSegment(
  result: ReturnType<typeof collector>,
  label: string,
  s: Segment,
  first: bigint,
  prefix: string,
  order: bigint[],
  under: (rev: bigint, prefix: string) => Event[],
  history: Recorder,
): void {
  let prev = first - 1n;
  // Index into `order` of the first recorded revision after `prev`.
  let at = order.findIndex((r) => r > prev);
  if (at < 0) at = order.length;
  const missedUpTo = (limit: bigint): void => {
    for (; at < order.length && order[at]! < limit; at++) {
      const events = under(order[at]!, prefix);
      if (events.length > 0)
        result.fail(`${label}: missed revision ${order[at]} (${events.map(showEvent).join('; ')})`);
    }
  };
  for (const b of s.batches) {
    result.operations += b.events.length;
    if (b.revision <= prev) {
      result.fail(`${label}: revision ${b.revision} after ${prev} (out of order or repeated)`);
      continue;
    }
    missedUpTo(b.revision);
    if (order[at] === b.revision) at++;
    const expected = under(b.revision, prefix);
    const got = b.events;
    const same = got.length === expected.length && got.every((e, j) => sameEvent(e, expected[j]!));
    if (!same)
      result.fail(
        `${label}: revision ${b.revision} delivered [${got.map(showEvent).join('; ')}] ` +
          `but etcd recorded [${expected.map(showEvent).join('; ')}]`,
      );
    for (const e of got)
      if (e.modRevision !== b.revision)
        result.fail(`${label}: batch ${b.revision} holds an event of revision ${e.modRevision}`);
    prev = b.revision;
  }
  // A watch that was closed at the end had caught up with the end key: nothing may be missing before it.
  if (s.end === 'closed') missedUpTo(history.revision + 1n);
}

type Previous = Map<bigint, Map<string, { value: string; modRevision: bigint } | undefined>>;

/** For every recorded event, the key's value just before its revision (what prevKv must carry). */
function previousValues(history: Recorder): Previous {
  const out: Previous = new Map();
  for (const { revision, events, before } of history.replay()) {
    const m = new Map<string, { value: string; modRevision: bigint } | undefined>();
    for (const e of events) {
      const kv = before.kvs.get(e.key);
      m.set(e.key, kv && { value: kv.value, modRevision: kv.modRevision });
    }
    out.set(revision, m);
  }
  return out;
}

function checkPrevious(
  result: ReturnType<typeof collector>,
  label: string,
  s: Segment,
  previous: Previous,
): void {
  for (const b of s.batches)
    for (const e of b.events) {
      const want = previous.get(b.revision)?.get(e.key);
      const got = e.prev;
      if (want?.value !== got?.value || want?.modRevision !== got?.modRevision)
        result.fail(
          `${label}: revision ${b.revision} ${e.type} ${e.key} carried prevKv ` +
            `${got ? `${got.value} (mod ${got.modRevision})` : 'none'}, etcd had ${want ? `${want.value} (mod ${want.modRevision})` : 'none'}`,
        );
    }
}
