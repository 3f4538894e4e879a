import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { spawnProcess, useEtcd } from '@etcdkit/testkit/vitest';
import { build, type Metafile } from 'esbuild';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

// The same script (examples/src/runtime-smoke/smoke.ts) on every runtime, over etcd's HTTP/JSON
// gateway: put/get, a txn, a Mutex with two contenders, an Election hand-over, a mirror change.
// It runs from the build (examples/dist), which the test command makes first.

const t = useEtcd();
const root = fileURLToPath(new URL('../../', import.meta.url));
const main = `${root}examples/dist/runtime-smoke/main.js`;
const bin = (name: string) => `${root}node_modules/.bin/${name}`;
const CHROMIUM = '/usr/bin/chromium';

/** The script runs from the build: without one, say how to make it. */
function built(path: string): string {
  if (!existsSync(path))
    throw new Error(`${path} is missing: build first (pnpm exec tsc -b; pnpm test does)`);
  return path;
}

/** Runs the smoke script with `command args`, and expects every step and a clean exit. */
async function runSmoke(command: string, args: string[]) {
  built(main);
  const child = spawnProcess(command, [...args, main], {
    env: { ETCD_ENDPOINTS: t.endpoints.join(','), ETCDKIT_TRANSPORT: undefined, NO_COLOR: '1' },
    cwd: root,
  });
  const r = await Promise.race([
    child.exited,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`${command} ran over 90 s:\n${child.stdout()}\n${child.stderr()}`)),
        90_000,
      ),
    ),
  ]).finally(() => child.kill('SIGKILL'));
  const out = `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(r.stdout.split('\n'), out).toEqual(
    expect.arrayContaining([
      'put/get: ok',
      'txn: ok',
      'mutex: ok',
      'election: ok',
      'mirror: ok',
      'smoke: ok',
    ]),
  );
  expect(r.code, out).toBe(0);
}

/** A runtime installed as a devDependency must start; if it does not, say so plainly. */
async function runtimeVersion(command: string): Promise<string> {
  const r = await spawnProcess(command, ['--version']).exited;
  if (r.code !== 0)
    throw new Error(
      `${command} is installed (a devDependency) but does not run on this machine: exit ${r.code}\n${r.stderr}\n` +
        'Reinstall it (pnpm install) or check that its binary suits this platform.',
    );
  return r.stdout.trim();
}

describe('the runtime smoke script over the gateway', () => {
  it('passes on Node', async () => {
    await runSmoke(process.execPath, []);
  });

  it('passes on Bun', async () => {
    expect(await runtimeVersion(bin('bun'))).toMatch(/^\d+\.\d+/);
    await runSmoke(bin('bun'), []);
  });

  it('passes on Deno', async () => {
    expect(await runtimeVersion(bin('deno'))).toMatch(/^deno \d/);
    await runSmoke(bin('deno'), ['run', '--allow-net', '--allow-env', '--allow-read']);
  });
});

describe('the browser build', () => {
  const bundle = () =>
    build({
      entryPoints: [built(`${root}examples/dist/runtime-smoke/browser.js`)],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      metafile: true,
      logLevel: 'silent',
      // Only the Node-only features load these (a snapshot to a file, a last-known-good file),
      // with import(): they stay out of the bundle; a static import of them would fail below.
      external: ['node:*'],
    });

  it('holds no grpc-js and imports no Node built-in when it loads', async () => {
    const { metafile } = await bundle();
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.filter((p) => /@grpc|proto-loader|protobufjs/.test(p))).toEqual([]);
    expect(inputs.some((p) => p.includes('core/dist/gateway.js'))).toBe(true);
    expect(inputs.some((p) => p.includes('core/dist/index.js'))).toBe(false);
    const statics = Object.entries(metafile.inputs as Metafile['inputs']).flatMap(([file, i]) =>
      i.imports.filter((x) => x.kind !== 'dynamic-import' && x.external).map((x) => `${file} -> ${x.path}`),
    );
    expect(statics).toEqual([]);
  });

  it('passes the smoke script in headless Chromium, talking to etcd directly', async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium); .ci/run does`,
      );
    const { outputFiles } = await bundle();
    const js = outputFiles[0]!.text;
    const server: Server = createServer((req, res) => {
      if (req.url?.startsWith('/smoke.js')) {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(js);
      } else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>etcdkit smoke</title><script type="module" src="/smoke.js"></script>');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      chromiumSandbox: false,
      args: [
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      const consoleLines: string[] = [];
      page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
      const port = (server.address() as AddressInfo).port;
      // The page's origin differs from etcd's: every call is a cross-origin fetch (etcd allows it).
      const etcd = `http://${t.endpoints[0]!.replace(/^https?:\/\//, '')}`;
      await page.goto(`http://127.0.0.1:${port}/?etcd=${encodeURIComponent(etcd)}`);
      const handle = await page.waitForFunction(
        () => (globalThis as { smokeResult?: unknown }).smokeResult,
        undefined,
        { timeout: 90_000 },
      );
      const result = (await handle.jsonValue()) as { ok: boolean; log: string[]; error?: string };
      const why = `${result.error ?? ''}\nconsole:\n${consoleLines.join('\n')}`;
      expect(result.log, why).toEqual(['put/get: ok', 'txn: ok', 'mutex: ok', 'election: ok', 'mirror: ok']);
      expect(result.ok, why).toBe(true);
      // The page ran without a global Buffer of its own: the bundle's polyfill served.
      expect(await page.evaluate(() => typeof (globalThis as { Buffer?: unknown }).Buffer)).toBe('function');
    } finally {
      await browser.close();
      await new Promise((r) => server.close(r));
    }
  });
});
