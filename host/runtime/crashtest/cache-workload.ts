// The explorer's `kv` workload: gets, sets and deletes on a small persistent
// cache, so that every few steps entries leave cold for the ghost, ghosts are
// promoted and the hot ring is swept. The model is a second cache in a pool
// that never crashes, fed the same operations: after any crash, the recovered
// cache must hold exactly the reference's entries (keys, queues and values)
// and ghost fingerprints at the recovered commit, pass its invariant check, and
// leak no value block.
import type { Kv } from '../../api/kv.js';
import { Pool } from '../../api/pool.js';
import type { TxLog } from '../../api/transaction.js';
import { seededBytes } from '../../device/prng.js';
import { MemoryStore } from '../../store/memory-store.js';
import { type CacheEntry, cacheEntries, cacheGhosts, ownerReader } from '../cache-inspection.js';
import type { RecoveredImage } from '../pool-runtime.js';
import type { ExplorerWorkload } from './workloads.js';

const CAPACITY = 12;
const KEYS = 40;
const HOT_KEYS = 6;
const NAME = 'crashtest';

const hex = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('hex') : '');

/** The state a cache's entries and ghost describe, with the heap blocks it must own (its block and one per value). */
function describe(entries: CacheEntry[], ghosts: Array<[number, number]>, heapBlocks: number): string {
  const sorted = entries.map((e) => [String(e.key), e.queue, hex(e.value)]).sort((a, b) => a[0].localeCompare(b[0]));
  return JSON.stringify({ entries: sorted, ghosts, heapBlocks });
}

export class CacheWorkload implements ExplorerWorkload {
  private kv: Kv | undefined;
  private reference: Kv | undefined;
  private nextSeed = 1;

  async setup(pool: Pool, _log: TxLog): Promise<void> {
    this.kv = pool.kv(NAME, { capacity: CAPACITY });
    const referencePool = await Pool.open({ store: new MemoryStore(), size: 2 << 20, create: true, device: 'eadr', backgroundFlushMs: 0 });
    this.reference = referencePool.kv(NAME, { capacity: CAPACITY });
  }

  step(_pool: Pool, _log: TxLog, random: () => number, _pause: () => void): () => void {
    // A few keys are hot, the rest come and go.
    const key = random() < 0.5 ? Math.floor(random() * HOT_KEYS) : Math.floor(random() * KEYS);
    const op = random();
    let apply: (kv: Kv) => void;
    if (op < 0.25) {
      apply = (kv) => kv.get(key);
    } else if (op < 0.85) {
      const seed = this.nextSeed++;
      const value = seededBytes(1 + (seed % 24), seed);
      apply = (kv) => kv.set(key, value);
    } else {
      apply = (kv) => kv.delete(key);
    }
    apply(this.kv!);
    return () => apply(this.reference!);
  }

  expected(): string {
    const entries = this.reference!.entries();
    return describe(entries, this.reference!.ghosts(), 1 + entries.length);
  }

  observe(recovered: RecoveredImage): string {
    const offset = this.kv!.offset;
    const failed = recovered.core.kv_check(offset);
    if (failed !== 0) throw new Error(`the cache fails invariant ${failed}`);
    const entries = [...cacheEntries(ownerReader(recovered.core, recovered.pool.buffer), offset)];
    return describe(entries, cacheGhosts(recovered.core, offset), recovered.heap!.blocks);
  }
}
