import {
  type CallOptions,
  CompactedError,
  type Etcd,
  InvalidTxnError,
  type KeyValue,
  type OpResponse,
  op,
  type RangeOptions,
} from '@etcdkit/core';
import { CliError } from './errors.js';

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
  /** Most keys one request returns; also the size under which a part is read whole. Default 1000. */
  pageSize?: number;
  /** Requests in flight at once. Default 8. */
  concurrency?: number;
  /** Called as children are counted: keys counted so far, of how many under the directory. */
  onProgress?: (counted: number, total: number) => void;
}

/** What {@link listChildren} resolves with: one directory level of the keyspace. */
export interface Listing {
  /** The directory listed, ending in '/' (or empty for the whole keyspace). */
  dir: Buffer;
  /** In key order. */
  children: Child[];
  /** The store revision the whole listing was read at. */
  revision: bigint;
}

const SLASH = 0x2f;
const EMPTY = Buffer.alloc(0);
/** Child names are split by their next byte: one bucket per printable ASCII byte, one below, one above. */
const FIRST_PRINTABLE = 0x20;
const LAST_PRINTABLE = 0x7e;

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

/**
 * `prefix` as a directory: '/registry' and '/registry/' both list '/registry/'; '' and '/' list
 * the whole keyspace, the root of a filesystem-like tree: keys with a leading slash are grouped
 * by their first segment ('/registry/'), keys without one are listed as they are ('config/',
 * 'top-level'), so nothing stored is hidden from `ls /`.
 */
export function directoryOf(prefix: string | Buffer): Buffer {
  const p = Buffer.from(prefix);
  if (p.length === 1 && p[0] === SLASH) return EMPTY;
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

/** The child that `kvs[i]` belongs to, and the index just past its last key in `kvs`. */
function groupAt(
  kvs: readonly KeyValue[],
  i: number,
  dir: Buffer,
): { name: Buffer; type: Child['type']; end: number } {
  const key = kvs[i]!.key;
  const cut = childEnd(key, dir);
  if (cut < 0) return { name: key, type: 'key', end: i + 1 };
  const name = key.subarray(0, cut);
  let end = i + 1;
  while (end < kvs.length && kvs[end]!.key.subarray(0, cut).equals(name)) end++;
  return { name, type: 'prefix', end };
}

/**
 * List the next level under `prefix`, as a directory, with a count per child, all at one revision.
 *
 * etcd answers every range request by walking all the keys of its range (even with a limit: it
 * reports the total count), so what costs is requests over wide ranges, not their results. A
 * small directory takes one request. A large one is split by the next byte of the child names
 * into ~100 narrow ranges, counted in a single transaction; a part holding one child is counted
 * as a whole, a small part is read (keys only), and a large one with several children is split
 * again by the following byte. Each key is walked a few times at most, and the parts go in
 * parallel.
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
      return await new Lister(etcd, dir, options).list();
    } catch (err) {
      if (!(err instanceof CompactedError) || attempt >= 2) throw err;
    }
  }
}

/** A key range [lo, hi); an empty `hi` means to the end of the keyspace (or namespace). */
interface Part {
  lo: Buffer;
  hi: Buffer;
  count: number;
  first: KeyValue | undefined;
  /** For a part that is all the names starting with some bytes: those bytes (relative to dir). */
  namePrefix: Buffer | undefined;
}

class Lister {
  private readonly children: Child[] = [];
  private readonly pageSize: number;
  private readonly call: CallOptions = {};
  private revision: bigint | undefined;
  private active = 0;
  private readonly queue: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly onProgress: ((counted: number, total: number) => void) | undefined;
  private counted = 0;
  private total = 0;
  /** Set when etcd refuses transactions of this size (--max-txn-ops): parts are then read in pages. */
  private noSplit = false;

  constructor(
    private readonly etcd: Etcd,
    private readonly dir: Buffer,
    options: ListChildrenOptions,
  ) {
    this.pageSize = options.pageSize ?? 1000;
    this.concurrency = options.concurrency ?? 8;
    this.onProgress = options.onProgress;
    if (options.signal) this.call.signal = options.signal;
    if (options.timeoutMs !== undefined) this.call.timeoutMs = options.timeoutMs;
  }

  async list(): Promise<Listing> {
    const dir = this.dir;
    const hi = prefixEnd(dir) ?? EMPTY;
    const page = await this.range({ key: dir, end: hi, limit: this.pageSize });
    this.total = page.count;
    if (!page.more) this.addAll(page.kvs);
    else await this.split(EMPTY, page.count);
    this.children.sort((a, b) => Buffer.compare(a.name, b.name));
    return { dir, children: this.children, revision: this.revision ?? 0n };
  }

  /** One request at a time per slot, so a large listing does not flood etcd. */
  private async slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }

  /** Keys only (results come in key order), at the listing's revision once it is known. */
  private at(o: RangeOptions): RangeOptions {
    return { keysOnly: true, ...o, ...(this.revision === undefined ? {} : { revision: this.revision }) };
  }

  private async range(o: RangeOptions) {
    const r = await this.slot(() => this.etcd.range({ ...this.at(o), ...this.call }));
    this.revision ??= r.revision;
    return r;
  }

  private add(name: Buffer, type: Child['type'], count: number): void {
    this.children.push({ name: Buffer.from(name), type, count });
    this.counted += count;
    this.onProgress?.(this.counted, this.total);
  }

  /** Group keys by child; every child among them must be complete. */
  private addAll(kvs: readonly KeyValue[]): void {
    for (let i = 0; i < kvs.length; ) {
      const g = groupAt(kvs, i, this.dir);
      this.add(g.name, g.type, g.end - i);
      i = g.end;
    }
  }

  /** Count the names starting with `name` by their next byte, in one transaction, and go on with each part. */
  private async split(name: Buffer, count: number): Promise<void> {
    const base = Buffer.concat([this.dir, name]);
    if (this.noSplit) return this.walk(base, prefixEnd(base) ?? EMPTY);
    const withByte = (b: number) => Buffer.concat([base, Buffer.from([b])]);
    const parts: Omit<Part, 'count' | 'first'>[] = [
      // Below the printable bytes, and the key that is exactly `base`.
      { lo: base, hi: withByte(FIRST_PRINTABLE), namePrefix: undefined },
    ];
    for (let b = FIRST_PRINTABLE; b <= LAST_PRINTABLE; b++)
      parts.push({
        lo: withByte(b),
        hi: withByte(b + 1),
        namePrefix: Buffer.concat([name, Buffer.from([b])]),
      });
    parts.push({ lo: withByte(LAST_PRINTABLE + 1), hi: prefixEnd(base) ?? EMPTY, namePrefix: undefined });

    let responses: OpResponse[];
    try {
      const r = await this.slot(() =>
        this.etcd
          .txn()
          .then(...parts.map((p) => op.get(this.at({ key: p.lo, end: p.hi, limit: 1 }))))
          .commit(this.call),
      );
      responses = r.responses;
    } catch (err) {
      if (!(err instanceof InvalidTxnError)) throw err;
      this.noSplit = true;
      return this.walk(base, prefixEnd(base) ?? EMPTY);
    }
    const topLevel = this.dir.length === 0 && name.length === 0;
    let seen = 0;
    const work: Promise<void>[] = [];
    parts.forEach((p, i) => {
      const r = responses[i];
      if (r?.type !== 'range' || r.count === 0) return;
      seen += r.count;
      // All the keys of `<name>/...` form one child (except the leading '/' at the very top).
      if (p.namePrefix?.[p.namePrefix.length - 1] === SLASH && !topLevel) {
        this.add(Buffer.concat([this.dir, p.namePrefix]), 'prefix', r.count);
        return;
      }
      work.push(this.part({ ...p, count: r.count, first: r.kvs[0] }));
    });
    await Promise.all(work);
    // Cannot happen at one revision; a guard against silently wrong counts.
    if (seen !== count)
      throw new CliError(
        `listing ${base.toString()}: the parts hold ${seen} keys, the whole ${count}; this is a bug of etcdkit, please report it`,
      );
  }

  private async part(p: Part): Promise<void> {
    if (p.count === 1 && p.first) {
      const cut = childEnd(p.first.key, this.dir);
      if (cut < 0) this.add(p.first.key, 'key', 1);
      else this.add(p.first.key.subarray(0, cut), 'prefix', 1);
      return;
    }
    if (p.count <= this.pageSize) {
      const r = await this.range({ key: p.lo, end: p.hi });
      this.addAll(r.kvs);
      return;
    }
    // Often a large part is a single child: count that child and compare.
    const cut = p.first ? childEnd(p.first.key, this.dir) : -1;
    if (cut >= 0) {
      const child = p.first!.key.subarray(0, cut);
      const c = await this.range({ prefix: child, countOnly: true });
      if (c.count === p.count) {
        this.add(child, 'prefix', c.count);
        return;
      }
    }
    if (p.namePrefix) await this.split(p.namePrefix, p.count);
    else await this.walk(p.lo, p.hi);
  }

  /**
   * Page through [lo, hi) in key order. A child whose keys run past the end of a page is
   * counted with one count-only request and skipped as a whole.
   */
  private async walk(lo: Buffer, hi: Buffer): Promise<void> {
    let start: Buffer | undefined = lo;
    while (start !== undefined) {
      const page = await this.range({ key: start, end: hi, limit: this.pageSize });
      const kvs = page.kvs;
      let next: Buffer | undefined;
      let jumped = false;
      for (let i = 0; i < kvs.length; ) {
        const g = groupAt(kvs, i, this.dir);
        // A child cut off by the page end is counted whole, then skipped.
        if (g.type === 'key' || g.end < kvs.length || !page.more) {
          this.add(g.name, g.type, g.end - i);
          i = g.end;
          continue;
        }
        const c = await this.range({ prefix: g.name, countOnly: true });
        this.add(g.name, 'prefix', c.count);
        next = prefixEnd(g.name);
        jumped = true;
        break;
      }
      if (jumped) start = next;
      else if (page.more) start = Buffer.concat([kvs[kvs.length - 1]!.key, Buffer.from([0])]);
      else start = undefined;
    }
  }
}
