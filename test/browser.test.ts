// The browser build in real headless Chromium: a Worker owns a pool on OPFS, the
// page and two more Workers attach to its shared memory. Exact counts, a page
// that never blocks, a pool only one tab can hold, and a pool that survives the
// browser being SIGKILLed mid-write.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebServer, startWebServer } from '../host/web/web-server.js';
import type { Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { tempDir } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** What web/console.html puts on `window.wasmPmem`. */
interface ConsoleApi {
  request(worker: Worker, message: Record<string, unknown>): Promise<Record<string, unknown>>;
  ownerWorker(): Worker;
  kvWorker(): Worker;
  AttachedPool: { attach(handle: unknown): Promise<{ tx<T>(fn: (tx: { root: number; getU64(at: number): bigint }) => T): Promise<T> }> };
}
type ConsoleWindow = Window & { wasmPmem: ConsoleApi; owner?: Worker };

/** Opens web/console.html in `page` and waits for its API. */
async function openConsole(page: Page): Promise<void> {
  await page.goto(server.url.replace('index.html', 'console.html'));
  await page.waitForFunction(() => 'wasmPmem' in window);
}

interface DemoResult {
  created: boolean;
  before: number;
  after: number;
  expected: number;
  busyCode: string;
  final: number;
  entries: number;
  error?: { message: string; code?: string };
}

let server: WebServer;
beforeAll(async () => {
  server = await startWebServer(ROOT);
});
afterAll(() => server?.close());

describe('the demo server', () => {
  it('serves web/, dist/ and build/ cross-origin isolated, and nothing else', async () => {
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const core = await fetch(new URL('/build/core.wasm', server.url));
    expect(core.headers.get('content-type')).toBe('application/wasm');
    for (const path of ['/package.json', '/web/../package.json', '/web/%2e%2e/package.json', '/test/helpers.ts', '/web/missing.js']) {
      expect((await fetch(new URL(path, server.url))).status, path).toBe(404);
    }
  });
});

describe('in Chromium', () => {
  it('a page and two Workers share a pool on OPFS without blocking the page, and a reload reopens it', async () => {
    const browser = await launchChromium(tempDir());
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      const visit = async () => {
        await page.goto(`${server.url}?pool=reload.pool&operations=1000`);
        return (await page.evaluate(() => (window as unknown as { demoResult: Promise<DemoResult> }).demoResult)) as DemoResult;
      };
      const first = await visit();
      expect(first.error).toBeUndefined();
      expect(first).toMatchObject({ created: true, before: 0, after: 2200, expected: 2200, busyCode: 'EAGAIN', final: 2201, entries: 2000 });
      const second = await visit();
      expect(second).toMatchObject({ created: false, before: 2201, after: 4401, final: 4402, entries: 4000 });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('a pool open in one tab cannot be opened in another until the first closes it', async () => {
    const browser = await launchChromium(tempDir());
    try {
      const open = (page: Page) =>
        page.evaluate(async () => {
          const { wasmPmem } = window as unknown as ConsoleWindow;
          const owner = wasmPmem.ownerWorker();
          try {
            await wasmPmem.request(owner, { type: 'open', name: 'shared.pool' });
            (window as unknown as ConsoleWindow).owner = owner;
            return 'opened';
          } catch (error) {
            owner.terminate();
            return (error as { code: string }).code;
          }
        });
      const firstTab = await browser.context.newPage();
      await openConsole(firstTab);
      expect(await open(firstTab)).toBe('opened');
      const secondTab = await browser.context.newPage();
      await openConsole(secondTab);
      expect(await open(secondTab)).toBe('EBUSY');
      await firstTab.evaluate(async () => {
        const { wasmPmem, owner } = window as unknown as ConsoleWindow;
        await wasmPmem.request(owner!, { type: 'close' });
      });
      expect(await open(secondTab)).toBe('opened');
    } finally {
      await browser.close();
    }
  });

  it('a pool on OPFS reopens valid, with every save, after Chromium is SIGKILLed while Workers write', async () => {
    const profile = tempDir();
    let browser = await launchChromium(profile);
    const page = await browser.context.newPage();
    await openConsole(page);
    // Saves after 2 x 500 operations, then keeps writing (background saves every second) until killed.
    const saved = await page.evaluate(async () => {
      const { request, ownerWorker, kvWorker, AttachedPool } = (window as unknown as ConsoleWindow).wasmPmem;
      const owner = ownerWorker();
      const { handle } = await request(owner, { type: 'open', name: 'kill.pool' });
      const workers = [kvWorker(), kvWorker()];
      for (const worker of workers) await request(worker, { type: 'attach', handle });
      await Promise.all(workers.map((worker, i) => request(worker, { type: 'work', prefix: `saved${i}`, operations: 500 })));
      await request(owner, { type: 'save' });
      const pool = await AttachedPool.attach(handle);
      const counter = await pool.tx((tx) => tx.getU64(tx.root));
      workers.forEach((worker, i) => request(worker, { type: 'work', prefix: `unsaved${i}`, operations: 10_000_000 }).catch(() => {}));
      return Number(counter);
    });
    expect(saved).toBe(1000);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await browser.kill();

    browser = await launchChromium(profile);
    try {
      const reopened = await browser.context.newPage();
      await reopened.goto(`${server.url}?pool=kill.pool&operations=100`);
      const result = (await reopened.evaluate(() => (window as unknown as { demoResult: Promise<DemoResult> }).demoResult)) as DemoResult;
      expect(result.error).toBeUndefined();
      expect(result.created).toBe(false);
      expect(result.before).toBeGreaterThanOrEqual(saved);
      expect(result.after).toBe(result.expected);
      expect(result.entries).toBeGreaterThanOrEqual(1000 + 200);
    } finally {
      await browser.close();
    }
  });
});
