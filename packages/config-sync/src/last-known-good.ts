import { isUtf8 } from '@etcdkit/core/internal';
import { LastKnownGoodError } from './errors.js';
import type { Rev } from './snapshot.js';

const FORMAT = 'etcdkit.config-sync.last-known-good/1';

/** Which mirror a file belongs to: the prefix and the client's namespace, as written by `bytesLabel`. */
export interface FileScope {
  prefix: string;
  namespace: string;
}

export interface StoredEntry {
  key: string;
  raw: Buffer;
  rev: Rev;
}

export interface FileContent {
  revision: bigint;
  entries: StoredEntry[];
}

/** Text as itself, other bytes as `base64:…`, so the scope stays readable and exact. */
export function bytesLabel(b: Buffer): string {
  return isUtf8(b) && !b.toString('utf8').startsWith('base64:')
    ? b.toString('utf8')
    : `base64:${b.toString('base64')}`;
}

/**
 * One JSON document: the scope, the revision and every key with its last good raw value
 * (UTF-8 text as `value`, other bytes as `base64`), one entry per line so it diffs well.
 */
export function serialize(scope: FileScope, revision: bigint, entries: Iterable<StoredEntry>): string {
  const lines: string[] = [];
  for (const e of entries) {
    const body = isUtf8(e.raw) ? { value: e.raw.toString('utf8') } : { base64: e.raw.toString('base64') };
    lines.push(`    ${JSON.stringify({ key: e.key, modRevision: String(e.rev), ...body })}`);
  }
  const head = {
    format: FORMAT,
    prefix: scope.prefix,
    namespace: scope.namespace,
    revision: String(revision),
    savedAt: new Date().toISOString(),
  };
  const top = JSON.stringify(head, null, 2).slice(0, -2);
  return `${top},\n  "entries": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

export async function readLastKnownGood(path: string, scope: FileScope): Promise<FileContent> {
  let text: string;
  try {
    const { readFile } = await import('node:fs/promises');
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new LastKnownGoodError(
      path,
      missing
        ? `no last-known-good file at ${path}: it is written once the mirror has synced with etcd`
        : `could not read the last-known-good file ${path}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const bad = (why: string, cause?: unknown) =>
    new LastKnownGoodError(
      path,
      `the last-known-good file ${path} is unusable: ${why}; delete it or fix it`,
      { cause },
    );
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw bad('it is not JSON (a torn or foreign file)', cause);
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== FORMAT)
    throw bad(`its format is not ${FORMAT}`);
  if (doc.prefix !== scope.prefix || doc.namespace !== scope.namespace)
    throw new LastKnownGoodError(
      path,
      `the last-known-good file ${path} was written for prefix ${JSON.stringify(doc.prefix)} in namespace ` +
        `${JSON.stringify(doc.namespace)}, not ${JSON.stringify(scope.prefix)} in ${JSON.stringify(scope.namespace)}; ` +
        'give each mirror its own file',
    );
  const revision = parseRevision(doc.revision);
  if (revision === undefined || !Array.isArray(doc.entries)) throw bad('revision or entries are missing');
  const entries: StoredEntry[] = [];
  for (const e of doc.entries as unknown[]) {
    const o = e as Record<string, unknown>;
    const rev = parseRevision(o?.modRevision);
    if (typeof o?.key !== 'string' || rev === undefined) throw bad('an entry lacks its key or modRevision');
    let raw: Buffer;
    if (typeof o.value === 'string') raw = Buffer.from(o.value, 'utf8');
    else if (typeof o.base64 === 'string') raw = Buffer.from(o.base64, 'base64');
    else throw bad(`entry ${JSON.stringify(o.key)} has neither value nor base64`);
    entries.push({ key: o.key, raw, rev: rev <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(rev) : rev });
  }
  return { revision, entries };
}

function parseRevision(v: unknown): bigint | undefined {
  return typeof v === 'string' && /^\d{1,19}$/.test(v) ? BigInt(v) : undefined;
}

let seq = 0;

/** Write to a temporary file beside the target, fsync, rename over it: readers see the old or the new file, never a mix. */
async function writeAtomically(path: string, data: string): Promise<void> {
  // Loaded here: a mirror without a last-known-good file runs where there is no file system.
  const [{ mkdir, open, rename, rm }, { dirname }] = await Promise.all([
    import('node:fs/promises'),
    import('node:path'),
  ]);
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.${++seq}.tmp`;
  try {
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(data, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  // Persist the rename itself. Some file systems cannot fsync a directory; the file is in place either way.
  const d = await open(dir, 'r').catch(() => undefined);
  if (d)
    await d
      .sync()
      .catch(() => undefined)
      .finally(() => d.close());
}

/**
 * Keeps the file in step with the mirror: every change schedules a write of the state at
 * the time of writing; writes never overlap, and changes made during one lead to one more.
 */
export class LastKnownGoodWriter {
  private dirty = false;
  private running: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly render: () => string,
    private readonly onError: (err: LastKnownGoodError) => void,
  ) {}

  schedule(): void {
    this.dirty = true;
    this.running ??= this.drain();
  }

  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        try {
          await writeAtomically(this.path, this.render());
        } catch (cause) {
          this.onError(
            new LastKnownGoodError(
              this.path,
              `could not write the last-known-good file ${this.path}: ${(cause as Error).message}; the mirror goes on without it`,
              { cause },
            ),
          );
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
