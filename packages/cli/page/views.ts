import type { CoordQueue, Model, QueueEntry } from './model.js';
import type { State } from './state.js';

/** HTML-escape text. */
export function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** Observed history the stream alone does not carry: since when a key holds, leader changes. */
export interface History {
  /** Key → when the page saw it become a holder (absent: it held when the page loaded). */
  holderSince: Map<string, { at: number; revision: string }>;
  /** Election name → leader changes, newest last. */
  leaders: Map<string, { key: string | undefined; value: string; revision: string; at: number }[]>;
  /** Since when holders of unknown start hold at least (the server's start). */
  loadedAt: number;
  /** Key → since which revision it is its queue's oldest, as the server found it in etcd's history. */
  tookOver: Map<string, { revision: string; lowerBound: boolean; at?: number }>;
  /** Queue-first keys whose take-over is not known: [key, create revision], asked for after the render. */
  unknown: Map<string, string>;
}

export function ttlCell(state: State, lease: string): string {
  const left = state.ttlLeft(lease);
  const granted = state.leases.get(lease)?.grantedTtl;
  return `<span class="ttl mono" data-ttl="${esc(lease)}">${left === undefined ? '…' : `${left}s`}</span>${
    granted ? `<span class="muted"> / ${granted}s</span>` : ''
  }`;
}

export function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function since(h: History, key: string, createRevision?: bigint): string {
  const s = h.holderSince.get(key);
  const t = s ? undefined : h.tookOver.get(key);
  if (t) {
    const when = t.at ? `<span class="since" data-since="${t.at}">${ago(Date.now() - t.at)}</span> ` : '';
    return `${when}<span class="muted" data-took-over="${esc(t.revision)}">(${t.lowerBound ? '≤ ' : ''}rev ${esc(t.revision)})</span>`;
  }
  if (!s) {
    if (createRevision !== undefined) h.unknown.set(key, String(createRevision));
    return `<span class="since" data-since="${h.loadedAt}" data-before="1">≥ ${ago(Date.now() - h.loadedAt)}</span>`;
  }
  return `<span class="since" data-since="${s.at}">${ago(Date.now() - s.at)}</span> <span class="muted">(rev ${esc(s.revision)})</span>`;
}

const KIND_LABEL: Record<CoordQueue['kind'], string> = {
  mutex: 'mutex',
  rwmutex: 'readers-writer lock',
  semaphore: 'semaphore',
  election: 'election',
};

function entryRow(
  state: State,
  h: History,
  q: CoordQueue,
  e: QueueEntry,
  role: 'holder' | 'waiter',
  pos: number,
) {
  const writes = state.hello.writes;
  const actions: string[] = [];
  if (writes && role === 'waiter')
    actions.push(
      `<button class="act" data-act="delete" data-key="${esc(e.key)}" data-rev="${e.createRevision}" data-queue="${esc(q.name)}">delete key</button>`,
    );
  if (writes)
    actions.push(`<button class="act" data-act="revoke" data-lease="${esc(e.lease)}">revoke lease</button>`);
  return `<tr class="${role}" data-role="${role}" data-lease="${esc(e.lease)}" data-key="${esc(e.key)}">
<td>${role === 'holder' ? 'holds' : `waits #${pos}`}${e.mode ? ` <span class="muted">(${e.mode})</span>` : ''}</td>
<td class="mono">${esc(e.lease)}</td>
<td class="mono">${esc(e.createRevision)}</td>
<td>${ttlCell(state, e.lease)}</td>
<td>${role === 'holder' ? since(h, e.key, pos === 0 ? e.createRevision : undefined) : ''}</td>
<td class="mono muted">${esc(e.key)}</td>
<td>${actions.join(' ')}</td></tr>`;
}

export function locksView(state: State, m: Model, h: History): string {
  const locks = m.queues.filter((q) => q.kind !== 'election');
  if (!locks.length) return '<p class="empty">No lock is held or waited for.</p>';
  return locks
    .map(
      (q) => `<section class="card" data-queue="${esc(q.name)}" data-kind="${q.kind}">
<h2>${esc(q.name)}<span class="kind">${KIND_LABEL[q.kind]}${q.limit ? `, limit ${q.limit}` : ''} · ${q.holders.length} holding, ${q.waiters.length} waiting</span></h2>
<table><thead><tr><th></th><th>LEASE</th><th>${q.kind === 'mutex' ? 'FENCING TOKEN' : 'CREATE REV'}</th><th>TTL</th><th>HELD FOR</th><th>KEY</th><th></th></tr></thead><tbody>
${q.holders.map((e, i) => entryRow(state, h, q, e, 'holder', i)).join('')}
${q.waiters.map((e, i) => entryRow(state, h, q, e, 'waiter', i + 1)).join('')}
</tbody></table></section>`,
    )
    .join('');
}

export function electionsView(state: State, m: Model, h: History): string {
  const list = m.queues.filter((q) => q.kind === 'election');
  if (!list.length) return '<p class="empty">No election has candidates.</p>';
  return list
    .map((q) => {
      const leader = q.holders[0]!;
      const changes = (h.leaders.get(q.name) ?? []).slice(-10).reverse();
      return `<section class="card" data-election="${esc(q.name)}">
<h2>${esc(q.name)}<span class="kind">election · ${q.waiters.length} other candidate${q.waiters.length === 1 ? '' : 's'}</span></h2>
<p>Leader: <strong class="leader-value" data-leader-lease="${esc(leader.lease)}">${esc(leader.value)}</strong>
 <span class="muted">lease</span> <code>${esc(leader.lease)}</code>, <span class="muted">key created at rev</span> ${esc(leader.createRevision)},
 <span class="muted">TTL</span> ${ttlCell(state, leader.lease)}, <span class="muted">leads for</span> ${since(h, leader.key, leader.createRevision)}</p>
<table><thead><tr><th></th><th>PROPOSAL</th><th>LEASE</th><th>CREATE REV</th><th>TTL</th></tr></thead><tbody>
${[leader, ...q.waiters]
  .map(
    (e, i) =>
      `<tr class="${i === 0 ? 'holder' : 'waiter'}" data-role="${i === 0 ? 'leader' : 'candidate'}" data-lease="${esc(e.lease)}"><td>${i === 0 ? 'leader' : `#${i}`}</td><td>${esc(e.value)}</td><td class="mono">${esc(e.lease)}</td><td class="mono">${esc(e.createRevision)}</td><td>${ttlCell(state, e.lease)}</td></tr>`,
  )
  .join('')}
</tbody></table>
${
  changes.length
    ? `<details open><summary class="muted">Leader changes seen</summary><ul class="timeline">${changes
        .map(
          (c) =>
            `<li><span class="mono">rev ${esc(c.revision)}</span> ${new Date(c.at).toLocaleTimeString()}: ${
              c.key === undefined
                ? '<em>no leader</em>'
                : `<strong>${esc(c.value)}</strong> <code>${esc(c.key)}</code>`
            }</li>`,
        )
        .join('')}</ul></details>`
    : ''
}
</section>`;
    })
    .join('');
}

export function sessionsView(state: State, m: Model): string {
  const ids = new Set([...state.leases.keys(), ...m.keysByLease.keys()]);
  if (!ids.size) return '<p class="empty">No lease is alive.</p>';
  const roles = new Map<string, string[]>();
  const add = (lease: string, role: string) => {
    const r = roles.get(lease);
    if (r) r.push(role);
    else roles.set(lease, [role]);
  };
  for (const q of m.queues) {
    const what = q.kind === 'election' ? 'election' : KIND_LABEL[q.kind];
    for (const e of q.holders)
      add(e.lease, `${q.kind === 'election' ? 'leads' : 'holds'} ${what} <b>${esc(q.name)}</b>`);
    for (const e of q.waiters)
      add(e.lease, `${q.kind === 'election' ? 'candidate in' : 'waits for'} ${what} <b>${esc(q.name)}</b>`);
  }
  for (const [name, list] of m.services)
    for (const i of list) if (i.lease) add(i.lease, `instance of <b>${esc(name)}</b>`);
  const sorted = [...ids].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  const writes = state.hello.writes;
  return `<table><thead><tr><th>LEASE</th><th>TTL</th><th>HOLDS</th><th>KEYS</th><th></th></tr></thead><tbody>${sorted
    .map((id) => {
      const keys = m.keysByLease.get(id) ?? [];
      return `<tr data-lease-row="${esc(id)}"><td class="mono">${esc(id)}</td><td>${ttlCell(state, id)}</td><td>${(roles.get(id) ?? []).join('<br>')}</td>
<td class="mono">${keys
        .slice(0, 5)
        .map(esc)
        .join(
          '<br>',
        )}${keys.length > 5 ? `<br><span class="muted">and ${keys.length - 5} more</span>` : ''}</td>
<td>${writes ? `<button class="act" data-act="revoke" data-lease="${esc(id)}">revoke</button>` : ''}</td></tr>`;
    })
    .join('')}</tbody></table>`;
}

function bytes(n: number | undefined): string {
  if (n === undefined) return '';
  if (n < 1000) return `${n} B`;
  const u = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${u[i]}`;
}

export function clusterView(state: State): string {
  const c = state.cluster;
  if (!c) return '<p class="empty">Reading cluster status…</p>';
  const problems = c.problems.length
    ? `<p class="bad" data-cluster-health="unhealthy">Unhealthy: ${c.problems.map(esc).join('; ')}</p>`
    : '<p class="ok" data-cluster-health="healthy">Healthy</p>';
  return `${problems}
<table><thead><tr><th>ENDPOINT</th><th>NAME</th><th>ID</th><th>VERSION</th><th>DB SIZE</th><th>IN USE</th><th>LEADER</th><th>RAFT TERM</th><th>RAFT INDEX</th><th>APPLIED</th><th>HEALTH</th><th>ERRORS</th></tr></thead><tbody>
${c.endpoints
  .map(
    (
      e,
    ) => `<tr data-endpoint="${esc(e.endpoint)}" data-state="${e.up ? (e.healthy ? 'healthy' : 'unhealthy') : 'down'}">
<td class="mono">${esc(e.endpoint)}</td><td>${esc(e.name ?? '')}</td><td class="mono">${esc(e.memberId ?? '')}</td><td>${esc(e.version ?? '')}</td>
<td>${bytes(e.dbSize)}</td><td>${bytes(e.dbSizeInUse)}</td><td>${e.isLeader ? '<b>leader</b>' : e.isLearner ? 'learner' : ''}</td>
<td>${esc(e.raftTerm ?? '')}</td><td>${esc(e.raftIndex ?? '')}</td><td>${esc(e.raftAppliedIndex ?? '')}</td>
<td class="${e.up ? (e.healthy ? 'ok' : 'warn') : 'bad'}">${e.up ? (e.healthy ? `ok (${e.tookMs} ms)` : 'unhealthy') : 'down'}</td>
<td class="muted">${esc(e.error ?? '')}</td></tr>`,
  )
  .join('')}
</tbody></table>
<h2>Members</h2>
<table><thead><tr><th>ID</th><th>NAME</th><th>CLIENT URLS</th><th></th></tr></thead><tbody>
${c.members
  .map(
    (mb) =>
      `<tr><td class="mono">${esc(mb.id)}</td><td>${esc(mb.name)}</td><td class="mono">${esc(mb.clientUrls.join(', '))}</td><td>${mb.id === c.leader ? 'leader' : mb.isLearner ? 'learner' : ''}</td></tr>`,
  )
  .join('')}
</tbody></table>
<h2>Alarms</h2>${c.alarms.length ? `<ul>${c.alarms.map((a) => `<li class="bad">${esc(a.alarm)} on member ${esc(a.memberId)}</li>`).join('')}</ul>` : '<p class="muted">none</p>'}
<p class="muted">Read at ${new Date(c.readAt).toLocaleTimeString()}</p>`;
}

export function discoveryView(state: State, m: Model): string {
  if (!m.services.size) return '<p class="empty">No service instance is registered.</p>';
  return [...m.services]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(
      ([
        name,
        list,
      ]) => `<section class="card" data-service="${esc(name)}"><h2>${esc(name)}<span class="kind">${
        list.filter((i) => !i.draining).length
      } up, ${list.filter((i) => i.draining).length} draining</span></h2>
<table><thead><tr><th>ID</th><th>ADDRESS</th><th>STATE</th><th>LEASE</th><th>TTL</th><th>METADATA</th></tr></thead><tbody>
${list
  .map(
    (i) =>
      `<tr data-instance="${esc(i.id)}"><td class="mono">${esc(i.id)}</td><td class="mono">${esc(i.address)}</td><td class="${i.draining ? 'warn' : 'ok'}">${i.draining ? 'draining' : 'up'}</td><td class="mono">${esc(i.lease)}</td><td>${i.lease ? ttlCell(state, i.lease) : ''}</td><td class="mono">${i.metadata === undefined ? '' : esc(JSON.stringify(i.metadata))}</td></tr>`,
  )
  .join('')}</tbody></table></section>`,
    )
    .join('');
}

const SHOWN_ITEMS = 20;

export function queuesView(m: Model): string {
  if (!m.itemQueues.length) return '<p class="empty">No Queue or WorkQueue item was found.</p>';
  return m.itemQueues
    .map((q) => {
      const claimed = q.items.filter((i) => i.claimedBy).length;
      return `<section class="card" data-item-queue="${esc(q.prefix)}" data-count="${q.items.length}"><h2>${esc(q.prefix)}<span class="kind">${
        q.kind === 'queue' ? 'queue' : 'work queue'
      } · ${q.items.length} item${q.items.length === 1 ? '' : 's'}${q.kind === 'workqueue' ? `, ${claimed} claimed` : ''}</span></h2>
<table><thead><tr><th>#</th><th>KEY</th><th>VALUE</th>${q.kind === 'queue' ? '<th>PRIORITY</th><th>NOT BEFORE</th>' : '<th>CLAIMED BY LEASE</th>'}</tr></thead><tbody>
${q.items
  .slice(0, SHOWN_ITEMS)
  .map(
    (i, n) =>
      `<tr><td>${n + 1}</td><td class="mono">${esc(i.key.slice(q.prefix.length))}</td><td class="mono">${esc(i.value.slice(0, 120))}</td>${
        q.kind === 'queue'
          ? `<td>${i.priority}</td><td>${i.notBefore ? new Date(i.notBefore).toLocaleString() : ''}</td>`
          : `<td class="mono">${esc(i.claimedBy ?? '')}</td>`
      }</tr>`,
  )
  .join('')}
</tbody></table>${q.items.length > SHOWN_ITEMS ? `<p class="muted">and ${q.items.length - SHOWN_ITEMS} more</p>` : ''}</section>`;
    })
    .join('');
}
