import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('../dist/demo/main.js', import.meta.url));

describe('the demo', () => {
  it('runs end to end on its own etcd cluster and reports every invariant held', async () => {
    const child = spawn(process.execPath, [main], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) console.log(out);
    expect(code).toBe(0);
    expect(out).toMatch(/counter correct \(no torn or lost update\)\s+yes/);
    expect(out).toMatch(/scheduler ticks only by the elected leader\s+yes/);
    expect(out).toMatch(/All invariants held\./);
  }, 120_000);
});
