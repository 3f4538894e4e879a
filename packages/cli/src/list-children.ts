import { type CallOptions, CompactedError, type Etcd } from '@etcdkit/core';

/** One entry of a directory-like listing. */
export interface Child {
  /** A key (`/registry/version`) or a sub-prefix ending in '/' (`/registry/pods/`). */
  name: Buffer;
  /** 'key' for a key stored at this level, 'prefix' for a level below it. */
  type: 'key' | 'prefix';
  /** Keys under the prefix (1 for a key). */
  count: number;
}

export interface ListChildrenOptions extends CallOptions {
  /** Keys per request while walking keys one level down. Default 1000. */
  pageSize?: number;
}

export interface Listing {
  /** The directory listed, ending in '/' (or empty for the whole keyspace). */
  dir: Buffer;
  children: Child[];
  /** The store revision the whole listing was read at. */
  revision: bigint;
}

const SLASH = 0x2f;

/** The smallest key greater than every key starting with `p`; undefined when there is none (all 0xff). */
export function prefixEnd(p: Buffer): Buffer | undefined {
  for (let i = p.length - 1; i >= 0; i--) {
    if (p[i]! < 0xff) {
      const end = Buffer.from(p.subarray(0, i + 1));
      end[i]! += 1;
      return end;
    }
  }
  return undefined;
}

/** `prefix` as a directory: '/registry' and '/registry/' both list '/registry/'; '' lists everything. */
export function directoryOf(prefix: string | Buffer): Buffer {
  const p = Buffer.from(prefix);
  if (p.length === 0 || p[p.length - 1] === SLASH) return p;
  return Buffer.concat([p, Buffer.from('/')]);
}

/**
 * Where the child of `key` ends under `dir`: the index just past the next '/', or -1 when the
 * key itself sits at this level. At the top of the keyspace a leading '/' belongs to the name
 * ('/registry/...' lists as '/registry/').
 */
function childEnd(key: Buffer, dir: Buffer): number {
  const from = dir.length === 0 && key[0] === SLASH ? 1 : dir.length;
  const i = key.indexOf(SLASH, from);
  return i < 0 ? -1 : i + 1;
}

/**
 * List the next level under `dir` with a count per child, all at one revision. Keys are read
 * in pages (keys only); a child whose keys run past the end of a page is counted with one
 * count-only request and skipped as a whole, so a listing costs about two requests per large
 * child plus one page per thousand keys stored at this level, however many keys lie below.
 */
export async function listChildren(
  etcd: Etcd,
  prefix: string | Buffer,
  options: ListChildrenOptions = {},
): Promise<Listing> {
  const dir = directoryOf(prefix);
  // If the revision is compacted mid-listing (an unlucky compaction), start over at a new one.
  for (let attempt = 0; ; attempt++) {
    try {
      return await listOnce(etcd, dir, options);
    } catch (err) {
      if (!(err instanceof CompactedError) || attempt >= 2) throw err;
    }
  }
}

async function listOnce(etcd: Etcd, dir: Buffer, options: ListChildrenOptions): Promise<Listing> {
  const pageSize = options.pageSize ?? 1000;
  const call: CallOptions = {};
  if (options.signal) call.signal = options.signal;
  if (options.timeoutMs !== undefined) call.timeoutMs = options.timeoutMs;
  // An empty `end` means "to the end of the keyspace (or namespace)".
  const end = prefixEnd(dir) ?? Buffer.alloc(0);
  const children: Child[] = [];
  let revision: bigint | undefined;
  let start: Buffer | undefined = dir.length ? dir : Buffer.alloc(0);

  const read = async (key: Buffer) => {
    const r = await etcd.range({
      key,
      end,
      limit: pageSize,
      keysOnly: true,
      sort: { target: 'key', order: 'ascend' },
      ...(revision === undefined ? {} : { revision }),
      ...call,
    });
    revision ??= r.revision;
    return r;
  };

  while (start !== undefined) {
    const page = await read(start);
    const kvs = page.kvs;
    let next: Buffer | undefined;
    let i = 0;
    while (i < kvs.length) {
      const key = kvs[i]!.key;
      const cut = childEnd(key, dir);
      if (cut < 0) {
        children.push({ name: key, type: 'key', count: 1 });
        i++;
        continue;
      }
      const child = key.subarray(0, cut);
      let j = i + 1;
      while (j < kvs.length && kvs[j]!.key.subarray(0, cut).equals(child)) j++;
      if (j < kvs.length || !page.more) {
        // The whole child lies within this page.
        children.push({ name: Buffer.from(child), type: 'prefix', count: j - i });
        i = j;
        continue;
      }
      // The child runs past the page: count it in one request and jump over it.
      const c = await etcd.range({ prefix: child, countOnly: true, revision: revision!, ...call });
      children.push({ name: Buffer.from(child), type: 'prefix', count: c.count });
      next = prefixEnd(child);
      i = kvs.length;
      if (next === undefined) return { dir, children, revision: revision! };
      break;
    }
    if (next !== undefined) start = next;
    else if (page.more) start = Buffer.concat([kvs[kvs.length - 1]!.key, Buffer.from([0])]);
    else start = undefined;
  }
  return { dir, children, revision: revision ?? 0n };
}
