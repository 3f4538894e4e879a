import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, waitUntil } from './helpers.js';

/**
 * The owner of an etcd is a separate Node process running the real testkit code, compiled
 * here with TypeScript's transpiler (Node 20 cannot run .ts), so it can be SIGKILLed.
 */
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'etcdkit-leak-'));
  const src = new URL('../src/', import.meta.url);
  for (const file of await readdir(src)) {
    if (!file.endsWith('.ts')) continue;
    const { outputText } = ts.transpileModule(await readFile(new URL(file, src), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    await writeFile(join(dir, file.replace(/\.ts$/, '.js')), outputText);
  }
  await writeFile(join(dir, 'package.json'), '{"type":"module"}');
  await writeFile(
    join(dir, 'owner.js'),
    `import { startEtcd, startCluster } from './index.js';
     const mode = process.argv[2];
     const pids = [];
     const dirs = [];
     if (mode === 'cluster') {
       const c = await startCluster({ members: 2 });
       pids.push(...c.members.map((m) => m.pid));
       dirs.push(...c.members.map((m) => m.dataDir));
     } else {
       const s = await startEtcd({ useEnv: false });
       pids.push(s.pid);
       dirs.push(s.dataDir);
     }
     console.log(JSON.stringify({ pids, dirs }));
     if (mode === 'exit') process.exit(0);
     setInterval(() => {}, 1000);`,
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Owner {
  owner: ChildProcess;
  pids: number[];
  /** The workspace roots (parents of the data dirs). */
  roots: string[];
}

async function startOwner(mode: 'kill' | 'exit' | 'cluster'): Promise<Owner> {
  const owner = spawn(process.execPath, [join(dir, 'owner.js'), mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: owner.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  const { pids, dirs } = JSON.parse(line) as { pids: number[]; dirs: string[] };
  // An 'exit' owner may already be gone, and its etcd with it.
  if (mode !== 'exit') expect(pids.every((pid) => isAlive(pid))).toBe(true);
  return { owner, pids, roots: [...new Set(dirs.map((d) => dirname(d)))] };
}

describe('no leaked etcd processes', () => {
  it('kills the etcd and removes its data when its owning process is SIGKILLed', async () => {
    const { owner, pids, roots } = await startOwner('kill');
    owner.kill('SIGKILL');
    await once(owner, 'exit');
    await waitUntil(() => pids.every((pid) => !isAlive(pid)), 5000, 'etcd to die with its owner');
    // No hook ran in the killed owner: the watchdog removed its temp dir.
    await waitUntil(() => roots.every((r) => !existsSync(r)), 5000, 'the data dir to be removed');
  });

  it('kills every member of a cluster when its owner is SIGKILLed', async () => {
    const { owner, pids, roots } = await startOwner('cluster');
    expect(pids).toHaveLength(2);
    owner.kill('SIGKILL');
    await once(owner, 'exit');
    await waitUntil(() => pids.every((pid) => !isAlive(pid)), 5000, 'members to die with their owner');
    await waitUntil(() => roots.every((r) => !existsSync(r)), 5000, 'the data dirs to be removed');
  });

  it('kills the etcd and removes its data when the owner exits without closing it', async () => {
    const { owner, pids, roots } = await startOwner('exit');
    const [code] = (await once(owner, 'exit')) as [number];
    expect(code).toBe(0);
    // The exit hook kills synchronously, so the pid is gone (or a zombie) right away.
    await waitUntil(() => !isAlive(pids[0]!), 1000, 'etcd to die at exit');
    await waitUntil(() => roots.every((r) => !existsSync(r)), 5000, 'the data dir to be removed');
  });
});
