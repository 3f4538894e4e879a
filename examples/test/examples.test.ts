import { fileURLToPath } from 'node:url';
import { type ChildResult, spawnProcess, useEtcd } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';

// Each example runs as a user would run it: the built script, against a real etcd named by
// ETCD_ENDPOINTS.
const t = useEtcd({ useEnv: false });

async function runExample(name: string): Promise<ChildResult> {
  const file = fileURLToPath(new URL(`../dist/${name}.js`, import.meta.url));
  const p = spawnProcess(process.execPath, [file], {
    env: { ETCD_ENDPOINTS: t.endpoints.join(',') },
    name: `the ${name} example`,
  });
  p.child.stdin!.end();
  const r = await p.exited;
  if (r.code !== 0) console.log(r.stdout + r.stderr);
  return r;
}

const lines = (r: ChildResult) => r.stdout.trim().split('\n');

describe('examples', () => {
  it('watch-prefix: the current content, then each change with its previous value', async () => {
    await t.etcd.put('/examples/watch/size', 'L');
    const r = await runExample('watch-prefix');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const out = lines(r);
    expect(out[0]).toBe('now /examples/watch/size = L');
    expect(out.slice(1).map((l) => l.replace(/revision \d+/, 'revision N'))).toEqual([
      'put /examples/watch/color = red (was nothing, revision N)',
      'put /examples/watch/color = blue (was red, revision N)',
      'delete /examples/watch/color (was blue, revision N)',
    ]);
  });

  it('rwmutex-semaphore: readers share, a writer excludes, at most N semaphore holders', async () => {
    const r = await runExample('rwmutex-semaphore');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const out = lines(r);
    expect(out.slice(0, 2)).toEqual([
      'readers holding /examples/catalog together: 2',
      'writer gets in while they read: false',
    ]);
    expect(out[2]).toMatch(/^writer alone, fencing token \d+$/);
    expect(out[3]).toBe('reader gets in while it writes: false');
    expect(out.filter((l) => /^worker \d done$/.test(l)).sort()).toEqual(
      [1, 2, 3, 4, 5].map((i) => `worker ${i} done`),
    );
    expect(out.at(-1)).toMatch(/^at most 2 at once: true \(most seen: [12]\)$/);
    // Every lock key is gone: the sessions were closed.
    for (const prefix of ['/examples/catalog/', '/examples/downloads/'])
      expect((await t.etcd.range({ prefix, countOnly: true })).count, prefix).toBe(0);
  });

  it('config-react: server-rendered flags, a change re-rendered, an invalid value refused', async () => {
    const r = await runExample('config-react');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const text = (html: string) => html.replace(/<!-- -->/g, '').replace(/ data-revision="\d+"/, '');
    const out = lines(r);
    expect(out.map(text)).toEqual([
      '<ul><li>dark-mode: off</li><li>new-checkout: on for 25%</li></ul>',
      '<ul><li>dark-mode: on for 100%</li><li>new-checkout: on for 25%</li></ul>',
      expect.stringMatching(/^rejected new-checkout: failed validation: enabled: .*boolean/),
      '<ul><li>dark-mode: on for 100%</li><li>new-checkout: on for 25%</li></ul>',
    ]);
    const value = await t.etcd.get('/examples/flags/new-checkout');
    expect(JSON.parse(value!.value.toString())).toEqual({ enabled: 'yes', rollout: 25 });
  });
});
