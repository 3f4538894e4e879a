/**
 * The runtime smoke test in a web page: bundled for the browser (the packages' `browser` entry:
 * the gateway transport alone), it reads etcd's URL from the page's `?etcd=` and leaves its
 * outcome in `globalThis.smokeResult`.
 */
import { smoke } from './smoke.js';

interface SmokeResult {
  ok: boolean;
  log: string[];
  error?: string;
}

const g = globalThis as { smokeResult?: SmokeResult; location?: { search: string } };
const endpoint = new URLSearchParams(g.location?.search ?? '').get('etcd') ?? 'http://127.0.0.1:2379';
const log: string[] = [];
smoke([endpoint], (line) => log.push(line)).then(
  () => {
    g.smokeResult = { ok: true, log };
  },
  (err: unknown) => {
    g.smokeResult = {
      ok: false,
      log,
      error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err),
    };
  },
);
