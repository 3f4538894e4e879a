import { diffLines, pretty } from './diff.js';
import { type State, shown } from './state.js';
import { esc } from './views.js';

const ROW = 22;
/** Rows drawn beyond the visible ones, above and below. */
const OVERSCAN = 10;
/** Changes listed (the newest of those under the filter). */
const SHOWN_CHANGES = 30;

interface Row {
  depth: number;
  /** Full key for a key row; the directory's prefix (ending with '/') for a directory row. */
  path: string;
  label: string;
  dir: boolean;
}

/**
 * The Config view: the key tree under a prefix filter, the selected key's value (JSON
 * pretty-printed) and the last changes with their diffs. The tree only draws the rows in view,
 * so a prefix of many thousand keys scrolls and updates without stalling the page.
 */
export class ConfigView {
  private filter = '';
  private selected: string | undefined;
  private readonly collapsed = new Set<string>();
  private sorted: string[] = [];
  private sortedFor = -1;
  private rows: Row[] = [];
  private rowsFor = '';
  private root: HTMLElement | undefined;

  constructor(private readonly state: State) {}

  mount(root: HTMLElement): void {
    this.root = root;
    root.innerHTML = `<div><label>Prefix <input type="text" id="cfg-filter" placeholder="/config/app/" value="${esc(this.filter)}"></label>
<span id="cfg-count" class="muted"></span></div>
<div class="cols"><div><div id="tree"><div id="tree-spacer"></div></div></div>
<div><div id="cfg-detail"></div><h2>Last changes</h2><div id="cfg-changes"></div></div></div>`;
    const input = root.querySelector<HTMLInputElement>('#cfg-filter')!;
    input.addEventListener('input', () => {
      this.filter = input.value;
      this.update();
    });
    const tree = root.querySelector<HTMLElement>('#tree')!;
    tree.addEventListener('scroll', () => this.drawRows());
    tree.addEventListener('click', (ev) => {
      const el = (ev.target as HTMLElement).closest<HTMLElement>('.row');
      if (!el) return;
      const path = el.dataset.path!;
      if (el.dataset.dir) {
        if (this.collapsed.has(path)) this.collapsed.delete(path);
        else this.collapsed.add(path);
        this.rowsFor = '';
      } else this.selected = path;
      this.update();
    });
    this.update();
  }

  unmount(): void {
    this.root = undefined;
  }

  /** Redraw after a change of the keys (cheap when only values changed). */
  update(): void {
    if (!this.root) return;
    const s = this.state;
    if (this.sortedFor !== s.keysVersion) {
      this.sorted = [...s.kvs.keys()].sort();
      this.sortedFor = s.keysVersion;
      this.rowsFor = '';
    }
    const want = `${s.keysVersion}|${this.filter}`;
    if (this.rowsFor !== want) {
      this.rows = this.buildRows();
      this.rowsFor = want;
    }
    const keys = this.rows.filter((r) => !r.dir).length;
    this.root.querySelector('#cfg-count')!.textContent =
      `${this.countUnder()} keys (${keys} shown) at revision ${s.revision}`;
    this.root.querySelector<HTMLElement>('#tree-spacer')!.style.height = `${this.rows.length * ROW}px`;
    this.drawRows();
    this.drawDetail();
    this.drawChanges();
  }

  private countUnder(): number {
    if (!this.filter) return this.sorted.length;
    const lo = lowerBound(this.sorted, this.filter);
    let hi = lo;
    while (hi < this.sorted.length && this.sorted[hi]!.startsWith(this.filter)) hi++;
    return hi - lo;
  }

  private buildRows(): Row[] {
    const rows: Row[] = [];
    const f = this.filter;
    const start = f ? lowerBound(this.sorted, f) : 0;
    let open: string[] = []; // directory prefixes currently open, outermost first
    for (let i = start; i < this.sorted.length; i++) {
      const key = this.sorted[i]!;
      if (!key.startsWith(f)) break;
      const rest = key.slice(f.length);
      const parts = rest.split('/');
      // Directories of this key, relative to the filter.
      let depth = 0;
      let prefix = f;
      const dirs: string[] = [];
      for (let p = 0; p < parts.length - 1; p++) {
        prefix += `${parts[p]}/`;
        dirs.push(prefix);
      }
      let common = 0;
      while (common < open.length && common < dirs.length && open[common] === dirs[common]) common++;
      open = open.slice(0, common);
      let hidden = false;
      for (const d of open) if (this.collapsed.has(d)) hidden = true;
      for (let p = common; p < dirs.length; p++) {
        const d = dirs[p]!;
        if (!hidden) rows.push({ depth: p, path: d, label: `${parts[p]}/`, dir: true });
        open.push(d);
        if (this.collapsed.has(d)) hidden = true;
      }
      depth = dirs.length;
      if (!hidden) rows.push({ depth, path: key, label: parts[parts.length - 1] || '(empty)', dir: false });
    }
    return rows;
  }

  private drawRows(): void {
    const tree = this.root?.querySelector<HTMLElement>('#tree');
    if (!tree) return;
    const first = Math.max(0, Math.floor(tree.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((tree.scrollTop + tree.clientHeight) / ROW) + OVERSCAN);
    const html: string[] = [];
    for (let i = first; i < last; i++) {
      const r = this.rows[i]!;
      const cls = r.dir ? 'row dir' : r.path === this.selected ? 'row sel' : 'row';
      const mark = r.dir ? (this.collapsed.has(r.path) ? '▸ ' : '▾ ') : '';
      html.push(
        `<div class="${cls}" style="top:${i * ROW}px;padding-left:${8 + r.depth * 14}px" data-path="${esc(r.path)}"${
          r.dir ? ' data-dir="1"' : ''
        } title="${esc(r.path)}">${mark}${esc(r.label)}</div>`,
      );
    }
    const spacer = tree.querySelector('#tree-spacer')!;
    for (const el of [...tree.querySelectorAll('.row')]) el.remove();
    spacer.insertAdjacentHTML('afterend', html.join(''));
  }

  private drawDetail(): void {
    const el = this.root!.querySelector('#cfg-detail')!;
    const kv = this.selected === undefined ? undefined : this.state.kvs.get(this.selected);
    if (!kv) {
      el.innerHTML = `<p class="muted">${this.selected === undefined ? 'Select a key.' : `${esc(this.selected)} was deleted.`}</p>`;
      return;
    }
    el.innerHTML = `<h2 class="mono" data-selected="${esc(kv.k)}">${esc(kv.k)}</h2>
<p class="muted">version ${esc(kv.n)} · created at rev ${esc(kv.c)} · modified at rev ${esc(kv.m)}${kv.l ? ` · lease ${esc(kv.l)}` : ''}${
      kv.s ? ` · ${kv.s} bytes (first 64 KiB shown)` : ''
    }</p><pre class="card" id="cfg-value">${esc(kv.b ? shown(kv) : pretty(kv.v))}</pre>`;
  }

  private drawChanges(): void {
    const el = this.root!.querySelector('#cfg-changes')!;
    const list: typeof this.state.changes = [];
    for (let i = this.state.changes.length - 1; i >= 0 && list.length < SHOWN_CHANGES; i--) {
      const c = this.state.changes[i]!;
      if (c.k.startsWith(this.filter)) list.push(c);
    }
    if (!list.length) {
      el.innerHTML = '<p class="muted">No change seen yet.</p>';
      return;
    }
    el.innerHTML = list
      .map((c) => {
        const before = c.p === undefined ? '' : pretty(c.p);
        const after = c.t === 'delete' ? '' : pretty(c.v ?? '');
        const lines = diffLines(before, after);
        return `<div class="card diff" data-change-rev="${esc(c.r)}" data-change-key="${esc(c.k)}">
<div><b>${c.t === 'put' ? (c.p === undefined ? 'created' : 'changed') : 'deleted'}</b> <code>${esc(c.k)}</code> <span class="muted">rev ${esc(c.r)} · ${new Date(c.at).toLocaleTimeString()}</span></div>
${lines
  .map((l) => `<div class="${l.op === '+' ? 'add' : l.op === '-' ? 'del' : ''}">${l.op} ${esc(l.text)}</div>`)
  .join('')}</div>`;
      })
      .join('');
  }
}

function lowerBound(a: string[], x: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
