#!/usr/bin/env node
// Packs every publishable package, installs the tarballs into fresh apps outside the workspace
// (npm, third-party dependencies from the registry) and uses them there as a user would, against
// a real etcd: ESM import, require() of the ESM build, types under nodenext and bundler, an
// esbuild bundle that takes a lock, the CLI. publint and attw check every tarball. Also measures
// what installing the CLI costs, and repeats the runtime checks on other Node versions when the
// registry's `node` package can provide them.
//   node scripts/pack-smoke.mjs [--nodes 22,24] [--keep]
// --nodes '' skips the other Node versions (ETCDKIT_SMOKE_NODES sets the default, else 22,24).
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    nodes: { type: 'string', default: process.env.ETCDKIT_SMOKE_NODES ?? '22,24' },
    keep: { type: 'boolean', default: false },
  },
});
const started = Date.now();
const work = mkdtempSync(join(tmpdir(), 'etcdkit-pack-'));
if (!relative(root, work).startsWith('..')) throw new Error(`${work} is inside the workspace`);
let checks = 0;

function step(text) {
  console.log(`pack smoke: ${text}`);
}
function ok(text) {
  checks++;
  console.log(`  ok  ${text}`);
}
function fail(text) {
  throw new Error(text);
}

/** Runs a command to completion; throws with its output when it fails. */
function run(cmd, argv, opts = {}) {
  try {
    return execFileSync(cmd, argv, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeout ?? 300_000,
      maxBuffer: 64 * 1024 * 1024,
      ...opts,
    });
  } catch (err) {
    const out = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    throw new Error(`${cmd} ${argv.join(' ')} failed (${err.status ?? err.signal ?? err.code}):\n${out}`);
  }
}

/** Like run, but resolves with the exit code and output instead of throwing. */
function attempt(cmd, argv, opts = {}) {
  try {
    const stdout = run(cmd, argv, opts);
    return { code: 0, stdout, stderr: '' };
  } catch (err) {
    return { code: 1, stdout: '', stderr: err.message };
  }
}

const npmEnv = {
  ...process.env,
  npm_config_fund: 'false',
  npm_config_audit: 'false',
  npm_config_update_notifier: 'false',
  npm_config_loglevel: 'error',
  npm_config_prefer_offline: 'true',
};
// Whatever pnpm set for the script running us must not leak into the user's npm.
for (const key of Object.keys(npmEnv))
  if (/^npm_(package|lifecycle|config_user_agent)/.test(key)) delete npmEnv[key];

function npm(cwd, argv, timeout = 600_000) {
  return run('npm', argv, { cwd, env: npmEnv, timeout });
}

/** Packages and MB under node_modules, as a user's disk sees them. */
function footprint(app) {
  const dirs = new Set();
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue;
      const path = join(dir, name);
      if (name.startsWith('@')) walk(path);
      else if (existsSync(join(path, 'package.json'))) {
        dirs.add(path);
        if (existsSync(join(path, 'node_modules'))) walk(join(path, 'node_modules'));
      }
    }
  };
  walk(join(app, 'node_modules'));
  const mb = Number(run('du', ['-sk', join(app, 'node_modules')]).split('\t')[0]) / 1024;
  const names = [...dirs].map((d) => JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')).name);
  return { packages: dirs.size, mb: mb.toFixed(1), names };
}

function newApp(name) {
  const app = join(work, name);
  mkdirSync(app, { recursive: true });
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name, private: true, version: '1.0.0' }, null, 2)}\n`,
  );
  return app;
}

/** A child we may have to stop; every one is stopped before we exit. */
const children = new Set();
function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Starts `etcdkit dev --json`, waits for its endpoints line, then stops it with SIGINT. */
async function devStartsAndStops(app, env) {
  const child = track(
    spawn(join(app, 'node_modules/.bin/etcdkit'), ['dev', '--json'], {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
  const info = await new Promise((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`etcdkit dev printed no endpoints in 60 s: ${err}`)),
      60_000,
    );
    child.stdout.on('data', (d) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        res(JSON.parse(line));
      }
    });
    exited.then(({ code }) => {
      clearTimeout(timer);
      rej(new Error(`etcdkit dev exited with ${code} before it was up: ${err}`));
    });
  });
  if (!info.endpoints?.length) fail(`etcdkit dev printed no endpoints: ${out}`);
  child.kill('SIGINT');
  const { code } = await exited;
  if (code !== 0) fail(`etcdkit dev exited with ${code} on SIGINT: ${err}`);
  return info.endpoints;
}

const SMOKE_ESM = `import { createRequire } from 'node:module';
import { mirror } from '@etcdkit/config-sync';
import { Etcd } from '@etcdkit/core';
import { Election } from '@etcdkit/election';
import { withLock } from '@etcdkit/lock';

const check = (cond, what) => { if (!cond) throw new Error('smoke: ' + what); };
const etcd = new Etcd({ endpoints: process.env.ETCD_ENDPOINTS.split(',') });
const p = 'pack-smoke-' + process.pid + '/';
try {
  await etcd.put(p + 'cfg/a', '1');
  const kv = await etcd.get(p + 'cfg/a');
  check(kv?.value.toString() === '1' && typeof kv.modRevision === 'bigint', 'get');
  const token = await withLock(etcd, p + 'lock', async ({ fencingToken }) => fencingToken);
  check(typeof token === 'bigint' && token > 0n, 'withLock');
  const session = await etcd.session({ ttl: 10 });
  const election = new Election(session, p + 'elect');
  await election.campaign('me');
  check((await election.leader())?.value.toString() === 'me', 'election');
  await election.resign();
  await session.close();
  const cfg = await mirror(etcd, p + 'cfg/');
  check(cfg.get('a') === '1', 'mirror');
  await cfg.close();
  const pkg = createRequire(import.meta.url)('@etcdkit/core/package.json');
  check(pkg.name === '@etcdkit/core', './package.json export');
  await etcd.delete({ prefix: p });
} finally {
  await etcd.close();
}
`;

const SMOKE_CJS = `'use strict';
const { Etcd } = require('@etcdkit/core');
const { withLock } = require('@etcdkit/lock');
const { mirror } = require('@etcdkit/config-sync');
const { Election } = require('@etcdkit/election');

async function main() {
  if (typeof mirror !== 'function' || typeof Election !== 'function') throw new Error('smoke: require exports');
  const etcd = new Etcd({ endpoints: process.env.ETCD_ENDPOINTS.split(',') });
  const p = 'pack-smoke-cjs-' + process.pid + '/';
  try {
    await etcd.put(p + 'a', 'x');
    const token = await withLock(etcd, p + 'lock', async ({ fencingToken }) => fencingToken);
    if (typeof token !== 'bigint') throw new Error('smoke: withLock');
    await etcd.delete({ prefix: p });
  } finally {
    await etcd.close();
  }
  console.log('cjs ok ' + process.version);
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
`;

// No top-level await: esbuild's default output for --platform=node is CommonJS.
const BUNDLE_ENTRY = `import { Etcd } from '@etcdkit/core';
import { withLock } from '@etcdkit/lock';

async function main() {
  const etcd = new Etcd({ endpoints: process.env.ETCD_ENDPOINTS.split(',') });
  try {
    const token = await withLock(etcd, 'pack-smoke-bundle-' + process.pid, async ({ fencingToken }) => fencingToken);
    console.log('bundle locked ' + token + ' ' + process.version);
  } finally {
    await etcd.close();
  }
}
main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
`;

const TYPES_TS = `import { mirror } from '@etcdkit/config-sync';
import { compare, Etcd, EtcdError, type KeyValue, op } from '@etcdkit/core';
import { Election } from '@etcdkit/election';
import { Mutex, withLock } from '@etcdkit/lock';
import { type EtcdServer, startEtcd } from '@etcdkit/testkit';

export async function typed(server: EtcdServer): Promise<bigint> {
  const etcd = new Etcd({ endpoints: server.endpoints });
  const kv: KeyValue | undefined = await etcd.get('k');
  const value: Buffer | undefined = kv?.value;
  const revision: bigint = (await etcd.put('k', new Uint8Array([1]))).revision;
  await etcd.txn().if(compare.version('k', '>', 0n)).then(op.put('k', 'v')).commit();
  const session = await etcd.session({ ttl: 5 });
  const mutex = new Mutex(session, 'm');
  const token: bigint = await withLock(etcd, 'n', async ({ fencingToken, signal }) => {
    signal.throwIfAborted();
    return fencingToken;
  });
  const election = new Election(session, 'e');
  const cfg = await mirror(etcd, 'cfg/');
  const snapshot: ReadonlyMap<string, string> = cfg.snapshot();
  void [value, mutex, election, snapshot, EtcdError, startEtcd];
  return revision + token;
}
`;

// A CommonJS TypeScript file: require() of the ESM packages (TypeScript >= 5.8 under nodenext).
const TYPES_CTS = `import core = require('@etcdkit/core');
import lock = require('@etcdkit/lock');

export async function typed(etcd: core.Etcd): Promise<bigint> {
  return lock.withLock(etcd, 'n', async ({ fencingToken }) => fencingToken);
}
`;

function tsconfig(files, compilerOptions) {
  return `${JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        ...compilerOptions,
      },
      files,
    },
    null,
    2,
  )}\n`;
}

async function main() {
  step(`working in ${work}`);
  run('pnpm', ['exec', 'tsc', '-b'], { cwd: root });
  const git = existsSync(join(root, '.git'));
  const treeBefore = git ? run('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: root }) : '';

  // 1. Pack.
  const tarballDir = join(work, 'tarballs');
  mkdirSync(tarballDir);
  const packages = [];
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    const manifestFile = join(root, 'packages', dir, 'package.json');
    if (!existsSync(manifestFile)) continue;
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    if (manifest.private) continue;
    run('pnpm', ['pack', '--pack-destination', tarballDir], { cwd: join(root, 'packages', dir) });
    const tarball = join(
      tarballDir,
      `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`,
    );
    if (!existsSync(tarball)) fail(`pnpm pack of packages/${dir} did not write ${tarball}`);
    packages.push({ dir, name: manifest.name, manifest, tarball });
  }
  step(
    `packed ${packages.map((p) => `${p.name} (${(statSync(p.tarball).size / 1024).toFixed(0)} kB)`).join(', ')}`,
  );
  if (git) {
    const treeAfter = run('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: root });
    if (treeAfter !== treeBefore) fail(`pnpm pack changed the work tree:\n${treeAfter}`);
    ok('pnpm pack of every package leaves the work tree as it was');
  }

  // 2. What is in each tarball.
  const binOf = (pkg, bin) => join(root, 'node_modules', pkg, bin);
  for (const p of packages) {
    const into = join(work, 'extract', p.dir);
    mkdirSync(into, { recursive: true });
    run('tar', ['-xzf', p.tarball, '-C', into]);
    const pkgDir = join(into, 'package');
    const text = readFileSync(join(pkgDir, 'package.json'), 'utf8');
    if (text.includes('etcdkit-source'))
      fail(`${p.name}: the published manifest has the etcdkit-source condition`);
    if (text.includes('workspace:')) fail(`${p.name}: the published manifest has a workspace: version`);
    if (!existsSync(join(pkgDir, 'LICENSE'))) fail(`${p.name}: no LICENSE in the tarball`);
    let maps = 0;
    const walk = (dir) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (name.endsWith('.map')) {
          maps++;
          for (const source of JSON.parse(readFileSync(path, 'utf8')).sources)
            if (!existsSync(resolve(dirname(path), source)))
              fail(`${p.name}: ${relative(pkgDir, path)} points at ${source}, which is not in the tarball`);
        }
      }
    };
    walk(pkgDir);
    run(process.execPath, [binOf('publint', 'src/cli.js'), '--strict', pkgDir]);
    // Ignored on purpose: ESM-only packages are what CJS resolves to (require(esm) on Node >= 20.19);
    // node10 (TypeScript's pre-`exports` resolution) only finds the main entry, not subpaths.
    run(process.execPath, [
      binOf('@arethetypeswrong/cli', 'dist/index.js'),
      p.tarball,
      '--format',
      'table-flipped',
      '--ignore-rules',
      'cjs-resolves-to-esm',
      '--profile',
      'node16',
    ]);
    ok(`${p.name}: LICENSE, no dev-only condition, ${maps} source maps all resolve, publint --strict, attw`);
  }

  // 3. A real etcd, from the workspace's own testkit build.
  const { startEtcd } = await import(join(root, 'packages/testkit/dist/index.js'));
  const server = await startEtcd({ useEnv: false, name: 'pack-smoke' });
  const endpoints = server.endpoints.join(',');
  const env = { ...npmEnv, ETCD_ENDPOINTS: endpoints };
  try {
    await smoke(packages, env);
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await server.close();
  }
}

async function smoke(packages, env) {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const tarball = (name) => byName.get(name).tarball;
  // The CLI with the workspace packages it depends on (the registry does not have them yet).
  const cliSet = new Set();
  const addWithDeps = (name) => {
    if (cliSet.has(name) || !byName.has(name)) return;
    cliSet.add(name);
    for (const dep of Object.keys(byName.get(name).manifest.dependencies ?? {})) addWithDeps(dep);
  };
  addWithDeps('@etcdkit/cli');
  const rest = packages.map((p) => p.name).filter((name) => !cliSet.has(name));

  // 4. The CLI alone: what a user installs, and `etcdkit dev` without testkit.
  const app = newApp('app');
  npm(app, ['install', ...[...cliSet].map(tarball)]);
  const cliOnly = footprint(app);
  for (const heavy of ['@etcdkit/testkit', 'testcontainers', 'ssh2', 'cpu-features'])
    if (cliOnly.names.includes(heavy)) fail(`installing the CLI pulled ${heavy}`);
  ok(`the CLI installs ${cliOnly.packages} packages, ${cliOnly.mb} MB (no testkit, testcontainers, ssh2)`);
  const help = run('npx', ['--no-install', 'etcdkit', '--help'], { cwd: app, env });
  if (!help.includes('Usage: etcdkit')) fail(`etcdkit --help printed:\n${help}`);
  ok('npx etcdkit --help');
  const uiHelp = run('npx', ['--no-install', 'etcdkit', 'ui', '--help'], { cwd: app, env });
  if (!uiHelp.includes('Usage: etcdkit ui')) fail(`etcdkit ui --help printed:\n${uiHelp}`);
  const pageDir = join(app, 'node_modules/@etcdkit/cli/dist/page');
  for (const file of ['app.js', 'model.js', 'views.js', 'config-view.js', 'state.js', 'diff.js'])
    if (!existsSync(join(pageDir, file))) fail(`the CLI package lacks the ui page's dist/page/${file}`);
  ok('etcdkit ui --help, and the page ships in dist/page');
  const status = run('npx', ['--no-install', 'etcdkit', 'status', '--json'], { cwd: app, env });
  if (!status.includes('127.0.0.1')) fail(`etcdkit status printed:\n${status}`);
  ok('etcdkit status against the real etcd');
  const noDev = attempt(join(app, 'node_modules/.bin/etcdkit'), ['dev'], { cwd: app, env });
  if (noDev.code === 0 || !/needs @etcdkit\/testkit.*npm install @etcdkit\/testkit/.test(noDev.stderr))
    fail(`etcdkit dev without testkit should say how to install it, said:\n${noDev.stderr}`);
  ok('etcdkit dev without testkit says how to install it');

  // 5. Every other package (testkit among them) beside the CLI: `etcdkit dev` works, and all
  // packages are there for the checks below.
  npm(app, ['install', ...rest.map(tarball), '@types/node@^20.19.0']);
  const withTestkit = footprint(app);
  ok(
    `with ${rest.join(', ')} and @types/node beside it: ${withTestkit.packages} packages, ${withTestkit.mb} MB`,
  );
  await devStartsAndStops(app, env);
  ok('etcdkit dev starts etcd once testkit is installed, and stops on SIGINT');

  // 6. ESM, require(esm), types, a bundle.
  // Every package's main entry is loaded (and type-checked) too, new packages included.
  const all = JSON.stringify(packages.map((p) => p.name));
  writeFileSync(
    join(app, 'smoke.mjs'),
    `${SMOKE_ESM}for (const name of ${all}) await import(name);\nconsole.log('esm ok ' + process.version);\n`,
  );
  writeFileSync(join(app, 'smoke.cjs'), `for (const name of ${all}) require(name);\n${SMOKE_CJS}`);
  writeFileSync(join(app, 'bundle-entry.mjs'), BUNDLE_ENTRY);
  // The app's package.json has no "type": .mts is an ES module and .cts CommonJS under nodenext.
  const typesTs = `${TYPES_TS}${packages.map((p, i) => `export type * as entry${i} from '${p.name}';\n`).join('')}`;
  writeFileSync(join(app, 'types.mts'), typesTs);
  writeFileSync(join(app, 'types.ts'), typesTs);
  writeFileSync(join(app, 'types-cjs.cts'), TYPES_CTS);
  writeFileSync(
    join(app, 'tsconfig.nodenext.json'),
    tsconfig(['types.mts', 'types-cjs.cts'], { module: 'nodenext', moduleResolution: 'nodenext' }),
  );
  writeFileSync(
    join(app, 'tsconfig.bundler.json'),
    tsconfig(['types.ts'], { module: 'esnext', moduleResolution: 'bundler' }),
  );
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  run(process.execPath, [tsc, '-p', 'tsconfig.nodenext.json'], { cwd: app });
  ok('tsc --noEmit under module nodenext: an ES module (.mts) and a require() of the packages (.cts)');
  run(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], { cwd: app });
  ok('tsc --noEmit under moduleResolution bundler');
  const esbuild = createRequire(join(root, 'package.json'))('esbuild');
  const bundleDir = join(work, 'bundle-only');
  mkdirSync(bundleDir);
  const bundle = join(bundleDir, 'bundle.cjs');
  await esbuild.build({
    entryPoints: [join(app, 'bundle-entry.mjs')],
    bundle: true,
    platform: 'node',
    outfile: bundle,
    logLevel: 'error',
  });
  ok(
    `esbuild --bundle --platform=node (${(statSync(bundle).size / 1024).toFixed(0)} kB, no files beside it)`,
  );

  const runtimes = [{ label: `Node ${process.version} (this machine)`, node: process.execPath }];
  for (const major of args.nodes
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const node = installNode(major);
    if (node)
      runtimes.push({ label: `Node ${run(node, ['--version']).trim()} (npm package node@${major})`, node });
  }
  for (const { label, node } of runtimes) {
    const path = `${dirname(node)}${delimiter}${env.PATH}`;
    const renv = { ...env, PATH: path };
    const esm = run(node, ['smoke.mjs'], { cwd: app, env: renv });
    if (!esm.startsWith('esm ok')) fail(`smoke.mjs printed ${esm}`);
    const cjs = run(node, ['smoke.cjs'], { cwd: app, env: renv });
    if (!cjs.startsWith('cjs ok')) fail(`smoke.cjs printed ${cjs}`);
    const bundled = run(node, [bundle], { cwd: bundleDir, env: renv });
    if (!bundled.startsWith('bundle locked')) fail(`the bundle printed ${bundled}`);
    const cliHelp = run(node, [join(app, 'node_modules/@etcdkit/cli/dist/bin.js'), '--help'], {
      cwd: app,
      env: renv,
    });
    if (!cliHelp.includes('Usage: etcdkit')) fail(`etcdkit --help on ${label} printed ${cliHelp}`);
    ok(`${label}: ESM import, require() of the ESM build, the bundle takes a lock, etcdkit --help`);
  }
}

/** The binary of the registry's `node` package for one major version, or undefined with a note. */
function installNode(major) {
  const prefix = join(work, `node${major}`);
  mkdirSync(prefix);
  writeFileSync(join(prefix, 'package.json'), '{"private":true}\n');
  try {
    npm(prefix, ['install', '--no-save', `node@${major}`], 600_000);
    const bin = join(prefix, 'node_modules/node/bin/node');
    run(bin, ['--version']);
    return bin;
  } catch (err) {
    console.log(
      `  note: Node ${major} skipped, node@${major} could not be installed from the registry: ${err.message.split('\n')[0]}`,
    );
    return undefined;
  }
}

try {
  await main();
  console.log(`pack smoke: ok, ${checks} checks in ${((Date.now() - started) / 1000).toFixed(0)} s`);
} catch (err) {
  console.error(`pack smoke: FAILED: ${err.message}`);
  process.exitCode = 1;
} finally {
  if (args.keep) console.log(`pack smoke: kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
