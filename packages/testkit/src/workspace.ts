import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackDir, untrackDir } from './children.js';

// Temp roots still present at exit are removed then (and by the watchdog if we are killed),
// so aborted test runs leave no data dirs.
const roots = new Set<string>();
let hookInstalled = false;

function removeAllSync(): void {
  for (const root of roots) {
    try {
      // Retries: the etcd SIGKILLed a moment ago may still be closing files in it.
      rmSync(root, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
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
  trackDir(root);
  return root;
}

export async function removeWorkspace(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
  roots.delete(root);
  untrackDir(root);
}
