#!/usr/bin/env node
// The API reference: TypeDoc over every public entry of every published package, found in the
// manifests (each `exports` entry with the `etcdkit-source` condition, except `./internal`, which
// users are told not to import). A new package or entry is picked up without editing anything.
// Every exported symbol and every public member must have a doc comment: a missing one, like any
// other TypeDoc warning, fails the run.
//   node scripts/docs.mjs           write the site into docs/api/ (git-ignored; CI builds it)
//   node scripts/docs.mjs --check   only the checks, no output (run by lint)
// Other options (typedoc.json) stay in typedoc.json.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_CONDITION = 'etcdkit-source';
const NOT_PUBLIC = new Set(['./internal']);

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--check');
if (unknown.length) {
  console.error(`docs: unknown argument ${unknown[0]}; usage: node scripts/docs.mjs [--check]`);
  process.exit(2);
}
const check = args.includes('--check');

const entryPoints = [];
const packages = [];
for (const dir of readdirSync(join(root, 'packages')).sort()) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'));
  } catch {
    continue; // not a package
  }
  if (manifest.private) continue;
  packages.push(manifest.name);
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    const source = typeof target === 'object' && target !== null ? target[SOURCE_CONDITION] : undefined;
    if (NOT_PUBLIC.has(subpath) || typeof source !== 'string') continue;
    entryPoints.push(relative(root, join(root, 'packages', dir, source)));
  }
}
// The order of the site's navigation: the kernel, its users, then the tools; others after them.
const ORDER = ['core', 'lock', 'election', 'config-sync', 'recipes', 'discovery', 'otel', 'testkit', 'cli'];
const rank = (path) => {
  const i = ORDER.indexOf(path.split('/')[1]);
  return i < 0 ? ORDER.length : i;
};
entryPoints.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

const bin = join(dirname(createRequire(import.meta.url).resolve('typedoc/package.json')), 'bin', 'typedoc');
const typedocArgs = ['--options', join(root, 'typedoc.json')];
for (const e of entryPoints) typedocArgs.push('--entryPoints', e);
for (const p of packages) typedocArgs.push('--packagesRequiringDocumentation', p);
if (check) typedocArgs.push('--emit', 'none');

const started = performance.now();
const run = spawnSync(process.execPath, [bin, ...typedocArgs], { cwd: root, stdio: 'inherit' });
if (run.error) throw run.error;
if (run.status !== 0) {
  console.error(
    'docs: the API reference has warnings (above). An export without a doc comment needs one: ' +
      'what it does, returns and throws.',
  );
  process.exit(run.status ?? 1);
}
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `docs: ${entryPoints.length} entry points of ${packages.length} packages ${check ? 'checked' : 'built into docs/api/'} in ${seconds} s`,
);
