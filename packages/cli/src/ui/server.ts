import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { compare, type Etcd, type KeyValue, op } from '@etcdkit/core';
import type { Change, Kv } from '../../page/protocol.js';
import { CliError } from '../errors.js';
import { type ClusterView, readCluster } from './cluster.js';
import { Keyspace, type KeyspaceBatch } from './keyspace.js';
import { LeaseTracker } from './leases.js';
import { pageHtml } from './page-html.js';
import { type TookOver, tookOver } from './took-over.js';

export interface UiServerOptions {
  etcd: Etcd;
  /** The key prefix the page follows ('' = the client's whole keyspace). */
  prefix: string;
  host: string;
  port: number;
  allowWrites: boolean;
  /** How many changes the server keeps for a page that connects later. */
  changes: number;
  /** How often cluster status and the lease list are read while a page is open. */
  refreshMs: number;
  /** Reports failures to read etcd (the page shows them too). */
  onError?: (err: Error) => void;
}

/** Values larger than this are cut for the page (it shows their size). */
const MAX_VALUE = 64 * 1024;
/** A page that reads this far behind is dropped; it reconnects and starts afresh. */
const MAX_BUFFERED = 32 * 1024 * 1024;
const PAGE_DIR = new URL('../../dist/page/', import.meta.url);
const HEARTBEAT_MS = 15_000;
/** Revision times and take-over answers kept. */
const MAX_REMEMBERED = 10_000;
const ASSET = /^\/app\/([a-z0-9-]+\.js)$/;

// The messages' shapes are the page's (page/protocol.ts): one definition for both ends of the stream.
/** A key-value as the page receives it: revisions as decimal strings, the lease in hex. */
export type PageKv = Kv;
/** One change of the recent-changes list, as the page receives it. */
export type PageChange = Change;

function valueText(value: Buffer): { v: string; b?: 1; s?: number } {
  const cut = value.length > MAX_VALUE ? value.subarray(0, MAX_VALUE) : value;
  const out: { v: string; b?: 1; s?: number } = isUtf8(value)
    ? { v: cut.toString('utf8') }
    : { v: cut.toString('base64'), b: 1 };
  if (cut !== value) out.s = value.length;
  return out;
}

export function pageKv(kv: KeyValue): PageKv {
  return {
    k: kv.key.toString(),
    ...valueText(kv.value),
    c: String(kv.createRevision),
    m: String(kv.modRevision),
    n: String(kv.version),
    l: kv.lease === 0n ? '' : kv.lease.toString(16),
  };
}

function shownValue(kv: KeyValue | undefined): string | undefined {
  if (!kv) return undefined;
  const t = valueText(kv.value);
  return t.b ? `(${kv.value.length} bytes, binary)` : t.v;
}

/** A request the server refuses: its status and the message the page shows. */
class HttpError extends CliError {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The inspector's server: one page, its scripts, and an event stream (SSE) with the followed
 * keyspace, lease TTLs and cluster status. Credentials stay here: the page only sees what the
 * stream sends, and can ask for the two operator writes when --allow-writes is given.
 */
export class UiServer {
  readonly token = randomBytes(16).toString('hex');
  /** When the keyspace was first read: holders seen then hold at least since. */
  private readonly startedAt = Date.now();
  readonly keyspace: Keyspace;
  private readonly leases: LeaseTracker;
  private readonly http: Server;
  private readonly clients = new Set<ServerResponse>();
  private readonly changes: PageChange[] = [];
  /** When the server saw each recent revision applied (etcd keeps no times). */
  private readonly revisionTimes = new Map<bigint, number>();
  private readonly tookOverCache = new Map<string, TookOver>();
  private cluster: ClusterView | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private live: { state: 'live' | 'reconnecting'; error?: string } = { state: 'live' };
  private closed = false;
  private origin = '';

  private constructor(private readonly o: UiServerOptions) {
    this.keyspace = new Keyspace(o.etcd, o.prefix, {
      reset: (revision) => this.broadcast('snapshot', this.snapshot(revision)),
      batch: (b) => this.onBatch(b),
      status: (state, error) => {
        this.live = error ? { state, error: error.message } : { state };
        this.broadcast('status', this.live);
      },
    });
    this.leases = new LeaseTracker(
      o.etcd,
      () => this.broadcast('leases', this.leaseJson()),
      (err) => this.o.onError?.(err),
    );
    this.http = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        const e = err instanceof HttpError ? err : new HttpError(500, (err as Error).message);
        if (!res.headersSent)
          res
            .writeHead(e.status, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: e.message }));
        else res.destroy();
      });
    });
  }

  static async start(o: UiServerOptions): Promise<UiServer> {
    const s = new UiServer(o);
    await s.keyspace.start();
    s.leases.touch(new Set([...s.keyspace.keys.values()].map((kv) => kv.lease)));
    try {
      await new Promise<void>((resolve, reject) => {
        s.http.once('error', reject);
        s.http.listen(o.port, o.host, () => {
          s.http.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      s.closed = true;
      await Promise.all([s.keyspace.close(), s.leases.close()]);
      const code = (err as NodeJS.ErrnoException).code;
      const where = `${o.host}:${o.port}`;
      if (code === 'EADDRINUSE')
        throw new CliError(
          `cannot listen on ${where}: the port is in use; pass --port <n> (0 picks a free one)`,
          {
            cause: err,
          },
        );
      throw new CliError(`cannot listen on ${where}: ${(err as Error).message}`, { cause: err });
    }
    // A comment line now and then keeps proxies and tunnels from closing an idle stream.
    s.heartbeat = setInterval(() => {
      for (const res of s.clients) s.send(res, ':\n\n');
    }, HEARTBEAT_MS);
    s.heartbeat.unref();
    const addr = s.http.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    s.origin = `http://${host}:${addr.port}`;
    return s;
  }

  /** Where the page is. */
  get url(): string {
    return `${this.origin}/`;
  }

  private snapshot(revision: bigint) {
    const kvs: PageKv[] = [];
    for (const kv of this.keyspace.keys.values()) kvs.push(pageKv(kv));
    return { revision: String(revision), kvs, changes: this.changes };
  }

  private onBatch(b: KeyspaceBatch): void {
    const touched = new Set<bigint>();
    const at = Date.now();
    this.revisionTimes.set(b.revision, at);
    if (this.revisionTimes.size > MAX_REMEMBERED)
      this.revisionTimes.delete(this.revisionTimes.keys().next().value!);
    for (const e of b.events) {
      if (e.kv.lease) touched.add(e.kv.lease);
      if (e.prevKv?.lease) touched.add(e.prevKv.lease);
      const c: PageChange = { r: String(b.revision), t: e.type, k: e.kv.key.toString(), at };
      const v = e.type === 'put' ? shownValue(e.kv) : undefined;
      const p = shownValue(e.prevKv);
      if (v !== undefined) c.v = v;
      if (p !== undefined) c.p = p;
      this.changes.push(c);
    }
    if (this.changes.length > this.o.changes) this.changes.splice(0, this.changes.length - this.o.changes);
    this.broadcast('batch', {
      revision: String(b.revision),
      at,
      events: b.events.map((e) =>
        e.type === 'put' ? { t: 'put', kv: pageKv(e.kv) } : { t: 'delete', k: e.kv.key.toString() },
      ),
    });
    if (touched.size) this.leases.touch(touched);
  }

  private leaseJson() {
    return {
      leases: this.leases.list().map((l) => ({
        id: l.id.toString(16),
        ttl: l.ttl,
        grantedTtl: l.grantedTtl,
        readAt: l.readAt,
      })),
    };
  }

  private broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.clients) this.send(res, frame);
  }

  private send(res: ServerResponse, frame: string): void {
    if (res.writableLength > MAX_BUFFERED) {
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(frame);
  }

  /** Cluster status and the lease list: read while a page is open (etcd has no watch for them). */
  private refreshSoon(delayMs: number): void {
    if (this.closed || this.clients.size === 0 || this.refreshTimer || this.refreshing) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = undefined;
        this.refreshSoon(this.o.refreshMs);
      });
    }, delayMs);
  }

  private async refresh(): Promise<void> {
    const timeoutMs = Math.max(1000, this.o.refreshMs);
    const [cluster] = await Promise.all([
      readCluster(this.o.etcd, timeoutMs).catch((err: Error) => {
        this.o.onError?.(err);
        return undefined;
      }),
      this.leases.refresh().catch((err: Error) => this.o.onError?.(err)),
    ]);
    if (cluster && !this.closed) {
      this.cluster = cluster;
      this.broadcast('cluster', cluster);
    }
  }

  private checkHost(req: IncomingMessage): void {
    // A page of another site reaching this server through a rebound DNS name would carry its
    // own host name: only loopback names and the address the server listens on are answered.
    // An address typed as such (any IP literal) cannot be rebound, so those pass too.
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    const names = ['localhost', new URL(this.origin).hostname, this.o.host.toLowerCase()];
    if (isIP(bare) === 0 && !names.includes(host))
      throw new HttpError(
        403,
        `host ${JSON.stringify(host)} is not served: use the address etcdkit ui printed`,
      );
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.checkHost(req);
    const url = new URL(req.url ?? '/', this.origin);
    const path = url.pathname;
    if (req.method === 'GET' && path === '/') {
      res
        .writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          'content-security-policy':
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
        })
        .end(pageHtml({ token: this.token, writes: this.o.allowWrites }));
      return;
    }
    const asset = req.method === 'GET' ? ASSET.exec(path) : null;
    if (asset) {
      let body: Buffer;
      try {
        body = await readFile(new URL(asset[1]!, PAGE_DIR));
      } catch {
        throw new HttpError(404, `no such file: ${path}`);
      }
      res
        .writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' })
        .end(body);
      return;
    }
    if (req.method === 'GET' && path === '/events') {
      this.subscribe(req, res);
      return;
    }
    if (req.method === 'GET' && path === '/api/took-over') {
      await this.answerTookOver(url, res);
      return;
    }
    if (path === '/api/delete-key' || path === '/api/revoke-lease') {
      if (req.method !== 'POST') throw new HttpError(405, 'use POST');
      await this.write(path, req, res);
      return;
    }
    throw new HttpError(404, `not found: ${path}`);
  }

  /** Since which revision (and, when this server saw it, which time) a queue's oldest key holds. */
  private async answerTookOver(url: URL, res: ServerResponse): Promise<void> {
    const key = url.searchParams.get('key') ?? '';
    const c = url.searchParams.get('c') ?? '';
    if (!/^[1-9]\d{0,18}$/.test(c)) throw new HttpError(400, 'c must be a create revision (decimal)');
    const queue = queueOf(key);
    if (!queue)
      throw new HttpError(400, `${key} is not a lock or election queue key (<name>/<lease id in hex>)`);
    const id = `${c} ${key}`;
    let found = this.tookOverCache.get(id);
    if (!found) {
      found = await tookOver(this.o.etcd, queue, key, BigInt(c));
      if (!found) throw new HttpError(409, `${key} is not the oldest key of ${queue} now`);
      this.tookOverCache.set(id, found);
      if (this.tookOverCache.size > MAX_REMEMBERED)
        this.tookOverCache.delete(this.tookOverCache.keys().next().value!);
    }
    const at = this.revisionTimes.get(found.revision);
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        revision: String(found.revision),
        lowerBound: found.lowerBound,
        ...(at ? { at } : {}),
      }),
    );
  }

  private subscribe(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    this.clients.add(res);
    const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    this.send(
      res,
      frame('hello', {
        since: this.startedAt,
        prefix: this.o.prefix,
        namespace: this.o.etcd.prefix?.toString() ?? '',
        writes: this.o.allowWrites,
        changes: this.o.changes,
      }),
    );
    this.send(res, frame('snapshot', this.snapshot(this.keyspace.revision)));
    this.send(res, frame('status', this.live));
    this.send(res, frame('leases', this.leaseJson()));
    if (this.cluster) this.send(res, frame('cluster', this.cluster));
    this.refreshSoon(0);
    req.on('close', () => this.clients.delete(res));
    // A page that went away mid-write: forget it, nothing else to do.
    res.on('error', () => this.clients.delete(res));
  }

  private async write(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.o.allowWrites)
      throw new HttpError(403, 'writes are disabled: start `etcdkit ui --allow-writes` to enable them');
    if (req.headers['x-etcdkit-token'] !== this.token)
      throw new HttpError(403, 'missing or wrong x-etcdkit-token header (reload the page)');
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== this.origin)
      throw new HttpError(403, `origin ${origin} may not write`);
    const body = await readJson(req);
    if (path === '/api/revoke-lease') {
      const id = parseLease(body.lease);
      await this.o.etcd.lease.revoke(id);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ revoked: id.toString(16) }));
      return;
    }
    const key = body.key;
    if (typeof key !== 'string' || key === '') throw new HttpError(400, 'key must be a non-empty string');
    if (typeof body.createRevision !== 'string' || !/^[1-9]\d{0,18}$/.test(body.createRevision))
      throw new HttpError(400, 'createRevision must be a decimal string');
    const createRevision = BigInt(body.createRevision);
    await this.deleteWaiter(key, createRevision);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ deleted: key }));
  }

  /**
   * Delete a waiter's key (`<name>/<lease hex>`, or an RWMutex's `<name>/read|write/<lease hex>`),
   * only if it is still the key that was shown (same create revision) and does not hold the lock.
   */
  private async deleteWaiter(key: string, createRevision: bigint): Promise<void> {
    const kv = await this.o.etcd.get(key);
    if (!kv || kv.createRevision !== createRevision)
      throw new HttpError(409, `${key} is gone or was re-created: nothing deleted`);
    const queue = queueOf(key);
    if (!queue || kv.lease === 0n || key.slice(key.lastIndexOf('/') + 1) !== kv.lease.toString(16))
      throw new HttpError(400, `${key} is not a lock or election queue key (<name>/<lease id in hex>)`);
    const first = await this.o.etcd.range({
      prefix: queue,
      sort: { target: 'create', order: 'ascend' },
      limit: 1,
      keysOnly: true,
    });
    if (first.kvs[0]?.key.toString() === key)
      throw new HttpError(409, `${key} holds ${queue.slice(0, -1)}: revoke its lease instead`);
    const r = await this.o.etcd
      .txn()
      .if(compare.createRevision(key, '==', createRevision))
      .then(op.delete(key))
      .commit();
    if (!r.succeeded) throw new HttpError(409, `${key} changed meanwhile: nothing deleted`);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refreshTimer);
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
    await Promise.all([this.keyspace.close(), this.leases.close(), this.refreshing]);
  }
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
    throw new HttpError(415, 'send application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 64 * 1024) throw new HttpError(413, 'request too large');
    chunks.push(c as Buffer);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString()) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new HttpError(400, 'the body must be a JSON object');
}

/** The queue prefix of `<name>/<lease hex>` (`<name>/` also for an RWMutex's `<name>/read|write/<lease hex>`). */
function queueOf(key: string): string | undefined {
  if (!/^.+\/[0-9a-f]{1,16}$/.test(key)) return undefined;
  const rw = /^(.+\/)(read|write)\/[0-9a-f]{1,16}$/.exec(key);
  return rw ? rw[1] : key.slice(0, key.lastIndexOf('/') + 1);
}

function parseLease(v: unknown): bigint {
  if (typeof v !== 'string' || !/^[0-9a-f]{1,16}$/.test(v))
    throw new HttpError(400, 'lease must be a lease id in lowercase hex');
  const id = BigInt(`0x${v}`);
  if (id === 0n || id > 0x7fffffffffffffffn) throw new HttpError(400, `lease ${v} is out of range`);
  return id;
}
