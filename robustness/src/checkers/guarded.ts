/**
 * The check shared by the lock and the election workloads. Both write one key with values
 * `<token>:<client>:<n>`, guarded by "my key under <prefix> still has create revision <token>";
 * the owner (lock holder, leader) is the key with the lowest create revision under <prefix>.
 * From the recorded history, every such write must:
 * - be made while its token was the owner, in etcd's state just before the write's revision;
 * - never carry a token older than the one before it (fencing tokens never go back);
 * - belong to a contiguous section: once another token wrote, an earlier one never writes again;
 * - within a section, come from one client and count up. A repeated number is an unknown-outcome
 *   write sent again; a count starting over is the same client taking its own key again after a
 *   failed release (etcd's recipes reuse a session's key), which is still one owner.
 */

import type { Recorder } from '../history.js';
import { parseGuarded } from '../keys.js';
import { type CheckResult, collector } from '../workload.js';

export interface GuardedSpec {
  checker: string;
  /** The guarded key. */
  key: string;
  /** Where the owner keys live (`<name>/`). */
  ownerPrefix: string;
  /** What one token's run of writes is called in messages: "critical section", "term". */
  section: string;
}

export function checkGuarded(history: Recorder, spec: GuardedSpec): CheckResult {
  const result = collector(spec.checker);
  let last: { token: bigint; client: string; n: number; revision: bigint } | undefined;
  const ended = new Set<bigint>();
  let sections = 0;
  let repeats = 0;
  let restarts = 0;
  for (const { revision, events, before } of history.replay()) {
    for (const e of events) {
      if (e.key !== spec.key || e.type !== 'put') continue;
      result.operations++;
      const w = parseGuarded(e.value);
      if (!w) {
        result.fail(`revision ${revision}: unexpected value ${JSON.stringify(e.value)} in ${spec.key}`);
        continue;
      }
      const owner = before.ownerUnder(spec.ownerPrefix);
      if (owner?.createRevision !== w.token)
        result.fail(
          `revision ${revision}: ${w.client} wrote with token ${w.token} while the owner was ` +
            (owner ? `${owner.key} (token ${owner.createRevision})` : 'nobody'),
        );
      if (last && w.token < last.token)
        result.fail(
          `revision ${revision}: token went back from ${last.token} (${last.client}, revision ${last.revision}) ` +
            `to ${w.token} (${w.client})`,
        );
      if (!last || w.token !== last.token) {
        if (ended.has(w.token))
          result.fail(
            `revision ${revision}: ${spec.section} ${w.token} of ${w.client} wrote again after another one`,
          );
        if (last) ended.add(last.token);
        sections++;
      } else if (w.client !== last.client) {
        result.fail(`revision ${revision}: ${w.client} and ${last.client} both wrote with token ${w.token}`);
      } else if (w.n < last.n) {
        restarts++;
      } else if (w.n === last.n) {
        repeats++;
      }
      last = { ...w, revision };
    }
  }
  result.notes.push(`${sections} ${spec.section}s`);
  if (repeats > 0) result.notes.push(`${repeats} writes applied twice (sent again after an unknown outcome)`);
  if (restarts > 0) result.notes.push(`${restarts} ${spec.section}s taken again with the same key`);
  if (result.operations === 0) result.fail(`no guarded write reached etcd: nothing was checked`);
  return result;
}
