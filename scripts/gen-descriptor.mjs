#!/usr/bin/env node
// Builds packages/core/src/internal/descriptor.ts from proto/*.proto (the source of truth).
// The module holds the parsed schema as protobufjs JSON, so @etcdkit/core neither looks up nor
// parses .proto files when it starts, and bundlers see a plain import.
//   node scripts/gen-descriptor.mjs           rewrite the module
//   node scripts/gen-descriptor.mjs --check   exit 1 if the committed module is stale
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const protoDir = join(root, 'proto');
const target = join(root, 'packages/core/src/internal/descriptor.ts');

// The protobufjs that @grpc/proto-loader itself uses, so the JSON matches what fromJSON reads.
const fromCore = createRequire(join(root, 'packages/core/package.json'));
const fromLoader = createRequire(fromCore.resolve('@grpc/proto-loader'));
const protobuf = fromLoader('protobufjs');

export function render() {
  const schema = new protobuf.Root();
  schema.resolvePath = (_origin, target) => join(protoDir, target);
  // keepCase: false must match the loader options of core's proto.ts: protobufjs applies the
  // camel-casing of field names while parsing, so it is baked into the JSON.
  schema.loadSync('rpc.proto', { keepCase: false });
  schema.resolveAll();
  const json = JSON.stringify(schema.toJSON(), null, 2)
    .replaceAll('\\', '\\\\')
    .replaceAll('`', '\\`')
    .replaceAll('${', '\\${');
  return `// Generated from proto/*.proto by scripts/gen-descriptor.mjs: do not edit.
// Rebuild with \`pnpm run gen:descriptor\`; a core test fails while this file is stale.
import type { fromJSON } from '@grpc/proto-loader';

/** The etcd v3 wire schema as protobufjs JSON (field names already camel-cased). */
export const descriptor: Parameters<typeof fromJSON>[0] = JSON.parse(\`${json}\`);
`;
}

const check = process.argv.includes('--check');
const next = render();
let current = '';
try {
  current = readFileSync(target, 'utf8');
} catch {}
if (check) {
  if (current !== next) {
    console.error(
      'packages/core/src/internal/descriptor.ts is stale: run `pnpm run gen:descriptor` and commit it',
    );
    process.exit(1);
  }
} else if (current !== next) {
  writeFileSync(target, next);
  console.log('wrote packages/core/src/internal/descriptor.ts');
}
