// Loads the Wasm core and instantiates it over a shared memory through asc's
// raw bindings (the esm bindings cannot take an imported memory). The core is
// found by URL beside this module, so the same code loads it from files on
// Node and over HTTP in a browser.
import type { instantiate as InstantiateCore } from '../../build/core.js';

export type Core = Awaited<ReturnType<typeof InstantiateCore>>;

/** What the core calls back into the host (never once per line). */
export interface CoreHooks {
  /**
   * Move the lines listed in the flush ring into the write pending queues: at an
   * adr fence that has lines to move, when the ring fills, and at every fence
   * while the fence hook is on.
   */
  drainRing(): void;
  /** Flush-hint write: drain the write pending queues into the media. */
  flushHint(): void;
}

export const WASM_PAGE = 65536;
/** wasm32 limit: 4 GiB of linear memory. */
export const MAX_MEMORY_PAGES = 65536;

let compiled: Promise<{ module: WebAssembly.Module; instantiate: typeof InstantiateCore }> | undefined;

/** The package's build/ folder: beside host/ for this module's source, two levels further up from dist/host/core. */
function buildFolder(): URL {
  const here = new URL('.', import.meta.url);
  return new URL(here.pathname.endsWith('/dist/host/core/') ? '../../../build/' : '../../build/', here);
}

async function readBytes(url: URL): Promise<BufferSource> {
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`wasm-pmem: cannot load the core from ${url.href} (HTTP ${response.status})`);
  return response.arrayBuffer();
}

function loadCore() {
  compiled ??= (async () => {
    const build = buildFolder();
    const module = await WebAssembly.compile(await readBytes(new URL('core.wasm', build)));
    const bindings = (await import(new URL('core.js', build).href)) as { instantiate: typeof InstantiateCore };
    return { module, instantiate: bindings.instantiate };
  })();
  return compiled;
}

/** A shared memory holding only the core's own pages; grow it to fit a pool with `ensureMemory`. */
export function createCoreMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 2, maximum: MAX_MEMORY_PAGES, shared: true });
}

/** Grows `memory` so that it holds at least `bytes` bytes. */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): void {
  const needed = Math.ceil(bytes / WASM_PAGE);
  const have = memory.buffer.byteLength / WASM_PAGE;
  if (needed > have) memory.grow(needed - have);
}

export async function instantiateCore(memory: WebAssembly.Memory, hooks: CoreHooks): Promise<Core> {
  const { module, instantiate } = await loadCore();
  const core = await instantiate(module, {
    env: {
      memory,
      pm_drain_ring: () => hooks.drainRing(),
      pm_flush_hint: () => hooks.flushHint(),
    },
  });
  ensureMemory(memory, core.POOL_BASE.value); // the control block and scratch area below the pool
  return core;
}

/** Layout constants exported by the core. */
export function coreLayout(core: Core) {
  return {
    scratchBase: core.SCRATCH_BASE.value,
    scratchSize: core.SCRATCH_SIZE.value,
    poolBase: core.POOL_BASE.value,
    pageSize: core.PAGE_SIZE.value,
    hashBatch: core.HASH_BATCH.value,
  };
}
