/**
 * Counters from etcd's /metrics endpoint (plain-HTTP endpoints only): what the server handled,
 * counted by the server, so a scenario can report RPCs per operation without any code in the
 * clients under test. A difference of two snapshots taken around a window in which only one
 * implementation ran counts exactly that implementation's calls.
 */
import { get } from 'node:http';

export interface ServerCounters {
  /** Unary calls handled, by method (`Txn`, `Range`, `Put`, `DeleteRange`, `LeaseGrant`...), any status. */
  unary: Map<string, number>;
  /** Streams started, by method (`Watch`, `LeaseKeepAlive`...). */
  streams: Map<string, number>;
  /** Watch events sent to clients (`etcd_debugging_mvcc_events_total`). */
  events: number;
}

/**
 * The text of an etcd member's Prometheus `/metrics` (plain HTTP). Through node:http rather than
 * fetch: undici's pools and lazy loading would move the heap figures of the watch scenario.
 */
export function fetchMetrics(endpoint: string): Promise<string> {
  const url = `${/^http:\/\//.test(endpoint) ? endpoint : `http://${endpoint}`}/metrics`;
  return new Promise<string>((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(body));
      res.on('error', reject);
    }).on('error', reject);
  });
}

const LINE = /^grpc_server_(handled|started)_total\{([^}]*)\} ([0-9.e+]+)$/;

export async function serverCounters(endpoint: string): Promise<ServerCounters> {
  if (endpoint.startsWith('https://')) throw new Error('bench: /metrics is read over plain HTTP only');
  const text = await fetchMetrics(endpoint);
  const out: ServerCounters = { unary: new Map(), streams: new Map(), events: 0 };
  for (const line of text.split('\n')) {
    if (line.startsWith('etcd_debugging_mvcc_events_total ')) {
      out.events = Number(line.slice('etcd_debugging_mvcc_events_total '.length));
      continue;
    }
    const m = LINE.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries(
      m[2]!.split(',').map((kv) => {
        const [k, v] = kv.split('=');
        return [k!, (v ?? '').replace(/^"|"$/g, '')];
      }),
    );
    const method = labels.grpc_method ?? '?';
    const n = Number(m[3]);
    if (m[1] === 'handled' && labels.grpc_type === 'unary')
      out.unary.set(method, (out.unary.get(method) ?? 0) + n);
    else if (m[1] === 'started' && labels.grpc_type === 'bidi_stream')
      out.streams.set(method, (out.streams.get(method) ?? 0) + n);
  }
  return out;
}

/** b − a, per method (methods with no calls in between left out). */
export function counterDelta(a: ServerCounters, b: ServerCounters): ServerCounters {
  const diff = (x: Map<string, number>, y: Map<string, number>) => {
    const d = new Map<string, number>();
    for (const [k, v] of y) {
      const n = v - (x.get(k) ?? 0);
      if (n > 0) d.set(k, n);
    }
    return d;
  };
  return { unary: diff(a.unary, b.unary), streams: diff(a.streams, b.streams), events: b.events - a.events };
}

/** Adds `d` into `into`. */
export function addCounters(into: ServerCounters, d: ServerCounters): void {
  for (const [k, v] of d.unary) into.unary.set(k, (into.unary.get(k) ?? 0) + v);
  for (const [k, v] of d.streams) into.streams.set(k, (into.streams.get(k) ?? 0) + v);
  into.events += d.events;
}

export function emptyCounters(): ServerCounters {
  return { unary: new Map(), streams: new Map(), events: 0 };
}

/** 'Txn 2.00 + Range 1.00 + ...' per operation, for a note. */
export function describePerOp(c: ServerCounters, ops: number): string {
  const parts = [...c.unary].sort((x, y) => y[1] - x[1]).map(([k, v]) => `${k} ${(v / ops).toFixed(2)}`);
  const streams = [...c.streams].map(([k, v]) => `${k} streams opened ${(v / ops).toFixed(2)}`);
  return [...parts, ...streams].join(', ') || 'none';
}
