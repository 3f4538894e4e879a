import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Temp roots still present at exit are removed then, so aborted test runs leave no data dirs.
const roots = new Set<string>();
let hookInstalled = false;

function removeAllSync(): void {
  for (const root of roots) {
    try {
      rmSync(root, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
}

/** A temp directory (under TMPDIR) holding data dirs and certificates of one server or cluster. */
export async function createWorkspace(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'etcdkit-'));
  if (!hookInstalled) {
    hookInstalled = true;
    process.on('exit', removeAllSync);
  }
  roots.add(root);
  return root;
}

export async function removeWorkspace(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
  roots.delete(root);
}
