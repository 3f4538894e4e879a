// Live configuration in React: a typed mirror of an etcd prefix (config-sync, validated with
// zod), read by components through a useSyncExternalStore hook, so that a render sees one
// consistent snapshot and re-renders when etcd changes.
//
//   ETCD_ENDPOINTS=127.0.0.1:2379 node examples/dist/config-react.js
//
// Rendered on the server here (react-dom/server); in a long-lived server or a client whose
// snapshots come from one, the same hook re-renders on every new snapshot.
import { type ConfigSnapshot, decoders, type Mirror, mirror } from '@etcdkit/config-sync';
import { Etcd } from '@etcdkit/core';
import { useSyncExternalStore } from 'react';
import { renderToString } from 'react-dom/server';
import { z } from 'zod';

const Flag = z.object({ enabled: z.boolean(), rollout: z.number().int().min(0).max(100) });
type Flag = z.infer<typeof Flag>;

/** The mirror's current snapshot; the component re-renders on each new one. */
export function useConfig<T>(cfg: Mirror<T>): ConfigSnapshot<T> {
  return useSyncExternalStore(
    (onChange) => {
      const subscription = cfg.subscribe(() => onChange());
      return () => subscription.unsubscribe();
    },
    () => cfg.snapshot(), // the same object until the content changes, as React requires
    () => cfg.snapshot(), // on the server
  );
}

function FeatureFlags({ cfg }: { cfg: Mirror<Flag> }) {
  const flags = useConfig(cfg);
  return (
    <ul data-revision={String(flags.revision)}>
      {[...flags].map(([name, flag]) => (
        <li key={name}>
          {name}: {flag.enabled ? `on for ${flag.rollout}%` : 'off'}
        </li>
      ))}
    </ul>
  );
}

const prefix = '/examples/flags/';
await using etcd = new Etcd();
await etcd.put(`${prefix}new-checkout`, JSON.stringify({ enabled: true, rollout: 25 }));
await etcd.put(`${prefix}dark-mode`, JSON.stringify({ enabled: false, rollout: 0 }));

await using cfg = await mirror(etcd, prefix, { decode: decoders.json, schema: Flag });
cfg.on('invalid', ({ key, reason }) => console.log(`rejected ${key}: ${reason}`));
console.log(renderToString(<FeatureFlags cfg={cfg} />));

// A change in etcd is in the next render.
const changes = cfg.changes();
await etcd.put(`${prefix}dark-mode`, JSON.stringify({ enabled: true, rollout: 100 }));
await changes.next();
console.log(renderToString(<FeatureFlags cfg={cfg} />));

// A value the schema refuses is reported and left out; the last good one stays.
const rejected = new Promise((resolve) => cfg.once('invalid', resolve));
await etcd.put(`${prefix}new-checkout`, JSON.stringify({ enabled: 'yes', rollout: 25 }));
await rejected;
console.log(renderToString(<FeatureFlags cfg={cfg} />));
await changes.return?.();
