import type { Etcd } from '../etcd.js';
import type { Bytes } from '../internal/bytes.js';

/**
 * Resolve once `key` does not exist: at once if it is absent now, else on its deletion.
 * The watch starts from now (etcd serves a watch from a past revision from a loop that runs
 * every 100 ms) and one read, made once the watch is in place, covers what came before it.
 * Rejects with `signal`'s reason (an AbortError) when it aborts.
 */
export async function untilDeleted(client: Etcd, key: Bytes, signal?: AbortSignal): Promise<void> {
  const w = client.watch({ key, filters: { noPut: true }, ...(signal ? { signal } : {}) });
  try {
    await w.ready;
    if (!(await client.get(key, signal ? { signal } : {}))) return;
    // Events queue from the watch's creation on, so none was lost during the read.
    for await (const ev of w) if (ev.type === 'delete') return;
  } finally {
    w.close();
  }
}
