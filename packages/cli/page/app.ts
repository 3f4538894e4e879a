import { ConfigView } from './config-view.js';
import { derive, type Model } from './model.js';
import type { Batch, ClusterView, Hello, LeaseInfo, Snapshot, Status } from './protocol.js';
import { State } from './state.js';
import {
  ago,
  clusterView,
  discoveryView,
  electionsView,
  type History,
  locksView,
  queuesView,
  sessionsView,
} from './views.js';

type ViewName = 'locks' | 'elections' | 'sessions' | 'config' | 'cluster' | 'discovery' | 'queues';
const VIEWS: ViewName[] = ['locks', 'elections', 'sessions', 'config', 'cluster', 'discovery', 'queues'];

const state = new State();
const seen: History = {
  holderSince: new Map(),
  leaders: new Map(),
  loadedAt: Date.now(),
  tookOver: new Map(),
  unknown: new Map(),
};
const asked = new Set<string>();
const config = new ConfigView(state);
const main = document.getElementById('view')!;
const token = document.querySelector<HTMLMetaElement>('meta[name="etcdkit-token"]')?.content ?? '';

let current: ViewName = VIEWS.includes(location.hash.slice(1) as ViewName)
  ? (location.hash.slice(1) as ViewName)
  : 'locks';
let model: Model | undefined;
let modelFor = -1;
let frame = 0;
/** What the page has drawn, for anyone measuring it (the browser test prints these). */
const stats = { snapshots: 0, batches: 0, renders: 0, lastRenderMs: 0, snapshotAt: 0, snapshotParseMs: 0 };
(window as unknown as { etcdkitUi: unknown }).etcdkitUi = { state, stats };

function currentModel(): Model {
  if (!model || modelFor !== state.version) {
    const prev = model;
    model = derive(state.kvs.values());
    modelFor = state.version;
    observe(prev, model);
  }
  return model;
}

/** Note holder and leader changes as the page sees them happen. */
function observe(prev: Model | undefined, next: Model): void {
  const now = Date.now();
  const before = new Map(prev?.queues.map((q) => [q.name, q]) ?? []);
  for (const q of next.queues) {
    const old = before.get(q.name);
    before.delete(q.name);
    for (const h of q.holders)
      if (prev && !seen.holderSince.has(h.key) && !old?.holders.some((o) => o.key === h.key))
        seen.holderSince.set(h.key, { at: now, revision: state.revision });
    if (q.kind === 'election') {
      const leader = q.holders[0]!;
      const list = seen.leaders.get(q.name) ?? [];
      const last = list[list.length - 1];
      if (!last || last.key !== leader.key || last.value !== leader.value) {
        list.push({ key: leader.key, value: leader.value, revision: state.revision, at: now });
        if (list.length > 50) list.shift();
        seen.leaders.set(q.name, list);
      }
    }
  }
  for (const [name, q] of before)
    if (q.kind === 'election') {
      const list = seen.leaders.get(name) ?? [];
      list.push({ key: undefined, value: '', revision: state.revision, at: now });
      seen.leaders.set(name, list);
    }
  const live = new Set(next.queues.flatMap((q) => q.holders.map((h) => h.key)));
  for (const k of seen.holderSince.keys()) if (!live.has(k)) seen.holderSince.delete(k);
  for (const k of seen.tookOver.keys()) if (!live.has(k)) seen.tookOver.delete(k);
}

function render(): void {
  frame = 0;
  const t0 = performance.now();
  for (const b of document.querySelectorAll<HTMLButtonElement>('#tabs button'))
    b.classList.toggle('active', b.dataset.view === current);
  main.dataset.view = current;
  const m = currentModel();
  const counts: Partial<Record<ViewName, number>> = {
    locks: m.queues.filter((q) => q.kind !== 'election').length,
    elections: m.queues.filter((q) => q.kind === 'election').length,
    discovery: m.services.size,
    queues: m.itemQueues.length,
  };
  for (const b of document.querySelectorAll<HTMLButtonElement>('#tabs button')) {
    const n = counts[b.dataset.view as ViewName];
    const label = b.dataset.view![0]!.toUpperCase() + b.dataset.view!.slice(1);
    b.textContent = n === undefined ? label : `${label} (${n})`;
  }
  if (current === 'config') config.update();
  else {
    let html = '';
    if (current === 'locks') html = locksView(state, m, seen);
    else if (current === 'elections') html = electionsView(state, m, seen);
    else if (current === 'sessions') html = sessionsView(state, m);
    else if (current === 'cluster') html = clusterView(state);
    else if (current === 'discovery') html = discoveryView(state, m);
    else html = queuesView(m);
    main.innerHTML = html;
  }
  askTookOver();
  const rev = document.getElementById('rev')!;
  rev.textContent = `revision ${state.revision}`;
  stats.renders++;
  stats.lastRenderMs = performance.now() - t0;
}

/** Ask the server since when the holders drawn without a known start hold (etcd's history knows the revision). */
function askTookOver(): void {
  for (const [key, c] of seen.unknown) {
    const id = `${c} ${key}`;
    if (asked.has(id)) continue;
    asked.add(id);
    fetch(`/api/took-over?key=${encodeURIComponent(key)}&c=${c}`)
      .then(async (r) => {
        if (!r.ok) return; // no longer the holder, or etcd unreachable: the lower bound stays
        seen.tookOver.set(key, (await r.json()) as { revision: string; lowerBound: boolean; at?: number });
        schedule();
      })
      .catch(() => {
        // The server went away: the connection line says so, and the lower bound stays.
      });
  }
  seen.unknown.clear();
}

/** Draw at the next frame: a burst of events costs one render. */
function schedule(): void {
  if (!frame) frame = requestAnimationFrame(render);
}

function show(view: ViewName): void {
  if (view === current && main.dataset.view === view) return;
  if (current === 'config') config.unmount();
  current = view;
  history.replaceState(null, '', `#${view}`);
  if (view === 'config') config.mount(main);
  render();
}

function setConn(): void {
  const el = document.getElementById('conn')!;
  const s = state.status;
  el.className = s.state === 'live' ? 'ok' : 'bad';
  el.dataset.state = s.state;
  el.textContent = s.state === 'live' ? 'live' : `${s.state}${s.error ? `: ${s.error}` : ''}`;
}

function connect(): void {
  const es = new EventSource('/events');
  const on = <T>(name: string, fn: (data: T) => void) =>
    es.addEventListener(name, (ev) => fn(JSON.parse((ev as MessageEvent<string>).data) as T));
  on<Hello>('hello', (h) => {
    state.setHello(h);
    // Holders the server found at its start have held at least since then.
    seen.loadedAt = h.since;
  });
  es.addEventListener('snapshot', (ev) => {
    const t0 = performance.now();
    const s = JSON.parse((ev as MessageEvent<string>).data) as Snapshot;
    stats.snapshotAt = t0;
    stats.snapshotParseMs = performance.now() - t0;
    state.reset(s);
    // Holders present in a (re)read were not seen taking over: their hold time is unknown.
    model = undefined;
    stats.snapshots++;
    if (current === 'config') config.update();
    schedule();
  });
  on<Batch>('batch', (b) => {
    state.apply(b);
    stats.batches++;
    schedule();
  });
  on<{ leases: LeaseInfo[] }>('leases', (l) => {
    state.setLeases(l.leases);
    schedule();
  });
  on<ClusterView>('cluster', (c) => {
    state.cluster = c;
    if (current === 'cluster') schedule();
  });
  on<Status>('status', (s) => {
    state.status = s;
    setConn();
  });
  es.onerror = () => {
    // EventSource reconnects by itself; the server sends everything again then.
    state.status = { state: 'disconnected', error: 'the etcdkit ui server does not answer; retrying' };
    setConn();
  };
}

/** Operator actions (only offered with --allow-writes; the server checks again). */
async function act(button: HTMLButtonElement): Promise<void> {
  const d = button.dataset;
  let what: string;
  let path: string;
  let body: unknown;
  if (d.act === 'delete') {
    what = `Delete the waiter key\n  ${d.key}\n(create revision ${d.rev}) from the queue of ${d.queue}?\n\nIts owner stops waiting with an error; nobody else is affected. The key is only deleted if it is still the same key and does not hold the lock.`;
    path = '/api/delete-key';
    body = { key: d.key, createRevision: d.rev };
  } else {
    const keys = currentModel().keysByLease.get(d.lease!) ?? [];
    what = `Revoke lease ${d.lease}?\n\netcd deletes its ${keys.length} key(s) at once${
      keys.length ? `:\n  ${keys.slice(0, 8).join('\n  ')}${keys.length > 8 ? '\n  …' : ''}` : ''
    }\nand its session ends: any lock it holds is released, any election it leads gets a new leader.`;
    path = '/api/revoke-lease';
    body = { lease: d.lease };
  }
  if (!confirm(what)) return;
  const r = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-etcdkit-token': token },
    body: JSON.stringify(body),
  });
  if (!r.ok) {
    const e = (await r.json().catch(() => ({ error: r.statusText }))) as { error?: string };
    alert(`Not done: ${e.error ?? r.statusText}`);
  }
}

document.getElementById('tabs')!.addEventListener('click', (ev) => {
  const b = (ev.target as HTMLElement).closest<HTMLButtonElement>('button');
  if (b?.dataset.view) show(b.dataset.view as ViewName);
});
main.addEventListener('click', (ev) => {
  const b = (ev.target as HTMLElement).closest<HTMLButtonElement>('button.act');
  if (b) void act(b);
});

// The tree draws the rows in view: more of them fit after a resize.
addEventListener('resize', () => {
  if (current === 'config') config.update();
});

// Count lease TTLs and hold times down between events, without re-rendering the view.
setInterval(() => {
  for (const el of document.querySelectorAll<HTMLElement>('[data-ttl]')) {
    const left = state.ttlLeft(el.dataset.ttl!);
    el.textContent = left === undefined ? '…' : `${left}s`;
  }
  for (const el of document.querySelectorAll<HTMLElement>('[data-since]'))
    el.textContent = `${el.dataset.before ? '≥ ' : ''}${ago(Date.now() - Number(el.dataset.since))}`;
}, 1000);

if (current === 'config') config.mount(main);
render();
connect();
