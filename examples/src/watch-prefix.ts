// Watch a key prefix: print what is under /examples/watch/, then every change as it happens.
//
//   ETCD_ENDPOINTS=127.0.0.1:2379 node examples/dist/watch-prefix.js
//
// To have something to show, it makes three changes itself and stops after them; a real
// watcher runs until its signal aborts (here: Ctrl-C).
import { AbortError, Etcd } from '@etcdkit/core';

const prefix = '/examples/watch/';
await using etcd = new Etcd(); // endpoints: ETCD_ENDPOINTS, else 127.0.0.1:2379

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());

// What is there now, read at one revision; the watch starts just after it, so no change is
// missed or seen twice between the read and the watch.
const { kvs, revision } = await etcd.range({ prefix });
for (const kv of kvs) console.log(`now ${kv.key} = ${kv.value}`);
const watch = etcd.watch({ prefix, startRevision: revision + 1n, prevKv: true, signal: stop.signal });

// Another part of the system changes the keys.
const writer = (async () => {
  await etcd.put(`${prefix}color`, 'red');
  await etcd.put(`${prefix}color`, 'blue');
  await etcd.delete(`${prefix}color`);
})();

let seen = 0;
try {
  for await (const { type, kv, prevKv } of watch) {
    const was = prevKv ? `${prevKv.value}` : 'nothing';
    if (type === 'put') console.log(`put ${kv.key} = ${kv.value} (was ${was}, revision ${kv.modRevision})`);
    else console.log(`delete ${kv.key} (was ${was}, revision ${kv.modRevision})`);
    if (++seen === 3) break; // leaving the loop closes the watch
  }
} catch (err) {
  if (!(err instanceof AbortError)) throw err; // Ctrl-C: a normal end
}
await writer;
