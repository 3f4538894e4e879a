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
  /**
   * How a long operation is getting on ('' takes it away): one line on stderr that rewrites
   * itself, shown only when stderr is a terminal, so that nothing extra reaches a pipe or a log.
   */
  progress?(text: string): void;
}

/** The terminal progress line of processOutput. */
class ProgressLine {
  private shown = false;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  get enabled(): boolean {
    return this.stream.isTTY === true && process.env.TERM !== 'dumb';
  }

  show(text: string): void {
    if (!this.enabled) return;
    if (text === '') {
      this.clear();
      return;
    }
    // One screen line at most: a wrapped line could not be rewritten in place.
    const width = Math.max(10, (this.stream.columns || 80) - 1);
    const shown = text.length > width ? `${text.slice(0, width - 1)}…` : text;
    this.stream.write(`\r\x1b[2K${shown}`);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}

const progressLine = new ProgressLine(process.stderr);

export const processOutput: Output = {
  line: (text) => {
    // stdout and stderr may be the same terminal: take the progress line away first.
    progressLine.clear();
    process.stdout.write(`${text}\n`);
  },
  note: (text) => {
    progressLine.clear();
    process.stderr.write(`${text}\n`);
  },
  // Absent when stderr is no terminal, so that commands skip the work of following progress.
  ...(progressLine.enabled ? { progress: (text: string) => progressLine.show(text) } : {}),
};

/**
 * `progress` for counts that change many times a second: at most one redraw per interval
 * (clearing, with '', always goes through).
 */
export function throttled(
  progress: ((text: string) => void) | undefined,
  everyMs = 100,
): (text: string) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (text) => {
    if (!progress) return;
    const now = Date.now();
    if (text !== '' && now - last < everyMs) return;
    last = now;
    progress(text);
  };
}

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
