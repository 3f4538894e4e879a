import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

export const DOCKER_PROBE_TIMEOUT_MS = 3000;

/** Why Docker can or cannot be used; `reason` goes into EtcdNotFoundError. */
export interface DockerProbe {
  /** True when a Docker engine answers. */
  available: boolean;
  /** Why it is or is not available, in words. */
  reason: string;
}

let cached: Promise<DockerProbe> | undefined;

function dockerInfo(timeoutMs: number): Promise<'up' | 'down' | 'no-cli'> {
  return new Promise((resolve) => {
    execFile(
      'docker',
      ['info', '--format', '{{.ServerVersion}}'],
      { timeout: timeoutMs, killSignal: 'SIGKILL' },
      (error, stdout) => {
        if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') resolve('no-cli');
        else resolve(!error && stdout.trim() !== '' ? 'up' : 'down');
      },
    );
  });
}

/**
 * Is a Docker engine answering? Asks the docker CLI with a short timeout (so a missing or
 * hung daemon never stalls a test run); without a CLI, a DOCKER_HOST or socket is enough
 * to let testcontainers try. ETCDKIT_DOCKER=0 disables the fallback. Cached per process.
 */
export function probeDocker(timeoutMs = DOCKER_PROBE_TIMEOUT_MS): Promise<DockerProbe> {
  if (process.env.ETCDKIT_DOCKER === '0') {
    return Promise.resolve({ available: false, reason: 'ETCDKIT_DOCKER=0' });
  }
  cached ??= dockerInfo(timeoutMs).then((state): DockerProbe => {
    if (state === 'up') return { available: true, reason: 'docker info answered' };
    if (state === 'down') return { available: false, reason: 'no Docker engine answers `docker info`' };
    const hinted = Boolean(process.env.DOCKER_HOST) || existsSync('/var/run/docker.sock');
    return hinted
      ? { available: true, reason: 'DOCKER_HOST or /var/run/docker.sock present' }
      : { available: false, reason: 'no docker CLI, DOCKER_HOST or /var/run/docker.sock' };
  });
  return cached;
}

/** Forget the cached probe (tests, or a daemon started meanwhile). */
export function resetDockerProbe(): void {
  cached = undefined;
}
