import type { Checksummer } from '../store/checksum.js';
import { PAGE_SEED } from '../store/checksum.js';
import { type Core, coreLayout, createCoreMemory, instantiateCore } from './core.js';

/**
 * xxHash64 computed inside Wasm. Pages that already live in the core's memory
 * are hashed in place; anything else is copied through the scratch area.
 */
export class CoreChecksummer implements Checksummer {
  private readonly layout;
  // The core's memory does not grow once a checksummer exists, so one view serves.
  private readonly scratchView: Uint8Array;

  constructor(
    private readonly core: Core,
    private readonly memory: WebAssembly.Memory,
  ) {
    this.layout = coreLayout(core);
    this.scratchView = new Uint8Array(memory.buffer, this.layout.scratchBase, this.layout.scratchSize);
  }

  private scratch(length: number): Uint8Array {
    return this.scratchView.subarray(0, length);
  }

  hashPageList(view: Uint8Array, pages: Uint32Array, out: Uint8Array): void {
    if (view.buffer !== this.memory.buffer) {
      pages.forEach((page, i) => this.hashPages(view, page, 1, out.subarray(i * 8, i * 8 + 8)));
      return;
    }
    // Page numbers and checksums share the scratch area: 12 bytes a page.
    const batch = Math.floor(this.layout.scratchSize / 12);
    const list = new Uint32Array(this.memory.buffer, this.layout.scratchBase, batch);
    const sums = this.layout.scratchBase + batch * 4;
    for (let done = 0; done < pages.length; done += batch) {
      const n = Math.min(batch, pages.length - done);
      list.set(pages.subarray(done, done + n));
      this.core.hash_page_list(view.byteOffset, this.layout.scratchBase, n, sums, PAGE_SEED);
      out.set(new Uint8Array(this.memory.buffer, sums, n * 8), done * 8);
    }
  }

  hashPages(view: Uint8Array, firstPage: number, count: number, out: Uint8Array): void {
    const { pageSize, hashBatch, scratchSize } = this.layout;
    const inMemory = view.buffer === this.memory.buffer;
    // Pages outside linear memory are staged in the upper half of the scratch area.
    const stagePages = inMemory ? hashBatch : Math.floor(scratchSize / 2 / pageSize);
    const stageBase = this.layout.scratchBase + scratchSize - stagePages * pageSize;
    for (let done = 0; done < count; ) {
      const n = Math.min(stagePages, count - done);
      const start = (firstPage + done) * pageSize;
      let address: number;
      if (inMemory) {
        address = view.byteOffset + start;
      } else {
        new Uint8Array(this.memory.buffer, stageBase, n * pageSize).set(view.subarray(start, start + n * pageSize));
        address = stageBase;
      }
      this.core.hash_pages(address, n, PAGE_SEED);
      out.set(this.scratch(n * 8), done * 8);
      done += n;
    }
  }

  hashBytes(bytes: Uint8Array, seed: bigint): bigint {
    const chunk = this.layout.scratchSize;
    let hash = seed;
    let offset = 0;
    do {
      const n = Math.min(chunk, bytes.length - offset);
      this.scratch(n).set(bytes.subarray(offset, offset + n));
      hash = this.core.hash_scratch(n, hash);
      offset += n;
    } while (offset < bytes.length);
    return hash;
  }
}

let utility: Promise<CoreChecksummer> | undefined;

/** A process-wide checksummer on a small memory of its own, for reading files without a pool. */
export function utilityChecksummer(): Promise<CoreChecksummer> {
  utility ??= (async () => {
    const memory = createCoreMemory();
    return new CoreChecksummer(await instantiateCore(memory, { drainRing() {}, flushHint() {} }), memory);
  })();
  return utility;
}
