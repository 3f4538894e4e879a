#!/usr/bin/env node
// Runs the public-contract tests and the examples on other Node versions: the `node` binaries of
// the npm registry's `node` package (node@22, node@24), installed into a temporary directory.
// The suite itself runs on the machine's Node; this is the quick check that the same code works
// on the others, against real etcd servers as always.
//   node scripts/other-nodes.mjs [--nodes 22,24]
// A version the registry cannot provide is reported and skipped; a failing test fails the run.
// ETCDKIT_OTHER_NODES sets the default list ('' skips them all).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: { nodes: { type: 'string', default: process.env.ETCDKIT_OTHER_NODES ?? '22,24' } },
});
const TESTS = [
  'examples/test/contract.test.ts',
  'examples/test/contract-stm-recipes.test.ts',
  'examples/test/examples.test.ts',
];
const work = mkdtempSync(join(tmpdir(), 'etcdkit-nodes-'));
let failed = false;

/** The binary of the registry's `node` package for one major version, or undefined with the reason. */
function installNode(major) {
  const prefix = join(work, `node${major}`);
  mkdirSync(prefix);
  writeFileSync(join(prefix, 'package.json'), '{"private":true}\n');
  try {
    execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', `node@${major}`], {
      cwd: prefix,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
    const bin = join(prefix, 'node_modules/node/bin/node');
    execFileSync(bin, ['--version'], { stdio: 'pipe' });
    return { bin };
  } catch (err) {
    const out = `${err.stderr ?? ''}${err.stdout ?? ''}`.trim().split('\n').slice(-3).join(' / ');
    return { reason: out || err.message };
  }
}

try {
  for (const major of args.nodes
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const node = installNode(major);
    if (!node.bin) {
      console.log(
        `other nodes: Node ${major} skipped: node@${major} could not be installed (${node.reason})`,
      );
      continue;
    }
    const version = execFileSync(node.bin, ['--version'], { encoding: 'utf8' }).trim();
    console.log(`other nodes: Node ${version} (npm package node@${major}): ${TESTS.join(' ')}`);
    // The tests spawn examples with process.execPath, so they run on this Node too.
    const r = spawnSync(
      node.bin,
      [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=dot', ...TESTS],
      {
        cwd: root,
        stdio: 'inherit',
        env: { ...process.env, PATH: `${dirname(node.bin)}:${process.env.PATH}` },
        timeout: 300_000,
      },
    );
    if (r.status !== 0) {
      failed = true;
      console.log(`other nodes: FAILED on Node ${version} (exit ${r.status ?? r.signal})`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (failed) process.exitCode = 1;
else console.log('other nodes: ok');
