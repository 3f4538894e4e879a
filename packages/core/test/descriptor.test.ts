import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fromJSON, loadSync } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import { descriptor } from '../src/internal/descriptor.js';
import { loaderOptions, method } from '../src/internal/proto.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

// The schema core uses is generated from proto/; these tests keep the two the same.
describe('compiled wire schema', () => {
  it('is not stale: regenerating it from proto/ gives the committed module', () => {
    const run = spawnSync(process.execPath, ['scripts/gen-descriptor.mjs', '--check'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('defines the same services, messages and encodings as loading proto/ with the same options', () => {
    const fromProto = loadSync('rpc.proto', { ...loaderOptions, includeDirs: [`${root}proto`] });
    const compiled = fromJSON(descriptor, loaderOptions);
    expect(Object.keys(compiled).sort()).toEqual(Object.keys(fromProto).sort());
    expect(Object.keys(compiled).length).toBeGreaterThan(50);
    for (const [name, def] of Object.entries(fromProto)) {
      const other = compiled[name]!;
      if ('format' in def && 'format' in other) {
        // A message or enum: its whole descriptor (names, numbers, types, packing) matches.
        const files = (d: object) =>
          Buffer.concat((d as { fileDescriptorProtos: Buffer[] }).fileDescriptorProtos);
        expect(files(other), name).toEqual(files(def));
      } else {
        const a = def as Record<string, { path: string; requestStream: boolean; responseStream: boolean }>;
        const b = other as typeof a;
        expect(Object.keys(b), name).toEqual(Object.keys(a));
        for (const [m, d] of Object.entries(a))
          expect({ path: b[m]!.path, rs: b[m]!.requestStream, ss: b[m]!.responseStream }).toEqual({
            path: d.path,
            rs: d.requestStream,
            ss: d.responseStream,
          });
      }
    }
  });

  it('encodes and decodes like the .proto loader: camelCase fields, int64 as strings, enums as names, packed repeats', () => {
    const fromProto = loadSync('rpc.proto', { ...loaderOptions, includeDirs: [`${root}proto`] });
    const expected = (fromProto['etcdserverpb.Watch'] as Record<string, ReturnType<typeof method>>).Watch!;
    const watch = method('Watch', 'Watch');
    expect(watch.path).toBe('/etcdserverpb.Watch/Watch');
    const req = {
      createRequest: {
        key: Buffer.from('k'),
        startRevision: '9223372036854775807',
        filters: ['NOPUT', 'NODELETE'],
        prevKv: true,
      },
    };
    const bytes = watch.requestSerialize(req);
    expect(bytes).toEqual(expected.requestSerialize(req));
    const put = method('KV', 'Put');
    const reply = put.responseSerialize({ header: { revision: '9223372036854775807' }, prevKv: null });
    const decoded = put.responseDeserialize(reply);
    expect(decoded.header.revision).toBe('9223372036854775807');
    expect(decoded.header.clusterId).toBe('0'); // defaults: true fills absent int64 fields
    expect(() => method('KV', 'Nope')).toThrow(/unknown rpc etcdserverpb.KV\/Nope/);
  });
});
