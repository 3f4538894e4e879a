/** Where the run writes: everything under one prefix, which the recorder watches. */
export const ROOT = 'rb/';
/** The watch/mirror workload's keys. */
export const KV_PREFIX = `${ROOT}kv/`;
/** `<watched prefix>~end` is written last, after every writer stopped: each watcher and mirror must see it. */
export const KV_END_SUFFIX = '~end';
/** The lock workload's Mutex name (keys `<name>/<lease hex>`) and its guarded counter. */
export const LOCK_NAME = `${ROOT}lock/mutex`;
export const LOCK_COUNTER = `${ROOT}lock-counter`;
/** The election workload's election name and its guarded leader mark. */
export const ELECTION_NAME = `${ROOT}election/leader`;
export const ELECTION_MARK = `${ROOT}election-mark`;

/** A guarded write's value: `<fencing token or term>:<client>:<write number in its section>`. */
export function guardedValue(token: bigint, client: string, n: number): string {
  return `${token}:${client}:${n}`;
}

export function parseGuarded(value: string): { token: bigint; client: string; n: number } | undefined {
  const m = /^(\d+):([^:]+):(\d+)$/.exec(value);
  return m ? { token: BigInt(m[1]!), client: m[2]!, n: Number(m[3]) } : undefined;
}
