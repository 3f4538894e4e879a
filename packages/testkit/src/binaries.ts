import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

// Synchronous on purpose: a few stat calls, and spawnEtcdctl() must return a ChildProcess at once.
function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Where an etcd or etcdctl binary was found, or why not, as {@link findEtcd} and {@link
 * findEtcdctl} return it.
 */
export interface BinaryLookup {
  /** Path to run, or undefined when not found. */
  path: string | undefined;
  /** Where we looked, for the "not found" message. */
  tried: string;
}

/**
 * Finds a binary: the env override first (if set, it is the only candidate, so a typo fails
 * loudly instead of silently running another etcd), else the PATH.
 */
export function findBinary(name: string, envVar: string): BinaryLookup {
  const override = process.env[envVar];
  if (override) {
    if (!override.includes('/')) return findOnPath(override, `${envVar}=${override} is not on PATH`);
    return isExecutable(override)
      ? { path: override, tried: `${envVar}=${override}` }
      : { path: undefined, tried: `${envVar}=${override} does not exist or is not executable` };
  }
  return findOnPath(name, `no \`${name}\` on PATH`);
}

function findOnPath(name: string, tried: string): BinaryLookup {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return { path: candidate, tried };
  }
  return { path: undefined, tried };
}

/** ETCD_BIN, else `etcd` on PATH. */
export const findEtcd = (): BinaryLookup => findBinary('etcd', 'ETCD_BIN');
/** ETCDCTL_BIN, else `etcdctl` on PATH. */
export const findEtcdctl = (): BinaryLookup => findBinary('etcdctl', 'ETCDCTL_BIN');

/** This process's environment without the variables starting with `prefix` (except `keep`). */
export function cleanEnv(prefix: string, keep: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith(prefix) && !keep.includes(key)) continue;
    env[key] = value;
  }
  return env;
}
