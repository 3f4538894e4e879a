/// <reference lib="dom" />
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EtcdFixture, SpawnedProcess } from '@etcdkit/testkit/vitest';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { ensureBuilt, flags, spawnCli } from './run-cli.js';

/** Debian's chromium package; the browser tests never download a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}

export interface RunningUi {
  url: string;
  proc: SpawnedProcess;
  stop(): Promise<void>;
}

/** `etcdkit ui --port 0 --json ...`, once it prints its address. */
export async function startUi(
  global: readonly string[],
  options: readonly string[] = [],
): Promise<RunningUi> {
  const proc = spawnCli([...global, 'ui', '--port', '0', '--json', '--refresh', '500ms', ...options]);
  const line = await proc.waitForLine(/^\{"url"/, { timeoutMs: 30_000 });
  const url = (JSON.parse(line) as { url: string }).url;
  return {
    url,
    proc,
    async stop() {
      const r = await proc.kill('SIGINT');
      if (r.code !== 0 && r.code !== null) throw new Error(`etcdkit ui exited with ${r.code}: ${r.stderr}`);
    },
  };
}

/**
 * One browser and one `etcdkit ui` on the fixture's etcd, started before a test file's tests and
 * stopped after them (read `browser` and `ui` inside tests).
 */
export function useBrowserAndUi(t: EtcdFixture): { browser: Browser; ui: RunningUi } {
  const fx = {} as { browser: Browser; ui: RunningUi };
  beforeAll(async () => {
    await ensureBuilt();
    fx.browser = await launchBrowser();
    fx.ui = await startUi(flags(t));
  }, 180_000);
  afterAll(async () => {
    await fx.browser?.close();
    await fx.ui?.stop();
  });
  return fx;
}

/** A page of the inspector that reports its errors; opened on `view`. */
export async function openPage(browser: Browser, url: string, view: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  ERRORS.set(page, errors);
  await page.goto(`${url}#${view}`);
  return page;
}

const ERRORS = new WeakMap<Page, string[]>();

/** The uncaught errors of a page opened with openPage(). */
export function pageErrors(page: Page): string[] {
  return ERRORS.get(page) ?? [];
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  // Down to the end of the content: the views are short, the rest would be blank.
  const bottom = await page.evaluate(() => {
    const main = document.querySelector('main');
    return main ? main.getBoundingClientRect().bottom : 720;
  });
  const size = page.viewportSize() ?? { width: 1280, height: 720 };
  await page.screenshot({
    path: `${ARTIFACTS}${name}.png`,
    clip: {
      x: 0,
      y: 0,
      width: size.width,
      height: Math.min(size.height, Math.max(200, Math.ceil(bottom) + 12)),
    },
  });
}

/** Wait for `fn(arg)` to hold in the page (checked at every frame and DOM change); resolves with the ms it took. */
export async function untilPage<A>(
  page: Page,
  fn: (arg: A) => boolean,
  arg: A,
  what: string,
  timeoutMs = 20_000,
): Promise<number> {
  const t0 = performance.now();
  try {
    await page.waitForFunction(fn as (a: unknown) => boolean, arg as unknown, {
      timeout: timeoutMs,
      polling: 'raf',
    });
  } catch (err) {
    throw new Error(`the page never showed ${what}: ${(err as Error).message.split('\n')[0]}`);
  }
  return performance.now() - t0;
}
