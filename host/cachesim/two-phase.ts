// The product's cache as a trace-replay policy: a real persistent cache
// (assembly/kv.ts) in an eadr pool held in memory, driven as get, then set on a miss.
import type { Kv } from '../api/kv.js';
import { Pool } from '../api/pool.js';
import { MemoryStore } from '../store/memory-store.js';
import type { CachePolicy } from './trace.js';

const VALUE = new Uint8Array(1);
const MiB = 1 << 20;

export class TwoPhaseCache implements CachePolicy {
  private constructor(
    private readonly pool: Pool,
    private readonly kv: Kv,
  ) {}

  static async open(capacity: number): Promise<TwoPhaseCache> {
    // The cache's block (about 110 bytes an entry) and a 16-byte value block per entry, with room to spare.
    const size = Math.ceil((capacity * 200 + 4 * MiB) / MiB) * MiB;
    const pool = await Pool.open({ store: new MemoryStore(), size, create: true, device: 'eadr', backgroundFlushMs: 0 });
    return new TwoPhaseCache(pool, pool.kv('cachesim', { capacity }));
  }

  access(id: number): boolean {
    if (this.kv.get(id) !== undefined) return true;
    this.kv.set(id, VALUE);
    return false;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
