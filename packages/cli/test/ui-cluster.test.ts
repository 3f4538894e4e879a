/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The functions given to untilPage() run in the browser.
import { useCluster } from '@etcdkit/testkit/vitest';
import { describe, expect, it } from 'vitest';
import { openPage, pageErrors, screenshot, untilPage, useBrowserAndUi } from './ui-browser.js';

const t = useCluster({ members: 3 });
const at = useBrowserAndUi(t);

/** Each endpoint's state in the Cluster view (healthy, unhealthy, down) and the endpoint shown as leader. */
function clusterShows(arg: { states: Record<string, string>; leaderNot?: string }): boolean {
  const rows = [...document.querySelectorAll<HTMLElement>('tr[data-endpoint]')];
  if (rows.length !== Object.keys(arg.states).length) return false;
  for (const r of rows) if (arg.states[r.dataset.endpoint!] !== r.dataset.state) return false;
  const leaders = rows.filter((r) => r.textContent?.includes('leader'));
  if (leaders.length !== 1) return false;
  return arg.leaderNot === undefined || leaders[0]!.dataset.endpoint !== arg.leaderNot;
}

describe('etcdkit ui: the Cluster view', () => {
  it('shows every member healthy, then a killed leader down and the new leader', async () => {
    const page = await openPage(at.browser, at.ui.url, 'cluster');
    try {
      const all = Object.fromEntries(t.cluster.endpoints.map((e) => [e, 'healthy']));
      await untilPage(page, clusterShows, { states: all }, 'three healthy members and one leader');
      expect(await page.locator('[data-cluster-health="healthy"]').count()).toBe(1);

      const leader = (await t.cluster.leader())!;
      const t0 = performance.now();
      await leader.kill();
      await t.cluster.waitForLeader();
      await untilPage(
        page,
        clusterShows,
        { states: { ...all, [leader.endpoint]: 'down' }, leaderNot: leader.endpoint },
        `${leader.endpoint} down and another member leading`,
        30_000,
      );
      console.log(`ui: member kill shown ${(performance.now() - t0).toFixed(0)} ms after the kill`);
      expect(await page.locator('[data-cluster-health="unhealthy"]').textContent()).toContain(
        `${leader.endpoint} is down`,
      );
      await screenshot(page, 'cluster');

      await leader.restart();
      await untilPage(page, clusterShows, { states: all }, 'the member back and healthy', 30_000);
      expect(pageErrors(page)).toEqual([]);
    } finally {
      await page.close();
    }
  });
});
