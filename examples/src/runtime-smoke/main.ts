/**
 * The runtime smoke test from a command line (Node, Bun, Deno): endpoints from ETCD_ENDPOINTS.
 * Prints one line per step and `smoke: ok` at the end; exits non-zero on a failure.
 */
import { smoke } from './smoke.js';

const proc = (globalThis as { process?: { exitCode?: number } }).process;

smoke(undefined, (line) => console.log(line)).then(
  () => console.log('smoke: ok'),
  (err: unknown) => {
    console.error('smoke: FAILED', err);
    if (proc) proc.exitCode = 1;
  },
);
