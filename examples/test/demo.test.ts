import { fileURLToPath } from 'node:url';
import { spawnProcess } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/demo/main.js', import.meta.url));

describe('the demo', () => {
  it('runs end to end on its own etcd cluster and reports every invariant held', async () => {
    const demo = spawnProcess(process.execPath, [main], { name: 'the demo' });
    demo.child.stdin!.end();
    const { code, stdout, stderr } = await demo.exited;
    const out = stdout + stderr;
    if (code !== 0) console.log(out);
    expect(code).toBe(0);
    expect(out).toMatch(/counter correct \(no torn or lost update\)\s+yes/);
    expect(out).toMatch(/scheduler ticks only by the elected leader\s+yes/);
    expect(out).toMatch(/leader discovered the workers \(and the crash, and w4\)\s+yes/);
    expect(out).toMatch(/All invariants held\./);
  }, 120_000);
});
