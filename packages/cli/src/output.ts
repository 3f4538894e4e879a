/** JSON with bigints (revisions, lease IDs) as decimal strings: they do not fit a JSON number. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), indent);
}

/** Where a command writes; the tests and `main()` callers can capture it. */
export interface Output {
  /** One line on stdout. */
  line(text: string): void;
  /** One line on stderr (notices; errors go through main). */
  note(text: string): void;
}

export const processOutput: Output = {
  line: (text) => {
    process.stdout.write(`${text}\n`);
  },
  note: (text) => {
    process.stderr.write(`${text}\n`);
  },
};

/** Sizes as etcdctl shows them: SI units, "20 kB", "1.2 MB". */
export function humanBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB'];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** A bordered table in the style of `etcdctl -w table`. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const rule = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const row = (cells: readonly string[]) =>
    `|${widths.map((w, i) => ` ${(cells[i] ?? '').padEnd(w)} `).join('|')}|`;
  return [rule, row(header), rule, ...rows.map(row), rule];
}
