/** A value as the Config view shows it: JSON pretty-printed, anything else as it is. */
export function pretty(text: string): string {
  const t = text.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.stringify(JSON.parse(t), null, 2);
    } catch {
      // not JSON after all
    }
  }
  return text;
}

export type DiffLine = { op: ' ' | '+' | '-'; text: string };

/** Most lines compared by the LCS table; longer values are shown as removed and added whole. */
const MAX_LINES = 400;

/** A line diff (longest common subsequence) of two texts. */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  // Common head and tail first: most config edits touch a few lines.
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const out: DiffLine[] = a.slice(0, head).map((text) => ({ op: ' ', text }));
  const am = a.slice(head, a.length - tail);
  const bm = b.slice(head, b.length - tail);
  if (am.length > MAX_LINES || bm.length > MAX_LINES) {
    for (const text of am) out.push({ op: '-', text });
    for (const text of bm) out.push({ op: '+', text });
  } else {
    const n = am.length;
    const m = bm.length;
    const lcs: Uint16Array[] = [];
    for (let i = 0; i <= n; i++) lcs.push(new Uint16Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i]![j] = am[i] === bm[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && am[i] === bm[j]) {
        out.push({ op: ' ', text: am[i]! });
        i++;
        j++;
      } else if (i < n && (j === m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!))
        out.push({ op: '-', text: am[i++]! });
      else out.push({ op: '+', text: bm[j++]! });
    }
  }
  for (const text of a.slice(a.length - tail)) out.push({ op: ' ', text });
  return out;
}
