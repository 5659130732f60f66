import type { Checksummer } from '../store/checksum.js';
import { PAGE_SEED } from '../store/checksum.js';
import { type Core, coreLayout, createCoreMemory, instantiateCore } from './core.js';

/**
 * xxHash64 computed inside Wasm. Pages that already live in the core's memory
 * are hashed in place; anything else is copied through the scratch area.
 */
export class CoreChecksummer implements Checksummer {
  private readonly layout;
  constructor(
    private readonly core: Core,
    private readonly memory: WebAssembly.Memory,
  ) {
    this.layout = coreLayout(core);
  }

  private scratch(length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, this.layout.scratchBase, length);
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
