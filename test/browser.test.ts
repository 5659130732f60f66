// The browser build in real headless Chromium: a Worker owns a pool on OPFS, the
// page and two more Workers attach to its shared memory. Exact counts, a page
// that never blocks, a pool only one tab can hold, and a pool that survives the
// browser being SIGKILLed mid-write.
import { get } from 'node:http';
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
  AttachedPool: {
    attach(handle: unknown): Promise<{
      tx<T>(fn: (tx: { root: number; getU64(at: number): bigint }) => T, options?: { readOnly?: boolean }): Promise<T>;
      kv(name: string): { check(): void; getString(key: string): string | undefined };
      detach(): void;
    }>;
  };
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

/** GETs `path` exactly as written (fetch would normalize dot segments away first); resolves with the status. */
function rawGet(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(server.url);
    get({ host: '127.0.0.1', port, path }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    }).once('error', reject);
  });
}

describe('the demo server', () => {
  it('serves web/, dist/ and build/ cross-origin isolated, and nothing else', async () => {
    const page = await fetch(server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(page.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const core = await fetch(new URL('/build/core.wasm', server.url));
    expect(core.headers.get('content-type')).toBe('application/wasm');
    expect(await rawGet('/dist/host/api/browser.js')).toBe(200);
    for (const path of ['/bin/wasm-pmem.js', '/web/../bin/wasm-pmem.js', '/web/%2e%2e/bin/wasm-pmem.js', '/web/..%2f..%2fbin/wasm-pmem.js', '/web/missing.js']) {
      expect(await rawGet(path), path).toBe(404);
    }
    expect(await rawGet('/web/%E0%A4%A.js'), 'a malformed escape').toBe(400);
    expect(await rawGet('/web/index.html'), 'the server is still up').toBe(200);
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
    let saved: number;
    try {
      const page = await browser.context.newPage();
      await openConsole(page);
      // Saves after 2 x 500 operations, then keeps committing (background saves every second) until killed.
      saved = await page.evaluate(async () => {
        const { request, ownerWorker, kvWorker, AttachedPool } = (window as unknown as ConsoleWindow).wasmPmem;
        const owner = ownerWorker();
        const { handle } = await request(owner, { type: 'open', name: 'kill.pool' });
        const workers = [kvWorker(), kvWorker()];
        for (const worker of workers) await request(worker, { type: 'attach', handle });
        await Promise.all(workers.map((worker, i) => request(worker, { type: 'work', prefix: `saved${i}`, operations: 500 })));
        await request(owner, { type: 'save' });
        const pool = await AttachedPool.attach(handle);
        const counter = await pool.tx((tx) => tx.getU64(tx.root));
        for (const worker of workers) request(worker, { type: 'count', transactions: 100_000_000 }).catch(() => {});
        return Number(counter);
      });
      expect(saved).toBe(1000);
      await new Promise((resolve) => setTimeout(resolve, 1500));
    } finally {
      await browser.kill();
    }

    browser = await launchChromium(profile);
    try {
      const page = await browser.context.newPage();
      await openConsole(page);
      const reopened = await page.evaluate(async () => {
        const { request, ownerWorker, AttachedPool } = (window as unknown as ConsoleWindow).wasmPmem;
        const owner = ownerWorker();
        const { handle, created } = await request(owner, { type: 'open', name: 'kill.pool' });
        const pool = await AttachedPool.attach(handle);
        const kv = pool.kv('visits');
        kv.check();
        const missing: string[] = [];
        for (let w = 0; w < 2; w++) {
          for (let i = 0; i < 500; i++) if (kv.getString(`saved${w}:${i}`) !== `value ${i} from saved${w}`) missing.push(`saved${w}:${i}`);
        }
        const counter = await pool.tx((tx) => tx.getU64(tx.root), { readOnly: true });
        const { cold, hot } = (kv as unknown as { stats(): { cold: number; hot: number } }).stats();
        pool.detach();
        await request(owner, { type: 'close' });
        return { created, missing, counter: Number(counter), entries: cold + hot };
      });
      expect(reopened.created).toBe(false);
      expect(reopened.missing).toEqual([]);
      expect(reopened.entries).toBe(1000);
      expect(reopened.counter).toBeGreaterThanOrEqual(saved);
    } finally {
      await browser.close();
    }
  });
});
