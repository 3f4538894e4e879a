import type { Bytes } from '../internal/bytes.js';
import type { Compare } from '../txn.js';

/**
 * A compare that holds while no key exists under `prefix`. etcd compares an empty range as one
 * absent key (create revision 0), and a non-empty one key by key, so "create revision == 0"
 * over the range means "the range is empty".
 */
export function noKeyUnder(prefix: Bytes): Compare {
  return {
    kind: 'compare',
    toWire(ctx) {
      const r = ctx.ks.range({ prefix });
      return {
        result: 'EQUAL',
        target: 'CREATE',
        key: r.key,
        ...(r.rangeEnd ? { rangeEnd: r.rangeEnd } : {}),
        createRevision: '0',
      };
    },
  };
}
